// Scopes on PostgreSQL (DESIGN.md section 14): tombstones, scope conditions,
// the first pass of a scoped feed, purge and its log, _meta values and
// scope indexes. Mirrors engine/sqlite/sqlite_scope.cpp.
//
// Scope conditions bind each IN list as one array of the column's type
// ("col"=ANY($n::bigint[])), bound as the values' canonical text like every
// other write, so that equality is exact. Their statements vary with the
// scope, so they run unprepared (query_once) rather than filling the
// connection's statement cache. Tombstone writes are buffered with the
// table's other rows (pg_txn.h) and sent after T's at the next flush.
#include <string>

#include "engine/postgres/pg_connection.h"
#include "engine/postgres/pg_position.h"
#include "engine/postgres/pg_schema.h"
#include "engine/postgres/pg_storage.h"
#include "engine/postgres/pg_txn.h"
#include "engine/postgres/pg_values.h"
#include "engine/storage_text.h"
#include "utils/sha256.h"

namespace outpost {

namespace {

std::string t_of(const Table& table) { return pg_quote_identifier(table.name); }
std::string tomb_of(const Table& table) {
  return pg_quote_identifier(tombstone_table_name(table.name));
}
std::string history_of(const Table& table) {
  return pg_quote_identifier(history_table_name(table.name));
}

// A clause as an SQL condition over T's, the tombstones' or the history's
// columns. Its IN lists are appended to `params` (one array each), so the
// condition can be repeated in a statement with the same parameters. A
// column this table does not declare is null in every row here.
std::string condition_of(const Table& table, const ScopeClause& clause, PgParams& params) {
  if (clause.everything()) return "true";
  std::string sql;
  for (const ScopePredicate& p : clause.predicates) {
    if (!sql.empty()) sql += " AND ";
    ValueType type = ValueType::string;
    if (p.column != "_id") {
      const Column* c = table.find_column(p.column);
      if (c == nullptr) {
        sql += p.is_null() ? "true" : "false";
        continue;
      }
      type = c->type;
    }
    std::string col = pg_quote_identifier(p.column);
    if (p.is_null()) {
      sql += col + " IS NULL";
      continue;
    }
    if (p.values.size() == 1) {
      // An equality, so that an index on (column, _id) yields ids in order.
      params.add(pg_value_text(p.values[0]));
      std::string array_type(pg_array_type(type));
      sql += col + "=$" + std::to_string(params.size()) +
             "::" + array_type.substr(0, array_type.size() - 2);
      continue;
    }
    PgArray values;
    for (const Value& v : p.values) values.add(pg_value_text(v));
    params.add(values.str());
    sql += col + "=ANY($" + std::to_string(params.size()) +
           "::" + std::string(pg_array_type(type)) + ")";
  }
  return "(" + sql + ")";
}

// The condition a tombstone must meet: `*` takes every one, a predicate
// only those whose last body is known.
std::string tombstone_sql(const ScopeClause& clause, const std::string& condition) {
  return clause.everything() ? condition : "\"_known\" AND " + condition;
}

PgArray array_of(const std::vector<std::string>& ids) {
  PgArray out;
  for (const std::string& id : ids) out.add(id);
  return out;
}

std::vector<std::string> column0(const PgResult& res) {
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(res.rows()));
  for (int r = 0; r < res.rows(); ++r) out.emplace_back(res.text(r, 0));
  return out;
}

}  // namespace

void PgStorage::fill_tombstones(PgConnection& conn, const Table& table) {
  // Records without a row in T are deleted: their winner is the leaf of
  // highest generation, then hash (bytewise: _rev is COLLATE "C"); its
  // parent's body is the last one when the parent is neither a stub nor a
  // deletion. _seq is the record's feed row's seq, as T's.
  std::string cols, pcols;
  for (const Column& c : table.columns) {
    cols += "," + pg_quote_identifier(c.name);
    pcols += ",p." + pg_quote_identifier(c.name);
  }
  std::string h = history_of(table);
  conn.query_once(
      "INSERT INTO " + tomb_of(table) + "(\"_id\",\"_rev\",\"_seq\",\"_known\"" + cols +
          ") SELECT w.\"_id\",w.\"_rev\",coalesce(c.\"seq\",w.\"_seq\"),p.\"_id\" IS NOT NULL" +
          pcols +
          " FROM (SELECT DISTINCT ON (\"_id\") \"_id\",\"_rev\",\"_parent\",\"_seq\" FROM " + h +
          " x WHERE \"_leaf\" AND NOT EXISTS (SELECT 1 FROM " + t_of(table) +
          " t WHERE t.\"_id\"=x.\"_id\") ORDER BY \"_id\",\"_gen\" DESC,"
          "substr(\"_rev\",strpos(\"_rev\",'-')+1) DESC) w "
          "LEFT JOIN \"_changes\" c ON c.\"table\"=$1 AND c.\"id\"=w.\"_id\" LEFT JOIN " +
          h +
          " p ON p.\"_id\"=w.\"_id\" AND p.\"_rev\"=w.\"_parent\" AND NOT p.\"_deleted\" AND "
          "NOT p.\"_stub\"",
      PgParams().add(table.name));
}

void PgStorage::put_tombstone(Transaction& txn, const Table& table, std::string_view id,
                              const Node& winner, const std::optional<Attributes>& last_body,
                              int64_t seq) {
  Txn& t = txn_of(txn);
  Txn::TableBuffer* b = &t.buffer_for(table);
  if (b->tombstone_ids.contains(id)) {
    flush(t);  // one row per record and statement
    b = &t.buffer_for(table);
  }
  t.touch(table.name, id);
  Txn::Columns& w = b->tombstone_upserts;
  w.arrays[0].add(id);
  w.arrays[1].add(winner.revision.str());
  w.arrays[2].add(seq);
  w.arrays[3].add(last_body.has_value());
  b->add_body(w, 4, last_body ? *last_body : Attributes{});
  ++w.rows;
  b->tombstone_ids.emplace(id);
}

void PgStorage::remove_tombstone(Transaction& txn, const Table& table, std::string_view id) {
  Txn& t = txn_of(txn);
  Txn::TableBuffer* b = &t.buffer_for(table);
  if (b->tombstone_ids.contains(id)) {
    flush(t);
    b = &t.buffer_for(table);
  }
  t.touch(table.name, id);
  b->tombstones_removed.arrays[0].add(id);
  ++b->tombstones_removed.rows;
  b->tombstone_ids.emplace(id);
}

std::vector<std::string> PgStorage::matching(Transaction& txn, const Table& table,
                                             const ScopeClause& clause,
                                             const std::vector<std::string>& ids) {
  if (ids.empty()) return {};
  Txn& t = txn_of(txn);
  t.sync_all();
  PgParams params;
  params.add(array_of(ids).str());
  std::string c = condition_of(table, clause, params);
  return column0(t.conn().query_once(
      "SELECT \"_id\" FROM " + t_of(table) + " WHERE \"_id\"=ANY($1::text[]) AND " + c +
          " UNION ALL SELECT \"_id\" FROM " + tomb_of(table) +
          " WHERE \"_id\"=ANY($1::text[]) AND " + tombstone_sql(clause, c),
      params));
}

std::vector<std::string> PgStorage::ever_matching(Transaction& txn, const Table& table,
                                                  const ScopeClause& clause,
                                                  const std::vector<std::string>& ids,
                                                  bool stubs_count) {
  if (ids.empty()) return {};
  Txn& t = txn_of(txn);
  t.sync_all();
  PgParams params;
  params.add(array_of(ids).str());
  std::string c = condition_of(table, clause, params);
  // A stub (a revision held without its body) may have matched: counted
  // as if it had when asked, so that its holders hear of the record's leaving.
  const std::string stub = stubs_count ? "\"_stub\" OR " : "";
  return column0(t.conn().query_once("SELECT DISTINCT \"_id\" FROM " + history_of(table) +
                                         " WHERE \"_id\"=ANY($1::text[]) AND (" + stub +
                                         "(NOT \"_deleted\" AND " + c + "))",
                                     params));
}

std::vector<Storage::FeedEntry> PgStorage::scan_matching(Transaction& txn, const Table& table,
                                                         const ScopeClause& clause,
                                                         std::string_view after,
                                                         std::string_view until, size_t limit) {
  PgPosition end = pg_parse_cursor(until);
  Txn& t = txn_of(txn);
  t.sync_all();
  PgParams params;
  params.add(after)
      .add(table.name)
      .add(std::to_string(end.xid))
      .add(end.seq)
      .add(static_cast<int64_t>(limit));
  std::string c = condition_of(table, clause, params);
  // The xid is read as text under another name (see pg_feed.cpp).
  // The page of ids first (through the scope's index), then each one's
  // feed row by primary key: a plan that does not depend on statistics
  // (right after a bulk load there are none).
  PgResult res = t.conn().query_once(
      "SELECT r.\"_id\",c.\"xid\"::text AS \"xid_text\",c.\"seq\",c.\"rev\",c.\"deleted\","
      "c.\"leaves\",(c.\"xid\",c.\"seq\")<=($3::xid8,$4::bigint) AS \"before\" FROM (SELECT "
      "\"_id\" FROM (SELECT \"_id\" FROM " +
          t_of(table) + " WHERE \"_id\">$1 AND " + c + " UNION ALL SELECT \"_id\" FROM " +
          tomb_of(table) + " WHERE \"_id\">$1 AND " + tombstone_sql(clause, c) +
          ") u ORDER BY \"_id\" LIMIT $5) r LEFT JOIN LATERAL (SELECT \"xid\",\"seq\",\"rev\","
          "\"deleted\",\"leaves\" FROM \"_changes\" WHERE \"table\"=$2 AND \"id\"=r.\"_id\") c ON "
          "true ORDER BY r.\"_id\"",
      params);
  std::vector<FeedEntry> out;
  out.reserve(static_cast<size_t>(res.rows()));
  for (int r = 0; r < res.rows(); ++r) {
    FeedEntry entry;
    entry.change.table = table.name;
    entry.change.id = std::string(res.text(r, 0));
    if (!res.is_null(r, 2) && res.boolean(r, 6)) {
      PgPosition pos;
      pg_parse_number(res.text(r, 1), pos.xid);
      pos.seq = res.int64(r, 2);
      entry.cursor = pos.str();
      entry.change.winner = Revision::parse(res.text(r, 3));
      entry.change.deleted = res.boolean(r, 4);
      entry.change.leaves = split_revisions(res.text(r, 5));
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::vector<std::string> PgStorage::select_ids(Transaction& txn, const Table& table,
                                               const RecordSelection& selection,
                                               std::string_view after, size_t limit) {
  using Kind = RecordSelection::Kind;
  ScopeClause everything{table.name, {}};
  const ScopeClause& clause =
      selection.kind == Kind::all || selection.clause == nullptr ? everything : *selection.clause;
  Txn& t = txn_of(txn);
  t.sync_all();
  PgParams params;
  params.add(after).add(static_cast<int64_t>(limit));
  std::string c = condition_of(table, clause, params);
  std::string live = c, dead = tombstone_sql(clause, c);
  if (selection.kind == Kind::not_matching) {
    // A null column makes the condition unknown, which must count as not
    // matching.
    live = "NOT coalesce(" + c + ",false)";
    dead = "\"_known\" AND NOT coalesce(" + c + ",false)";
  }
  return column0(t.conn().query_once("SELECT \"_id\" FROM " + t_of(table) +
                                         " WHERE \"_id\">$1 AND " + live +
                                         " UNION ALL SELECT \"_id\" FROM " + tomb_of(table) +
                                         " WHERE \"_id\">$1 AND " + dead + " ORDER BY 1 LIMIT $2",
                                     params));
}

std::vector<std::pair<std::string, WinnerRow>> PgStorage::list_winners_where(
    Transaction& txn, const Table& table, std::string_view after, size_t limit,
    const ScopeClause& clause) {
  Txn& t = txn_of(txn);
  t.sync_all();
  PgParams params;
  params.add(after).add(static_cast<int64_t>(limit));
  std::string c = condition_of(table, clause, params);
  std::string reads;
  for (const Column& col : table.columns) reads += "," + pg_select_expr(col);
  PgResult res = t.conn().query_once("SELECT \"_rev\",\"_conflicted\"" + reads + ",\"_id\" FROM " +
                                         t_of(table) + " WHERE \"_id\">$1 AND " + c +
                                         " ORDER BY \"_id\" LIMIT $2",
                                     params);
  std::vector<std::pair<std::string, WinnerRow>> out;
  int id_col = 2 + static_cast<int>(table.columns.size());
  for (int r = 0; r < res.rows(); ++r) {
    out.emplace_back(std::string(res.text(r, id_col)),
                     WinnerRow{Revision::parse(res.text(r, 0)), res.boolean(r, 1),
                               pg_read_columns(res, r, 2, table)});
  }
  return out;
}

std::vector<std::string> PgStorage::list_conflicted_where(Transaction& txn, const Table& table,
                                                          std::string_view after, size_t limit,
                                                          const ScopeClause& clause) {
  Txn& t = txn_of(txn);
  t.sync_all();
  PgParams params;
  params.add(after).add(static_cast<int64_t>(limit));
  std::string c = condition_of(table, clause, params);
  return column0(t.conn().query_once("SELECT \"_id\" FROM " + t_of(table) +
                                         " WHERE \"_conflicted\" AND \"_id\">$1 AND " + c +
                                         " ORDER BY \"_id\" LIMIT $2",
                                     params));
}

bool PgStorage::changed_at_or_before(Transaction& txn, const Table& table, std::string_view id,
                                     std::string_view cursor) {
  PgPosition pos = pg_parse_cursor(cursor);
  Txn& t = txn_of(txn);
  t.sync(table.name, id);
  PgResult res = t.conn().query(
      "SELECT (\"xid\",\"seq\")<=($3::xid8,$4::bigint) FROM \"_changes\" "
      "WHERE \"table\"=$1 AND \"id\"=$2",
      PgParams().add(table.name).add(id).add(std::to_string(pos.xid)).add(pos.seq));
  return res.rows() > 0 && res.boolean(0, 0);
}

bool PgStorage::purge_record(Transaction& txn, const Table& table, std::string_view id) {
  Txn& t = txn_of(txn);
  t.sync_all();
  PgConnection& conn = t.conn();
  // History, T, tombstones, in the order writers touch them; the feed row
  // (which lock_record locked) last.
  int64_t removed = 0;
  for (const std::string& from : {history_of(table), t_of(table), tomb_of(table)}) {
    removed +=
        conn.query("DELETE FROM " + from + " WHERE \"_id\"=$1", PgParams().add(id)).affected();
  }
  removed += conn.query("DELETE FROM \"_changes\" WHERE \"table\"=$1 AND \"id\"=$2",
                        PgParams().add(table.name).add(id))
                 .affected();
  // What this transaction knows of the record: nothing is left. A later
  // write of it in this transaction upserts its rows.
  auto it = t.records.find(pg_record_key(table.name, id));
  if (it != t.records.end()) {
    it->second.nodes.clear();
    it->second.cached = true;
  }
  return removed > 0;
}

void PgStorage::log_purge(Transaction& txn, const PurgeLogEntry& entry) {
  conn_of(txn).query(
      "INSERT INTO \"_purges\"(\"table\",\"id\",\"at\",\"reason\") VALUES($1,$2,$3,$4)",
      PgParams().add(entry.table).add(entry.id).add(entry.at).add(entry.reason));
}

std::vector<PurgeLogEntry> PgStorage::purge_log(Transaction& txn, size_t skip, size_t limit) {
  PgResult res = conn_of(txn).query(
      "SELECT \"table\",\"id\",\"at\",\"reason\" FROM \"_purges\" ORDER BY \"seq\" LIMIT $1 "
      "OFFSET $2",
      PgParams().add(static_cast<int64_t>(limit)).add(static_cast<int64_t>(skip)));
  std::vector<PurgeLogEntry> out;
  out.reserve(static_cast<size_t>(res.rows()));
  for (int r = 0; r < res.rows(); ++r) {
    out.push_back(PurgeLogEntry{std::string(res.text(r, 0)), std::string(res.text(r, 1)),
                                std::string(res.text(r, 2)), std::string(res.text(r, 3))});
  }
  return out;
}

std::optional<std::string> PgStorage::get_meta(Transaction& txn, std::string_view key) {
  PgResult res =
      conn_of(txn).query("SELECT \"value\" FROM \"_meta\" WHERE \"key\"=$1", PgParams().add(key));
  if (res.rows() == 0) return std::nullopt;
  return std::string(res.text(0, 0));
}

void PgStorage::put_meta(Transaction& txn, std::string_view key,
                         const std::optional<std::string>& value) {
  if (!value) {
    conn_of(txn).query("DELETE FROM \"_meta\" WHERE \"key\"=$1", PgParams().add(key));
    return;
  }
  conn_of(txn).query(
      "INSERT INTO \"_meta\"(\"key\",\"value\") VALUES($1,$2) "
      "ON CONFLICT(\"key\") DO UPDATE SET \"value\"=excluded.\"value\"",
      PgParams().add(key).add(*value));
}

void PgStorage::create_scope_index(Transaction& txn, const Table& table,
                                   const std::string& column) {
  if (column == "_id") return;  // the primary keys serve it
  Txn& t = txn_of(txn);
  t.sync_all();
  PgConnection& conn = t.conn();
  // Two connections creating the same index at once would collide in the
  // system catalog (IF NOT EXISTS does not serialize them).
  pg_lock_catalog(conn);
  // Index names are at most 63 bytes: derive a short one from the table
  // and the column ("_scope_" + 16 hex digits, "_t" for the tombstones).
  std::string name = "_scope_" + sha256_hex(table.name + "/" + column).substr(0, 16);
  std::string col = pg_quote_identifier(column);
  conn.exec("CREATE INDEX IF NOT EXISTS " + pg_quote_identifier(name) + " ON " + t_of(table) + "(" +
            col + ",\"_id\");\nCREATE INDEX IF NOT EXISTS " + pg_quote_identifier(name + "_t") +
            " ON " + tomb_of(table) + "(" + col + ",\"_id\")");
}

// ---------------------------------------------------------------- counts

TableCounts PgStorage::count_rows(Transaction& txn, const Table& table, const ScopeClause* clause) {
  Txn& t = txn_of(txn);
  t.sync_all();
  ScopeClause everything{table.name, {}};
  PgParams params;
  std::string c = condition_of(table, clause ? *clause : everything, params);
  PgResult res = t.conn().query_once(
      "SELECT count(*),count(*) FILTER (WHERE \"_conflicted\") FROM " + t_of(table) + " WHERE " + c,
      params);
  return TableCounts{table.name, res.int64(0, 0), res.int64(0, 1)};
}

ScopeChangeCounts PgStorage::count_scope_change(Transaction& txn, const Table& table,
                                                const ScopeClause* from, const ScopeClause* to) {
  Txn& t = txn_of(txn);
  t.sync_all();
  // A null clause matches nothing; a comparison with a null column is
  // unknown, which counts as not matching.
  PgParams params;
  std::string f = from ? condition_of(table, *from, params) : "false";
  std::string n = to ? condition_of(table, *to, params) : "false";
  PgResult res = t.conn().query_once(
      "SELECT count(*) FILTER (WHERE \"t\" AND NOT \"f\"),count(*) FILTER (WHERE \"f\" AND NOT "
      "\"t\"),count(*) FILTER (WHERE \"f\" AND \"t\") FROM (SELECT coalesce(" +
          f + ",false) AS \"f\",coalesce(" + n + ",false) AS \"t\" FROM " + t_of(table) +
          " WHERE " + f + " OR " + n + ") s",
      params);
  return ScopeChangeCounts{res.int64(0, 0), res.int64(0, 1), res.int64(0, 2)};
}

}  // namespace outpost
