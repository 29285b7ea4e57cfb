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

LocalUsage SqliteStorage::local_usage(Transaction& txn, std::string_view prefix,
                                      std::string_view except) {
  // Ids compare bytewise (BINARY): those with the prefix are a range, from
  // the prefix to the first text past every one of them.
  auto stmt = conn_of(txn).prepare(
      "SELECT count(*), coalesce(sum(length(CAST(\"body\" AS BLOB))), 0) FROM \"_local\" "
      "WHERE \"id\">=? AND (? IS NULL OR \"id\"<?) AND \"id\"<>?");
  const std::optional<std::string> end = prefix_end(prefix);
  stmt->bind_text(1, prefix);
  if (end) {
    stmt->bind_text(2, *end);
    stmt->bind_text(3, *end);
  } else {
    stmt->bind_null(2);
    stmt->bind_null(3);
  }
  stmt->bind_text(4, except);
  stmt->step();
  return LocalUsage{static_cast<uint64_t>(stmt->column_int(0)),
                    static_cast<uint64_t>(stmt->column_int(1))};
}

}  // namespace outpost
