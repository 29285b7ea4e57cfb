// A thin RAII layer over libpq: a connection with a cache of prepared
// statements, results with typed accessors, and the one place where
// PostgreSQL errors become outpost errors:
//   - serialization failure (40001), deadlock (40P01), a lost connection and
//     the server shutting down or being out of memory or connections (53xxx
//     but 53100) → RetryableError (RecordEngine runs the transaction again
//     with jittered backoff);
//   - disk_full (53100) → Error(disk_full) naming the database, never retried:
//     the same write fails the same way until someone frees space;
//   - anything else → Error(internal) with the server's message and SQLSTATE.
// Values are always bound as parameters (text format); identifiers are quoted
// by quote_identifier().
// Thread-safety: a PgConnection and its results belong to one thread at a
// time; the pool (PgPool) hands each connection to one transaction.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/error.h"

struct pg_conn;
struct pg_result;

namespace outpost {

// A statement failed for a reason other than a transient one; carries the
// SQLSTATE so that a caller expecting a specific failure can recognise it.
class PgStatementError : public Error {
 public:
  PgStatementError(std::string sqlstate, std::string message, ErrorCode code = ErrorCode::internal)
      : Error(code, std::move(message)), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  std::string sqlstate_;
};

// What a failed statement's SQLSTATE means for the caller.
enum class PgFailure {
  retry,      // transient: run the transaction again
  disk_full,  // 53100: the server's disk is full; not transient
  other,      // a failure of this statement: internal
};
PgFailure classify_sqlstate(std::string_view sqlstate);

// "the disk holding the PostgreSQL database DB on HOST is full: PostgreSQL:
// MESSAGE (SQLSTATE 53100); free some space ... no acknowledged write was lost".
std::string pg_disk_full_message(std::string_view database, std::string_view host,
                                 std::string_view server_message);

// Positional parameters of one statement ($1, $2, ...), all in text format.
class PgParams {
 public:
  PgParams& add(std::string_view text);
  PgParams& add(int64_t v);
  PgParams& add(bool v);
  PgParams& add_null();
  // An optional text: null when empty.
  PgParams& add_or_null(std::string_view text);
  size_t size() const { return values_.size(); }

 private:
  friend class PgConnection;
  std::vector<std::string> values_;
  std::vector<bool> null_;
};

// Builds the text form of a PostgreSQL array literal ('{"a","b",NULL}'),
// element by element, for binding a whole column of rows as one parameter.
class PgArray {
 public:
  void add(std::string_view text);
  void add(int64_t v);
  void add(bool v);
  void add_null();
  std::string str() const { return text_ + "}"; }
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }

 private:
  void sep();
  std::string text_ = "{";
  size_t count_ = 0;
};

class PgResult {
 public:
  explicit PgResult(pg_result* res) : res_(res) {}
  ~PgResult();
  PgResult(PgResult&& other) noexcept : res_(other.res_) { other.res_ = nullptr; }
  PgResult& operator=(PgResult&& other) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;

  int rows() const;
  bool is_null(int row, int col) const;
  std::string_view text(int row, int col) const;
  int64_t int64(int row, int col) const;
  bool boolean(int row, int col) const;  // 't' / 'f'
  std::string_view command_tag() const;  // "COMMIT", "ROLLBACK", "INSERT 0 1", ...
  int64_t affected() const;              // rows inserted/updated/deleted by the command

 private:
  pg_result* res_;
};

class PgConnection {
 public:
  // Connects with a libpq conninfo string or URI ("" = PG* variables) and
  // sets the session up (UTF-8, UTC, ISO dates, exact floats, hex bytea).
  // Throws Error(unavailable) with one line saying what failed.
  explicit PgConnection(const std::string& conninfo);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one or more statements without parameters (simple query protocol);
  // returns the last statement's result.
  PgResult exec(const std::string& sql);
  // Runs `sql` with `params`, prepared once per connection and cached.
  PgResult query(const std::string& sql, const PgParams& params = {});
  // Runs `sql` with `params` unprepared (for statements run once).
  PgResult query_once(const std::string& sql, const PgParams& params = {});

  // False once the connection to the server was lost.
  bool ok() const;
  // Inside a transaction block (open, or aborted by an error), or busy.
  bool in_transaction() const;
  int socket() const;
  pg_conn* handle() const { return conn_; }

 private:
  PgResult check(pg_result* res, std::string_view sql);

  pg_conn* conn_ = nullptr;
  std::unordered_map<std::string, std::string> prepared_;  // sql → statement name
};

// `name` quoted as an SQL identifier ("..." with inner quotes doubled).
std::string pg_quote_identifier(std::string_view name);

// Turns a database URL (postgres://…, postgresql://…, postgres:k=v …,
// postgres:) into a libpq conninfo string. Throws Error(unavailable) when
// libpq cannot parse it, with a message that never contains the password.
std::string pg_conninfo_from_url(const std::string& url);

// Collapses a (possibly multi-line) libpq message into one line.
std::string pg_one_line(std::string_view message);

}  // namespace outpost
