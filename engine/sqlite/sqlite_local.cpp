// Local documents (the _local table of an SQLite database): JSON bodies
// by id that are never replicated, such as checkpoints (DESIGN.md
// section 7).
#include "engine/sqlite/sqlite_db.h"
#include "engine/sqlite/sqlite_storage.h"

namespace outpost {

std::optional<std::string> SqliteStorage::get_local(Transaction& txn, std::string_view id) {
  auto stmt = conn_of(txn).prepare("SELECT \"body\" FROM \"_local\" WHERE \"id\"=?");
  stmt->bind_text(1, id);
  if (!stmt->step()) return std::nullopt;
  return std::string(stmt->column_text(0));
}

void SqliteStorage::put_local(Transaction& txn, std::string_view id, std::string_view json) {
  auto stmt = conn_of(txn).prepare(
      "INSERT INTO \"_local\"(\"id\",\"body\") VALUES(?,?) "
      "ON CONFLICT(\"id\") DO UPDATE SET \"body\"=excluded.\"body\"");
  stmt->bind_text(1, id);
  stmt->bind_text(2, json);
  stmt->run();
}

std::vector<std::pair<std::string, std::string>> SqliteStorage::list_local(Transaction& txn) {
  auto stmt = conn_of(txn).prepare("SELECT \"id\",\"body\" FROM \"_local\" ORDER BY \"id\"");
  std::vector<std::pair<std::string, std::string>> out;
  while (stmt->step()) out.emplace_back(stmt->column_text(0), stmt->column_text(1));
  return out;
}

}  // namespace outpost
