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

LocalUsage PgStorage::local_usage(Transaction& txn, std::string_view prefix,
                                  std::string_view except) {
  // Ids compare bytewise (COLLATE "C"): those with the prefix are a range,
  // from the prefix to the first text past every one of them.
  const std::optional<std::string> end = prefix_end(prefix);
  PgParams params;
  params.add(prefix).add(except);
  if (end) params.add(*end);
  PgResult res = conn_of(txn).query(
      std::string("SELECT count(*), coalesce(sum(octet_length(\"body\")), 0)::bigint "
                  "FROM \"_local\" WHERE \"id\">=$1 AND \"id\"<>$2") +
          (end ? " AND \"id\"<$3" : ""),
      params);
  return LocalUsage{static_cast<uint64_t>(std::stoll(std::string(res.text(0, 0)))),
                    static_cast<uint64_t>(std::stoll(std::string(res.text(0, 1))))};
}

}  // namespace outpost
