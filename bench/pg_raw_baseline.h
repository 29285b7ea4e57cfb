// The raw-PostgreSQL baseline of `outpost bench put --db postgres:...`: the
// least work a record write can cost on PostgreSQL, done by hand with libpq,
// to compare the engine against. Per record it computes the SHA-256
// revision (DESIGN.md section 4) and inserts the same three rows the engine
// writes (section 5): a change row, the current row and a history row with
// native columns, as one multi-row INSERT per table every `per_transaction`
// records (each column bound as one array and unnested: the fastest form of
// a multi-row INSERT through libpq), with BEGIN ... COMMIT around them. It checks, locks and reads
// nothing: that is the point of a baseline.
//
// Scratch space: both the baseline and the engine figure should run in a
// schema of their own that is dropped afterwards: pg_scratch_conninfo()
// gives a conninfo whose search_path is that schema, so open_engine() on
// "postgres:" + it creates the engine's tables there.
// Thread-safety: each call uses its own connection.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "bench/raw_baseline.h"

namespace outpost {

struct PgBaselineOptions {
  std::string conninfo;  // libpq conninfo, e.g. pg_scratch_conninfo(...)
  std::string table = "items";
  size_t records = 0;
  size_t per_transaction = 1000;
  std::function<BaselineRow(size_t i)> make_row;  // called inside the timed part
};

// Runs the baseline into the (empty) first schema of the conninfo's
// search_path. Throws Error(unavailable) when the server cannot be reached,
// Error(internal) for any other failure.
BaselineResult run_pg_raw_baseline(const PgBaselineOptions& options);

// Creates schema `schema` (quoted, must not exist) on the database of
// `conninfo` and returns a conninfo that uses it as search_path.
std::string pg_scratch_conninfo(const std::string& conninfo, const std::string& schema);
// Drops the schema and everything in it.
void pg_drop_scratch(const std::string& conninfo, const std::string& schema);
// VACUUM ANALYZE of the tables on the connection's search_path: what
// autovacuum does to a hub's tables after a bulk load, done at once.
void pg_vacuum_analyze(const std::string& conninfo);

}  // namespace outpost
