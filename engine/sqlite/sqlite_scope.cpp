// Scopes on SQLite (DESIGN.md section 14): tombstones, scope conditions,
// the first pass of a scoped feed, purge and its log, _meta values and
// scope indexes. Scope statements vary with the scope, so they are prepared
// per call (SqliteStatement) rather than cached on the connection.
#include <charconv>
#include <string>

#include "engine/sqlite/sqlite_db.h"
#include "engine/sqlite/sqlite_storage.h"
#include "engine/sqlite/sqlite_values.h"
#include "engine/storage_text.h"
#include "utils/sha256.h"

namespace outpost {

namespace {

// Ids per statement when a batch of ids is bound (well below SQLite's limit
// of 32766 parameters, leaving room for a scope's IN lists).
constexpr size_t kIdsPerStatement = 500;

// A clause as an SQL condition over T's or the tombstones' columns, with
// the values to bind in order. A column this table does not declare is
// null in every row here.
struct Condition {
  std::string sql;
  std::vector<const Value*> values;
};

Condition condition_of(const Table& table, const ScopeClause& clause) {
  Condition c;
  if (clause.everything()) {
    c.sql = "1";
    return c;
  }
  for (const ScopePredicate& p : clause.predicates) {
    if (!c.sql.empty()) c.sql += " AND ";
    bool declared = p.column == "_id" || table.find_column(p.column) != nullptr;
    if (!declared) {
      c.sql += p.is_null() ? "1" : "0";
      continue;
    }
    std::string col = quote_identifier(p.column);
    if (p.is_null()) {
      c.sql += col + " IS NULL";
      continue;
    }
    c.sql += col + " IN (";
    for (size_t i = 0; i < p.values.size(); ++i) {
      c.sql += i == 0 ? "?" : ",?";
      c.values.push_back(&p.values[i]);
    }
    c.sql += ")";
  }
  return c;
}

// The condition a tombstone must meet: `*` takes every one, a predicate
// only those whose last body is known.
std::string tombstone_sql(const ScopeClause& clause, const Condition& c) {
  return clause.everything() ? c.sql : "\"_known\"=1 AND " + c.sql;
}

void bind_condition(SqliteStatement& stmt, int& index, const Condition& c) {
  for (const Value* v : c.values) bind_value(stmt, index++, v);
}

std::string id_params(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += i == 0 ? "?" : ",?";
  return out;
}

int64_t parse_seq(std::string_view cursor) {
  if (cursor.empty()) return 0;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(cursor.data(), cursor.data() + cursor.size(), v);
  if (ec != std::errc() || p != cursor.data() + cursor.size() || v < 0) {
    throw Error(ErrorCode::invalid_value,
                "\"" + std::string(cursor) + "\" is not a cursor of this database");
  }
  return v;
}

std::string t_of(const Table& table) { return quote_identifier(table.name); }
std::string tomb_of(const Table& table) {
  return quote_identifier(tombstone_table_name(table.name));
}
std::string history_of(const Table& table) {
  return quote_identifier(history_table_name(table.name));
}

// Runs `sql` for each chunk of `ids`: parameters are the chunk's ids, then
// the condition's values, `copies` times over; collects column 0.
std::vector<std::string> ids_by_chunks(SqliteConnection& conn, const std::vector<std::string>& ids,
                                       const Condition& c, int copies,
                                       const std::function<std::string(size_t)>& sql_for_chunk) {
  std::vector<std::string> out;
  for (size_t start = 0; start < ids.size(); start += kIdsPerStatement) {
    size_t n = std::min(kIdsPerStatement, ids.size() - start);
    SqliteStatement stmt(conn.handle(), sql_for_chunk(n));
    int index = 1;
    for (int copy = 0; copy < copies; ++copy) {
      for (size_t i = 0; i < n; ++i) stmt.bind_text(index++, ids[start + i]);
      bind_condition(stmt, index, c);
    }
    while (stmt.step()) out.emplace_back(stmt.column_text(0));
  }
  return out;
}

}  // namespace

void SqliteStorage::create_tombstones(SqliteConnection& conn, const Table& table) {
  std::string cols;
  for (const Column& c : table.columns) {
    cols += ", " + quote_identifier(c.name) + " " + std::string(sql_type(c.type));
  }
  conn.exec("CREATE TABLE IF NOT EXISTS " + tomb_of(table) +
            "(\"_id\" TEXT PRIMARY KEY NOT NULL, \"_rev\" TEXT NOT NULL, "
            "\"_seq\" INTEGER NOT NULL, \"_known\" INTEGER NOT NULL" +
            cols + ") STRICT");
}

void SqliteStorage::fill_tombstones(SqliteConnection& conn, const Table& table) {
  // Records without a row in T are deleted: their winner is the tombstone
  // leaf of highest generation, then hash; its parent's body is the last
  // one when the parent is neither a stub nor a deletion.
  std::string cols, pcols;
  for (const Column& c : table.columns) {
    cols += "," + quote_identifier(c.name);
    pcols += ",p." + quote_identifier(c.name);
  }
  std::string h = history_of(table);
  conn.exec("INSERT INTO " + tomb_of(table) + "(\"_id\",\"_rev\",\"_seq\",\"_known\"" + cols +
            ") SELECT w.\"_id\",w.\"_rev\",w.\"seq\",p.\"_id\" IS NOT NULL" + pcols +
            " FROM (SELECT \"_id\",\"_rev\",\"_parent\",max(\"_seq\") OVER (PARTITION BY \"_id\") "
            "AS \"seq\",row_number() OVER (PARTITION BY \"_id\" ORDER BY \"_gen\" DESC,"
            "substr(\"_rev\",instr(\"_rev\",'-')+1) DESC) AS \"n\" FROM " +
            h + " x WHERE \"_leaf\"=1 AND NOT EXISTS (SELECT 1 FROM " + t_of(table) +
            " t WHERE t.\"_id\"=x.\"_id\")) w LEFT JOIN " + h +
            " p ON p.\"_id\"=w.\"_id\" AND p.\"_rev\"=w.\"_parent\" AND p.\"_deleted\"=0 AND "
            "p.\"_stub\"=0 WHERE w.\"n\"=1");
}

void SqliteStorage::put_tombstone(Transaction& txn, const Table& table, std::string_view id,
                                  const Node& winner, const std::optional<Attributes>& last_body,
                                  int64_t seq) {
  std::string cols, params;
  for (const Column& c : table.columns) {
    cols += "," + quote_identifier(c.name);
    params += ",?";
  }
  auto stmt = conn_of(txn).prepare("INSERT OR REPLACE INTO " + tomb_of(table) +
                                   "(\"_id\",\"_rev\",\"_seq\",\"_known\"" + cols +
                                   ") VALUES(?,?,?,?" + params + ")");
  stmt->bind_text(1, id);
  stmt->bind_text(2, winner.revision.str());
  stmt->bind_int(3, seq);
  stmt->bind_int(4, last_body ? 1 : 0);
  bind_columns(*stmt, 5, table, last_body ? *last_body : Attributes{});
  stmt->run();
}

void SqliteStorage::remove_tombstone(Transaction& txn, const Table& table, std::string_view id) {
  auto stmt = conn_of(txn).prepare("DELETE FROM " + tomb_of(table) + " WHERE \"_id\"=?");
  stmt->bind_text(1, id);
  stmt->run();
}

std::vector<std::string> SqliteStorage::matching(Transaction& txn, const Table& table,
                                                 const ScopeClause& clause,
                                                 const std::vector<std::string>& ids) {
  Condition c = condition_of(table, clause);
  return ids_by_chunks(conn_of(txn), ids, c, 2, [&](size_t n) {
    return "SELECT \"_id\" FROM " + t_of(table) + " WHERE \"_id\" IN (" + id_params(n) + ") AND " +
           c.sql + " UNION ALL SELECT \"_id\" FROM " + tomb_of(table) + " WHERE \"_id\" IN (" +
           id_params(n) + ") AND " + tombstone_sql(clause, c);
  });
}

std::vector<std::string> SqliteStorage::ever_matching(Transaction& txn, const Table& table,
                                                      const ScopeClause& clause,
                                                      const std::vector<std::string>& ids,
                                                      bool stubs_count) {
  Condition c = condition_of(table, clause);
  // A stub (a revision held without its body) may have matched: counted
  // as if it had when asked, so that its holders hear of the record's leaving.
  const std::string stub = stubs_count ? "\"_stub\"=1 OR " : "";
  return ids_by_chunks(conn_of(txn), ids, c, 1, [&](size_t n) {
    return "SELECT DISTINCT \"_id\" FROM " + history_of(table) + " WHERE \"_id\" IN (" +
           id_params(n) + ") AND (" + stub + "(\"_deleted\"=0 AND " + c.sql + "))";
  });
}

std::vector<Storage::FeedEntry> SqliteStorage::scan_matching(Transaction& txn, const Table& table,
                                                             const ScopeClause& clause,
                                                             std::string_view after,
                                                             std::string_view until, size_t limit) {
  Condition c = condition_of(table, clause);
  // The page of ids first (through the scope's index), then each one's
  // feed row by its seq.
  std::string sql =
      "SELECT r.\"_id\",c.\"seq\",c.\"rev\",c.\"deleted\",c.\"leaves\",r.\"_seq\"<=? FROM "
      "(SELECT \"_id\",\"_seq\" FROM " +
      t_of(table) + " WHERE \"_id\">? AND " + c.sql + " UNION ALL SELECT \"_id\",\"_seq\" FROM " +
      tomb_of(table) + " WHERE \"_id\">? AND " + tombstone_sql(clause, c) +
      " ORDER BY 1 LIMIT ?) r LEFT JOIN \"_changes\" c ON c.\"seq\"=r.\"_seq\" ORDER BY r.\"_id\"";
  SqliteStatement stmt(conn_of(txn).handle(), sql);
  int index = 1;
  stmt.bind_int(index++, parse_seq(until));
  stmt.bind_text(index++, after);
  bind_condition(stmt, index, c);
  stmt.bind_text(index++, after);
  bind_condition(stmt, index, c);
  stmt.bind_int(index, static_cast<int64_t>(limit));
  std::vector<FeedEntry> out;
  while (stmt.step()) {
    FeedEntry entry;
    entry.change.table = table.name;
    entry.change.id = std::string(stmt.column_text(0));
    if (!stmt.is_null(1) && stmt.column_int(5) != 0) {
      entry.cursor = std::to_string(stmt.column_int(1));
      entry.change.winner = Revision::parse(stmt.column_text(2));
      entry.change.deleted = stmt.column_int(3) != 0;
      entry.change.leaves = split_revisions(stmt.column_text(4));
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::vector<std::string> SqliteStorage::select_ids(Transaction& txn, const Table& table,
                                                   const RecordSelection& selection,
                                                   std::string_view after, size_t limit) {
  using Kind = RecordSelection::Kind;
  ScopeClause everything{table.name, {}};
  const ScopeClause& clause =
      selection.kind == Kind::all || selection.clause == nullptr ? everything : *selection.clause;
  Condition c = condition_of(table, clause);
  std::string live = c.sql, dead = tombstone_sql(clause, c);
  if (selection.kind == Kind::not_matching) {
    // A null column makes IN unknown, which must count as not matching.
    live = "NOT coalesce(" + c.sql + ",0)";
    dead = "\"_known\"=1 AND NOT coalesce(" + c.sql + ",0)";
  }
  std::string sql = "SELECT \"_id\" FROM " + t_of(table) + " WHERE \"_id\">? AND " + live +
                    " UNION ALL SELECT \"_id\" FROM " + tomb_of(table) + " WHERE \"_id\">? AND " +
                    dead + " ORDER BY 1 LIMIT ?";
  SqliteStatement stmt(conn_of(txn).handle(), sql);
  int index = 1;
  stmt.bind_text(index++, after);
  bind_condition(stmt, index, c);
  stmt.bind_text(index++, after);
  bind_condition(stmt, index, c);
  stmt.bind_int(index, static_cast<int64_t>(limit));
  std::vector<std::string> out;
  while (stmt.step()) out.emplace_back(stmt.column_text(0));
  return out;
}

std::vector<std::pair<std::string, WinnerRow>> SqliteStorage::list_winners_where(
    Transaction& txn, const Table& table, std::string_view after, size_t limit,
    const ScopeClause& clause) {
  Condition c = condition_of(table, clause);
  std::string cols;
  for (const Column& col : table.columns) cols += "," + quote_identifier(col.name);
  SqliteStatement stmt(conn_of(txn).handle(),
                       "SELECT \"_rev\",\"_conflicted\"" + cols + ",\"_id\" FROM " + t_of(table) +
                           " WHERE \"_id\">? AND " + c.sql + " ORDER BY \"_id\" LIMIT ?");
  int index = 1;
  stmt.bind_text(index++, after);
  bind_condition(stmt, index, c);
  stmt.bind_int(index, static_cast<int64_t>(limit));
  std::vector<std::pair<std::string, WinnerRow>> out;
  int id_col = 2 + static_cast<int>(table.columns.size());
  while (stmt.step()) {
    out.emplace_back(std::string(stmt.column_text(id_col)),
                     WinnerRow{Revision::parse(stmt.column_text(0)), stmt.column_int(1) != 0,
                               read_columns(stmt, 2, table)});
  }
  return out;
}

std::vector<std::string> SqliteStorage::list_conflicted_where(Transaction& txn, const Table& table,
                                                              std::string_view after, size_t limit,
                                                              const ScopeClause& clause) {
  Condition c = condition_of(table, clause);
  SqliteStatement stmt(conn_of(txn).handle(), "SELECT \"_id\" FROM " + t_of(table) +
                                                  " WHERE \"_conflicted\"=1 AND \"_id\">? AND " +
                                                  c.sql + " ORDER BY \"_id\" LIMIT ?");
  int index = 1;
  stmt.bind_text(index++, after);
  bind_condition(stmt, index, c);
  stmt.bind_int(index, static_cast<int64_t>(limit));
  std::vector<std::string> out;
  while (stmt.step()) out.emplace_back(stmt.column_text(0));
  return out;
}

namespace {

std::optional<int64_t> record_seq(SqliteConnection& conn, const Table& table, std::string_view id) {
  auto stmt = conn.prepare("SELECT \"_seq\" FROM " + t_of(table) +
                           " WHERE \"_id\"=? UNION ALL SELECT \"_seq\" FROM " + tomb_of(table) +
                           " WHERE \"_id\"=?");
  stmt->bind_text(1, id);
  stmt->bind_text(2, id);
  if (!stmt->step()) return std::nullopt;
  return stmt->column_int(0);
}

}  // namespace

bool SqliteStorage::changed_at_or_before(Transaction& txn, const Table& table, std::string_view id,
                                         std::string_view cursor) {
  std::optional<int64_t> seq = record_seq(conn_of(txn), table, id);
  return seq && *seq <= parse_seq(cursor);
}

bool SqliteStorage::purge_record(Transaction& txn, const Table& table, std::string_view id) {
  SqliteConnection& conn = conn_of(txn);
  std::optional<int64_t> seq = record_seq(conn, table, id);
  if (!seq) return false;
  // Every feed row of the record, the superseded ones too: each write
  // stored at least one node at its seq. AUTOINCREMENT never hands a seq
  // out again.
  for (const char* from : {"\"_changes\"", "\"_superseded\""}) {
    auto stmt = conn.prepare(std::string("DELETE FROM ") + from +
                             " WHERE \"seq\" IN (SELECT \"_seq\" FROM " + history_of(table) +
                             " WHERE \"_id\"=?) OR \"seq\"=?");
    stmt->bind_text(1, id);
    stmt->bind_int(2, *seq);
    stmt->run();
  }
  for (const std::string& from : {t_of(table), tomb_of(table), history_of(table)}) {
    auto stmt = conn.prepare("DELETE FROM " + from + " WHERE \"_id\"=?");
    stmt->bind_text(1, id);
    stmt->run();
  }
  superseded_ = -1;  // recounted at the next commit that adds to it
  return true;
}

void SqliteStorage::log_purge(Transaction& txn, const PurgeLogEntry& entry) {
  auto stmt = conn_of(txn).prepare(
      "INSERT INTO \"_purges\"(\"table\",\"id\",\"at\",\"reason\") VALUES(?,?,?,?)");
  stmt->bind_text(1, entry.table);
  stmt->bind_text(2, entry.id);
  stmt->bind_text(3, entry.at);
  stmt->bind_text(4, entry.reason);
  stmt->run();
}

std::vector<PurgeLogEntry> SqliteStorage::purge_log(Transaction& txn, size_t skip, size_t limit) {
  auto stmt = conn_of(txn).prepare(
      "SELECT \"table\",\"id\",\"at\",\"reason\" FROM \"_purges\" ORDER BY \"seq\" LIMIT ? "
      "OFFSET ?");
  stmt->bind_int(1, static_cast<int64_t>(limit));
  stmt->bind_int(2, static_cast<int64_t>(skip));
  std::vector<PurgeLogEntry> out;
  while (stmt->step()) {
    out.push_back(
        PurgeLogEntry{std::string(stmt->column_text(0)), std::string(stmt->column_text(1)),
                      std::string(stmt->column_text(2)), std::string(stmt->column_text(3))});
  }
  return out;
}

std::optional<std::string> SqliteStorage::get_meta(Transaction& txn, std::string_view key) {
  auto stmt = conn_of(txn).prepare("SELECT \"value\" FROM \"_meta\" WHERE \"key\"=?");
  stmt->bind_text(1, key);
  if (!stmt->step()) return std::nullopt;
  return std::string(stmt->column_text(0));
}

void SqliteStorage::put_meta(Transaction& txn, std::string_view key,
                             const std::optional<std::string>& value) {
  if (!value) {
    auto stmt = conn_of(txn).prepare("DELETE FROM \"_meta\" WHERE \"key\"=?");
    stmt->bind_text(1, key);
    stmt->run();
    return;
  }
  auto stmt = conn_of(txn).prepare(
      "INSERT INTO \"_meta\"(\"key\",\"value\") VALUES(?,?) "
      "ON CONFLICT(\"key\") DO UPDATE SET \"value\"=excluded.\"value\"");
  stmt->bind_text(1, key);
  stmt->bind_text(2, *value);
  stmt->run();
}

void SqliteStorage::create_scope_index(Transaction& txn, const Table& table,
                                       const std::string& column) {
  SqliteConnection& conn = conn_of(txn);
  std::string col = quote_identifier(column);
  // Named by a digest of table and column: "a_b"/"c" and "a"/"b_c" differ.
  const std::string name = "_scope_" + sha256_hex(table.name + "/" + column).substr(0, 16);
  conn.exec("CREATE INDEX IF NOT EXISTS " + quote_identifier(name) + " ON " + t_of(table) + "(" +
            col + ",\"_id\")");
  conn.exec("CREATE INDEX IF NOT EXISTS " + quote_identifier(name + "_t") + " ON " +
            tomb_of(table) + "(" + col + ",\"_id\")");
}

// ---------------------------------------------------------------- counts

TableCounts SqliteStorage::count_rows(Transaction& txn, const Table& table,
                                      const ScopeClause* clause) {
  ScopeClause everything{table.name, {}};
  Condition c = condition_of(table, clause ? *clause : everything);
  SqliteStatement stmt(
      conn_of(txn).handle(),
      "SELECT count(*),coalesce(sum(\"_conflicted\"),0) FROM " + t_of(table) + " WHERE " + c.sql);
  int index = 1;
  bind_condition(stmt, index, c);
  stmt.step();
  return TableCounts{table.name, stmt.column_int(0), stmt.column_int(1)};
}

ScopeChangeCounts SqliteStorage::count_scope_change(Transaction& txn, const Table& table,
                                                    const ScopeClause* from,
                                                    const ScopeClause* to) {
  // A null clause matches nothing; an IN over a null column is unknown,
  // which counts as not matching.
  Condition f = from ? condition_of(table, *from) : Condition{"0", {}};
  Condition t = to ? condition_of(table, *to) : Condition{"0", {}};
  SqliteStatement stmt(conn_of(txn).handle(),
                       "SELECT coalesce(sum(\"t\" AND NOT \"f\"),0),"
                       "coalesce(sum(\"f\" AND NOT \"t\"),0),coalesce(sum(\"f\" AND \"t\"),0) "
                       "FROM (SELECT coalesce(" +
                           f.sql + ",0) AS \"f\",coalesce(" + t.sql + ",0) AS \"t\" FROM " +
                           t_of(table) + " WHERE (" + f.sql + ") OR (" + t.sql + "))");
  int index = 1;
  for (const Condition* c : {&f, &t, &f, &t}) bind_condition(stmt, index, *c);
  stmt.step();
  return ScopeChangeCounts{stmt.column_int(0), stmt.column_int(1), stmt.column_int(2)};
}

}  // namespace outpost
