// A full disk under SQLite (docs/operations.md "When the disk is full"):
// SQLITE_FULL (here from PRAGMA max_page_count, which SQLite enforces the
// same way) is disk_full with a plain message naming the file, nothing of
// the failed write is stored and the engine writes again once there is
// room; a -shm region the disk cannot hold is disk_full instead of a SIGBUS;
// and a SIGBUS inside a -shm region ends the command with one clear line.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "engine/backends.h"
#include "engine/open.h"
#include "engine/sqlite/sqlite_db.h"
#include "engine/sqlite/sqlite_vfs.h"

namespace outpost::test {
namespace {

constexpr std::string_view kAdvice =
    "free some space and run again; no acknowledged write was lost";

// Runs a hook on every SQLite connection the engine opens while it lives.
struct ConnectHook {
  explicit ConnectHook(std::function<void(sqlite3*)> hook) {
    set_sqlite_connect_hook_for_testing(std::move(hook));
  }
  ~ConnectHook() { set_sqlite_connect_hook_for_testing(nullptr); }
};

struct PopulateHook {
  explicit PopulateHook(ShmPopulateFn fn) { set_shm_populate_for_testing(fn); }
  ~PopulateHook() { set_shm_populate_for_testing(nullptr); }
};

std::string sqlite_path(const TestDatabase& db) {
  std::string url = db.url();
  if (url.rfind("sqlite:", 0) == 0) url = url.substr(7);
  return url;
}

int64_t page_count(const TestDatabase& db) {
  return std::stoll(db.raw_query("PRAGMA page_count").at(0).at(0).value());
}

void set_max_page_count(sqlite3* db, int64_t pages) {
  const std::string sql = "PRAGMA max_page_count=" + std::to_string(pages);
  REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
}

Edit big_put(const std::string& id) {
  Edit e;
  e.table = "items";
  e.id = id;
  e.attributes = item(std::string(200 * 1024, 'x'));
  return e;
}

TEST_CASE(
    "sqlite: a full database is disk_full, stores nothing, and writes again once it has room") {
  std::mutex mu;
  std::vector<sqlite3*> opened;   // in the order the engine opened them
  std::atomic<int64_t> limit{0};  // max_page_count for new connections; 0: none
  ConnectHook hook([&](sqlite3* handle) {
    std::lock_guard lock(mu);
    opened.push_back(handle);
    if (limit.load() > 0) set_max_page_count(handle, limit.load());
  });
  std::unique_ptr<TestDatabase> db = test_backends().at(0).create();
  REQUIRE(db->backend() == "sqlite");
  create_table(db->engine(), items_table());
  const Revision a = create(db->engine(), "items", "a", item("kept", 1));
  const std::string before = dump(db->engine());

  // The database may not grow beyond its current size.
  limit = page_count(*db);
  {
    std::lock_guard lock(mu);
    opened.clear();
  }
  db->reopen();
  sqlite3* writer = nullptr;
  {
    std::lock_guard lock(mu);
    REQUIRE(!opened.empty());
    writer = opened.front();  // SqliteStorage opens its writer first
  }

  std::optional<Error> failure;
  try {
    db->engine().write({big_put("big")});
  } catch (const Error& e) {
    failure = e;
  }
  REQUIRE(failure);
  CHECK(failure->code() == ErrorCode::disk_full);
  CHECK(http_status(failure->code()) == 507);
  const std::string message = failure->message();
  CHECK(message.find("the disk holding " + sqlite_path(*db) + " is full") == 0);
  CHECK(message.find(kAdvice) != std::string::npos);

  // Nothing of the failed write is stored; what was there is intact.
  CHECK_FALSE(db->engine().get("items", "big").has_value());
  CHECK(must_get(db->engine(), "items", "a").revision == a);
  CHECK(dump(db->engine()) == before);

  // Once there is room, the same engine writes again.
  set_max_page_count(writer, 1 << 30);
  WriteResult written = write_one(db->engine(), big_put("big"));
  CHECK_FALSE(written.error.has_value());
  CHECK(must_get(db->engine(), "items", "big").attributes.at("name").text().size() == 200 * 1024);
}

int g_populate_calls = 0;
int fail_populate(void*, size_t) {
  ++g_populate_calls;
  return EFAULT;
}
int count_populate(void*, size_t) {
  ++g_populate_calls;
  return 0;
}

TEST_CASE("sqlite: a -shm region the disk cannot hold is disk_full, not a SIGBUS") {
  std::unique_ptr<TestDatabase> db = test_backends().at(0).create();
  create_table(db->engine(), items_table());
  const std::string path = sqlite_path(*db);

  SUBCASE("every -shm region is pre-faulted for writing") {
    g_populate_calls = 0;
    PopulateHook hook(count_populate);
    db->reopen();
    create(db->engine(), "items", "a", item("a"));
    CHECK(g_populate_calls > 0);
  }
  SUBCASE("a region that cannot be allocated fails the open with disk_full") {
    g_populate_calls = 0;
    std::optional<Error> failure;
    {
      PopulateHook hook(fail_populate);
      try {
        db->reopen();
      } catch (const Error& e) {
        failure = e;
      }
    }
    CHECK(g_populate_calls > 0);
    REQUIRE(failure);
    CHECK(failure->code() == ErrorCode::disk_full);
    CHECK(failure->message() == "the disk holding " + path +
                                    " is full: SQLite could not extend its shared-memory file " +
                                    path + "-shm; " + std::string(kAdvice));
    // With room again, the database opens and works.
    db->reopen();
    create(db->engine(), "items", "b", item("b"));
    CHECK(must_get(db->engine(), "items", "b").attributes.at("name") == str("b"));
  }
}

// Runs `body` in a child process whose stderr goes to `err_file`; returns
// its wait status.
template <class Fn>
int in_child(const std::string& err_file, Fn body) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int fd = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) _exit(90);
    dup2(fd, STDERR_FILENO);
    body();
    _exit(91);  // the body was meant to end the process
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return status;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_CASE("sqlite: a SIGBUS in a -shm region ends the process with one clear line and status 1") {
  std::unique_ptr<TestDatabase> db = test_backends().at(0).create();  // for its directory
  const std::string dir = sqlite_path(*db) + ".faults";
  REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
  // A mapping past the end of an empty file: a store into it faults with
  // SIGBUS (BUS_ADRERR), as a store into an unallocatable -shm block does.
  const std::string backing = dir + "/empty";
  int fd = ::open(backing.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  const size_t length = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* mapped = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  REQUIRE(mapped != MAP_FAILED);
  auto store = [mapped] {
    install_sqlite_fault_handler();
    *static_cast<volatile char*>(mapped) = 1;
  };

  SUBCASE("inside a region the VFS mapped: disk_full and exit status 1") {
    note_shm_region_for_testing(mapped, length, "/data/field.db");
    const std::string err = dir + "/stderr";
    const int status = in_child(err, store);
    forget_shm_regions_for_testing("/data/field.db");
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
    CHECK(read_file(err) ==
          "error: disk_full: the disk holding /data/field.db is full: SQLite could not extend "
          "its shared-memory file /data/field.db-shm; " +
              std::string(kAdvice) + "\n");
  }
  SUBCASE("anywhere else: the default action (killed by SIGBUS, nothing printed)") {
    const std::string err = dir + "/stderr";
    const int status = in_child(err, store);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGBUS);
    CHECK(read_file(err).empty());
  }
  munmap(mapped, length);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace outpost::test
