// The HTTP client against the real server process: connection refused is
// retried until `outpost serve` comes up; 4xx answers (bad token, forbidden,
// conflict, invalid name) keep their code and are sent once.
#include <doctest/doctest.h>

#include <thread>

#include "api/engine.h"
#include "client/http_engine.h"
#include "client/tiny_server.h"
#include "e2e/processes.h"
#include "engine/backends.h"

namespace {

using namespace outpost;
using namespace outpost::test;

}  // namespace

TEST_CASE("e2e client: retries connection refused until the server comes up") {
  ScratchDir dir;
  const uint16_t port = free_port();
  HttpClientOptions options;
  options.max_attempts = 200;
  options.retry_base = std::chrono::milliseconds(20);
  options.retry_cap = std::chrono::milliseconds(100);
  auto engine = open_http_engine("http://127.0.0.1:" + std::to_string(port), options);
  std::unique_ptr<ServeProcess> hub;
  std::exception_ptr start_failed;
  std::thread starter([&] {
    try {
      std::this_thread::sleep_for(std::chrono::milliseconds(400));
      ServeOptions serve{"sqlite:" + (dir.path() / "hub.db").string()};
      serve.auth = false;
      serve.listen = "127.0.0.1:" + std::to_string(port);
      hub = std::make_unique<ServeProcess>(dir.path(), serve);
    } catch (...) {
      start_failed = std::current_exception();
    }
  });
  std::string db_id;
  try {
    db_id = engine->db_id();
  } catch (...) {
    starter.join();
    if (start_failed) std::rethrow_exception(start_failed);
    throw;
  }
  starter.join();
  if (start_failed) std::rethrow_exception(start_failed);
  CHECK(is_uuid_v4(db_id));
  CHECK(engine->requests_sent() > 1);
}

TEST_CASE("e2e client: 4xx answers keep their code and are not retried") {
  ScratchDir dir;
  ServeProcess hub(dir.path(), ServeOptions{"sqlite:" + (dir.path() / "hub.db").string()});
  HttpClientOptions options;
  options.token = hub.admin_token();
  auto admin = open_http_engine(hub.url(), options);
  admin->put_table(items_table());
  Revision first = create(*admin, "items", "a", item("one"));

  auto check_once = [](HttpEngine& engine, ErrorCode expected, const std::function<void()>& fn) {
    const uint64_t before = engine.requests_sent();
    CHECK(error_of(fn) == expected);
    CHECK(engine.requests_sent() == before + 1);
  };
  HttpClientOptions bad = options;
  bad.token = "not-a-token";
  auto stranger = open_http_engine(hub.url(), bad);
  check_once(*stranger, ErrorCode::unauthorized, [&] { stranger->list_tables(); });
  check_once(*admin, ErrorCode::conflict,
             [&] { put_record(*admin, "items", "a", Revision(), item("again")); });
  check_once(*admin, ErrorCode::invalid_name, [&] {
    admin->put_table(Table{"a\"; DROP TABLE x; --", {}});
  });
  check_once(*admin, ErrorCode::unknown_table, [&] { admin->list_records("nope", "", 10); });
  // Per-document errors come back in the results, in order.
  Edit stale;
  stale.table = "items";
  stale.id = "a";
  stale.attributes = item("stale");
  Edit fresh = stale;
  fresh.id = "b";
  std::vector<WriteResult> results = admin->write({stale, fresh});
  REQUIRE(results.size() == 2);
  CHECK(code_of(results[0]) == ErrorCode::conflict);
  CHECK(results[1].ok());
  CHECK(must_get(*admin, "items", "a").revision == first);
  CHECK_FALSE(admin->get("items", "missing"));
  CHECK_FALSE(admin->get_table("missing"));
  CHECK_FALSE(admin->get_local("missing"));
  admin->put_local("cp", R"({"last_seq":"3"})");
  CHECK(admin->get_local("cp") == std::optional<std::string>(R"({"last_seq":"3"})"));
}
