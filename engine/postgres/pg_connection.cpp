#include "engine/postgres/pg_connection.h"

#include <libpq-fe.h>

#include <charconv>
#include <cstdlib>
#include <vector>

#include "api/error.h"
#include "engine/storage.h"
#include "utils/log.h"

namespace outpost {

namespace {

std::string statement_head(std::string_view sql) {
  std::string head(sql.substr(0, 60));
  for (char& c : head) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (sql.size() > 60) head += "...";
  return head;
}

}  // namespace

PgFailure classify_sqlstate(std::string_view sqlstate) {
  if (sqlstate == "53100") return PgFailure::disk_full;  // disk_full
  // SQLSTATEs after which running the transaction again may succeed.
  if (sqlstate == "40001"            // serialization_failure
      || sqlstate == "40P01"         // deadlock_detected
      || sqlstate.starts_with("08")  // connection exceptions
      || sqlstate.starts_with("53")  // insufficient resources: memory, connections
      || sqlstate == "57P01"         // admin_shutdown
      || sqlstate == "57P02"         // crash_shutdown
      || sqlstate == "57P03") {      // cannot_connect_now
    return PgFailure::retry;
  }
  return PgFailure::other;
}

std::string pg_disk_full_message(std::string_view database, std::string_view host,
                                 std::string_view server_message) {
  std::string where = "the PostgreSQL database";
  if (!database.empty()) where += " " + std::string(database);
  if (!host.empty()) where += " on " + std::string(host);
  return "the disk holding " + where + " is full: PostgreSQL: " + std::string(server_message) +
         " (SQLSTATE 53100); free some space on the database server and run again; no "
         "acknowledged write was lost";
}

// ---------------------------------------------------------------- params

PgParams& PgParams::add(std::string_view text) {
  values_.emplace_back(text);
  null_.push_back(false);
  return *this;
}

PgParams& PgParams::add(int64_t v) { return add(std::string_view(std::to_string(v))); }

PgParams& PgParams::add(bool v) { return add(std::string_view(v ? "t" : "f")); }

PgParams& PgParams::add_null() {
  values_.emplace_back();
  null_.push_back(true);
  return *this;
}

PgParams& PgParams::add_or_null(std::string_view text) {
  return text.empty() ? add_null() : add(text);
}

void PgArray::sep() {
  if (count_++ > 0) text_ += ',';
}

void PgArray::add(std::string_view text) {
  sep();
  text_ += '"';
  while (!text.empty()) {
    size_t special = text.find_first_of("\"\\");
    text_.append(text.substr(0, special));
    if (special == std::string_view::npos) break;
    text_ += '\\';
    text_ += text[special];
    text.remove_prefix(special + 1);
  }
  text_ += '"';
}

void PgArray::add(int64_t v) {
  sep();
  text_ += std::to_string(v);
}

void PgArray::add(bool v) {
  sep();
  text_ += v ? 't' : 'f';
}

void PgArray::add_null() {
  sep();
  text_ += "NULL";
}

// ---------------------------------------------------------------- results

PgResult::~PgResult() { PQclear(res_); }

PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    PQclear(res_);
    res_ = other.res_;
    other.res_ = nullptr;
  }
  return *this;
}

int PgResult::rows() const { return res_ ? PQntuples(res_) : 0; }

bool PgResult::is_null(int row, int col) const { return PQgetisnull(res_, row, col) != 0; }

std::string_view PgResult::text(int row, int col) const {
  return {PQgetvalue(res_, row, col), static_cast<size_t>(PQgetlength(res_, row, col))};
}

int64_t PgResult::int64(int row, int col) const {
  std::string_view t = text(row, col);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || p != t.data() + t.size()) {
    throw Error(ErrorCode::internal,
                "PostgreSQL returned \"" + std::string(t) + "\" where an integer was expected");
  }
  return v;
}

std::string_view PgResult::command_tag() const { return res_ ? PQcmdStatus(res_) : ""; }

int64_t PgResult::affected() const {
  const char* n = res_ ? PQcmdTuples(res_) : "";
  return *n ? std::strtoll(n, nullptr, 10) : 0;
}

bool PgResult::boolean(int row, int col) const {
  std::string_view t = text(row, col);
  return !t.empty() && t[0] == 't';
}

// ---------------------------------------------------------------- connection

std::string pg_one_line(std::string_view message) {
  std::string out;
  bool space = false;
  for (char c : message) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = true;
      continue;
    }
    if (space && !out.empty()) {
      // A line break inside libpq's message separates two sentences.
      out += ' ';
    }
    space = false;
    out += c;
  }
  return out;
}

namespace {

// `message` with the user name and password of a postgres:// URL replaced
// by "***": libpq quotes the part it could not read, which may be the
// password (found by the URL fuzz target).
std::string without_user_info(std::string message, const std::string& whole) {
  // libpq reads the URL as a C string: up to the first NUL byte.
  const std::string url = whole.c_str();
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return message;
  const size_t start = scheme + 3;
  const size_t end = url.find_first_of("/?#", start);
  const size_t at = url.rfind('@', end == std::string::npos ? std::string::npos : end);
  if (at == std::string::npos || at < start) return message;
  const std::string user_info = url.substr(start, at - start);
  std::vector<std::string> secrets{user_info};
  if (const size_t colon = user_info.find(':'); colon != std::string::npos) {
    secrets.push_back(user_info.substr(colon + 1));
    secrets.push_back(user_info.substr(0, colon));
  }
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (size_t pos = message.find(secret); pos != std::string::npos;
         pos = message.find(secret, pos + 3)) {
      message.replace(pos, secret.size(), "***");
    }
  }
  return message;
}

}  // namespace

std::string pg_conninfo_from_url(const std::string& url) {
  std::string conninfo;
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    conninfo = url;
  } else if (url.starts_with("postgresql:")) {
    conninfo = url.substr(11);
  } else if (url.starts_with("postgres:")) {
    conninfo = url.substr(9);
  } else {
    throw Error(ErrorCode::unavailable,
                "not a PostgreSQL database URL (postgres://... or postgres:)");
  }
  if (conninfo.empty()) return conninfo;
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (opts == nullptr) {
    std::string msg = err ? pg_one_line(err) : "out of memory";
    PQfreemem(err);
    throw Error(ErrorCode::unavailable,
                "invalid PostgreSQL database URL: " + without_user_info(msg, conninfo));
  }
  PQconninfoFree(opts);
  return conninfo;
}

PgConnection::PgConnection(const std::string& conninfo) {
  // Our defaults first: the URL's own values (expanded from dbname) win.
  const char* keys[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
  const char* values[] = {"10", "outpost", conninfo.c_str(), nullptr};
  conn_ = PQconnectdbParams(keys, values, 1);
  if (conn_ == nullptr)
    throw Error(ErrorCode::unavailable, "cannot connect to PostgreSQL: out of memory");
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = pg_one_line(PQerrorMessage(conn_));
    PQfinish(conn_);
    conn_ = nullptr;
    throw Error(ErrorCode::unavailable, "cannot connect to PostgreSQL: " + msg);
  }
  // Server notices (e.g. "drop cascades to ...") go to the debug log, not
  // to stderr.
  PQsetNoticeProcessor(
      conn_,
      [](void*, const char* message) {
        log_debug("postgres", "server notice", {{"message", pg_one_line(message)}});
      },
      nullptr);
  // Prepared statements are planned for their parameters on every run: a
  // generic plan made while a table was still empty (a fresh hub's first
  // sync) scans the whole table for every lookup by id, and keeps doing so
  // until autovacuum analyzes it. JIT compilation is off: the batched
  // lookups of a thousand keys are estimated costly enough to be compiled,
  // which took 5 to 60 ms for a statement that runs in about 1 ms.
  try {
    exec(
        "SET client_encoding='UTF8'; SET TimeZone='UTC'; SET DateStyle='ISO, YMD'; "
        "SET extra_float_digits=3; SET bytea_output='hex'; "
        "SET default_transaction_isolation='read committed'; "
        "SET plan_cache_mode='force_custom_plan'; SET jit=off");
  } catch (const Error& e) {
    PQfinish(conn_);
    conn_ = nullptr;
    throw Error(ErrorCode::unavailable,
                std::string("cannot set up a PostgreSQL session: ") + e.what());
  }
}

PgConnection::~PgConnection() {
  if (conn_) PQfinish(conn_);
}

bool PgConnection::ok() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }

bool PgConnection::in_transaction() const {
  return conn_ == nullptr || PQtransactionStatus(conn_) != PQTRANS_IDLE;
}

int PgConnection::socket() const { return PQsocket(conn_); }

PgResult PgConnection::check(pg_result* raw, std::string_view sql) {
  PgResult res(raw);
  ExecStatusType status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_COPY_IN) {
    return res;
  }
  if (!ok()) {
    throw RetryableError("the connection to PostgreSQL was lost: " +
                         pg_one_line(PQerrorMessage(conn_)));
  }
  const char* state = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = state ? state : "";
  const char* primary = raw ? PQresultErrorField(raw, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string message = primary ? primary : pg_one_line(PQerrorMessage(conn_));
  switch (classify_sqlstate(sqlstate)) {
    case PgFailure::retry:
      throw RetryableError("PostgreSQL: " + message + " (SQLSTATE " + sqlstate + ")");
    case PgFailure::disk_full: {
      const char* database = PQdb(conn_);
      const char* host = PQhost(conn_);
      throw PgStatementError(
          sqlstate, pg_disk_full_message(database ? database : "", host ? host : "", message),
          ErrorCode::disk_full);
    }
    case PgFailure::other:
      break;
  }
  throw PgStatementError(sqlstate, "PostgreSQL: " + message + " (SQLSTATE " + sqlstate +
                                       ") in: " + statement_head(sql));
}

PgResult PgConnection::exec(const std::string& sql) {
  return check(PQexec(conn_, sql.c_str()), sql);
}

namespace {

struct RawParams {
  std::vector<const char*> values;
  explicit RawParams(const std::vector<std::string>& v, const std::vector<bool>& null) {
    values.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) values.push_back(null[i] ? nullptr : v[i].c_str());
  }
};

}  // namespace

PgResult PgConnection::query(const std::string& sql, const PgParams& params) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "s" + std::to_string(prepared_.size());
    check(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr), sql);
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  RawParams raw(params.values_, params.null_);
  return check(PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(raw.values.size()),
                              raw.values.data(), nullptr, nullptr, 0),
               sql);
}

PgResult PgConnection::query_once(const std::string& sql, const PgParams& params) {
  RawParams raw(params.values_, params.null_);
  return check(PQexecParams(conn_, sql.c_str(), static_cast<int>(raw.values.size()), nullptr,
                            raw.values.data(), nullptr, nullptr, 0),
               sql);
}

std::string pg_quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace outpost
