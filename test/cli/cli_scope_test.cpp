// `outpost scope`, `records list --where`, `records purge`, `records
// purge-log` and `changes --scope` end to end: the real binary
// (OUTPOST_BINARY) against temporary SQLite files (DESIGN.md section 14).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "api/json.h"
#include "api/record.h"

namespace {

namespace fs = std::filesystem;

class ScopeTempDir {
 public:
  ScopeTempDir() {
    std::string pattern = (fs::temp_directory_path() / "outpost-cli-scope-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~ScopeTempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScopeTempDir(const ScopeTempDir&) = delete;
  ScopeTempDir& operator=(const ScopeTempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

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

// Runs `outpost --db=URL args...` with stdout and stderr in files.
class ScopeCli {
 public:
  ScopeCli() : url_("sqlite:" + (dir_.path() / "device.db").string()) {}

  pid_t start(const std::string& url, std::vector<std::string> args, const std::string& name) {
    const fs::path out_path = dir_.path() / (name + ".stdout");
    const fs::path err_path = dir_.path() / (name + ".stderr");
    std::vector<std::string> argv_text{OUTPOST_BINARY, "--db=" + url};
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
    return pid;
  }
  Output finish(pid_t pid, const std::string& name) {
    int wstatus = 0;
    REQUIRE(waitpid(pid, &wstatus, 0) == pid);
    Output run;
    run.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
    run.out = slurp(dir_.path() / (name + ".stdout"));
    run.err = slurp(dir_.path() / (name + ".stderr"));
    return run;
  }
  Output run_on(const std::string& url, std::vector<std::string> args) {
    return finish(start(url, std::move(args), "run"), "run");
  }
  Output run(std::vector<std::string> args) { return run_on(url_, std::move(args)); }
  Output ok_on(const std::string& url, std::vector<std::string> args) {
    Output result = run_on(url, std::move(args));
    INFO("stdout: " << result.out << "stderr: " << result.err);
    REQUIRE(result.status == 0);
    return result;
  }
  Output ok(std::vector<std::string> args) { return ok_on(url_, std::move(args)); }
  std::string read(const std::string& name) const {
    return slurp(dir_.path() / (name + ".stdout"));
  }
  const std::string& url() const { return url_; }
  std::string other(const std::string& name) const {
    return "sqlite:" + (dir_.path() / (name + ".db")).string();
  }

 private:
  ScopeTempDir dir_;
  std::string url_;
};

const std::string kNorth = "households: district = 'north'";

void make_households(ScopeCli& cli) {
  cli.ok({"tables", "create", "households", "name:string!", "district:string", "size:int"});
  cli.ok({"records", "put", "households", "h1", "name=Amina", "district=north", "size=6"});
  cli.ok({"records", "put", "households", "h2", "name=Bo", "district=north", "size=2"});
  cli.ok({"records", "put", "households", "h3", "name=Chen", "district=south", "size=3"});
  cli.ok({"records", "put", "households", "h4", "name=Dara", "district=south", "size=4"});
}

std::vector<std::string> ids_of(const outpost::RecordPage& page) {
  std::vector<std::string> ids;
  for (const outpost::Record& record : page.records) ids.push_back(record.id);
  return ids;
}

}  // namespace

TEST_CASE("cli scope: set, show and clear; purging waits for a push") {
  ScopeCli cli;
  make_households(cli);
  CHECK(has(cli.ok({"scope", "show"}).out, "none"));
  CHECK(cli.ok({"scope", "show", "--json"}).out == "{\"scope\":null,\"fingerprint\":null}\n");

  SUBCASE("never pushed: what falls out waits") {
    Output set = cli.ok({"scope", "set", kNorth});
    CHECK(has(set.out, "0 records purged, 2 waiting to be purged"));
    CHECK(has(set.out, "households/h3"));
    CHECK(has(set.out, "households/h4"));
    Output shown = cli.ok({"scope", "show"});
    CHECK(has(shown.out, "households: district = 'north'"));
    CHECK(has(shown.out, "fingerprint"));
    CHECK(ids_of(outpost::record_page_from_json(
              cli.ok({"records", "list", "households", "--json"}).out)) ==
          std::vector<std::string>{"h1", "h2", "h3", "h4"});
  }

  SUBCASE("after a push to a database without a scope, it is purged") {
    cli.ok({"sync", "--push", "--remote", cli.other("hub")});
    Output set = cli.ok({"scope", "set", kNorth, "--json"});
    CHECK(has(set.out, "\"scope\":\"households: district = 'north'\""));
    CHECK(has(set.out, "\"purged\":2,\"waiting\":[]"));
    CHECK(ids_of(outpost::record_page_from_json(
              cli.ok({"records", "list", "households", "--json"}).out)) ==
          std::vector<std::string>{"h1", "h2"});
    Output log = cli.ok({"records", "purge-log", "--json"});
    CHECK(has(log.out, "\"id\":\"h3\""));
    CHECK(has(log.out, "\"id\":\"h4\""));
    // The hub still has them all.
    CHECK(ids_of(outpost::record_page_from_json(
                     cli.ok_on(cli.other("hub"), {"records", "list", "households", "--json"}).out))
              .size() == 4);
    // The scope's column has an index now.
    CHECK(has(cli.ok({"tables", "show", "households"}).out, "scope indexes: district"));
  }

  Output cleared = cli.ok({"scope", "clear"});
  CHECK(has(cleared.out, "scope cleared"));
  CHECK(has(cli.ok({"scope", "show"}).out, "none"));
}

TEST_CASE("cli scope: an invalid scope or clause is invalid_scope, exit 1") {
  ScopeCli cli;
  make_households(cli);
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"scope", "set", "households: distric = 'north'"},
           {"scope", "set", "nowhere: *"},
           {"records", "list", "households", "--where", "size = 'six'"},
           {"records", "purge", "households", "--where", "district IN ()"},
           {"changes", "--scope", "households: district = north"}}) {
    Output run = cli.run(args);
    INFO("args: " << args[0] << " " << args[1] << " stderr: " << run.err);
    CHECK(run.status == 1);
    CHECK(run.err.rfind("error: invalid_scope: ", 0) == 0);
  }
  CHECK(has(cli.ok({"scope", "show"}).out, "none"));
}

TEST_CASE("cli scope: records list --where and records purge") {
  ScopeCli cli;
  make_households(cli);
  const outpost::RecordPage north = outpost::record_page_from_json(
      cli.ok({"records", "list", "households", "--where", "district = 'north'", "--json"}).out);
  CHECK(ids_of(north) == std::vector<std::string>{"h1", "h2"});
  Output text =
      cli.ok({"records", "list", "households", "--where", "district = 'south' AND size IN (4, 5)"});
  CHECK(has(text.out, "h4"));
  CHECK_FALSE(has(text.out, "h3"));

  SUBCASE("by ids: waits without a push, --force purges") {
    Output waiting = cli.ok({"records", "purge", "households", "h1", "--reason", "moved"});
    CHECK(has(waiting.out, "0 records purged from households, 1 waiting to be purged"));
    CHECK(has(waiting.out, "households/h1"));
    CHECK(has(cli.ok({"records", "purge-log"}).out, "(no purges)"));
    Output forced =
        cli.ok({"records", "purge", "households", "h1", "--reason", "moved", "--force", "--json"});
    CHECK(has(forced.out, "\"purged\":1"));
    Output log = cli.ok({"records", "purge-log"});
    CHECK(has(log.out, "h1"));
    CHECK(has(log.out, "moved"));
    CHECK(cli.run({"records", "get", "households", "h1"}).status == 1);
  }

  SUBCASE("--where, after a push") {
    cli.ok({"sync", "--push", "--remote", cli.other("hub")});
    Output purged = cli.ok(
        {"records", "purge", "households", "--where", "district = 'south'", "--reason", "left"});
    CHECK(has(purged.out, "2 records purged from households"));
    const std::string log = cli.ok({"records", "purge-log", "--json"}).out;
    CHECK(has(log, "{\"table\":\"households\",\"id\":\"h3\","));
    CHECK(has(log, "{\"table\":\"households\",\"id\":\"h4\","));
    CHECK(has(log, "\"reason\":\"left\""));
    CHECK(ids_of(outpost::record_page_from_json(
              cli.ok({"records", "list", "households", "--json"}).out)) ==
          std::vector<std::string>{"h1", "h2"});
  }

  // Ids and --where exclude each other.
  CHECK(cli.run({"records", "purge", "households", "h1", "--where", "size = 1"}).status == 2);
}

TEST_CASE("cli scope: changes --scope lists removed entries, --records the bodies") {
  ScopeCli cli;
  make_households(cli);
  const outpost::ChangesPage first =
      outpost::changes_from_json(cli.ok({"changes", "--scope", kNorth, "--json"}).out);
  REQUIRE(first.results.size() == 2);
  CHECK(first.results[0].id == "h1");
  CHECK(first.results[1].id == "h2");

  const std::string with_bodies = cli.ok({"changes", "--scope", kNorth, "--json", "--records"}).out;
  CHECK(has(with_bodies, "\"attributes\":{"));
  CHECK(has(with_bodies, "Amina"));
  CHECK_FALSE(has(with_bodies, "Chen"));

  // h1 moves south: under the north scope it is a removed entry.
  cli.ok({"records", "put", "households", "h1", "district=south", "--merge"});
  const std::string since = first.last_seq;
  const std::string removed =
      cli.ok({"changes", "--scope", kNorth, "--since", since, "--json", "--records"}).out;
  CHECK(has(removed, "\"table\":\"households\",\"id\":\"h1\",\"removed\":true}"));
  const outpost::ChangesPage page = outpost::changes_from_json(
      cli.ok({"changes", "--scope", kNorth, "--since", since, "--json"}).out);
  REQUIRE(page.results.size() == 1);
  CHECK(page.results[0].removed);
  CHECK(has(cli.ok({"changes", "--scope", kNorth, "--since", since}).out, "removed"));
}

TEST_CASE("cli scope: changes --scope --follow --json prints JSON lines and ends on SIGTERM") {
  ScopeCli cli;
  make_households(cli);
  const pid_t follow = cli.start(
      cli.url(), {"changes", "--scope", kNorth, "--follow", "--json", "--records"}, "follow");
  auto wait_for = [&](const std::string& part) {
    for (int i = 0; i < 200; ++i) {
      if (has(cli.read("follow"), part)) return true;
      usleep(100 * 1000);
    }
    return false;
  };
  CHECK(wait_for("\"id\":\"h2\""));
  cli.ok({"records", "put", "households", "h5", "name=Eve", "district=north"});
  CHECK(wait_for("Eve"));
  cli.ok({"records", "put", "households", "h2", "district=south", "--merge"});
  CHECK(wait_for("\"id\":\"h2\",\"removed\":true}"));
  REQUIRE(kill(follow, SIGTERM) == 0);
  Output ended = cli.finish(follow, "follow");
  CHECK(ended.status == 0);
  CHECK(ended.err.empty());
  // One object per line, none for the south records.
  std::istringstream lines(ended.out);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    CHECK(line.front() == '{');
    CHECK(line.back() == '}');
    CHECK_FALSE(has(line, "Chen"));
    ++count;
  }
  CHECK(count == 4);  // h1, h2, h5, h2 removed
}

TEST_CASE("cli scope: sync --scope copies only the records in the scope") {
  ScopeCli cli;
  make_households(cli);
  const std::string device = cli.other("tablet");
  Output pulled = cli.ok_on(device, {"sync", "--pull", "--remote", cli.url(), "--scope", kNorth});
  CHECK(has(pulled.out, "pull: "));
  CHECK(ids_of(outpost::record_page_from_json(
            cli.ok_on(device, {"records", "list", "households", "--json"}).out)) ==
        std::vector<std::string>{"h1", "h2"});
  Output bad = cli.run_on(device, {"sync", "--remote", cli.url(), "--scope", "households: x = 1"});
  CHECK(bad.status == 1);
  CHECK(has(bad.err, "invalid_scope"));
}
