// Test infrastructure for the engine conformance suite (STYLE.md 12): the
// backends every engine test runs on, a fresh database per test, and the
// small helpers that keep the tests short.
//
// Backends: "sqlite" always (a temporary file in a private mkdtemp directory,
// removed afterwards) and "postgres" when OUTPOST_TEST_PG names a PostgreSQL
// server (each database is a fresh CREATE DATABASE "outpost_t_<random>",
// dropped WITH (FORCE) afterwards).
//
// Thread-safety: a TestDatabase belongs to one test; its Engine may be used
// from several threads like any Engine.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/engine.h"
#include "api/error.h"
#include "api/record.h"
#include "api/revision.h"
#include "api/table.h"
#include "api/value.h"

namespace outpost::test {

// One fresh database on one backend. The destructor closes every Engine it
// opened and removes the database.
class TestDatabase {
 public:
  virtual ~TestDatabase() = default;

  const std::string& backend() const { return backend_; }
  const std::string& url() const { return url_; }

  // The engine opened on this database (opened at construction).
  Engine& engine() { return *engine_; }
  // Closes the engine and opens the same database again; references to the
  // previous engine() are invalid afterwards.
  void reopen();
  // A second, independent Engine on the same database.
  std::unique_ptr<Engine> open_another() const;

  // Runs one SQL query on the database directly, bypassing the engine, and
  // returns each row's columns as text (nullopt for NULL). Only for checking
  // the storage shape of DESIGN.md section 5, which applications rely on.
  using SqlRow = std::vector<std::optional<std::string>>;
  virtual std::vector<SqlRow> raw_query(const std::string& sql) const = 0;

 protected:
  TestDatabase(std::string backend, std::string url)
      : backend_(std::move(backend)), url_(std::move(url)) {}
  void open_first() { reopen(); }
  void close() { engine_.reset(); }

 private:
  std::string backend_;
  std::string url_;
  std::unique_ptr<Engine> engine_;
};

struct TestBackend {
  std::string name;  // "sqlite" or "postgres"
  // A fresh, empty database on this backend with an engine opened on it.
  // Throws (the open_engine error) when the backend cannot be opened.
  std::function<std::unique_ptr<TestDatabase>()> create;
};

// The backends to run: sqlite always, postgres when OUTPOST_TEST_PG is set.
// Without OUTPOST_TEST_PG it prints once, to stderr:
//   "PostgreSQL suites SKIPPED: set OUTPOST_TEST_PG"
const std::vector<TestBackend>& test_backends();
bool postgres_configured();
bool running_in_ci();  // env CI=true
// A fresh PostgreSQL test database, or nullptr (with a visible message)
// when OUTPOST_TEST_PG is not set; in CI its absence fails the test.
std::unique_ptr<TestDatabase> pg_database();

// Runs `body` once per backend, each in its own doctest SUBCASE named after the
// backend, on a fresh database; the backend name is in the failure context.
// Call it once per TEST_CASE. After db.reopen() use db.engine(), not `engine`.
void run_on_backends(const std::function<void(Engine& engine, TestDatabase& db)>& body);

// ---------------------------------------------------------------- values --

Value val(ValueType type, std::string_view text);  // Value::parse
Value str(std::string_view text);
Value num(int64_t v);

// ---------------------------------------------------------------- tables --

Column col(std::string name, ValueType type, bool required = false);
// "items": name string, size int, note string (none required).
Table items_table();
// "typed": s string, i int, f float, b bool, y bytes, t timestamp.
Table typed_table();
// Creates `table` on `engine` and checks that it was stored as given.
void create_table(Engine& engine, const Table& table);

// ------------------------------------------------------------ edits/reads --

// Attributes {"name": string(name)} (and "size" when given), for table items.
Attributes item(std::string_view name, std::optional<int64_t> size = std::nullopt);

Revision create(Engine& engine, const std::string& table, const std::string& id,
                const Attributes& attributes);
Revision update(Engine& engine, const std::string& table, const std::string& id,
                const Revision& parent, const Attributes& attributes);
Revision remove(Engine& engine, const std::string& table, const std::string& id,
                const Revision& parent);
// Creates the record and updates it n-1 times (name "<id>-<i>", size i);
// returns the n revisions, oldest first.
std::vector<Revision> chain(Engine& engine, const std::string& table, const std::string& id, int n);

// Record read with REQUIRE that it exists.
Record must_get(Engine& engine, const std::string& table, const std::string& id,
                const GetOptions& options = {});
// The record's conflicts (get with conflicts=true), sorted.
std::vector<std::string> conflicts_of(Engine& engine, const std::string& table,
                                      const std::string& id);
// The record's leaves as revs_diff reports them, sorted.
std::vector<std::string> leaves_of(Engine& engine, const std::string& table, const std::string& id);
// The whole change feed from `since` (paged with the default limit).
std::vector<Change> all_changes(Engine& engine, const std::string& since = "");
// Every live record of `table`, paging with `page` records per call.
std::vector<Record> all_records(Engine& engine, const std::string& table, size_t page = 1000);

// A single-edit write() and its result (errors are returned, not thrown).
WriteResult write_one(Engine& engine, const Edit& edit);
WriteResult write_one_replicated(Engine& engine, const RemoteRevision& revision);
// The code of the Error `fn` throws, or nullopt when it throws none.
std::optional<ErrorCode> error_of(const std::function<void()>& fn);
std::optional<ErrorCode> code_of(const WriteResult& result);

// ------------------------------------------------- offline revision trees --

// A revision computed without any engine, with the body that produced it.
struct OfflineRev {
  Revision revision;
  Revision parent;
  bool deleted = false;
  Attributes attributes;
};
// A linear history of n revisions on top of `parent` (empty: from a root),
// computed with compute_revision. Bodies are item("<tag>-<gen>", gen); when
// `delete_tip` the last revision is a tombstone.
std::vector<OfflineRev> offline_chain(const std::string& table, const std::string& id,
                                      const Revision& parent, int n, const std::string& tag,
                                      bool delete_tip = false);
// The RemoteRevision for `chain[index]`, with ancestry chain[index-1..0] then
// `below` (the ancestors of chain[0]'s parent, nearest first, starting with
// that parent), i.e. exactly what a sender holding the whole path sends.
RemoteRevision remote_of(const std::string& table, const std::string& id,
                         const std::vector<OfflineRev>& chain, size_t index,
                         const std::vector<Revision>& below = {});

// ------------------------------------------------------------- snapshots --

// A readable dump of everything observable about a database: tables and
// columns, update_seq, the change feed, every live record with its
// attributes and conflicts, the conflict list. Equal dumps = unchanged db.
std::string dump(Engine& engine);

// Runs `statements` on the database directly, bypassing the engine (tests
// that undo a migration or damage what the engine keeps); REQUIREs success.
void run_raw(TestDatabase& db, const std::string& statements);

// ------------------------------------------------------------------ misc --

bool is_uuid_v4(std::string_view text);
std::vector<std::string> strs(const std::vector<Revision>& revisions);
std::vector<std::string> sorted(std::vector<std::string> v);
std::vector<std::string> sorted_strs(const std::vector<Revision>& revisions);
std::string attrs_text(const Attributes& attributes);
uint64_t test_seed();  // OUTPOST_TEST_SEED or a fresh random seed

}  // namespace outpost::test

// Readable values in doctest failure messages.
namespace doctest {
template <>
struct StringMaker<outpost::ErrorCode> {
  static String convert(outpost::ErrorCode code) {
    auto name = outpost::error_code_name(code);
    return String(name.data(), static_cast<String::size_type>(name.size()));
  }
};
template <>
struct StringMaker<std::optional<outpost::ErrorCode>> {
  static String convert(const std::optional<outpost::ErrorCode>& code) {
    if (!code) return "(no error)";
    return StringMaker<outpost::ErrorCode>::convert(*code);
  }
};
template <>
struct StringMaker<outpost::Revision> {
  static String convert(const outpost::Revision& r) {
    return r.empty() ? String("(empty revision)") : String(r.str().c_str());
  }
};
template <>
struct StringMaker<outpost::ValueType> {
  static String convert(outpost::ValueType t) {
    auto name = outpost::value_type_name(t);
    return String(name.data(), static_cast<String::size_type>(name.size()));
  }
};
template <>
struct StringMaker<outpost::Value> {
  static String convert(const outpost::Value& v) {
    std::string s =
        "{" + std::string(outpost::value_type_name(v.type())) + ": \"" + v.text() + "\"}";
    return String(s.c_str());
  }
};
template <>
struct StringMaker<outpost::Attributes> {
  static String convert(const outpost::Attributes& a) {
    return String(outpost::test::attrs_text(a).c_str());
  }
};
template <>
struct StringMaker<std::vector<std::string>> {
  static String convert(const std::vector<std::string>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", \"" : "\"") + v[i] + "\"";
    s += "]";
    return String(s.c_str());
  }
};
}  // namespace doctest
