// Test infrastructure: the backends the conformance suite runs on, and its
// helpers. The libpq code that creates and drops throwaway PostgreSQL
// databases is test infrastructure and lives only here.
#include "backends.h"

#include <doctest/doctest.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "engine/open.h"

namespace outpost::test {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string random_hex(size_t n) {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard lock(mu);
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) out += digits[rng() % 16];
  return out;
}

// ------------------------------------------------------------- sqlite --

class SqliteDatabase final : public TestDatabase {
 public:
  static std::unique_ptr<TestDatabase> make() {
    std::string base = env("TMPDIR");
    if (base.empty()) base = "/tmp";
    std::string templ = base + "/outpost-conf-XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed under " + base);
    std::string dir(buf.data());
    std::unique_ptr<SqliteDatabase> db(new SqliteDatabase(dir));
    db->open_first();
    return db;
  }
  std::vector<SqlRow> raw_query(const std::string& sql) const override {
    sqlite3* conn = nullptr;
    std::string path = url().substr(7);
    if (sqlite3_open_v2(path.c_str(), &conn, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      std::string msg = conn ? sqlite3_errmsg(conn) : "out of memory";
      sqlite3_close(conn);
      throw std::runtime_error("test infrastructure: cannot open " + path + ": " + msg);
    }
    sqlite3_busy_timeout(conn, 10000);
    sqlite3_stmt* stmt = nullptr;
    std::vector<SqlRow> rows;
    std::string error;
    if (sqlite3_prepare_v2(conn, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      error = sqlite3_errmsg(conn);
    } else {
      int rc;
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        SqlRow row;
        for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
          if (sqlite3_column_type(stmt, i) == SQLITE_NULL) {
            row.emplace_back();
          } else {
            const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
            row.emplace_back(std::string(text, sqlite3_column_bytes(stmt, i)));
          }
        }
        rows.push_back(std::move(row));
      }
      if (rc != SQLITE_DONE) error = sqlite3_errmsg(conn);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(conn);
    if (!error.empty()) throw std::runtime_error("test query `" + sql + "` failed: " + error);
    return rows;
  }

  ~SqliteDatabase() override {
    close();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

 private:
  explicit SqliteDatabase(std::string dir)
      : TestDatabase("sqlite", "sqlite:" + dir + "/test.db"), dir_(std::move(dir)) {}
  std::string dir_;
};

// ----------------------------------------------------------- postgres --

struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConn = std::unique_ptr<PGconn, PgConnDeleter>;

// libpq accepts "postgres://…"/"postgresql://…" URIs and "k=v" strings; the
// engine's "postgres:k=v" form is turned into the latter.
std::string libpq_conninfo(const std::string& url) {
  if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0) return url;
  if (url.rfind("postgres:", 0) == 0) return url.substr(9);
  return url;
}

// `url` with its database name replaced by `dbname`.
std::string with_dbname(const std::string& url, const std::string& dbname) {
  auto scheme = url.find("://");
  if (scheme != std::string::npos &&
      (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0)) {
    size_t authority = scheme + 3;
    size_t query = url.find('?', authority);
    size_t path = url.find('/', authority);
    if (path != std::string::npos && (query == std::string::npos || path < query)) {
      size_t end = query == std::string::npos ? url.size() : query;
      return url.substr(0, path + 1) + dbname + url.substr(end);
    }
    size_t insert_at = query == std::string::npos ? url.size() : query;
    return url.substr(0, insert_at) + "/" + dbname + url.substr(insert_at);
  }
  // "postgres:k=v ..." or "postgres:": a later dbname= overrides an earlier one.
  std::string rest = url.rfind("postgres:", 0) == 0 ? url.substr(9) : url;
  if (!rest.empty()) rest += " ";
  return "postgres:" + rest + "dbname=" + dbname;
}

PgConn pg_connect_admin() {
  std::string admin = env("OUTPOST_TEST_PG");
  PgConn conn(PQconnectdb(libpq_conninfo(admin).c_str()));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    std::string msg = conn ? PQerrorMessage(conn.get()) : "out of memory";
    throw std::runtime_error("cannot connect to OUTPOST_TEST_PG: " + msg);
  }
  return conn;
}

void pg_exec(PGconn* conn, const std::string& sql) {
  PGresult* res = PQexec(conn, sql.c_str());
  bool ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
  std::string msg = ok ? "" : PQerrorMessage(conn);
  PQclear(res);
  if (!ok) throw std::runtime_error("test infrastructure: `" + sql + "` failed: " + msg);
}

class PostgresDatabase final : public TestDatabase {
 public:
  static std::unique_ptr<TestDatabase> make() {
    std::string name = "outpost_t_" + random_hex(16);
    {
      PgConn admin = pg_connect_admin();
      pg_exec(admin.get(), "CREATE DATABASE \"" + name + "\"");
    }
    std::unique_ptr<PostgresDatabase> db(
        new PostgresDatabase(name, with_dbname(env("OUTPOST_TEST_PG"), name)));
    db->open_first();  // on failure the destructor drops the database
    return db;
  }
  std::vector<SqlRow> raw_query(const std::string& sql) const override {
    PgConn conn(PQconnectdb(libpq_conninfo(url()).c_str()));
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK)
      throw std::runtime_error("test infrastructure: cannot connect to " + url());
    PGresult* res = PQexec(conn.get(), sql.c_str());
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
      std::string msg = PQerrorMessage(conn.get());
      PQclear(res);
      throw std::runtime_error("test query `" + sql + "` failed: " + msg);
    }
    std::vector<SqlRow> rows;
    for (int r = 0; r < PQntuples(res); ++r) {
      SqlRow row;
      for (int c = 0; c < PQnfields(res); ++c) {
        if (PQgetisnull(res, r, c)) {
          row.emplace_back();
        } else {
          row.emplace_back(std::string(PQgetvalue(res, r, c), PQgetlength(res, r, c)));
        }
      }
      rows.push_back(std::move(row));
    }
    PQclear(res);
    return rows;
  }

  ~PostgresDatabase() override {
    close();
    try {
      PgConn admin = pg_connect_admin();
      pg_exec(admin.get(), "DROP DATABASE IF EXISTS \"" + name_ + "\" WITH (FORCE)");
    } catch (const std::exception& e) {
      std::cerr << "warning: could not drop test database " << name_ << ": " << e.what() << "\n";
    }
  }

 private:
  PostgresDatabase(std::string name, std::string url)
      : TestDatabase("postgres", std::move(url)), name_(std::move(name)) {}
  std::string name_;
};

}  // namespace

// ------------------------------------------------------------ database --

void TestDatabase::reopen() {
  engine_.reset();
  engine_ = open_engine(url_);
  if (!engine_) throw std::runtime_error("open_engine returned null for " + url_);
}

std::unique_ptr<Engine> TestDatabase::open_another() const { return open_engine(url_); }

bool postgres_configured() { return !env("OUTPOST_TEST_PG").empty(); }
bool running_in_ci() { return env("CI") == "true"; }

const std::vector<TestBackend>& test_backends() {
  static const std::vector<TestBackend> backends = [] {
    std::vector<TestBackend> out;
    out.push_back({"sqlite", [] { return SqliteDatabase::make(); }});
    if (postgres_configured()) {
      out.push_back({"postgres", [] { return PostgresDatabase::make(); }});
    } else {
      std::cerr << "\n*** PostgreSQL suites SKIPPED: set OUTPOST_TEST_PG"
                   " (a postgres URL of a throwaway server) ***\n\n";
    }
    return out;
  }();
  return backends;
}

std::unique_ptr<TestDatabase> pg_database() {
  if (!postgres_configured()) {
    if (running_in_ci()) FAIL("CI=true but OUTPOST_TEST_PG is not set");
    MESSAGE("PostgreSQL test SKIPPED: set OUTPOST_TEST_PG");
    return nullptr;
  }
  for (const auto& b : test_backends()) {
    if (b.name == "postgres") return b.create();
  }
  return nullptr;
}

void run_on_backends(const std::function<void(Engine& engine, TestDatabase& db)>& body) {
  for (const auto& backend : test_backends()) {
    SUBCASE(backend.name.c_str()) {
      const std::string& backend_name = backend.name;
      INFO("backend: ", backend_name);
      std::unique_ptr<TestDatabase> db = backend.create();
      REQUIRE(db);
      body(db->engine(), *db);
    }
  }
}

// ---------------------------------------------------------------- values --

Value val(ValueType type, std::string_view text) { return Value::parse(type, text); }
Value str(std::string_view text) { return Value::parse(ValueType::string, text); }
Value num(int64_t v) { return Value::from_int(v); }

// ---------------------------------------------------------------- tables --

Column col(std::string name, ValueType type, bool required) {
  Column c;
  c.name = std::move(name);
  c.type = type;
  c.required = required;
  return c;
}

Table items_table() {
  return Table{"items",
               {col("name", ValueType::string), col("size", ValueType::int_),
                col("note", ValueType::string)}};
}

Table typed_table() {
  return Table{
      "typed",
      {col("s", ValueType::string), col("i", ValueType::int_), col("f", ValueType::float_),
       col("b", ValueType::bool_), col("y", ValueType::bytes), col("t", ValueType::timestamp)}};
}

void create_table(Engine& engine, const Table& table) {
  Table stored = engine.put_table(table);
  REQUIRE(stored == table);
}

// ------------------------------------------------------------ edits/reads --

Attributes item(std::string_view name, std::optional<int64_t> size) {
  Attributes a{{"name", str(name)}};
  if (size) a.emplace("size", num(*size));
  return a;
}

Revision create(Engine& engine, const std::string& table, const std::string& id,
                const Attributes& attributes) {
  return put_record(engine, table, id, Revision(), attributes).revision;
}

Revision update(Engine& engine, const std::string& table, const std::string& id,
                const Revision& parent, const Attributes& attributes) {
  return put_record(engine, table, id, parent, attributes).revision;
}

Revision remove(Engine& engine, const std::string& table, const std::string& id,
                const Revision& parent) {
  return delete_record(engine, table, id, parent).revision;
}

std::vector<Revision> chain(Engine& engine, const std::string& table, const std::string& id,
                            int n) {
  std::vector<Revision> revs;
  for (int i = 1; i <= n; ++i) {
    Attributes a = item(id + "-" + std::to_string(i), i);
    revs.push_back(i == 1 ? create(engine, table, id, a)
                          : update(engine, table, id, revs.back(), a));
  }
  return revs;
}

Record must_get(Engine& engine, const std::string& table, const std::string& id,
                const GetOptions& options) {
  auto r = engine.get(table, id, options);
  INFO("get(", table, ", ", id, ", rev=", options.revision.str(), ")");
  REQUIRE(r.has_value());
  return *r;
}

std::vector<std::string> conflicts_of(Engine& engine, const std::string& table,
                                      const std::string& id) {
  GetOptions o;
  o.conflicts = true;
  Record r = must_get(engine, table, id, o);
  REQUIRE(r.conflicts.has_value());
  return sorted_strs(*r.conflicts);
}

std::vector<std::string> leaves_of(Engine& engine, const std::string& table,
                                   const std::string& id) {
  auto diff = engine.revs_diff({RevsDiffQuery{table, id, {}}});
  REQUIRE(diff.size() == 1);
  return sorted_strs(diff[0].leaves);
}

std::vector<Change> all_changes(Engine& engine, const std::string& since) {
  std::vector<Change> out;
  ChangesRequest req;
  req.since = since;
  for (int guard = 0; guard < 10000; ++guard) {
    ChangesPage page = engine.changes(req);
    if (page.results.empty()) break;
    out.insert(out.end(), page.results.begin(), page.results.end());
    if (page.results.size() < req.limit) break;
    req.since = page.last_seq;
  }
  return out;
}

std::vector<Record> all_records(Engine& engine, const std::string& table, size_t page) {
  std::vector<Record> out;
  std::string after;
  for (int guard = 0; guard < 100000; ++guard) {
    RecordPage p = engine.list_records(table, after, page);
    REQUIRE(p.records.size() <= page);
    out.insert(out.end(), p.records.begin(), p.records.end());
    if (p.next.empty()) break;
    REQUIRE(p.next != after);  // progress
    after = p.next;
  }
  return out;
}

WriteResult write_one(Engine& engine, const Edit& edit) {
  auto results = engine.write({edit});
  REQUIRE(results.size() == 1);
  return results[0];
}

WriteResult write_one_replicated(Engine& engine, const RemoteRevision& revision) {
  auto results = engine.write_replicated({revision});
  REQUIRE(results.size() == 1);
  return results[0];
}

std::optional<ErrorCode> error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.code();
  }
  return std::nullopt;
}

std::optional<ErrorCode> code_of(const WriteResult& result) {
  if (!result.error) return std::nullopt;
  return result.error->code();
}

// ------------------------------------------------- offline revision trees --

std::vector<OfflineRev> offline_chain(const std::string& table, const std::string& id,
                                      const Revision& parent, int n, const std::string& tag,
                                      bool delete_tip) {
  std::vector<OfflineRev> out;
  Revision p = parent;
  for (int i = 0; i < n; ++i) {
    OfflineRev r;
    r.parent = p;
    r.deleted = delete_tip && i == n - 1;
    uint64_t gen = p.empty() ? 1 : p.generation() + 1;
    if (!r.deleted) r.attributes = item(tag + "-" + std::to_string(gen), static_cast<int64_t>(gen));
    r.revision = compute_revision(table, id, p, r.deleted, r.attributes);
    p = r.revision;
    out.push_back(std::move(r));
  }
  return out;
}

RemoteRevision remote_of(const std::string& table, const std::string& id,
                         const std::vector<OfflineRev>& chain, size_t index,
                         const std::vector<Revision>& below) {
  RemoteRevision rr;
  rr.table = table;
  rr.id = id;
  rr.revision = chain.at(index).revision;
  rr.deleted = chain.at(index).deleted;
  rr.attributes = chain.at(index).attributes;
  for (size_t i = index; i-- > 0;) rr.ancestry.push_back(chain[i].revision);
  rr.ancestry.insert(rr.ancestry.end(), below.begin(), below.end());
  return rr;
}

// ------------------------------------------------------------- snapshots --

std::string dump(Engine& engine) {
  std::ostringstream out;
  auto tables = engine.list_tables();
  std::sort(tables.begin(), tables.end(),
            [](const Table& a, const Table& b) { return a.name < b.name; });
  out << "update_seq " << engine.update_seq() << "\n";
  for (const auto& t : tables) {
    out << "table " << t.name << " (";
    for (const auto& c : t.columns)
      out << c.name << ":" << value_type_name(c.type) << (c.required ? "!" : "") << " ";
    out << ")\n";
    for (const auto& r : all_records(engine, t.name)) {
      out << "  record " << r.id << " " << r.revision.str() << " " << attrs_text(r.attributes);
      GetOptions o;
      o.conflicts = true;
      auto full = engine.get(t.name, r.id, o);
      if (full && full->conflicts)
        for (const auto& c : sorted_strs(*full->conflicts)) out << " conflict " << c;
      out << "\n";
    }
  }
  for (const auto& c : all_changes(engine)) {
    out << "change " << c.seq << " " << c.table << "/" << c.id << " " << c.revision.str()
        << (c.deleted ? " deleted" : "");
    for (const auto& l : sorted_strs(c.leaves)) out << " leaf " << l;
    out << "\n";
  }
  auto conflicts = engine.list_conflicts("", "", 100000);
  for (const auto& e : conflicts.entries) out << "conflicted " << e.table << "/" << e.id << "\n";
  return out.str();
}

// ------------------------------------------------------------------ misc --

bool is_uuid_v4(std::string_view text) {
  static const std::regex re(
      "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$");
  return std::regex_match(text.begin(), text.end(), re);
}

std::vector<std::string> strs(const std::vector<Revision>& revisions) {
  std::vector<std::string> out;
  for (const auto& r : revisions) out.push_back(r.str());
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<std::string> sorted_strs(const std::vector<Revision>& revisions) {
  return sorted(strs(revisions));
}

std::string attrs_text(const Attributes& attributes) {
  std::string s = "{";
  bool first = true;
  for (const auto& [name, v] : attributes) {
    if (!first) s += ", ";
    first = false;
    s += name + ": {" + std::string(value_type_name(v.type())) + ": \"" + v.text() + "\"}";
  }
  return s + "}";
}

uint64_t test_seed() {
  std::string s = env("OUTPOST_TEST_SEED");
  if (!s.empty()) return std::stoull(s);
  return std::random_device{}();
}

void run_raw(TestDatabase& db, const std::string& statements) {
  if (db.backend() == "postgres") {
    db.raw_query(statements + "; SELECT 1");
    return;
  }
  sqlite3* conn = nullptr;
  REQUIRE(sqlite3_open(db.url().substr(7).c_str(), &conn) == SQLITE_OK);
  sqlite3_busy_timeout(conn, 10000);
  char* error = nullptr;
  const int rc = sqlite3_exec(conn, statements.c_str(), nullptr, nullptr, &error);
  const std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(conn);
  REQUIRE_MESSAGE(rc == SQLITE_OK, message);
}

}  // namespace outpost::test
