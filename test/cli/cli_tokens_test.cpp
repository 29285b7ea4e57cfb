// `outpost tokens create|update|list|revoke` end to end: the real binary
// (OUTPOST_BINARY) against a temporary SQLite file (DESIGN.md sections 9
// and 14). JSON output is read back with the codec it is written with.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "api/json.h"
#include "utils/sha256.h"

namespace {

namespace fs = std::filesystem;

struct Output {
  int status = -1;
  std::string out;
  std::string err;
};

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A temporary directory with one database, and `outpost --db=... args...`
// run in it with stdout and stderr captured.
class TokensCli {
 public:
  TokensCli() {
    std::string pattern = (fs::temp_directory_path() / "outpost-cli-tokens-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
    url_ = "sqlite:" + (dir_ / "hub.db").string();
  }
  ~TokensCli() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  TokensCli(const TokensCli&) = delete;
  TokensCli& operator=(const TokensCli&) = delete;

  Output run(std::vector<std::string> args) {
    const fs::path out_path = dir_ / "stdout";
    const fs::path err_path = dir_ / "stderr";
    std::vector<std::string> argv_text{OUTPOST_BINARY, "--db=" + url_};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_text) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (out < 0 || err < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0) {
        _exit(127);
      }
      execv(argv[0], argv.data());
      _exit(127);
    }
    int wstatus = 0;
    REQUIRE(waitpid(pid, &wstatus, 0) == pid);
    Output result;
    result.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
    result.out = slurp(out_path);
    result.err = slurp(err_path);
    return result;
  }
  Output ok(std::vector<std::string> args) {
    Output result = run(std::move(args));
    INFO("stdout: " << result.out << "stderr: " << result.err);
    REQUIRE(result.status == 0);
    return result;
  }

 private:
  fs::path dir_;
  std::string url_;
};

const std::string kNorth = "households: district = 'north'";
const std::string kSouth = "households: district = 'south'";

outpost::Token token_named(TokensCli& cli, const std::string& name) {
  for (outpost::Token& t : outpost::tokens_from_json(cli.ok({"tokens", "list", "--json"}).out)) {
    if (t.name == name) return t;
  }
  FAIL("no token " << name);
  return {};
}

}  // namespace

TEST_CASE("cli tokens: create with a scope, re-scope, and list fingerprints") {
  TokensCli cli;
  cli.ok({"tables", "create", "households", "name:string", "district:string"});
  cli.ok({"tables", "create", "visits", "district:string"});

  // --scope alone: the token writes what it reads.
  Output created =
      cli.ok({"tokens", "create", "worker", "--scope", "households: district='north'"});
  CHECK(created.out.size() > 22);  // the secret, alone on stdout
  CHECK(has(created.err, "shown only this once"));
  CHECK(has(created.err, kNorth));
  outpost::Token worker = token_named(cli, "worker");
  CHECK(worker.scope == kNorth);
  CHECK(worker.write_scope == kNorth);
  CHECK(worker.read == std::vector<std::string>{"households"});
  CHECK(worker.write == std::vector<std::string>{"households"});

  // --json: the token as stored, and its secret.
  std::string secret;
  outpost::Token viewer = outpost::token_from_json(
      cli.ok({"--json", "tokens", "create", "viewer", "--scope", kNorth, "--write", "visits"}).out,
      {}, &secret);
  CHECK(viewer.scope == kNorth);
  CHECK(viewer.write_scope.empty());
  CHECK(viewer.write == std::vector<std::string>{"visits"});
  CHECK(viewer.created_at_micros > 0);
  CHECK(secret.size() > 22);
  CHECK_FALSE(has(cli.ok({"tokens", "list", "--json"}).out, secret));

  // Table lists alone still work.
  cli.ok({"tokens", "create", "tablet", "--read", "households", "--write", "households"});
  outpost::Token tablet = token_named(cli, "tablet");
  CHECK(tablet.scope.empty());
  CHECK(tablet.write_scope.empty());

  // The list shows the first 12 hex digits of each fingerprint.
  Output listed = cli.ok({"tokens", "list"});
  CHECK(has(listed.out, "scope"));
  CHECK(has(listed.out, outpost::sha256_hex(kNorth).substr(0, 12)));
  CHECK_FALSE(has(listed.out, outpost::sha256_hex(kNorth).substr(0, 13)));

  // Re-scope: the write scope moves along, the old one is kept for a while.
  Output moved = cli.ok({"tokens", "update", "worker", "--scope", "households: district = 'south'",
                         "--grace", "3600"});
  CHECK(has(moved.out, kSouth));
  CHECK(has(moved.out, "earlier write scope"));
  worker = token_named(cli, "worker");
  CHECK(worker.scope == kSouth);
  CHECK(worker.write_scope == kSouth);
  REQUIRE(worker.earlier_write_scopes.size() == 1);
  CHECK(worker.earlier_write_scopes[0].scope == kNorth);
  CHECK(worker.rescoped_at_micros > 0);
  CHECK(has(cli.ok({"tokens", "list"}).out, outpost::sha256_hex(kSouth).substr(0, 12)));

  outpost::Token json_moved = outpost::token_from_json(
      cli.ok({"--json", "tokens", "update", "viewer", "--write-scope", "visits: *", "--grace", "0"})
          .out);
  CHECK(json_moved.scope == kNorth);
  CHECK(json_moved.write_scope == "visits: *");
  CHECK(json_moved.earlier_write_scopes.empty());

  // Revoke, in JSON.
  CHECK(cli.ok({"--json", "tokens", "revoke", "tablet"}).out ==
        "{\"name\":\"tablet\",\"revoked\":true}\n");
}

TEST_CASE("cli tokens: usage mistakes and refusals") {
  TokensCli cli;
  cli.ok({"tables", "create", "households", "name:string", "district:string"});
  // Exclusive options, and an update that changes nothing.
  CHECK(cli.run({"tokens", "create", "a", "--read", "households", "--scope", kNorth}).status == 2);
  CHECK(
      cli.run({"tokens", "create", "a", "--write", "households", "--write-scope", kNorth}).status ==
      2);
  CHECK(cli.run({"tokens", "create", "a", "--admin", "--scope", kNorth}).status == 2);
  CHECK(cli.run({"tokens", "create", "a"}).status == 2);
  cli.ok({"tokens", "create", "a", "--scope", kNorth});
  CHECK(cli.run({"tokens", "update", "a"}).status == 2);
  CHECK(cli.run({"tokens", "update", "a", "--scope", kSouth, "--grace", "-1"}).status == 2);
  // Errors from the engine: exit 1 with the reason.
  Output bad = cli.run({"tokens", "create", "b", "--scope", "households: colour = 'red'"});
  CHECK(bad.status == 1);
  CHECK(has(bad.err, "invalid_scope"));
  CHECK(has(bad.err, "colour"));
  Output missing = cli.run({"tokens", "update", "nobody", "--scope", kSouth});
  CHECK(missing.status == 1);
  CHECK(has(missing.err, "not_found"));
  cli.ok({"tokens", "create", "root", "--admin"});
  Output admin = cli.run({"tokens", "update", "root", "--scope", kSouth});
  CHECK(admin.status == 1);
  CHECK(has(admin.err, "invalid_value"));
  CHECK(token_named(cli, "a").scope == kNorth);
}
