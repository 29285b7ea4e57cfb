// The SQL shape of a PostgreSQL database (DESIGN.md section 5): numbered
// migrations of the engine tables, the DDL of user tables T, T_history and
// T's tombstone table, and the advisory locks that serialize migrations and
// catalog changes across processes.
// Thread-safety: pure functions, plus statements run on the caller's
// connection.
#pragma once

#include <string>
#include <vector>

#include "api/table.h"

namespace outpost {

class PgConnection;

// Advisory lock keys (the two-int4 form, so they never collide with
// anything keyed by one bigint): class 'outp', then the purpose.
constexpr int kPgLockClass = 0x6f757470;
constexpr int kPgCountsLock = 3;  // one compaction of "_count_deltas" at a time

// The schema version this build creates and understands.
int pg_schema_version();

// Takes the transaction-scoped lock that serializes catalog changes (DDL of
// user tables) among all processes using the database.
void pg_lock_catalog(PgConnection& conn);

// CREATE TABLE statements for T, T_history and T's tombstone table with
// native column types; `_id` and revision columns COLLATE "C"; derived
// identifiers stay within PostgreSQL's 63 bytes.
std::string pg_create_table_sql(const Table& table);
// CREATE TABLE for T's tombstone table alone (DESIGN.md section 14).
std::string pg_create_tombstones_sql(const Table& table);
// The maintained counts (pg_counts.cpp): "_count_deltas" and the trigger
// functions (a migration), and the triggers on one T.
extern const char* const kPgCountFunctionsSql;
std::string pg_create_counts_sql(const Table& table);
// ALTER TABLE statements adding `added` to T_history, T, then T's tombstones.
std::string pg_add_columns_sql(const std::string& table, const std::vector<Column>& added);

}  // namespace outpost
