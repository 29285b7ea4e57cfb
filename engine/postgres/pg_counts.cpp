// Maintained record and conflict counts on PostgreSQL (Engine::table_counts).
//
// Several hub processes write one database at once, so the counts are not
// one row per table that every writer would update (that row would
// serialize all writers of a table). Writers append delta rows instead,
// ("table", records, conflicts) in "_count_deltas", which no one updates or
// locks; a table's counts are the sums of its rows, read in the reader's
// snapshot, so they are exact and move with the commits they belong to.
//
// Triggers on each T write the deltas in the writing transaction:
// - AFTER INSERT and AFTER DELETE, per statement, over their transition
//   tables: the engine writes T with one multi-row statement per kind, so a
//   batch adds one delta row, not one per record. (For put_winner's upsert,
//   INSERT ... ON CONFLICT DO UPDATE, the INSERT transition table holds only
//   the rows that were inserted.)
// - AFTER UPDATE OF _conflicted per row, WHEN the flag changes: rare, and
//   the WHEN is evaluated without calling the function.
// Purge and remove_winner are DELETEs; add_columns keeps triggers.
//
// Compaction folds the rows into one per table: DELETE ... RETURNING and
// INSERT of the sums in one statement, under a try-lock so that only one
// process compacts at a time (two compactors would wait on each other's
// deleted rows). Writers never touch existing rows, so it blocks no one.
// A process compacts after every kCompactEvery of its write commits, and
// after a commit that follows a read that summed more than kCompactAbove
// rows.
#include <string>

#include "engine/postgres/pg_connection.h"
#include "engine/postgres/pg_schema.h"
#include "engine/postgres/pg_storage.h"
#include "engine/postgres/pg_txn.h"

namespace outpost {

namespace {

constexpr uint64_t kCompactEvery = 1000;
constexpr int64_t kCompactAbove = 256;

}  // namespace

// The functions the triggers call, created by a migration (pg_migrations.cpp).
// Each keeps the search_path it was created with, so that a write made by a
// session with another search_path (an operator's psql) still counts into
// this database's "_count_deltas".
const char* const kPgCountFunctionsSql = R"sql(
CREATE TABLE IF NOT EXISTS "_count_deltas"("table" TEXT COLLATE "C" NOT NULL,
  "records" BIGINT NOT NULL, "conflicts" BIGINT NOT NULL);
CREATE OR REPLACE FUNCTION "_counts_inserted"() RETURNS trigger LANGUAGE plpgsql
  SET search_path FROM CURRENT AS $f$
BEGIN
  INSERT INTO "_count_deltas"("table","records","conflicts")
    SELECT TG_TABLE_NAME, count(*), count(*) FILTER (WHERE "_conflicted") FROM "_new"
    HAVING count(*) > 0;
  RETURN NULL;
END $f$;
CREATE OR REPLACE FUNCTION "_counts_deleted"() RETURNS trigger LANGUAGE plpgsql
  SET search_path FROM CURRENT AS $f$
BEGIN
  INSERT INTO "_count_deltas"("table","records","conflicts")
    SELECT TG_TABLE_NAME, -count(*), -count(*) FILTER (WHERE "_conflicted") FROM "_old"
    HAVING count(*) > 0;
  RETURN NULL;
END $f$;
CREATE OR REPLACE FUNCTION "_counts_flagged"() RETURNS trigger LANGUAGE plpgsql
  SET search_path FROM CURRENT AS $f$
BEGIN
  INSERT INTO "_count_deltas"("table","records","conflicts")
    VALUES(TG_TABLE_NAME, 0, CASE WHEN NEW."_conflicted" THEN 1 ELSE -1 END);
  RETURN NULL;
END $f$;
)sql";

std::string pg_create_counts_sql(const Table& table) {
  const std::string t = pg_quote_identifier(table.name);
  // Trigger names are per table. Dropped first: a database migrated again
  // (its schema version set back) gets the same triggers.
  return "DROP TRIGGER IF EXISTS \"_counts_inserted\" ON " + t +
         ";\nDROP TRIGGER IF EXISTS \"_counts_deleted\" ON " + t +
         ";\nDROP TRIGGER IF EXISTS \"_counts_flagged\" ON " + t +
         ";\nCREATE TRIGGER \"_counts_inserted\" AFTER INSERT ON " + t +
         " REFERENCING NEW TABLE AS \"_new\" FOR EACH STATEMENT EXECUTE FUNCTION "
         "\"_counts_inserted\"();\nCREATE TRIGGER \"_counts_deleted\" AFTER DELETE ON " +
         t +
         " REFERENCING OLD TABLE AS \"_old\" FOR EACH STATEMENT EXECUTE FUNCTION "
         "\"_counts_deleted\"();\nCREATE TRIGGER \"_counts_flagged\" AFTER UPDATE OF "
         "\"_conflicted\" ON " +
         t +
         " FOR EACH ROW WHEN (OLD.\"_conflicted\" IS DISTINCT FROM NEW.\"_conflicted\") "
         "EXECUTE FUNCTION \"_counts_flagged\"();\n";
}

void PgStorage::seed_counts(PgConnection& conn, const Table& table) {
  // CREATE TRIGGER locked T against writers until the migration commits,
  // so the count taken now stays exact.
  conn.exec(pg_create_counts_sql(table));
  conn.query("DELETE FROM \"_count_deltas\" WHERE \"table\"=$1", PgParams().add(table.name));
  conn.query_once(
      "INSERT INTO \"_count_deltas\"(\"table\",\"records\",\"conflicts\") SELECT $1,"
      "count(*),count(*) FILTER (WHERE \"_conflicted\") FROM " +
          pg_quote_identifier(table.name),
      PgParams().add(table.name));
}

std::vector<TableCounts> PgStorage::maintained_counts(Transaction& txn) {
  Txn& t = txn_of(txn);
  t.sync_all();
  PgResult res = t.conn().query(
      "SELECT \"table\",sum(\"records\")::bigint,sum(\"conflicts\")::bigint,count(*) FROM "
      "\"_count_deltas\" GROUP BY \"table\" ORDER BY \"table\"");
  std::vector<TableCounts> out;
  int64_t rows = 0;
  for (int r = 0; r < res.rows(); ++r) {
    out.push_back(TableCounts{std::string(res.text(r, 0)), res.int64(r, 1), res.int64(r, 2)});
    rows += res.int64(r, 3);
  }
  if (rows > kCompactAbove) compact_wanted_ = true;
  return out;
}

void PgStorage::after_write_commit(PgConnection& conn) {
  bool due = ++write_commits_ % kCompactEvery == 0;
  if (!due && !compact_wanted_.exchange(false)) return;
  compact_wanted_ = false;
  // One statement, its own transaction: the try-lock lasts until it ends.
  conn.exec(
      "WITH \"d\" AS (DELETE FROM \"_count_deltas\" WHERE (SELECT pg_try_advisory_xact_lock(" +
      std::to_string(kPgLockClass) + "," + std::to_string(kPgCountsLock) +
      ")) RETURNING \"table\",\"records\",\"conflicts\") "
      "INSERT INTO \"_count_deltas\"(\"table\",\"records\",\"conflicts\") "
      "SELECT \"table\",sum(\"records\"),sum(\"conflicts\") FROM \"d\" GROUP BY \"table\" "
      "HAVING sum(\"records\")<>0 OR sum(\"conflicts\")<>0");
}

}  // namespace outpost
