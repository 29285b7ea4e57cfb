#include "bench/sqlite_raw_baseline.h"

#include <sqlite3.h>

#include <charconv>
#include <chrono>
#include <memory>
#include <string_view>

#include "api/error.h"
#include "utils/sha256.h"

namespace outpost {

namespace {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;
using StmtHandle = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

[[noreturn]] void fail(sqlite3* db, std::string_view what) {
  const int code = db != nullptr ? sqlite3_errcode(db) : SQLITE_CANTOPEN;
  const std::string message = "raw SQLite baseline: " + std::string(what) + ": " +
                              (db != nullptr ? sqlite3_errmsg(db) : "out of memory");
  switch (code & 0xff) {
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_READONLY:
      throw Error(ErrorCode::unavailable, message);
    default:
      throw Error(ErrorCode::internal, message);
  }
}

void exec(sqlite3* db, const std::string& sql) {
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) fail(db, sql);
}

StmtHandle prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) !=
      SQLITE_OK) {
    fail(db, "prepare " + sql);
  }
  return StmtHandle(stmt);
}

void run(sqlite3* db, sqlite3_stmt* stmt, std::string_view what) {
  if (sqlite3_step(stmt) != SQLITE_DONE) fail(db, what);
  sqlite3_reset(stmt);
}

void bind_text(sqlite3_stmt* stmt, int i, std::string_view text) {
  sqlite3_bind_text(stmt, i, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

// The declared columns, as in the engine's tables (section 5).
constexpr std::string_view kColumnsDdl =
    "\"name\" TEXT, \"city\" TEXT, \"qty\" INTEGER, \"seq\" INTEGER, \"price\" REAL, "
    "\"active\" INTEGER";
constexpr std::string_view kColumnNames =
    "\"name\", \"city\", \"qty\", \"seq\", \"price\", \"active\"";

std::string quoted(std::string_view name) { return "\"" + std::string(name) + "\""; }

// Appends a netstring: "<length>:<bytes>,".
void append_ns(std::string& out, std::string_view s) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, s.size()).ptr;
  out.append(digits, end);
  out += ':';
  out += s;
  out += ',';
}

// The revision of a first edit of `row` (DESIGN.md section 4): canonical
// bytes with the attributes in bytewise name order, SHA-256, 32 hex digits.
class RevisionHasher {
 public:
  explicit RevisionHasher(std::string_view table) : table_(table) {}

  const std::string& revision(const BaselineRow& row) {
    char number[32];
    buffer_.assign("outpost/rev/1\n");
    append_ns(buffer_, table_);
    append_ns(buffer_, row.id);
    append_ns(buffer_, "");
    append_ns(buffer_, "0");
    append_attribute("active", "bool", row.active ? "true" : "false");
    append_attribute("city", "string", row.city);
    append_attribute("name", "string", row.name);
    auto end = std::to_chars(number, number + sizeof number, row.price).ptr;
    append_attribute("price", "float", std::string_view(number, end - number));
    end = std::to_chars(number, number + sizeof number, row.qty).ptr;
    append_attribute("qty", "int", std::string_view(number, end - number));
    end = std::to_chars(number, number + sizeof number, row.seq).ptr;
    append_attribute("seq", "int", std::string_view(number, end - number));

    const Sha256Digest digest = sha256(buffer_);
    revision_ =
        "1-" + hex_encode(std::string_view(reinterpret_cast<const char*>(digest.data()), 16));
    return revision_;
  }

 private:
  void append_attribute(std::string_view name, std::string_view type, std::string_view text) {
    append_ns(buffer_, name);
    append_ns(buffer_, type);
    append_ns(buffer_, text);
  }

  std::string table_;
  std::string buffer_;
  std::string revision_;
};

void bind_columns(sqlite3_stmt* stmt, int first, const BaselineRow& row) {
  bind_text(stmt, first, row.name);
  bind_text(stmt, first + 1, row.city);
  sqlite3_bind_int64(stmt, first + 2, row.qty);
  sqlite3_bind_int64(stmt, first + 3, row.seq);
  sqlite3_bind_double(stmt, first + 4, row.price);
  sqlite3_bind_int(stmt, first + 5, row.active ? 1 : 0);
}

}  // namespace

BaselineResult run_sqlite_raw_baseline(const BaselineOptions& options) {
  sqlite3* raw_db = nullptr;
  const int rc = sqlite3_open_v2(options.path.c_str(), &raw_db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  DbHandle db(raw_db);
  if (rc != SQLITE_OK) fail(raw_db, "open " + options.path);

  const std::string table = quoted(options.table);
  const std::string history = quoted(options.table + "_history");
  exec(db.get(), "PRAGMA journal_mode=WAL");
  exec(db.get(),
       options.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  exec(db.get(),
       "CREATE TABLE \"_changes\"(\"seq\" INTEGER PRIMARY KEY, \"table_name\" TEXT NOT NULL, "
       "\"id\" TEXT NOT NULL, \"revision\" TEXT NOT NULL, \"deleted\" INTEGER NOT NULL)");
  exec(db.get(),
       "CREATE TABLE " + table +
           "(\"_id\" TEXT PRIMARY KEY, \"_rev\" TEXT NOT NULL, \"_seq\" INTEGER NOT NULL, "
           "\"_conflicted\" INTEGER NOT NULL, " +
           std::string(kColumnsDdl) + ")");
  exec(db.get(), "CREATE TABLE " + history +
                     "(\"_id\" TEXT NOT NULL, \"_rev\" TEXT NOT NULL, \"_parent\" TEXT, "
                     "\"_gen\" INTEGER NOT NULL, \"_deleted\" INTEGER NOT NULL, "
                     "\"_leaf\" INTEGER NOT NULL, \"_stub\" INTEGER NOT NULL, "
                     "\"_seq\" INTEGER NOT NULL, " +
                     std::string(kColumnsDdl) + ", PRIMARY KEY(\"_id\", \"_rev\"))");

  StmtHandle begin = prepare(db.get(), "BEGIN IMMEDIATE");
  StmtHandle commit = prepare(db.get(), "COMMIT");
  StmtHandle insert_change =
      prepare(db.get(),
              "INSERT INTO \"_changes\"(\"table_name\", \"id\", \"revision\", \"deleted\") "
              "VALUES(?1, ?2, ?3, 0)");
  StmtHandle insert_current = prepare(
      db.get(), "INSERT INTO " + table + "(\"_id\", \"_rev\", \"_seq\", \"_conflicted\", " +
                    std::string(kColumnNames) + ") VALUES(?1, ?2, ?3, 0, ?4, ?5, ?6, ?7, ?8, ?9)");
  StmtHandle insert_history =
      prepare(db.get(), "INSERT INTO " + history +
                            "(\"_id\", \"_rev\", \"_parent\", \"_gen\", \"_deleted\", \"_leaf\", "
                            "\"_stub\", \"_seq\", " +
                            std::string(kColumnNames) +
                            ") VALUES(?1, ?2, NULL, 1, 0, 1, 0, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");

  const size_t per_transaction = options.per_transaction == 0 ? 1 : options.per_transaction;
  RevisionHasher hasher(options.table);
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < options.records; ++i) {
    if (i % per_transaction == 0) run(db.get(), begin.get(), "BEGIN IMMEDIATE");
    const BaselineRow row = options.make_row(i);
    const std::string& revision = hasher.revision(row);

    bind_text(insert_change.get(), 1, options.table);
    bind_text(insert_change.get(), 2, row.id);
    bind_text(insert_change.get(), 3, revision);
    run(db.get(), insert_change.get(), "insert change");
    const sqlite3_int64 seq = sqlite3_last_insert_rowid(db.get());

    bind_text(insert_current.get(), 1, row.id);
    bind_text(insert_current.get(), 2, revision);
    sqlite3_bind_int64(insert_current.get(), 3, seq);
    bind_columns(insert_current.get(), 4, row);
    run(db.get(), insert_current.get(), "insert current row");

    bind_text(insert_history.get(), 1, row.id);
    bind_text(insert_history.get(), 2, revision);
    sqlite3_bind_int64(insert_history.get(), 3, seq);
    bind_columns(insert_history.get(), 4, row);
    run(db.get(), insert_history.get(), "insert history row");

    if ((i + 1) % per_transaction == 0 || i + 1 == options.records) {
      run(db.get(), commit.get(), "COMMIT");
    }
  }
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  return BaselineResult{options.records, elapsed.count()};
}

}  // namespace outpost
