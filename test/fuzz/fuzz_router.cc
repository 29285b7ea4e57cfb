// libFuzzer target: Router::handle (server/router.h) over a real SQLite
// engine in a temporary file, opened once per process and made again every
// kExecsPerDatabase inputs so that it does not grow without bound. At start
// it holds two tables and three tokens: an admin, one with a read and a
// write scope on part of "items", and one that may only read "items".
//
// Input: byte 0 picks the Authorization header (none, one of the tokens, an
// unknown one, a malformed one), byte 1 the method, byte 2 the
// Content-Type; then the target up to '\n'; the rest is the body.
//
// Properties: handle() returns (never crashes, never throws); no answer is
// 5xx but 501 (a method the API does not implement), 503 unavailable and
// 507 disk_full;
// every error answer (>= 400) is an {"error", "message"} JSON object whose
// code maps to its status (501 aside); every other JSON answer is JSON.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/error.h"
#include "api/json.h"
#include "api/table.h"
#include "api/tokens.h"
#include "engine/open.h"
#include "engine/record_engine.h"
#include "engine/sqlite/sqlite_storage.h"
#include "server/router.h"
#include "test/fuzz/fuzz_support.h"
#include "utils/log.h"

namespace outpost::fuzz {
namespace {

constexpr size_t kExecsPerDatabase = 5000;

struct Server {
  std::filesystem::path dir;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<server::Router> router;
  std::string admin, scoped, reader;
  size_t execs = 0;

  Server() {
    set_log_level(LogLevel::error);
    std::string pattern = (std::filesystem::temp_directory_path() / "outpost-fuzz-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) fail("mkdtemp");
    dir = pattern;
    try {
      open();
    } catch (const Error& e) {
      fail(std::string("setting up the database: ") + e.what());
    }
  }
  void open() {
    OpenOptions options;
    options.durability = Durability::normal;
    engine = std::make_unique<RecordEngine>(
        std::make_unique<SqliteStorage>((dir / "fuzz.db").string(), options), options);
    engine->put_table({"items",
                       {{"name", ValueType::string, false},
                        {"size", ValueType::int_, false},
                        {"note", ValueType::string, false},
                        {"when", ValueType::timestamp, false}}});
    engine->put_table({"secret", {{"code", ValueType::bytes, false}}});
    Token a;
    a.name = "admin";
    a.admin = true;
    admin = engine->tokens()->create_token(a);
    Token s;
    s.name = "scoped";
    s.scope = "items: size IN (1, 2)";
    s.write_scope = "items: size = 1";
    scoped = engine->tokens()->create_token(s);
    Token r;
    r.name = "reader";
    r.read = {"items"};
    reader = engine->tokens()->create_token(r);
    server::RouterOptions router_options;
    router_options.max_longpoll_ms = 10;
    router_options.default_longpoll_ms = 10;
    router_options.auth_base_delay_ms = 0;
    router = std::make_unique<server::Router>(*engine, router_options);
  }

  void close() {
    router.reset();
    engine.reset();
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::filesystem::remove(dir / (std::string("fuzz.db") + suffix), ignored);
    }
  }

  server::HttpResponse handle(const server::HttpRequest& request) {
    if (++execs % kExecsPerDatabase == 0) {
      close();
      try {
        open();
      } catch (const Error& e) {
        fail(std::string("setting up the database again: ") + e.what());
      }
    }
    return router->handle(request, false);
  }
};

Server* g_server = nullptr;

// At exit (libFuzzer ends a timed run with exit()): the temporary directory
// goes, the engine is left as it is (other statics may be gone already).
void remove_database_dir() {
  std::error_code ignored;
  if (g_server != nullptr) std::filesystem::remove_all(g_server->dir, ignored);
}

Server& the_server() {
  if (g_server == nullptr) {
    g_server = new Server();  // reachable until exit, so never reported as a leak
    std::atexit(remove_database_dir);
  }
  return *g_server;
}

void check_answer(const server::HttpRequest& request, const server::HttpResponse& response) {
  std::string what = request.method + " " + request.target;
  int status = response.status;
  if (status < 100 || status > 599) fail("an impossible status", what);
  // The 5xx answers that are not bugs: 501 (a method the API does not
  // implement), 503 unavailable (the database busy or unreachable, out of
  // memory) and 507 disk_full. A 500 is something that threw other than
  // outpost::Error.
  if (status >= 500 && status != 501 && status != 503 && status != 507) {
    fail("a " + std::to_string(status) + " answer", what, response.body);
  }
  if (response.content_type != "application/json") return;
  if (status >= 400) {
    Error error(ErrorCode::internal, "");
    try {
      error = error_from_json(response.body);
    } catch (const Error& e) {
      fail(std::string("an error answer that is no error object: ") + e.what(), what,
           response.body);
    }
    if (status != 501 && http_status(error.code()) != status) {
      fail("an error code that does not match the status", what, response.body);
    }
  } else if (!response.body.empty()) {
    try {
      check_json(response.body);
    } catch (const Error& e) {
      fail(std::string("a JSON answer that is not JSON: ") + e.what(), what, response.body);
    }
  }
}

}  // namespace
}  // namespace outpost::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using outpost::fuzz::Input;
  outpost::fuzz::Server& server = outpost::fuzz::the_server();
  Input in(data, size);
  uint8_t who = in.byte();
  uint8_t method = in.byte();
  uint8_t type = in.byte();
  outpost::server::HttpRequest request;
  request.remote = "192.0.2.1";
  switch (who % 6) {
    case 0:
      break;
    case 1:
      request.headers.emplace_back("Authorization", "Bearer " + server.admin);
      break;
    case 2:
      request.headers.emplace_back("Authorization", "Bearer " + server.scoped);
      break;
    case 3:
      request.headers.emplace_back("Authorization", "Bearer " + server.reader);
      break;
    case 4:
      request.headers.emplace_back("Authorization", "Bearer op_not-a-token");
      break;
    case 5:
      request.headers.emplace_back("authorization", "Basic YWRtaW46YWRtaW4=");
      break;
  }
  static const char* const kMethods[] = {"GET",  "PUT",   "POST",   "DELETE",
                                         "HEAD", "PATCH", "OPTIONS"};
  request.method = method % 8 < 7 ? kMethods[method % 8] : std::string(in.part(' '));
  static const char* const kTypes[] = {"application/json", "application/json; charset=utf-8",
                                       "text/plain", ""};
  if (type % 4 != 3) request.headers.emplace_back("Content-Type", kTypes[type % 4]);
  if (type & 4) request.headers.emplace_back("Accept-Encoding", "gzip");
  if (type & 8) request.headers.emplace_back("If-None-Match", "\"x\"");
  request.target = std::string(in.part('\n'));
  request.body = std::string(in.rest());
  outpost::server::HttpResponse response = server.handle(request);
  outpost::fuzz::check_answer(request, response);
  return 0;
}
