// The `outpost` command end to end: the real binary (OUTPOST_BINARY) run
// against a temporary SQLite file, checking what it prints and how it exits.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "api/json.h"
#include "api/record.h"
#include "api/revision.h"
#include "engine/backends.h"
#include "engine/open.h"

namespace {

namespace fs = std::filesystem;

// A private directory, removed with its content at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "outpost-cli-test-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct Run {
  int status = -1;  // exit status, or -1 when the process did not exit normally
  std::string out;
  std::string err;
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A running `outpost` whose stdout and stderr go to files (no pipe can fill
// up), started without $OUTPOST_DB so that only --db counts.
struct Process {
  pid_t pid = -1;
  fs::path out_path;
  fs::path err_path;

  // Waits for the exit and collects the output.
  Run finish() {
    int wstatus = 0;
    REQUIRE(waitpid(pid, &wstatus, 0) == pid);
    Run run;
    run.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
    run.out = read_file(out_path);
    run.err = read_file(err_path);
    return run;
  }
};

Process start_outpost(const TempDir& dir, const std::vector<std::string>& args,
                      const std::string& name = "run") {
  Process process;
  process.out_path = dir.path() / (name + ".stdout");
  process.err_path = dir.path() / (name + ".stderr");
  std::vector<std::string> argv_text{OUTPOST_BINARY};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_text) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** env = environ; *env != nullptr; ++env) {
    if (std::string_view(*env).substr(0, 11) != "OUTPOST_DB=") envp.push_back(*env);
  }
  envp.push_back(nullptr);

  process.pid = fork();
  REQUIRE(process.pid >= 0);
  if (process.pid == 0) {
    const int out = open(process.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = open(process.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0) {
      _exit(127);
    }
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  return process;
}

Run run_outpost(const TempDir& dir, const std::vector<std::string>& args) {
  return start_outpost(dir, args).finish();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Runs a command against the test database and expects success.
class Cli {
 public:
  Cli() : url_("sqlite:" + (dir_.path() / "cli.db").string()), db_("--db=" + url_) {}

  Run run(std::vector<std::string> args) {
    args.insert(args.begin(), db_);
    return run_outpost(dir_, args);
  }
  Process start(std::vector<std::string> args, const std::string& name) {
    args.insert(args.begin(), db_);
    return start_outpost(dir_, args, name);
  }
  Run ok(std::vector<std::string> args) {
    Run result = run(args);
    INFO("stderr: " << result.err);
    REQUIRE(result.status == 0);
    return result;
  }
  // Expects exit status 1 and one "error: <code>: ..." line.
  Run fails_with(std::vector<std::string> args, const std::string& code) {
    Run result = run(args);
    INFO("stdout: " << result.out << "stderr: " << result.err);
    CHECK(result.status == 1);
    CHECK(result.err.rfind("error: " + code + ": ", 0) == 0);
    CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
    return result;
  }
  const TempDir& dir() const { return dir_; }
  const std::string& url() const { return url_; }

 private:
  TempDir dir_;
  std::string url_;
  std::string db_;
};

}  // namespace

TEST_CASE("cli: tables, records and changes on a SQLite file") {
  Cli cli;
  Run created = cli.ok({"tables", "create", "households", "head_name:string!", "size:int",
                        "lat:float", "consent:bool", "visited:timestamp"});
  CHECK(contains(created.out, "households"));
  CHECK(contains(created.out, "head_name"));

  SUBCASE("typed values given untyped round-trip in canonical form") {
    Run put = cli.ok({"records", "put", "households", "h-001", "head_name=Amina Okello", "size=6",
                      "lat=0.3476", "consent=true", "visited=2026-11-22T12:00:00+02:00", "--json"});
    const outpost::WriteResult written = outpost::write_result_from_json(put.out);
    CHECK(written.id == "h-001");
    CHECK(written.revision.generation() == 1);

    Run got = cli.ok({"records", "get", "households", "h-001", "--json"});
    const outpost::Record record = outpost::record_from_json(got.out);
    CHECK(record.id == "h-001");
    CHECK(record.revision == written.revision);
    CHECK_FALSE(record.deleted);
    REQUIRE(record.attributes.size() == 5);
    CHECK(record.attributes.at("head_name").text() == "Amina Okello");
    CHECK(record.attributes.at("size").type() == outpost::ValueType::int_);
    CHECK(record.attributes.at("size").as_int() == 6);
    CHECK(record.attributes.at("lat").as_float() == 0.3476);
    CHECK(record.attributes.at("consent").as_bool());
    CHECK(record.attributes.at("visited").text() == "2026-11-22T10:00:00.000000Z");

    Run text = cli.ok({"records", "get", "households", "h-001"});
    CHECK(contains(text.out, "id        h-001\n"));
    CHECK(contains(text.out, "deleted   false\n"));
    CHECK(contains(text.out, "head_name = \"Amina Okello\"\n"));
    CHECK(contains(text.out, "size      = 6\n"));

    // An update builds on the winner; --merge keeps the columns not named.
    Run updated = cli.ok({"records", "put", "households", "h-001", "size=7", "--merge", "--json"});
    CHECK(outpost::write_result_from_json(updated.out).revision.generation() == 2);
    const outpost::Record merged =
        outpost::record_from_json(cli.ok({"records", "get", "households", "h-001", "--json"}).out);
    CHECK(merged.attributes.at("size").as_int() == 7);
    CHECK(merged.attributes.at("head_name").text() == "Amina Okello");

    // col= is null for a non-string column.
    cli.ok({"records", "put", "households", "h-002", "head_name=Bo", "size="});
    const outpost::Record bo =
        outpost::record_from_json(cli.ok({"records", "get", "households", "h-002", "--json"}).out);
    CHECK(bo.attributes.count("size") == 0);

    Run list = cli.ok({"records", "list", "households"});
    CHECK(contains(list.out, "h-001"));
    CHECK(contains(list.out, "h-002"));
    CHECK(contains(list.out, "Amina Okello"));
    const outpost::RecordPage page =
        outpost::record_page_from_json(cli.ok({"records", "list", "households", "--json"}).out);
    CHECK(page.records.size() == 2);

    Run deleted = cli.ok({"records", "delete", "households", "h-001", "--json"});
    CHECK(outpost::write_result_from_json(deleted.out).revision.generation() == 3);
    Run shown = cli.ok({"records", "get", "households", "h-001"});
    CHECK(contains(shown.out, "deleted   true\n"));
    CHECK(outpost::record_from_json(cli.ok({"records", "get", "households", "h-001", "--json"}).out)
              .deleted);
    CHECK_FALSE(contains(cli.ok({"records", "list", "households"}).out, "h-001"));
    cli.fails_with({"records", "delete", "households", "h-001"}, "not_found");

    // The feed lists each record once, at its latest position.
    Run changes = cli.ok({"changes"});
    CHECK(contains(changes.out, "h-001"));
    CHECK(contains(changes.out, "h-002"));
    CHECK(contains(changes.out, "last_seq "));
    const outpost::ChangesPage feed = outpost::changes_from_json(cli.ok({"changes", "--json"}).out);
    REQUIRE(feed.results.size() == 2);
    CHECK(feed.results[0].id == "h-002");
    CHECK(feed.results[1].id == "h-001");
    CHECK(feed.results[1].deleted);
    const outpost::ChangesPage after = outpost::changes_from_json(
        cli.ok({"changes", "--json", "--since", feed.results[0].seq}).out);
    REQUIRE(after.results.size() == 1);
    CHECK(after.results[0].id == "h-001");
  }

  SUBCASE("conflicts are listed and resolved") {
    // A conflict only arrives by replication: write a second branch directly.
    outpost::Revision local, remote;
    {
      auto engine = outpost::open_engine(cli.url());
      const outpost::Attributes one{{"head_name", outpost::Value::from_string("One")}};
      const outpost::Revision first =
          outpost::put_record(*engine, "households", "h-c", {}, one).revision;
      const outpost::Attributes two{{"head_name", outpost::Value::from_string("Two")}};
      local = outpost::put_record(*engine, "households", "h-c", first, two).revision;
      outpost::RemoteRevision branch;
      branch.table = "households";
      branch.id = "h-c";
      branch.attributes = {{"head_name", outpost::Value::from_string("Three")},
                           {"size", outpost::Value::from_int(3)}};
      branch.revision =
          outpost::compute_revision("households", "h-c", first, false, branch.attributes);
      branch.ancestry = {first};
      REQUIRE(engine->write_replicated({branch})[0].ok());
      remote = branch.revision;
    }
    const outpost::Revision loser = local < remote ? local : remote;
    const outpost::Revision winner = local < remote ? remote : local;

    Run listed = cli.ok({"records", "conflicts"});
    CHECK(contains(listed.out, "h-c"));
    CHECK(contains(listed.out, loser.str()));
    const outpost::Record got = outpost::record_from_json(
        cli.ok({"records", "get", "households", "h-c", "--conflicts", "--json"}).out);
    CHECK(got.revision == winner);
    REQUIRE(got.conflicts.has_value());
    CHECK(*got.conflicts == std::vector<outpost::Revision>{loser});

    // Keep the losing branch, with one column changed.
    Run resolved =
        cli.ok({"records", "resolve", "households", "h-c", loser.str(), "size=9", "--json"});
    CHECK(outpost::write_result_from_json(resolved.out).revision.generation() == 3);
    const outpost::Record after = outpost::record_from_json(
        cli.ok({"records", "get", "households", "h-c", "--conflicts", "--json"}).out);
    CHECK(after.conflicts->empty());
    CHECK(after.attributes.at("size").as_int() == 9);
    CHECK(after.attributes.at("head_name").text() == (loser == local ? "Two" : "Three"));
    CHECK(contains(cli.ok({"records", "conflicts", "households"}).out, "(no conflicts)"));
  }

  SUBCASE("a generated id") {
    Run put = cli.ok({"records", "put", "households", "--new", "head_name=Cy", "--json"});
    const outpost::WriteResult written = outpost::write_result_from_json(put.out);
    CHECK(written.id.size() == 36);
    CHECK(contains(cli.ok({"records", "list", "households"}).out, written.id));
  }

  SUBCASE("bad input is refused with its code and changes nothing") {
    Run bad = cli.fails_with({"records", "put", "households", "h-9", "head_name=X", "size=abc"},
                             "invalid_value");
    CHECK(contains(bad.err, "size"));
    cli.fails_with({"records", "put", "households", "h-9", "head_name=X", "consent=yes"},
                   "invalid_value");
    cli.fails_with({"records", "put", "households", "h-9", "head_name=X", "colour=red"},
                   "unknown_column");
    cli.fails_with({"records", "put", "households", "h-9", "size=1"}, "missing_required");
    cli.fails_with({"records", "get", "nope", "h-1"}, "unknown_table");
    cli.fails_with({"records", "put", "nope", "h-1", "a=b"}, "unknown_table");
    cli.fails_with({"records", "get", "households", "h-9"}, "not_found");
    cli.fails_with({"tables", "create", "a\"; DROP TABLE households; --", "c:int"}, "invalid_name");
    cli.fails_with({"tables", "create", "households", "other:int"}, "schema_conflict");

    Run json = cli.run({"records", "get", "nope", "h-1", "--json"});
    CHECK(json.status == 1);
    CHECK(outpost::error_from_json(json.out).code() == outpost::ErrorCode::unknown_table);

    const std::vector<outpost::Table> tables =
        outpost::tables_from_json(cli.ok({"tables", "list", "--json"}).out);
    REQUIRE(tables.size() == 1);
    CHECK(tables[0].name == "households");
    CHECK(outpost::changes_from_json(cli.ok({"changes", "--json"}).out).results.empty());
  }

  SUBCASE("usage mistakes exit 2 with a hint") {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"records", "get", "households"},
          {"records", "fetch"},
          {"tables", "create", "t", "size"},
          {"tables", "create", "t", "size:integer"},
          {"records", "list", "households", "--limit", "zero"},
          {"changes", "--unknown"},
          {"frobnicate"}}) {
      Run run = cli.run(args);
      INFO("args[0..1]: " << args[0] << " " << (args.size() > 1 ? args[1] : ""));
      CHECK(run.status == 2);
      CHECK(run.err.rfind("error: ", 0) == 0);
      CHECK(contains(run.err, "--help"));
    }
  }

  SUBCASE("every command has --help") {
    for (const std::vector<std::string>& args : {std::vector<std::string>{"--help"},
                                                 {"tables", "--help"},
                                                 {"tables", "create", "--help"},
                                                 {"records", "--help"},
                                                 {"records", "put", "--help"},
                                                 {"records", "resolve", "--help"},
                                                 {"changes", "--help"},
                                                 {"bench", "--help"}}) {
      Run run = cli.run(args);
      CHECK(run.status == 0);
      CHECK(contains(run.out, "usage: outpost"));
    }
  }
}

TEST_CASE("cli: changes --follow prints entries as they come and ends on SIGINT") {
  Cli cli;
  cli.ok({"tables", "create", "notes", "text:string"});
  cli.ok({"records", "put", "notes", "n-1", "text=first"});
  Process follow = cli.start({"changes", "--follow"}, "follow");

  // Waits up to 20 s for `part` to appear in the follower's output.
  auto wait_for = [&](const std::string& part) {
    for (int i = 0; i < 200; ++i) {
      if (contains(read_file(follow.out_path), part)) return true;
      usleep(100 * 1000);
    }
    return false;
  };
  CHECK(wait_for("n-1"));
  cli.ok({"records", "put", "notes", "n-2", "text=second"});
  CHECK(wait_for("n-2"));
  REQUIRE(kill(follow.pid, SIGINT) == 0);
  Run ended = follow.finish();
  CHECK(ended.status == 0);
  CHECK(ended.err.empty());
}

TEST_CASE("cli: sync shows its progress on stderr and ends with a one-line summary") {
  Cli cli;
  cli.ok({"tables", "create", "items", "name:string"});
  for (int i = 0; i < 30; ++i)
    cli.ok({"records", "put", "items", "r" + std::to_string(i), "name=x"});
  const std::string other = "sqlite:" + (cli.dir().path() / "other.db").string();
  Run run = cli.ok({"sync", "--remote", other});
  // Progress (not a terminal: a plain line per update, the first at once).
  CHECK(contains(run.err, "push: 30 changes, 30 written, 0 present, 0 errors, "));
  CHECK(contains(run.err, " changes/s"));
  // One line on stdout for both directions: what was done, how long, how
  // fast (the pull reads back the 30 the push wrote, and finds them present).
  CHECK(std::count(run.out.begin(), run.out.end(), '\n') == 1);
  CHECK(
      run.out.starts_with("sync: 60 changes read, 30 revisions written, 30 already present, "
                          "0 errors, "));
  CHECK(contains(run.out, " s, "));
  CHECK(run.out.ends_with(" changes/s\n"));
  // Nothing left to do: an idle sync says so.
  Run again = cli.ok({"sync", "--remote", other});
  CHECK(
      again.out.starts_with("sync: 0 changes read, 0 revisions written, 0 already present, "
                            "0 errors, "));
}

TEST_CASE("cli: bench put prints its figures") {
  Cli cli;
  Run run = cli.ok(
      {"bench", "put", "--records", "2000", "--single", "50", "--dir", cli.dir().path().string()});
  CHECK(contains(run.out, "put batched (1000/txn)"));
  CHECK(contains(run.out, "put single (1/txn)"));
  CHECK(contains(run.out, "rec/s"));
  CHECK(contains(run.out, "ratio "));

  Run server = cli.run({"bench", "put", "--db", "http://127.0.0.1:1", "--records", "10"});
  CHECK(server.status == 1);
  CHECK(contains(server.err, "measures a local database"));
}

TEST_CASE("cli: bench http prints a full, a median incremental and a slow-link figure each way") {
  Cli cli;
  const std::filesystem::path where = cli.dir().path() / "bench";
  std::filesystem::create_directory(where);
  Run run = cli.ok({"bench", "http", "--records", "300", "--dir", where.string()});
  CHECK(contains(run.out, "push to an empty server over HTTP"));
  CHECK(contains(run.out, "pull into an empty device over HTTP"));
  // 1% of 300 records, over five rounds.
  CHECK(contains(run.out, "incremental push of 3 changed over HTTP"));
  CHECK(contains(run.out, "incremental pull of 3 changed over HTTP"));
  CHECK(contains(run.out, "median of 5 rounds"));
  CHECK(contains(run.out, "ratio "));
  // The same rounds again over a slow link, counted in round trips.
  CHECK(contains(run.out, "incremental push of 3 changed over 50 ms round trips"));
  CHECK(contains(run.out, "incremental pull of 3 changed over 50 ms round trips"));
  CHECK(contains(run.out, " round trips, HTTP "));
  // The bench removes what it wrote, the server's files included.
  size_t left = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(where)) {
    ++left;
  }
  CHECK(left == 0);

  // A count that is not a multiple of 100: every round updates 2 records.
  Run odd = cli.ok({"bench", "http", "--records", "101", "--dir", where.string()});
  CHECK(contains(odd.out, "incremental push of 2 changed over HTTP"));
  CHECK(contains(odd.out, "incremental pull of 2 changed over HTTP"));
}

TEST_CASE("cli: bench put on PostgreSQL prints engine, 8-writer and raw figures") {
  if (!outpost::test::postgres_configured()) {
    if (outpost::test::running_in_ci()) FAIL("CI=true but OUTPOST_TEST_PG is not set");
    MESSAGE("PostgreSQL suites SKIPPED: set OUTPOST_TEST_PG");
    return;
  }
  Cli cli;
  const char* pg = std::getenv("OUTPOST_TEST_PG");
  Run run = cli.ok({"bench", "put", "--db", pg, "--records", "2000", "--single", "20"});
  CHECK(contains(run.out, "put batched (1000/txn)"));
  CHECK(contains(run.out, "put 8 writers vs 1 raw"));
  CHECK(contains(run.out, "put single (1/txn)"));
  CHECK(contains(run.out, "ratio "));
}
