#include "bench/pg_raw_baseline.h"

#include <libpq-fe.h>

#include <charconv>
#include <chrono>

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

void pg_vacuum_analyze(const std::string& conninfo) {
  PgConnection conn(conninfo);
  conn.exec("VACUUM ANALYZE");
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
  const auto start = std::chrono::steady_clock::now();
  int64_t next_seq = 1;
  std::vector<BaselineRow> rows;
  std::vector<std::string> revs;
  // One statement per table and batch, each column bound as one array.
  const std::string columns_arrays =
      "$1::text[],$2::text[],$3::bigint[],$4::text[],$5::text[],$6::bigint[],$7::bigint[],"
      "$8::double precision[],$9::boolean[]";
  const std::string insert_current =
      "INSERT INTO " + table + "(\"_id\",\"_rev\",\"_seq\"," + std::string(kColumnNames) +
      ",\"_conflicted\") SELECT *,false FROM unnest(" + columns_arrays + ")";
  const std::string insert_history =
      "INSERT INTO " + history + "(\"_id\",\"_rev\",\"_seq\"," + std::string(kColumnNames) +
      ",\"_parent\",\"_gen\",\"_deleted\",\"_leaf\",\"_stub\") SELECT *,NULL,1,false,true,false "
      "FROM unnest(" +
      columns_arrays + ")";
  auto flush = [&] {
    PgArray id, rev, seq, name, city, qty, rseq, price, active, table_name;
    for (size_t i = 0; i < rows.size(); ++i) {
      const BaselineRow& r = rows[i];
      id.add(r.id);
      rev.add(revs[i]);
      seq.add(next_seq + static_cast<int64_t>(i));
      name.add(r.name);
      city.add(r.city);
      qty.add(r.qty);
      rseq.add(r.seq);
      price.add(number(r.price));
      active.add(r.active);
      table_name.add(options.table);
    }
    conn.query(
        "INSERT INTO \"_changes\"(\"seq\",\"table\",\"id\",\"rev\",\"deleted\") "
        "SELECT *,false FROM unnest($1::bigint[],$2::text[],$3::text[],$4::text[])",
        PgParams().add(seq.str()).add(table_name.str()).add(id.str()).add(rev.str()));
    PgParams cols;
    for (PgArray* a : {&id, &rev, &seq, &name, &city, &qty, &rseq, &price, &active}) {
      cols.add(a->str());
    }
    conn.query(insert_current, cols);
    conn.query(insert_history, cols);
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
