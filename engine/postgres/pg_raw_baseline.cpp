#include "engine/postgres/pg_raw_baseline.h"

#include <charconv>
#include <chrono>

#include <libpq-fe.h>

#include "api/error.h"

#include "engine/postgres/pg_connection.h"
#include "utils/sha256.h"

namespace outpost {

namespace {

constexpr std::string_view kColumnsDdl =
    "\"name\" TEXT, \"city\" TEXT, \"qty\" BIGINT, \"seq\" BIGINT, \"price\" DOUBLE PRECISION, "
    "\"active\" BOOLEAN";
constexpr std::string_view kColumnNames = "\"name\",\"city\",\"qty\",\"seq\",\"price\",\"active\"";

void append_ns(std::string& out, std::string_view s) {
  out += std::to_string(s.size());
  out += ':';
  out += s;
  out += ',';
}

std::string number(double v) {
  char buf[32];
  auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  return std::string(buf, end);
}

// The revision of a first edit of `row` (DESIGN.md section 4).
std::string revision_of(std::string_view table, const BaselineRow& row) {
  std::string b = "outpost/rev/1\n";
  append_ns(b, table);
  append_ns(b, row.id);
  append_ns(b, "");
  append_ns(b, "0");
  auto attr = [&](std::string_view name, std::string_view type, std::string_view text) {
    append_ns(b, name);
    append_ns(b, type);
    append_ns(b, text);
  };
  attr("active", "bool", row.active ? "true" : "false");
  attr("city", "string", row.city);
  attr("name", "string", row.name);
  attr("price", "float", number(row.price));
  attr("qty", "int", std::to_string(row.qty));
  attr("seq", "int", std::to_string(row.seq));
  const Sha256Digest digest = sha256(b);
  return "1-" + hex_encode(std::string_view(reinterpret_cast<const char*>(digest.data()), 16));
}

// "($1,$2,...),(...)": `rows` groups of `per_row` parameters.
std::string values_list(size_t rows, size_t per_row, std::string_view fixed_tail = {}) {
  std::string out;
  size_t p = 0;
  for (size_t r = 0; r < rows; ++r) {
    out += r == 0 ? "(" : ",(";
    for (size_t c = 0; c < per_row; ++c) {
      if (c > 0) out += ',';
      out += '$' + std::to_string(++p);
    }
    out += fixed_tail;
    out += ')';
  }
  return out;
}

}  // namespace

std::string pg_scratch_conninfo(const std::string& conninfo, const std::string& schema) {
  PgConnection conn(conninfo);
  conn.exec("CREATE SCHEMA " + pg_quote_identifier(schema));
  auto quote = [](std::string_view v) {
    std::string q = "'";
    for (char c : v) {
      if (c == '\'' || c == '\\') q += '\\';
      q += c;
    }
    return q + "'";
  };
  // The same parameters as key=value pairs, with the schema added to options.
  std::string out, options;
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &err);
  if (parsed == nullptr) {
    PQfreemem(err);
    throw Error(ErrorCode::unavailable, "invalid PostgreSQL connection string");
  }
  for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (o->val == nullptr || *o->val == '\0') continue;
    if (std::string_view(o->keyword) == "options") {
      options = std::string(o->val) + " ";
      continue;
    }
    out += std::string(o->keyword) + "=" + quote(o->val) + " ";
  }
  PQconninfoFree(parsed);
  return out + "options=" + quote(options + "-c search_path=" + schema);
}

void pg_drop_scratch(const std::string& conninfo, const std::string& schema) {
  PgConnection conn(conninfo);
  conn.exec("DROP SCHEMA IF EXISTS " + pg_quote_identifier(schema) + " CASCADE");
}

BaselineResult run_pg_raw_baseline(const PgBaselineOptions& options) {
  PgConnection conn(options.conninfo);
  const std::string table = pg_quote_identifier(options.table);
  const std::string history = pg_quote_identifier(options.table + "_history");
  conn.exec(
      "CREATE TABLE \"_changes\"(\"seq\" BIGINT PRIMARY KEY, \"table\" TEXT NOT NULL, "
      "\"id\" TEXT COLLATE \"C\" NOT NULL, \"rev\" TEXT NOT NULL, \"deleted\" BOOLEAN NOT NULL)");
  conn.exec("CREATE TABLE " + table +
            "(\"_id\" TEXT COLLATE \"C\" PRIMARY KEY, \"_rev\" TEXT NOT NULL, "
            "\"_seq\" BIGINT NOT NULL, \"_conflicted\" BOOLEAN NOT NULL, " +
            std::string(kColumnsDdl) + ")");
  conn.exec("CREATE TABLE " + history +
            "(\"_id\" TEXT COLLATE \"C\" NOT NULL, \"_rev\" TEXT COLLATE \"C\" NOT NULL, "
            "\"_parent\" TEXT, \"_gen\" BIGINT NOT NULL, \"_deleted\" BOOLEAN NOT NULL, "
            "\"_leaf\" BOOLEAN NOT NULL, \"_stub\" BOOLEAN NOT NULL, \"_seq\" BIGINT NOT NULL, " +
            std::string(kColumnsDdl) + ", PRIMARY KEY(\"_id\",\"_rev\"))");

  const size_t per_txn = options.per_transaction == 0 ? 1 : options.per_transaction;
  // Multi-row statements stay under libpq's 65535 parameters.
  const size_t per_statement = std::min<size_t>(per_txn, 5000);
  const auto start = std::chrono::steady_clock::now();
  int64_t next_seq = 1;
  std::vector<BaselineRow> rows;
  std::vector<std::string> revs;
  auto flush = [&] {
    for (size_t from = 0; from < rows.size(); from += per_statement) {
      size_t n = std::min(per_statement, rows.size() - from);
      PgParams changes, current, hist;
      for (size_t i = from; i < from + n; ++i) {
        const BaselineRow& r = rows[i];
        int64_t seq = next_seq + static_cast<int64_t>(i);
        changes.add(seq).add(options.table).add(r.id).add(revs[i]);
        for (PgParams* p : {&current, &hist}) {
          p->add(r.id).add(revs[i]).add(seq).add(r.name).add(r.city).add(r.qty).add(r.seq);
          p->add(number(r.price)).add(r.active);
        }
      }
      conn.query_once("INSERT INTO \"_changes\"(\"seq\",\"table\",\"id\",\"rev\",\"deleted\") VALUES " +
                          values_list(n, 4, ",false"),
                      changes);
      conn.query_once("INSERT INTO " + table + "(\"_id\",\"_rev\",\"_seq\"," +
                          std::string(kColumnNames) + ",\"_conflicted\") VALUES " +
                          values_list(n, 9, ",false"),
                      current);
      conn.query_once("INSERT INTO " + history + "(\"_id\",\"_rev\",\"_seq\"," +
                          std::string(kColumnNames) +
                          ",\"_parent\",\"_gen\",\"_deleted\",\"_leaf\",\"_stub\") VALUES " +
                          values_list(n, 9, ",NULL,1,false,true,false"),
                      hist);
    }
    next_seq += static_cast<int64_t>(rows.size());
    rows.clear();
    revs.clear();
  };
  for (size_t i = 0; i < options.records; ++i) {
    if (i % per_txn == 0) conn.exec("BEGIN");
    rows.push_back(options.make_row(i));
    revs.push_back(revision_of(options.table, rows.back()));
    if ((i + 1) % per_txn == 0 || i + 1 == options.records) {
      flush();
      conn.exec("COMMIT");
    }
  }
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  return BaselineResult{options.records, elapsed.count()};
}

}  // namespace outpost
