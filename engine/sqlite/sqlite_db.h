// A thin RAII layer over the SQLite C API: a connection with a cache of
// prepared statements, and statements with typed bind/column helpers.
// SQLite errors become outpost::Error carrying SQLite's message: a full disk
// (SQLITE_FULL, or an I/O error with ENOSPC/EDQUOT) → disk_full naming the
// file; busy/locked/io/cantopen/... → unavailable; the rest → internal.
// Thread-safety: a SqliteConnection and its statements belong to one thread
// at a time; the owner (SqliteStorage) serializes access.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace outpost {

class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, std::string_view sql);
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Parameters are 1-based, as in SQLite.
  void bind_null(int i);
  void bind_int(int i, int64_t v);
  void bind_double(int i, double v);
  void bind_text(int i, std::string_view v);  // SQLITE_TRANSIENT: copied
  void bind_blob(int i, std::string_view v);

  // Advances; true when a row is available. Throws on error.
  bool step();
  // Runs a statement that returns no rows.
  void run();
  // Resets for reuse and clears the bindings.
  void reset();

  // Columns are 0-based.
  bool is_null(int i) const;
  int64_t column_int(int i) const;
  double column_double(int i) const;
  std::string_view column_text(int i) const;
  std::string_view column_blob(int i) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a cached statement when it goes out of scope.
class StatementScope {
 public:
  explicit StatementScope(SqliteStatement& stmt) : stmt_(stmt) {}
  ~StatementScope() { stmt_.reset(); }
  SqliteStatement* operator->() { return &stmt_; }
  SqliteStatement& operator*() { return stmt_; }

 private:
  SqliteStatement& stmt_;
};

class SqliteConnection {
 public:
  // Opens (creating) the file. Throws Error(unavailable) naming the path.
  explicit SqliteConnection(const std::string& path);
  ~SqliteConnection();
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  // Runs one or more statements without results.
  void exec(std::string_view sql);
  // A prepared statement for `sql`, prepared once per connection and reset
  // when the returned scope ends.
  StatementScope prepare(const std::string& sql);
  int64_t last_insert_rowid() const;
  // Drops every cached statement (after a schema change).
  void clear_cache();

  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<SqliteStatement>> cache_;
};

// Throws the outpost::Error for SQLite result code `rc`.
[[noreturn]] void throw_sqlite_error(sqlite3* db, int rc, std::string_view context);

// Whether result code `rc` (with the OS error sqlite3_system_errno gave)
// means the disk is full.
bool is_sqlite_disk_full(int rc, int system_errno);
// "the disk holding FILE is full: DETAIL; free some space and run again; no
// acknowledged write was lost".
std::string sqlite_disk_full_message(const std::string& file, std::string_view detail);

// Test hook (never used by the product): runs `hook` on every connection
// SqliteConnection opens, right after opening it. nullptr removes it.
void set_sqlite_connect_hook_for_testing(std::function<void(sqlite3*)> hook);

// `name` quoted as an SQL identifier ("..." with inner quotes doubled).
std::string quote_identifier(std::string_view name);

}  // namespace outpost
