// A full disk seen over HTTP (docs/http-api.md, docs/operations.md): a write
// into a full SQLite database answers 507 disk_full with the error object,
// without Retry-After (waiting does not help), stores nothing, and logs its
// cause once at warn; the server keeps serving and writes again once the
// database has room.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "api/json.h"
#include "engine/backends.h"
#include "engine/sqlite/sqlite_db.h"
#include "server/http_helpers.h"
#include "server/router.h"
#include "server/server.h"
#include "utils/log.h"

namespace outpost::test {
namespace {

using namespace std::chrono_literals;

struct ConnectHook {
  explicit ConnectHook(std::function<void(sqlite3*)> hook) {
    set_sqlite_connect_hook_for_testing(std::move(hook));
  }
  ~ConnectHook() { set_sqlite_connect_hook_for_testing(nullptr); }
};

struct CapturedLog {
  CapturedLog() {
    set_log_level(LogLevel::warn);
    set_log_sink([this](std::string_view line) {
      std::lock_guard lock(mu);
      lines.emplace_back(line);
    });
  }
  ~CapturedLog() { set_log_sink(nullptr); }
  std::vector<std::string> with(std::string_view text) {
    std::lock_guard lock(mu);
    std::vector<std::string> out;
    for (const std::string& line : lines) {
      if (line.find(text) != std::string::npos) out.push_back(line);
    }
    return out;
  }
  std::mutex mu;
  std::vector<std::string> lines;
};

void set_max_page_count(sqlite3* db, int64_t pages) {
  const std::string sql = "PRAGMA max_page_count=" + std::to_string(pages);
  REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
}

TEST_CASE("server: a write into a full SQLite database answers 507 disk_full and stores nothing") {
  CapturedLog captured;
  std::mutex mu;
  std::vector<sqlite3*> opened;
  std::atomic<int64_t> limit{0};
  ConnectHook hook([&](sqlite3* handle) {
    std::lock_guard lock(mu);
    opened.push_back(handle);
    if (limit.load() > 0) set_max_page_count(handle, limit.load());
  });
  std::unique_ptr<TestDatabase> db = test_backends().at(0).create();
  REQUIRE(db->backend() == "sqlite");
  Token admin;
  admin.name = "admin";
  admin.admin = true;
  const std::string secret = db->engine().tokens()->create_token(admin);
  create_table(db->engine(), items_table());

  // The database may not grow any more.
  limit = std::stoll(db->raw_query("PRAGMA page_count").at(0).at(0).value());
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
  server::Router router(db->engine(), {});
  const auto fixed_time = server::ErrorLog::Clock::now();  // no time passes for the log
  router.error_log().set_clock_for_testing([&] { return fixed_time; });
  server::ServerOptions options;
  options.port = 0;
  server::Server srv(router, options);
  srv.start();

  const std::string body =
      R"({"attributes":{"name":{"string":")" + std::string(200 * 1024, 'x') + "\"}}}";
  auto put = [&] {
    return http::fetch(srv.port(), "PUT", "/v1/tables/items/records/big", body, secret);
  };
  auto full = put();
  REQUIRE(full);
  CHECK_MESSAGE(full->status == 507, full->body);
  CHECK(full->code() == "disk_full");
  CHECK(full->header("retry-after").empty());
  const std::string message = error_from_json(full->body).message();
  CHECK(message.find("the disk holding ") == 0);
  CHECK(message.find(" is full: ") != std::string::npos);
  CHECK(message.find("free some space and run again; no acknowledged write was lost") !=
        std::string::npos);

  auto missing = http::fetch(srv.port(), "GET", "/v1/tables/items/records/big", "", secret);
  REQUIRE(missing);
  CHECK(missing->status == 404);

  // The cause is logged at warn, once while it repeats.
  std::vector<std::string> logged = captured.with("request failed");
  REQUIRE(logged.size() == 1);
  CHECK(logged[0].find("WARN http: request failed method=PUT route=/v1/tables/{t}/records/{id} "
                       "status=507 error=disk_full message=\"the disk holding ") !=
        std::string::npos);
  auto again = put();
  REQUIRE(again);
  CHECK(again->status == 507);
  CHECK(captured.with("request failed").size() == 1);

  // Room again: the same server writes.
  set_max_page_count(writer, 1 << 30);
  auto stored = put();
  REQUIRE(stored);
  CHECK(stored->status == 200);
  srv.stop(5s);
}

}  // namespace
}  // namespace outpost::test
