// Maintained record and conflict counts on SQLite (Engine::table_counts).
//
// "_counts" holds one row per table: its rows of T and, of those, the ones
// with _conflicted = 1. Three triggers on each T keep it exact in the
// writing transaction: AFTER INSERT, AFTER DELETE, and AFTER UPDATE OF
// _conflicted when the flag changes. put_winner is an upsert (ON CONFLICT
// DO UPDATE), which fires the INSERT or the UPDATE trigger as it goes;
// remove_winner and purge_record are DELETEs; add_columns only adds
// columns (ALTER TABLE ADD COLUMN keeps triggers). SQLite has one writer at
// a time, so one row per table costs no concurrency.
#include <string>

#include "engine/sqlite/sqlite_db.h"
#include "engine/sqlite/sqlite_storage.h"

namespace outpost {

namespace {

// An SQL string literal (trigger bodies cannot bind parameters).
std::string quote_literal(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

}  // namespace

void SqliteStorage::create_counts(SqliteConnection& conn, const Table& table) {
  const std::string t = quote_identifier(table.name);
  const std::string where = " WHERE \"table\"=" + quote_literal(table.name) + "; END";
  const std::string update = "UPDATE \"_counts\" SET ";
  const std::string ins = quote_identifier("_" + table.name + "_counts_ins");
  const std::string del = quote_identifier("_" + table.name + "_counts_del");
  const std::string upd = quote_identifier("_" + table.name + "_counts_upd");
  // Dropped first: a database migrated again (its schema version set back)
  // gets the same triggers.
  conn.exec("DROP TRIGGER IF EXISTS " + ins + "; DROP TRIGGER IF EXISTS " + del +
            "; DROP TRIGGER IF EXISTS " + upd);
  conn.exec("CREATE TRIGGER " + ins + " AFTER INSERT ON " + t + " BEGIN " + update +
            "\"records\"=\"records\"+1,\"conflicts\"=\"conflicts\"+NEW.\"_conflicted\"" + where);
  conn.exec("CREATE TRIGGER " + del + " AFTER DELETE ON " + t + " BEGIN " + update +
            "\"records\"=\"records\"-1,\"conflicts\"=\"conflicts\"-OLD.\"_conflicted\"" + where);
  conn.exec("CREATE TRIGGER " + upd + " AFTER UPDATE OF \"_conflicted\" ON " + t +
            " WHEN OLD.\"_conflicted\"<>NEW.\"_conflicted\" BEGIN " + update +
            "\"conflicts\"=\"conflicts\"+NEW.\"_conflicted\"-OLD.\"_conflicted\"" + where);
  // The starting counts, from T as it is (empty for a new table).
  auto stmt = conn.prepare(
      "INSERT INTO \"_counts\"(\"table\",\"records\",\"conflicts\") "
      "SELECT ?,count(*),coalesce(sum(\"_conflicted\"),0) FROM " +
      t +
      " WHERE true ON CONFLICT(\"table\") DO UPDATE SET \"records\"=excluded.\"records\","
      "\"conflicts\"=excluded.\"conflicts\"");
  stmt->bind_text(1, table.name);
  stmt->run();
}

std::vector<TableCounts> SqliteStorage::maintained_counts(Transaction& txn) {
  auto stmt = conn_of(txn).prepare(
      "SELECT \"table\",\"records\",\"conflicts\" FROM \"_counts\" ORDER BY \"table\"");
  std::vector<TableCounts> out;
  while (stmt->step()) {
    out.push_back(
        TableCounts{std::string(stmt->column_text(0)), stmt->column_int(1), stmt->column_int(2)});
  }
  return out;
}

}  // namespace outpost
