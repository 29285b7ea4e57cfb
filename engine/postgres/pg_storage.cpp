#include "engine/postgres/pg_storage.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "engine/postgres/pg_connection.h"
#include "engine/postgres/pg_listener.h"
#include "engine/postgres/pg_pool.h"
#include "engine/postgres/pg_schema.h"
#include "engine/postgres/pg_test_hooks.h"
#include "engine/postgres/pg_txn.h"
#include "engine/postgres/pg_values.h"
#include "engine/rev_tree.h"
#include "engine/storage_text.h"
#include "utils/sha256.h"

namespace outpost {

namespace {

Revision read_revision(const PgResult& res, int row, int col) {
  if (res.is_null(row, col)) return {};
  return Revision::parse(res.text(row, col));
}

// Node columns, in this order.
constexpr std::string_view kNodeColumns = R"("_rev","_parent","_deleted","_leaf","_stub")";

Node read_node(const PgResult& res, int row, int first) {
  Node n;
  n.revision = read_revision(res, row, first);
  n.parent = read_revision(res, row, first + 1);
  n.deleted = res.boolean(row, first + 2);
  n.leaf = res.boolean(row, first + 3);
  n.stub = res.boolean(row, first + 4);
  return n;
}

}  // namespace

// ---------------------------------------------------------------- values

std::string_view pg_array_type(ValueType type) {
  switch (type) {
    case ValueType::string:
      return "text[]";
    case ValueType::int_:
      return "bigint[]";
    case ValueType::float_:
      return "double precision[]";
    case ValueType::bool_:
      return "boolean[]";
    case ValueType::bytes:
      return "bytea[]";
    case ValueType::timestamp:
      return "timestamptz[]";
  }
  return "text[]";
}

// The expression that reads a column back as text the Value factories take.
std::string pg_select_expr(const Column& c) {
  std::string q = pg_quote_identifier(c.name);
  switch (c.type) {
    case ValueType::bytes:
      return "encode(" + q + ",'hex')";
    case ValueType::timestamp:
      return "to_char(" + q + " AT TIME ZONE 'UTC','YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
    case ValueType::string:
    case ValueType::int_:
    case ValueType::float_:
    case ValueType::bool_:
      return q;
  }
  return q;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static Value read_value(std::string_view t, ValueType type) {
  switch (type) {
    case ValueType::string:
      return Value::from_string(std::string(t));
    case ValueType::int_: {
      int64_t v = 0;
      std::from_chars(t.data(), t.data() + t.size(), v);
      return Value::from_int(v);
    }
    case ValueType::float_: {
      double v = 0;
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      if (ec != std::errc() || p != t.data() + t.size()) {
        throw Error(ErrorCode::internal,
                    "PostgreSQL returned \"" + std::string(t) + "\" for a float column");
      }
      return Value::from_float(v);
    }
    case ValueType::bool_:
      return Value::from_bool(!t.empty() && t[0] == 't');
    case ValueType::bytes: {
      std::string raw;
      raw.reserve(t.size() / 2);
      for (size_t i = 0; i + 1 < t.size(); i += 2) {
        raw += static_cast<char>(hex_digit(t[i]) * 16 + hex_digit(t[i + 1]));
      }
      return Value::from_bytes(raw);
    }
    case ValueType::timestamp:
      return Value::parse(ValueType::timestamp, t);
  }
  throw Error(ErrorCode::internal, "unknown column type");
}

Attributes pg_read_columns(const PgResult& res, int row, int first, const Table& table) {
  Attributes out;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    int col = first + static_cast<int>(i);
    if (res.is_null(row, col)) continue;
    const Column& c = table.columns[i];
    out.emplace(c.name, read_value(res.text(row, col), c.type));
  }
  return out;
}

std::string pg_value_text(const Value& value) {
  if (value.type() == ValueType::bytes) return "\\x" + hex_encode(value.as_bytes());
  return value.text();  // canonical text: PostgreSQL reads it exactly
}

std::vector<Node> pg_read_nodes(const PgResult& res) {
  std::vector<Node> out;
  out.reserve(static_cast<size_t>(res.rows()));
  for (int r = 0; r < res.rows(); ++r) out.push_back(read_node(res, r, 0));
  return out;
}

// ---------------------------------------------------------------- per-table SQL

struct PgStorage::TableSql {
  std::string name;
  size_t columns = 0;
  std::string leaves, all_nodes, trees, find_node, body, tree_bodies, winner_row, list_winners;
  std::string list_conflicted, record_ids;
  std::string insert_history, insert_winners, upsert_winners, delete_winners, update_leaves;
  std::string upsert_tombstones, delete_tombstones;
};

const PgStorage::TableSql& PgStorage::sql_for(const Table& table) {
  std::lock_guard lock(sql_mu_);
  for (const auto& s : table_sql_) {
    // Schemas only grow, so the column count identifies the definition.
    if (s->name == table.name && s->columns == table.columns.size()) return *s;
  }
  auto s = std::make_unique<TableSql>();
  s->name = table.name;
  s->columns = table.columns.size();
  std::string t = pg_quote_identifier(table.name);
  std::string h = pg_quote_identifier(history_table_name(table.name));
  std::string cols, reads, wanted_reads, updates, history_arrays, winner_arrays;
  int p = 0;
  for (const Column& c : table.columns) {
    std::string q = pg_quote_identifier(c.name);
    cols += "," + q;
    reads += "," + pg_select_expr(c);
    wanted_reads += ",CASE WHEN \"_rev\"=k.\"_r\" THEN " + pg_select_expr(c) + " END";
    updates += "," + q + "=excluded." + q;
  }
  // Array parameters: one per column of the rows being written.
  auto arrays = [&](std::initializer_list<std::string_view> fixed) {
    std::string out;
    p = 0;
    for (std::string_view type : fixed) {
      if (p > 0) out += ",";
      ++p;
      out += "$" + std::to_string(p) + "::" + std::string(type);
    }
    for (const Column& c : table.columns) {
      ++p;
      out += ",$" + std::to_string(p) + "::" + std::string(pg_array_type(c.type));
    }
    return out;
  };
  std::string node_cols(kNodeColumns);
  s->leaves = "SELECT " + node_cols + " FROM " + h + " WHERE \"_id\"=$1 AND \"_leaf\"";
  s->all_nodes = "SELECT " + node_cols + " FROM " + h + " WHERE \"_id\"=$1";
  // Batched lookups join the wanted keys LATERAL to the table, fenced with
  // OFFSET 0 so that the planner cannot flatten them into a join: each key
  // is an index lookup whatever the statistics say (a table nobody has
  // analyzed yet, as on a fresh hub's first sync, would otherwise be
  // scanned whole for every batch).
  s->trees =
      "SELECT k.\"_i\",x.* FROM unnest($1::text[]) AS k(\"_i\") CROSS JOIN LATERAL (SELECT " +
      node_cols + " FROM " + h + " WHERE \"_id\"=k.\"_i\" OFFSET 0) AS x";
  s->find_node = s->all_nodes + " AND \"_rev\"=$2";
  s->body = "SELECT \"_stub\"" + reads + " FROM " + h + " WHERE \"_id\"=$1 AND \"_rev\"=$2";
  // Each key's whole tree, with the body columns on the key's own revision
  // only; rows are tagged with the key's position.
  s->tree_bodies =
      "SELECT k.\"_n\",x.* FROM unnest($1::text[],$2::text[]) WITH ORDINALITY AS "
      "k(\"_i\",\"_r\",\"_n\") CROSS JOIN LATERAL (SELECT " +
      node_cols + ",\"_rev\"=k.\"_r\"" + wanted_reads + " FROM " + h +
      " WHERE \"_id\"=k.\"_i\" OFFSET 0) AS x";
  s->winner_row = "SELECT \"_rev\",\"_conflicted\"" + reads + " FROM " + t + " WHERE \"_id\"=$1";
  s->list_winners = "SELECT \"_rev\",\"_conflicted\"" + reads + ",\"_id\" FROM " + t +
                    " WHERE \"_id\">$1 ORDER BY \"_id\" LIMIT $2";
  s->list_conflicted = "SELECT \"_id\" FROM " + t +
                       " WHERE \"_conflicted\" AND \"_id\">$1 ORDER BY \"_id\" LIMIT $2";
  s->record_ids = "SELECT DISTINCT \"_id\" FROM " + h + " ORDER BY \"_id\"";
  history_arrays = arrays({"text[]", "text[]", "text[]", "bigint[]", "boolean[]", "boolean[]",
                           "boolean[]", "bigint[]"});
  s->insert_history =
      "INSERT INTO " + h +
      "(\"_id\",\"_rev\",\"_parent\",\"_gen\",\"_deleted\",\"_leaf\",\"_stub\",\"_seq\"" + cols +
      ") SELECT * FROM unnest(" + history_arrays + ")";
  winner_arrays = arrays({"text[]", "text[]", "bigint[]", "boolean[]"});
  s->insert_winners = "INSERT INTO " + t + "(\"_id\",\"_rev\",\"_seq\",\"_conflicted\"" + cols +
                      ") SELECT * FROM unnest(" + winner_arrays + ")";
  s->upsert_winners = s->insert_winners +
                      " ON CONFLICT(\"_id\") DO UPDATE SET \"_rev\"=excluded.\"_rev\","
                      "\"_seq\"=excluded.\"_seq\",\"_conflicted\"=excluded.\"_conflicted\"" +
                      updates;
  s->delete_winners = "DELETE FROM " + t + " WHERE \"_id\"=ANY($1::text[])";
  std::string tomb = pg_quote_identifier(tombstone_table_name(table.name));
  s->upsert_tombstones = "INSERT INTO " + tomb + "(\"_id\",\"_rev\",\"_seq\",\"_known\"" + cols +
                         ") SELECT * FROM unnest(" +
                         arrays({"text[]", "text[]", "bigint[]", "boolean[]"}) +
                         ") ON CONFLICT(\"_id\") DO UPDATE SET \"_rev\"=excluded.\"_rev\","
                         "\"_seq\"=excluded.\"_seq\",\"_known\"=excluded.\"_known\"" +
                         updates;
  s->delete_tombstones = "DELETE FROM " + tomb + " WHERE \"_id\"=ANY($1::text[])";
  s->update_leaves = "UPDATE " + h +
                     " AS h SET \"_leaf\"=u.l FROM unnest($1::text[],$2::text[],$3::boolean[]) "
                     "AS u(i,r,l) WHERE h.\"_id\"=u.i AND h.\"_rev\"=u.r";
  table_sql_.push_back(std::move(s));
  return *table_sql_.back();
}

PgStorage::Txn& PgStorage::txn_of(Transaction& txn) {
  return static_cast<PgStorage::Txn&>(txn);  // only our own transactions reach us
}

PgConnection& PgStorage::conn_of(Transaction& txn) { return txn_of(txn).conn(); }

void set_before_commit_hook_for_testing(PgStorage& storage, std::function<void()> hook) {
  std::lock_guard lock(storage.hook_mu_);
  storage.before_commit_ = std::move(hook);
}

void set_after_commit_hook_for_testing(PgStorage& storage, std::function<void()> hook) {
  std::lock_guard lock(storage.hook_mu_);
  storage.after_commit_ = std::move(hook);
}

// ---------------------------------------------------------------- open

// No OpenOptions field applies to PostgreSQL (durability and the busy
// timeout are SQLite's; revs_limit is the engine's).
PgStorage::PgStorage(const std::string& conninfo, const OpenOptions& /*options*/, size_t pool_size)
    : conninfo_(conninfo), pool_(std::make_unique<PgPool>(conninfo, pool_size)) {
  // The first connection reports connection and login errors as they are.
  auto first = std::make_unique<PgConnection>(conninfo_);
  migrate(*first);
  check_feed_horizon(*first);
}

PgStorage::~PgStorage() {
  std::lock_guard lock(listener_mu_);
  listener_.reset();
}

std::unique_ptr<Transaction> PgStorage::begin(TransactionKind kind) {
  PgPool::Lease lease = pool_->acquire();
  return std::make_unique<Txn>(*this, std::move(lease), kind);
}

void PgStorage::set_external_change_listener(std::function<void()> listener) {
  std::lock_guard lock(listener_mu_);
  listener_.reset();  // joins the thread: the old callback is never called again
  if (listener) listener_ = std::make_unique<PgListener>(conninfo_, std::move(listener));
}

// ---------------------------------------------------------------- catalog

int64_t PgStorage::catalog_version(Transaction& txn) {
  Txn& t = txn_of(txn);
  if (!t.catalog_version) {
    t.catalog_version = pg_read_catalog_version(t.conn().query(kPgCatalogVersionSql));
  }
  return *t.catalog_version;
}

std::vector<Table> PgStorage::load_tables(Transaction& txn) { return read_tables(conn_of(txn)); }

std::vector<Table> PgStorage::read_tables(PgConnection& conn) {
  PgResult res = conn.query(
      "SELECT t.\"name\", c.\"name\", c.\"type\", c.\"required\" FROM \"_tables\" t "
      "LEFT JOIN \"_columns\" c ON c.\"table\"=t.\"name\" ORDER BY t.\"name\", c.\"position\"");
  std::vector<Table> tables;
  for (int r = 0; r < res.rows(); ++r) {
    std::string_view name = res.text(r, 0);
    if (tables.empty() || tables.back().name != name) {
      tables.push_back(Table{std::string(name), {}});
    }
    if (res.is_null(r, 1)) continue;
    auto type = value_type_from_name(res.text(r, 2));
    if (!type) {
      throw Error(ErrorCode::internal, "table " + std::string(name) +
                                           " has a column of unknown type " +
                                           std::string(res.text(r, 2)));
    }
    tables.back().columns.push_back(Column{std::string(res.text(r, 1)), *type, res.boolean(r, 3)});
  }
  return tables;
}

namespace {

void insert_columns(PgConnection& conn, const std::string& table,
                    const std::vector<Column>& columns, size_t first_position) {
  for (size_t i = 0; i < columns.size(); ++i) {
    conn.query(
        "INSERT INTO \"_columns\"(\"table\",\"position\",\"name\",\"type\",\"required\") "
        "VALUES($1,$2,$3,$4,$5)",
        PgParams()
            .add(table)
            .add(static_cast<int64_t>(first_position + i))
            .add(columns[i].name)
            .add(value_type_name(columns[i].type))
            .add(columns[i].required));
  }
}

void bump_catalog_version(PgConnection& conn) {
  conn.query(
      "UPDATE \"_meta\" SET \"value\"=(\"value\"::bigint+1)::text "
      "WHERE \"key\"='catalog_version'");
}

}  // namespace

void PgStorage::create_table(Transaction& txn, const Table& table) {
  Txn& t = txn_of(txn);
  t.sync_all();
  PgConnection& conn = t.conn();
  pg_lock_catalog(conn);
  if (conn.query("SELECT 1 FROM \"_tables\" WHERE \"name\"=$1", PgParams().add(table.name)).rows() >
      0) {
    throw RetryableError("table " + table.name + " was created by another connection meanwhile");
  }
  conn.exec(pg_create_table_sql(table));
  conn.query("INSERT INTO \"_tables\"(\"name\") VALUES($1)", PgParams().add(table.name));
  insert_columns(conn, table.name, table.columns, 0);
  bump_catalog_version(conn);
  t.catalog_version.reset();
}

void PgStorage::add_columns(Transaction& txn, const Table& merged,
                            const std::vector<Column>& added) {
  Txn& t = txn_of(txn);
  t.sync_all();
  PgConnection& conn = t.conn();
  pg_lock_catalog(conn);
  size_t before = merged.columns.size() - added.size();
  PgResult count = conn.query("SELECT count(*) FROM \"_columns\" WHERE \"table\"=$1",
                              PgParams().add(merged.name));
  if (count.int64(0, 0) != static_cast<int64_t>(before)) {
    throw RetryableError("table " + merged.name + " was changed by another connection meanwhile");
  }
  conn.exec(pg_add_columns_sql(merged.name, added));
  insert_columns(conn, merged.name, added, before);
  bump_catalog_version(conn);
  t.catalog_version.reset();
}

// ---------------------------------------------------------------- locking

void PgStorage::lock_ids(Txn& txn, const Table& table, std::vector<std::string> ids,
                         bool read_trees) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::erase_if(ids, [&](const std::string& id) {
    return txn.records.contains(pg_record_key(table.name, id));
  });
  if (ids.empty()) return;
  PgConnection& conn = txn.conn();
  // Records that exist: lock their change rows, in a fixed order (so that
  // two batches do not deadlock), and take a seq for each.
  PgArray wanted;
  for (const std::string& id : ids) wanted.add(id);
  // LATERAL: one index lookup per id, in the array's (sorted) order.
  PgResult found = conn.query(
      "SELECT c.\"id\", nextval('\"_changes_seq\"') FROM unnest($2::text[]) AS k(\"_i\") "
      "CROSS JOIN LATERAL (SELECT \"id\" FROM \"_changes\" WHERE \"table\"=$1 AND "
      "\"id\"=k.\"_i\" FOR UPDATE) AS c",
      PgParams().add(table.name).add(wanted.str()));
  std::set<std::string, std::less<>> existing;
  for (int r = 0; r < found.rows(); ++r) {
    std::string id(found.text(r, 0));
    txn.records[pg_record_key(table.name, id)].reserved_seq = found.int64(r, 1);
    existing.insert(std::move(id));
  }
  // New records: nothing to lock yet. A record without a change row has no
  // history; the change row inserted at flush is the lock, and finding it
  // taken means another writer created the record first (retry).
  size_t fresh = 0;
  for (const std::string& id : ids) {
    if (existing.contains(id)) continue;
    Txn::RecordState& state = txn.records[pg_record_key(table.name, id)];
    state.fresh = true;
    state.cached = true;
    ++fresh;
  }
  if (fresh > 1) txn.fill_seq_pool(fresh);
  if (!read_trees || existing.empty()) return;
  PgArray known;
  for (const std::string& id : existing) {
    known.add(id);
    txn.records[pg_record_key(table.name, id)].cached = true;
  }
  PgResult res = conn.query(sql_for(table).trees, PgParams().add(known.str()));
  for (int r = 0; r < res.rows(); ++r) {
    txn.records[pg_record_key(table.name, res.text(r, 0))].nodes.push_back(read_node(res, r, 1));
  }
}

void PgStorage::lock_record(Transaction& txn, const Table& table, std::string_view id) {
  Txn& t = txn_of(txn);
  if (t.records.contains(pg_record_key(table.name, id))) return;
  lock_ids(t, table, {std::string(id)}, false);
}

void PgStorage::prefetch(Transaction& txn, const Table& table,
                         const std::vector<std::string>& ids) {
  Txn& t = txn_of(txn);
  if (!t.writer()) return;
  lock_ids(t, table, ids, true);
}

// ---------------------------------------------------------------- buffered writes

void PgStorage::flush_changes(Txn& txn) {
  PgConnection& conn = txn.conn();
  Txn::ChangeBuffer& c = txn.changes;
  const std::string insert =
      "INSERT INTO \"_changes\"(\"table\",\"id\",\"seq\",\"rev\",\"deleted\",\"leaves\",\"xid\") "
      "SELECT u.*,pg_current_xact_id() FROM "
      "unnest($1::text[],$2::text[],$3::bigint[],$4::text[],$5::boolean[],$6::text[]) AS u";
  if (c.fresh.rows > 0) {
    // Waits for a concurrent creator of the same record; if it committed,
    // this transaction planned on a stale view of the record: run it again.
    try {
      conn.query(insert, c.fresh.params());
    } catch (const PgStatementError& e) {
      if (e.sqlstate() != "23505") throw;  // unique_violation
      throw RetryableError("a record was created by another writer at the same time");
    }
    for (Txn::RecordState* state : c.fresh_states) state->fresh = false;  // the row is ours now
  }
  if (c.known.rows > 0) {
    conn.query(insert +
                   " ON CONFLICT(\"table\",\"id\") DO UPDATE SET \"seq\"=excluded.\"seq\","
                   "\"rev\"=excluded.\"rev\",\"deleted\"=excluded.\"deleted\","
                   "\"leaves\"=excluded.\"leaves\",\"xid\"=excluded.\"xid\"",
               c.known.params());
  }
  c.reset();
}

void PgStorage::flush(Txn& txn) {
  PgConnection& conn = txn.conn();
  // Change rows first: for new records they are the lock (see lock_ids).
  if (!txn.changes.empty()) flush_changes(txn);
  for (auto& [name, b] : txn.buffers) {
    if (b.empty()) continue;
    const TableSql& sql = sql_for(b.table);
    if (b.history.rows > 0) conn.query(sql.insert_history, b.history.params());
    if (b.leaf_updates.rows > 0) conn.query(sql.update_leaves, b.leaf_updates.params());
    if (b.removed.rows > 0) conn.query(sql.delete_winners, b.removed.params());
    if (b.winner_inserts.rows > 0) conn.query(sql.insert_winners, b.winner_inserts.params());
    if (b.winner_upserts.rows > 0) conn.query(sql.upsert_winners, b.winner_upserts.params());
    // Tombstones last: writers touch history, then T, then tombstones
    // (the order in which pg_add_columns_sql alters them).
    if (b.tombstones_removed.rows > 0) {
      conn.query(sql.delete_tombstones, b.tombstones_removed.params());
    }
    if (b.tombstone_upserts.rows > 0) {
      conn.query(sql.upsert_tombstones, b.tombstone_upserts.params());
    }
    b.reset();
  }
  for (auto& [key, state] : txn.records) state.pending = false;
  txn.any_pending = false;
}

int64_t PgStorage::append_change(Transaction& txn, const ChangeRow& change) {
  Txn& t = txn_of(txn);
  PgRecordKey key = pg_record_key(change.table, change.id);
  // One row per record and statement: a second change of the same record
  // goes into the next statement.
  if (t.changes.keys.contains(key)) flush(t);
  if (t.changes.fresh.arrays.empty()) t.changes.reset();
  Txn::RecordState& state = t.touch(change.table, change.id);
  int64_t seq = state.reserved_seq;
  if (seq != 0) {
    state.reserved_seq = 0;
  } else {
    seq = t.next_seq();
  }
  t.wrote_changes = true;
  Txn::Columns& c = state.fresh ? t.changes.fresh : t.changes.known;
  if (state.fresh) t.changes.fresh_states.push_back(&state);
  c.arrays[0].add(change.table);
  c.arrays[1].add(change.id);
  c.arrays[2].add(seq);
  c.arrays[3].add(change.winner.str());
  c.arrays[4].add(change.deleted);
  c.arrays[5].add(join_revisions(change.leaves));
  ++c.rows;
  t.changes.keys.insert(std::move(key));
  return seq;
}

void PgStorage::insert_node(Transaction& txn, const Table& table, std::string_view id,
                            const Node& node, const Attributes& body, int64_t seq) {
  Txn& t = txn_of(txn);
  Txn::TableBuffer& b = t.buffer_for(table);
  Txn::RecordState& state = t.touch(table.name, id);
  if (state.cached) state.nodes.push_back(node);
  Txn::Columns& h = b.history;
  h.arrays[0].add(id);
  h.arrays[1].add(node.revision.str());
  if (node.parent.empty()) {
    h.arrays[2].add_null();
  } else {
    h.arrays[2].add(node.parent.str());
  }
  h.arrays[3].add(static_cast<int64_t>(node.revision.generation()));
  h.arrays[4].add(node.deleted);
  h.arrays[5].add(node.leaf);
  h.arrays[6].add(node.stub);
  h.arrays[7].add(seq);
  b.add_body(h, 8, body);
  ++h.rows;
}

void PgStorage::set_leaf(Transaction& txn, const Table& table, std::string_view id,
                         const Revision& revision, bool leaf) {
  Txn& t = txn_of(txn);
  Txn::TableBuffer& b = t.buffer_for(table);
  Txn::RecordState& state = t.touch(table.name, id);
  if (state.cached) {
    for (Node& n : state.nodes) {
      if (n.revision == revision) n.leaf = leaf;
    }
  }
  Txn::Columns& l = b.leaf_updates;
  l.arrays[0].add(id);
  l.arrays[1].add(revision.str());
  l.arrays[2].add(leaf);
  ++l.rows;
}

void PgStorage::put_winner(Transaction& txn, const Table& table, std::string_view id,
                           const Node& winner, const Attributes& body, bool conflicted,
                           int64_t seq) {
  Txn& t = txn_of(txn);
  Txn::TableBuffer* b = &t.buffer_for(table);
  if (b->winner_ids.contains(id)) {
    t.owner().flush(t);  // one row per record and statement
    b = &t.buffer_for(table);
  }
  Txn::RecordState& state = t.touch(table.name, id);
  // A record that had no row anywhere gets a plain INSERT.
  Txn::Columns& w = state.fresh ? b->winner_inserts : b->winner_upserts;
  w.arrays[0].add(id);
  w.arrays[1].add(winner.revision.str());
  w.arrays[2].add(seq);
  w.arrays[3].add(conflicted);
  b->add_body(w, 4, body);
  ++w.rows;
  b->winner_ids.emplace(id);
}

void PgStorage::remove_winner(Transaction& txn, const Table& table, std::string_view id) {
  Txn& t = txn_of(txn);
  Txn::TableBuffer* b = &t.buffer_for(table);
  if (b->winner_ids.contains(id)) {
    t.owner().flush(t);
    b = &t.buffer_for(table);
  }
  t.touch(table.name, id);
  b->removed.arrays[0].add(id);
  ++b->removed.rows;
  b->winner_ids.emplace(id);
}

// ---------------------------------------------------------------- revision tree

std::vector<Node> PgStorage::read_tree(PgConnection& conn, const Table& table,
                                       std::string_view id) {
  return pg_read_nodes(conn.query(sql_for(table).all_nodes, PgParams().add(id)));
}

std::vector<Node> PgStorage::leaves(Transaction& txn, const Table& table, std::string_view id) {
  Txn& t = txn_of(txn);
  if (Txn::RecordState* state = t.locked_tree(table, id)) return leaves_of(state->nodes);
  if (t.writer()) t.sync(table.name, id);
  return pg_read_nodes(t.conn().query(sql_for(table).leaves, PgParams().add(id)));
}

std::vector<Node> PgStorage::all_nodes(Transaction& txn, const Table& table, std::string_view id) {
  Txn& t = txn_of(txn);
  if (Txn::RecordState* state = t.locked_tree(table, id)) return state->nodes;
  if (t.writer()) t.sync(table.name, id);
  return pg_read_nodes(t.conn().query(sql_for(table).all_nodes, PgParams().add(id)));
}

std::vector<std::vector<Node>> PgStorage::trees(Transaction& txn, const Table& table,
                                                const std::vector<std::string>& ids) {
  Txn& t = txn_of(txn);
  t.sync_all();
  std::set<std::string_view> unique(ids.begin(), ids.end());  // each tree once
  PgArray wanted;
  for (std::string_view id : unique) wanted.add(id);
  PgResult res = t.conn().query(sql_for(table).trees, PgParams().add(wanted.str()));
  std::map<std::string, std::vector<Node>, std::less<>> by_id;
  for (int r = 0; r < res.rows(); ++r) {
    by_id[std::string(res.text(r, 0))].push_back(read_node(res, r, 1));
  }
  std::vector<std::vector<Node>> out;
  out.reserve(ids.size());
  for (const std::string& id : ids) {
    auto it = by_id.find(id);
    out.push_back(it == by_id.end() ? std::vector<Node>() : it->second);
  }
  return out;
}

std::optional<Node> PgStorage::find_node(Transaction& txn, const Table& table, std::string_view id,
                                         const Revision& revision) {
  Txn& t = txn_of(txn);
  if (Txn::RecordState* state = t.locked_tree(table, id)) return find_in(state->nodes, revision);
  if (t.writer()) t.sync(table.name, id);
  PgResult res = t.conn().query(sql_for(table).find_node, PgParams().add(id).add(revision.str()));
  if (res.rows() == 0) return std::nullopt;
  return read_node(res, 0, 0);
}

std::optional<Attributes> PgStorage::body(Transaction& txn, const Table& table, std::string_view id,
                                          const Revision& revision) {
  Txn& t = txn_of(txn);
  t.sync(table.name, id);
  PgResult res = t.conn().query(sql_for(table).body, PgParams().add(id).add(revision.str()));
  if (res.rows() == 0 || res.boolean(0, 0)) return std::nullopt;
  return pg_read_columns(res, 0, 1, table);
}

std::vector<Storage::TreeAndBody> PgStorage::trees_and_bodies(
    Transaction& txn, const Table& table, const std::vector<RevisionKey>& keys) {
  std::vector<TreeAndBody> out(keys.size());
  if (keys.empty()) return out;
  Txn& t = txn_of(txn);
  t.sync_all();
  PgArray ids, revisions;
  for (const RevisionKey& k : keys) {
    ids.add(k.id);
    revisions.add(k.revision.str());
  }
  PgResult res =
      t.conn().query(sql_for(table).tree_bodies, PgParams().add(ids.str()).add(revisions.str()));
  // Columns: key position (from 1), the node, whether it is the key's, the body.
  for (int r = 0; r < res.rows(); ++r) {
    TreeAndBody& entry = out[static_cast<size_t>(res.int64(r, 0) - 1)];
    Node node = read_node(res, r, 1);
    if (res.boolean(r, 6) && !node.stub) entry.body = pg_read_columns(res, r, 7, table);
    entry.tree.push_back(std::move(node));
  }
  return out;
}

// ---------------------------------------------------------------- reads

std::optional<WinnerRow> PgStorage::winner_row(Transaction& txn, const Table& table,
                                               std::string_view id) {
  Txn& t = txn_of(txn);
  t.sync(table.name, id);
  PgResult res = t.conn().query(sql_for(table).winner_row, PgParams().add(id));
  if (res.rows() == 0) return std::nullopt;
  return WinnerRow{read_revision(res, 0, 0), res.boolean(0, 1), pg_read_columns(res, 0, 2, table)};
}

std::vector<std::pair<std::string, WinnerRow>> PgStorage::list_winners(Transaction& txn,
                                                                       const Table& table,
                                                                       std::string_view after,
                                                                       size_t limit,
                                                                       const ScopeClause* clause) {
  if (clause != nullptr && !clause->everything()) {
    return list_winners_where(txn, table, after, limit, *clause);
  }
  Txn& t = txn_of(txn);
  t.sync_all();
  PgResult res = t.conn().query(sql_for(table).list_winners,
                                PgParams().add(after).add(static_cast<int64_t>(limit)));
  std::vector<std::pair<std::string, WinnerRow>> out;
  int id_col = 2 + static_cast<int>(table.columns.size());
  for (int r = 0; r < res.rows(); ++r) {
    out.emplace_back(
        std::string(res.text(r, id_col)),
        WinnerRow{read_revision(res, r, 0), res.boolean(r, 1), pg_read_columns(res, r, 2, table)});
  }
  return out;
}

std::vector<std::string> PgStorage::list_conflicted(Transaction& txn, const Table& table,
                                                    std::string_view after, size_t limit,
                                                    const ScopeClause* clause) {
  if (clause != nullptr && !clause->everything()) {
    return list_conflicted_where(txn, table, after, limit, *clause);
  }
  Txn& t = txn_of(txn);
  t.sync_all();
  PgResult res = t.conn().query(sql_for(table).list_conflicted,
                                PgParams().add(after).add(static_cast<int64_t>(limit)));
  std::vector<std::string> out;
  for (int r = 0; r < res.rows(); ++r) out.emplace_back(res.text(r, 0));
  return out;
}

void PgStorage::for_each_record(Transaction& txn, const Table& table,
                                const std::function<void(const std::string& id)>& visit) {
  Txn& t = txn_of(txn);
  t.sync_all();
  std::vector<std::string> ids;
  {
    PgResult res = t.conn().query(sql_for(table).record_ids);
    for (int r = 0; r < res.rows(); ++r) ids.emplace_back(res.text(r, 0));
  }
  for (const std::string& id : ids) visit(id);
}

}  // namespace outpost
