#include "engine/sqlite/sqlite_db.h"

#include <sqlite3.h>

#include <cerrno>
#include <functional>
#include <mutex>

#include "api/error.h"
#include "engine/sqlite/sqlite_vfs.h"

namespace outpost {

namespace {

std::mutex g_connect_hook_mu;
std::function<void(sqlite3*)> g_connect_hook;  // test hook (set_sqlite_connect_hook_for_testing)

// The file a connection's main database lives in ("" for none or in-memory).
std::string database_file(sqlite3* db) {
  const char* name = db != nullptr ? sqlite3_db_filename(db, "main") : nullptr;
  return name != nullptr ? name : "";
}

}  // namespace

bool is_sqlite_disk_full(int rc, int system_errno) {
  if ((rc & 0xff) == SQLITE_FULL) return true;
  return (rc & 0xff) == SQLITE_IOERR && (system_errno == ENOSPC || system_errno == EDQUOT);
}

std::string sqlite_disk_full_message(const std::string& file, std::string_view detail) {
  std::string where = file.empty() ? "the database" : file;
  return "the disk holding " + where + " is full: " + std::string(detail) +
         "; free some space and run again; no acknowledged write was lost";
}

void throw_sqlite_error(sqlite3* db, int rc, std::string_view context) {
  std::string why = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string message = "SQLite: " + std::string(context) + ": " + why;
  const int system_errno = db != nullptr ? sqlite3_system_errno(db) : 0;
  if (is_sqlite_disk_full(rc, system_errno)) {
    std::string detail = "SQLite could not write (" + why + ")";
    if (system_errno == EDQUOT) detail += " because the disk quota is used up";
    if (sqlite_shm_was_full() || rc == SQLITE_IOERR_SHMSIZE) {
      detail = "SQLite could not extend its shared-memory file " + database_file(db) + "-shm";
    }
    throw Error(ErrorCode::disk_full, sqlite_disk_full_message(database_file(db), detail));
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      throw Error(ErrorCode::unavailable, message);
    default:
      throw Error(ErrorCode::internal, message);
  }
}

std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

// ---------------------------------------------------------------- statement

SqliteStatement::SqliteStatement(sqlite3* db, std::string_view sql) : db_(db) {
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) throw_sqlite_error(db, rc, "preparing " + std::string(sql));
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

static void check_bind(sqlite3* db, int rc) {
  if (rc != SQLITE_OK) throw_sqlite_error(db, rc, "binding a parameter");
}

void SqliteStatement::bind_null(int i) { check_bind(db_, sqlite3_bind_null(stmt_, i)); }

void SqliteStatement::bind_int(int i, int64_t v) {
  check_bind(db_, sqlite3_bind_int64(stmt_, i, v));
}

void SqliteStatement::bind_double(int i, double v) {
  check_bind(db_, sqlite3_bind_double(stmt_, i, v));
}

void SqliteStatement::bind_text(int i, std::string_view v) {
  check_bind(db_, sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}

void SqliteStatement::bind_blob(int i, std::string_view v) {
  // A zero-length blob must still be a blob, not NULL: pass a non-null pointer.
  static const char kEmpty = 0;
  check_bind(db_, sqlite3_bind_blob64(stmt_, i, v.empty() ? &kEmpty : v.data(), v.size(),
                                      SQLITE_TRANSIENT));
}

bool SqliteStatement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw_sqlite_error(db_, rc, sqlite3_sql(stmt_));
}

void SqliteStatement::run() {
  while (step()) {
  }
}

void SqliteStatement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool SqliteStatement::is_null(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }

int64_t SqliteStatement::column_int(int i) const { return sqlite3_column_int64(stmt_, i); }

double SqliteStatement::column_double(int i) const { return sqlite3_column_double(stmt_, i); }

std::string_view SqliteStatement::column_text(int i) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
  int n = sqlite3_column_bytes(stmt_, i);
  return p == nullptr ? std::string_view() : std::string_view(p, static_cast<size_t>(n));
}

std::string_view SqliteStatement::column_blob(int i) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, i));
  int n = sqlite3_column_bytes(stmt_, i);
  return p == nullptr ? std::string_view() : std::string_view(p, static_cast<size_t>(n));
}

// ---------------------------------------------------------------- connection

SqliteConnection::SqliteConnection(const std::string& path) {
  int rc = sqlite3_open_v2(path.c_str(), &db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           sqlite_vfs_name());
  if (rc != SQLITE_OK) {
    std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw Error(ErrorCode::unavailable, "cannot open SQLite database " + path + ": " + why);
  }
  sqlite3_extended_result_codes(db_, 1);
  std::function<void(sqlite3*)> hook;
  {
    std::lock_guard lock(g_connect_hook_mu);
    hook = g_connect_hook;
  }
  if (hook) hook(db_);
}

void set_sqlite_connect_hook_for_testing(std::function<void(sqlite3*)> hook) {
  std::lock_guard lock(g_connect_hook_mu);
  g_connect_hook = std::move(hook);
}

SqliteConnection::~SqliteConnection() {
  cache_.clear();
  sqlite3_close_v2(db_);
}

void SqliteConnection::exec(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string why = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw_sqlite_error(db_, rc, text + " (" + why + ")");
  }
}

StatementScope SqliteConnection::prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    it = cache_.emplace(sql, std::make_unique<SqliteStatement>(db_, sql)).first;
  }
  return StatementScope(*it->second);
}

int64_t SqliteConnection::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

void SqliteConnection::clear_cache() { cache_.clear(); }

}  // namespace outpost
