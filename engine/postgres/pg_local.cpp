// Local documents (the _local table of a PostgreSQL database): JSON bodies
// by id that are never replicated, such as checkpoints (DESIGN.md
// section 7).
#include "engine/postgres/pg_connection.h"
#include "engine/postgres/pg_storage.h"

namespace outpost {

std::optional<std::string> PgStorage::get_local(Transaction& txn, std::string_view id) {
  PgResult res =
      conn_of(txn).query("SELECT \"body\" FROM \"_local\" WHERE \"id\"=$1", PgParams().add(id));
  if (res.rows() == 0) return std::nullopt;
  return std::string(res.text(0, 0));
}

void PgStorage::put_local(Transaction& txn, std::string_view id, std::string_view json) {
  conn_of(txn).query(
      "INSERT INTO \"_local\"(\"id\",\"body\") VALUES($1,$2) "
      "ON CONFLICT(\"id\") DO UPDATE SET \"body\"=excluded.\"body\"",
      PgParams().add(id).add(json));
}

std::vector<std::pair<std::string, std::string>> PgStorage::list_local(Transaction& txn) {
  PgResult res = conn_of(txn).query("SELECT \"id\",\"body\" FROM \"_local\" ORDER BY \"id\"");
  std::vector<std::pair<std::string, std::string>> out;
  for (int r = 0; r < res.rows(); ++r) out.emplace_back(res.text(r, 0), res.text(r, 1));
  return out;
}

}  // namespace outpost
