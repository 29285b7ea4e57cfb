// The C ABI's promise that no C++ exception crosses it (include/outpost.h):
// every entry point that reaches a database is called over an engine that
// throws, at its first call, each kind of exception there is (an outpost
// Error, a standard exception, std::bad_alloc, and something that is no
// exception at all), and must return a code with a message instead. The
// entry points that take no database are driven through their error paths.
// A crossing exception would end the test binary (the functions are
// noexcept at the boundary), so passing means none crossed.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "api/version.h"
#include "bindings/c/capi_internal.h"
#include "engine/open.h"
#include "outpost.h"
#include "reconciler/wrappers.h"
#include "server/http_helpers.h"

namespace outpost::test {
namespace {

enum class Throw { error, standard, bad_alloc, not_an_exception };

// An engine whose every call throws `kind` (after `allowed` calls pass).
class ThrowingEngine final : public ForwardingEngine {
 public:
  ThrowingEngine(std::unique_ptr<Engine> inner, Throw kind)
      : ForwardingEngine(*inner), owned_(std::move(inner)), kind_(kind) {}

 protected:
  void before(const char*) override {
    switch (kind_) {
      case Throw::error:
        throw Error(ErrorCode::unavailable, "injected: the disk went away");
      case Throw::standard:
        throw std::runtime_error("injected: a standard exception");
      case Throw::bad_alloc:
        throw std::bad_alloc();
      case Throw::not_an_exception:
        throw 42;
    }
  }

 private:
  std::unique_ptr<Engine> owned_;
  Throw kind_;
};

struct EntryPoint {
  const char* name;
  std::function<outpost_code(outpost_db*, char**, outpost_error*)> call;
};

// Every entry point that takes a database, with arguments that are valid,
// so that only the engine's exception can make it fail.
std::vector<EntryPoint> entry_points(const std::string& other_db) {
  const char* attrs = R"({"name":{"string":"x"}})";
  return {
      {"outpost_info",
       [](outpost_db* db, char** out, outpost_error* e) { return outpost_info(db, out, e); }},
      {"outpost_table_put",
       [](outpost_db* db, char** out, outpost_error* e) {
         return outpost_table_put(db, "t", R"({"columns":[{"name":"name","type":"string"}]})", out,
                                  e);
       }},
      {"outpost_table_get", [](outpost_db* db, char** out,
                               outpost_error* e) { return outpost_table_get(db, "t", out, e); }},
      {"outpost_table_list",
       [](outpost_db* db, char** out, outpost_error* e) { return outpost_table_list(db, out, e); }},
      {"outpost_put",
       [=](outpost_db* db, char** out, outpost_error* e) {
         return outpost_put(db, "t", "r1", nullptr, attrs, out, e);
       }},
      {"outpost_create", [=](outpost_db* db, char** out,
                             outpost_error* e) { return outpost_create(db, "t", attrs, out, e); }},
      {"outpost_delete",
       [](outpost_db* db, char** out, outpost_error* e) {
         return outpost_delete(db, "t", "r1", nullptr, out, e);
       }},
      {"outpost_resolve",
       [](outpost_db* db, char** out, outpost_error* e) {
         return outpost_resolve(db, "t", "r1", nullptr, nullptr, out, e);
       }},
      {"outpost_bulk_docs",
       [](outpost_db* db, char** out, outpost_error* e) {
         return outpost_bulk_docs(
             db, R"({"docs":[{"table":"t","id":"r2","attributes":{"name":{"string":"y"}}}]})", out,
             e);
       }},
      {"outpost_get", [](outpost_db* db, char** out,
                         outpost_error* e) { return outpost_get(db, "t", "r1", nullptr, out, e); }},
      {"outpost_list",
       [](outpost_db* db, char** out, outpost_error* e) {
         return outpost_list(db, "t", R"({"where":"name = 'x'"})", out, e);
       }},
      {"outpost_conflicts",
       [](outpost_db* db, char** out, outpost_error* e) {
         return outpost_conflicts(db, nullptr, out, e);
       }},
      {"outpost_changes",
       [](outpost_db* db, char** out, outpost_error* e) {
         return outpost_changes(db, R"({"scope":"t: *"})", out, e);
       }},
      {"outpost_sync",
       [=](outpost_db* db, char** out, outpost_error* e) {
         return outpost_sync(db, other_db.c_str(), nullptr, nullptr, nullptr, out, e);
       }},
      {"outpost_scope_get",
       [](outpost_db* db, char** out, outpost_error* e) { return outpost_scope_get(db, out, e); }},
      {"outpost_scope_set",
       [](outpost_db* db, char** out, outpost_error* e) {
         return outpost_scope_set(db, "t: name = 'x'", out, e);
       }},
      {"outpost_scope_clear", [](outpost_db* db, char** out,
                                 outpost_error* e) { return outpost_scope_clear(db, out, e); }},
  };
}

// A database holding table t with record r1, as the entry points expect.
std::unique_ptr<Engine> prepared(const std::string& path) {
  std::unique_ptr<Engine> engine = open_engine("sqlite:" + path);
  Table t;
  t.name = "t";
  t.columns.push_back({"name", ValueType::string, false});
  engine->put_table(t);
  put_record(*engine, "t", "r1", Revision(), {{"name", Value::parse(ValueType::string, "x")}});
  return engine;
}

TEST_CASE("c abi: every entry point works over a sound database") {
  http::TempDir dir;
  const std::string other = "sqlite:" + (dir.path() / "other.db").string();
  for (const EntryPoint& entry : entry_points(other)) {
    CAPTURE(entry.name);
    outpost_db* db = capi::wrap_engine(prepared((dir.path() / "db.db").string()));
    outpost_error err{};
    char* out = nullptr;
    const outpost_code code = entry.call(db, &out, &err);
    CHECK_MESSAGE(code == OUTPOST_OK, (err.message ? err.message : ""));
    CHECK(out != nullptr);
    outpost_free(out);
    outpost_error_clear(&err);
    outpost_close(db);
    std::filesystem::remove(dir.path() / "db.db");
  }
}

TEST_CASE("c abi: no exception of any kind crosses any entry point") {
  http::TempDir dir;
  const std::string other = "sqlite:" + (dir.path() / "other.db").string();
  const std::string path = (dir.path() / "db.db").string();
  prepared(path);
  struct Kind {
    Throw kind;
    outpost_code code;
    const char* message;
  };
  const Kind kinds[] = {
      {Throw::error, OUTPOST_UNAVAILABLE, "injected: the disk went away"},
      {Throw::standard, OUTPOST_INTERNAL, "unexpected failure: injected: a standard exception"},
      {Throw::bad_alloc, OUTPOST_INTERNAL, "out of memory"},
      {Throw::not_an_exception, OUTPOST_INTERNAL, "unexpected failure of an unknown kind"},
  };
  for (const Kind& k : kinds) {
    for (const EntryPoint& entry : entry_points(other)) {
      CAPTURE(entry.name);
      CAPTURE(k.message);
      outpost_db* db = capi::wrap_engine(
          std::make_unique<ThrowingEngine>(open_engine("sqlite:" + path), k.kind));
      outpost_error err{};
      char* out = nullptr;
      const outpost_code code = entry.call(db, &out, &err);
      CHECK(code == k.code);
      REQUIRE(err.message != nullptr);
      CHECK(std::string(err.message) == k.message);
      CHECK(err.code == k.code);
      CHECK(out == nullptr);  // nothing handed out on failure
      outpost_error_clear(&err);
      CHECK(err.message == nullptr);
      CHECK(err.code == OUTPOST_OK);
      outpost_close(db);
    }
  }
}

TEST_CASE("c abi: a NULL handle or argument is invalid_value, never a crash") {
  for (const EntryPoint& entry : entry_points("sqlite:unused.db")) {
    CAPTURE(entry.name);
    outpost_error err{};
    char* out = nullptr;
    CHECK(entry.call(nullptr, &out, &err) == OUTPOST_INVALID_VALUE);
    REQUIRE(err.message != nullptr);
    CHECK(std::string(err.message) == "db is NULL");
    CHECK(out == nullptr);
    outpost_error_clear(&err);
  }
  outpost_error err{};
  outpost_db* db = nullptr;
  CHECK(outpost_open(nullptr, nullptr, &db, &err) == OUTPOST_INVALID_VALUE);
  CHECK(db == nullptr);
  CHECK(outpost_open("sqlite:x.db", nullptr, nullptr, &err) == OUTPOST_INVALID_VALUE);
  CHECK(outpost_open("sqlite:x.db", "[1,", &db, &err) == OUTPOST_INVALID_JSON);
  CHECK(outpost_open("sqlite:x.db", "[1]", &db, &err) == OUTPOST_INVALID_JSON);
  CHECK(outpost_open("sqlite:x.db", R"({"durabilty":"full"})", &db, &err) == OUTPOST_INVALID_VALUE);
  CHECK(std::string(err.message).find("unknown key \"durabilty\"") != std::string::npos);
  CHECK(outpost_open("sqlite:x.db", R"({"token":"t"})", &db, &err) == OUTPOST_INVALID_VALUE);
  // Nesting beyond the JSON depth limit is refused before it is parsed.
  std::string deep(100000, '[');
  CHECK(outpost_open("sqlite:x.db", deep.c_str(), &db, &err) == OUTPOST_INVALID_JSON);
  CHECK(db == nullptr);
  // Calls without an error to fill still answer the code.
  CHECK(outpost_open(nullptr, nullptr, &db, nullptr) == OUTPOST_INVALID_VALUE);
  outpost_error_clear(&err);
  outpost_close(nullptr);
  outpost_cancel(nullptr);
  outpost_free(nullptr);
  outpost_error_clear(nullptr);
}

TEST_CASE("c abi: code names match the API's error codes, in order") {
  CHECK(std::string(outpost_code_name(OUTPOST_OK)) == "ok");
  CHECK(std::string(outpost_code_name(OUTPOST_CANCELLED)) == "cancelled");
  CHECK(std::string(outpost_code_name(-1)) == "unknown");
  CHECK(std::string(outpost_code_name(20)) == "unknown");
  for (int code = OUTPOST_INVALID_JSON; code <= OUTPOST_DISK_FULL; ++code) {
    const ErrorCode c = static_cast<ErrorCode>(code - 1);
    CHECK(std::string(outpost_code_name(code)) == std::string(error_code_name(c)));
  }
  CHECK(std::string(outpost_code_name(OUTPOST_SCHEMA_CONFLICT)) == "schema_conflict");
  CHECK(std::string(outpost_code_name(OUTPOST_DISK_FULL)) == "disk_full");
  CHECK(std::string(outpost_version()) == kOutpostVersion);
  CHECK(outpost_abi_version() == OUTPOST_ABI_VERSION);
}

}  // namespace
}  // namespace outpost::test
