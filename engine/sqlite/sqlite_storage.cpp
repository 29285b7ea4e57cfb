#include "engine/sqlite/sqlite_storage.h"

#include <sqlite3.h>

#include <utility>

#include "engine/sqlite/sqlite_checkpointer.h"
#include "engine/sqlite/sqlite_db.h"
#include "engine/sqlite/sqlite_values.h"
#include "engine/storage_text.h"

namespace outpost {

namespace {

constexpr size_t kMaxReaders = 8;

Revision read_revision(const SqliteStatement& stmt, int col) {
  if (stmt.is_null(col)) return {};
  return Revision::parse(stmt.column_text(col));
}

// Columns read for a Node (read_node): _rev, _parent, _deleted, _leaf, _stub, _seq.
constexpr std::string_view kNodeColumns = R"("_rev","_parent","_deleted","_leaf","_stub","_seq")";

Node read_node(const SqliteStatement& stmt) {
  Node n;
  n.revision = read_revision(stmt, 0);
  n.parent = read_revision(stmt, 1);
  n.deleted = stmt.column_int(2) != 0;
  n.leaf = stmt.column_int(3) != 0;
  n.stub = stmt.column_int(4) != 0;
  n.seq = stmt.column_int(5);
  return n;
}

}  // namespace

// ---------------------------------------------------------------- transactions

class SqliteStorage::Txn final : public Transaction {
 public:
  // Writer: holds the writer lock for its whole life.
  Txn(SqliteStorage& owner, std::unique_lock<std::mutex> lock, SqliteConnection& conn)
      : owner_(owner), lock_(std::move(lock)), conn_(conn) {
    conn_.exec("BEGIN IMMEDIATE");
  }
  // Reader: owns a pooled connection and returns it at the end.
  Txn(SqliteStorage& owner, std::unique_ptr<SqliteConnection> reader)
      : owner_(owner), reader_(std::move(reader)), conn_(*reader_) {
    try {
      conn_.exec("BEGIN");
    } catch (...) {
      owner_.release_reader(std::move(reader_));  // no destructor runs: keep the pool whole
      throw;
    }
  }
  ~Txn() override {
    if (!done_) {
      try {
        conn_.exec("ROLLBACK");
      } catch (const Error&) {
        // Nothing to do: the connection rolls back on its own if this failed.
      }
    }
    if (reader_) owner_.release_reader(std::move(reader_));
  }
  void commit() override {
    if (superseded_added_ == 0) {
      conn_.exec("COMMIT");
      done_ = true;
      return;
    }
    int64_t listed = owner_.listed_superseded(conn_, superseded_added_);
    if (listed > kSupersededKept) listed = owner_.trim_superseded(conn_, listed);
    const int64_t version = std::exchange(owner_.data_version_, -1);  // unknown until committed
    conn_.exec("COMMIT");
    done_ = true;
    owner_.superseded_ = listed;
    owner_.data_version_ = version;
  }
  SqliteConnection& conn() { return conn_; }
  void count_superseded() { ++superseded_added_; }

 private:
  SqliteStorage& owner_;
  std::unique_lock<std::mutex> lock_;
  std::unique_ptr<SqliteConnection> reader_;
  SqliteConnection& conn_;
  int64_t superseded_added_ = 0;  // rows this transaction put into _superseded
  bool done_ = false;
};

SqliteConnection& SqliteStorage::conn_of(Transaction& txn) {
  return static_cast<SqliteStorage::Txn&>(txn).conn();  // only our own transactions reach us
}

// ---------------------------------------------------------------- per-table SQL

struct SqliteStorage::TableSql {
  std::string name;
  size_t columns = 0;
  std::string leaves, all_nodes, find_node, body, insert_node, set_leaf;
  std::string put_winner, remove_winner, winner_row, list_winners, list_conflicted, record_ids;
};

const SqliteStorage::TableSql& SqliteStorage::sql_for(const Table& table) {
  std::lock_guard lock(sql_mu_);
  for (const auto& s : table_sql_) {
    // Schemas only grow, so the column count identifies the definition.
    if (s->name == table.name && s->columns == table.columns.size()) return *s;
  }
  auto s = std::make_unique<TableSql>();
  s->name = table.name;
  s->columns = table.columns.size();
  std::string t = quote_identifier(table.name);
  std::string h = quote_identifier(history_table_name(table.name));
  std::string cols, params, updates;
  for (const Column& c : table.columns) {
    std::string q = quote_identifier(c.name);
    cols += "," + q;
    params += ",?";
    updates += "," + q + "=excluded." + q;
  }
  s->leaves =
      "SELECT " + std::string(kNodeColumns) + " FROM " + h + " WHERE \"_id\"=? AND \"_leaf\"=1";
  s->all_nodes = "SELECT " + std::string(kNodeColumns) + " FROM " + h + " WHERE \"_id\"=?";
  s->find_node = s->all_nodes + " AND \"_rev\"=?";
  s->body = "SELECT \"_stub\"" + cols + " FROM " + h + " WHERE \"_id\"=? AND \"_rev\"=?";
  s->insert_node =
      "INSERT INTO " + h +
      "(\"_id\",\"_rev\",\"_parent\",\"_gen\",\"_deleted\",\"_leaf\",\"_stub\",\"_seq\"" + cols +
      ") VALUES(?,?,?,?,?,?,?,?" + params + ")";
  s->set_leaf = "UPDATE " + h + " SET \"_leaf\"=? WHERE \"_id\"=? AND \"_rev\"=?";
  s->put_winner = "INSERT INTO " + t + "(\"_id\",\"_rev\",\"_seq\",\"_conflicted\"" + cols +
                  ") VALUES(?,?,?,?" + params +
                  ") ON CONFLICT(\"_id\") DO UPDATE SET \"_rev\"=excluded.\"_rev\","
                  "\"_seq\"=excluded.\"_seq\",\"_conflicted\"=excluded.\"_conflicted\"" +
                  updates;
  s->remove_winner = "DELETE FROM " + t + " WHERE \"_id\"=?";
  s->winner_row = "SELECT \"_rev\",\"_conflicted\"" + cols + " FROM " + t + " WHERE \"_id\"=?";
  s->list_winners = "SELECT \"_rev\",\"_conflicted\"" + cols + ",\"_id\" FROM " + t +
                    " WHERE \"_id\">? ORDER BY \"_id\" LIMIT ?";
  s->list_conflicted = "SELECT \"_id\" FROM " + t +
                       " WHERE \"_conflicted\"=1 AND \"_id\">? ORDER BY \"_id\" LIMIT ?";
  s->record_ids = "SELECT DISTINCT \"_id\" FROM " + h + " ORDER BY \"_id\"";
  table_sql_.push_back(std::move(s));
  return *table_sql_.back();
}

// ---------------------------------------------------------------- open

SqliteStorage::SqliteStorage(const std::string& path, const OpenOptions& options)
    : path_(path), options_(options) {
  writer_ = connect();
  writer_->exec("PRAGMA journal_mode=WAL");
  migrate(*writer_);
  auto stmt = writer_->prepare("SELECT \"value\" FROM \"_meta\" WHERE \"key\"='db_id'");
  if (!stmt->step()) throw Error(ErrorCode::unavailable, path + ": the database has no db_id");
  db_id_ = std::string(stmt->column_text(0));
  superseded_ = count_superseded(*writer_);
  checkpointer_ = std::make_unique<SqliteCheckpointer>(writer_->handle(), connect());
}

SqliteStorage::~SqliteStorage() = default;

std::unique_ptr<SqliteConnection> SqliteStorage::connect() {
  auto conn = std::make_unique<SqliteConnection>(path_);
  sqlite3_busy_timeout(conn->handle(), options_.busy_timeout_ms);
  conn->exec(options_.durability == Durability::full ? "PRAGMA synchronous=FULL"
                                                     : "PRAGMA synchronous=NORMAL");
  return conn;
}

std::unique_ptr<Transaction> SqliteStorage::begin(TransactionKind kind) {
  if (kind == TransactionKind::write) {
    std::unique_lock lock(writer_mu_);
    return std::make_unique<Txn>(*this, std::move(lock), *writer_);
  }
  std::unique_ptr<SqliteConnection> reader;
  {
    std::unique_lock lock(readers_mu_);
    readers_cv_.wait(lock, [&] { return !idle_readers_.empty() || open_readers_ < kMaxReaders; });
    if (!idle_readers_.empty()) {
      reader = std::move(idle_readers_.back());
      idle_readers_.pop_back();
    } else {
      ++open_readers_;
    }
  }
  if (!reader) {
    try {
      reader = connect();
    } catch (...) {
      std::lock_guard lock(readers_mu_);
      --open_readers_;
      readers_cv_.notify_one();
      throw;
    }
  }
  return std::make_unique<Txn>(*this, std::move(reader));
}

void SqliteStorage::release_reader(std::unique_ptr<SqliteConnection> conn) {
  std::lock_guard lock(readers_mu_);
  idle_readers_.push_back(std::move(conn));
  readers_cv_.notify_one();
}

// ---------------------------------------------------------------- catalog

int64_t SqliteStorage::catalog_version(Transaction& txn) {
  // SQLite bumps schema_version on every DDL statement, in any process.
  auto stmt = conn_of(txn).prepare("PRAGMA schema_version");
  stmt->step();
  return stmt->column_int(0);
}

std::vector<Table> SqliteStorage::read_tables(SqliteConnection& conn) {
  std::vector<Table> tables;
  auto stmt = conn.prepare(
      "SELECT t.\"name\", c.\"name\", c.\"type\", c.\"required\" FROM \"_tables\" t "
      "LEFT JOIN \"_columns\" c ON c.\"table\"=t.\"name\" ORDER BY t.\"name\", c.\"position\"");
  while (stmt->step()) {
    std::string_view name = stmt->column_text(0);
    if (tables.empty() || tables.back().name != name)
      tables.push_back(Table{std::string(name), {}});
    if (stmt->is_null(1)) continue;
    auto type = value_type_from_name(stmt->column_text(2));
    if (!type) {
      throw Error(ErrorCode::internal, "table " + std::string(name) +
                                           " has a column of unknown type " +
                                           std::string(stmt->column_text(2)));
    }
    tables.back().columns.push_back(
        Column{std::string(stmt->column_text(1)), *type, stmt->column_int(3) != 0});
  }
  return tables;
}

std::vector<Table> SqliteStorage::load_tables(Transaction& txn) {
  return read_tables(conn_of(txn));
}

static void insert_columns(SqliteConnection& conn, const std::string& table,
                           const std::vector<Column>& columns, size_t first_position) {
  for (size_t i = 0; i < columns.size(); ++i) {
    auto stmt = conn.prepare(
        "INSERT INTO \"_columns\"(\"table\",\"position\",\"name\",\"type\",\"required\") "
        "VALUES(?,?,?,?,?)");
    stmt->bind_text(1, table);
    stmt->bind_int(2, static_cast<int64_t>(first_position + i));
    stmt->bind_text(3, columns[i].name);
    stmt->bind_text(4, value_type_name(columns[i].type));
    stmt->bind_int(5, columns[i].required ? 1 : 0);
    stmt->run();
  }
}

void SqliteStorage::create_table(Transaction& txn, const Table& table) {
  SqliteConnection& conn = conn_of(txn);
  std::string t = quote_identifier(table.name);
  std::string h = quote_identifier(history_table_name(table.name));
  std::string cols;
  for (const Column& c : table.columns) {
    cols += ", " + quote_identifier(c.name) + " " + std::string(sql_type(c.type));
  }
  conn.exec(
      "CREATE TABLE " + t +
      "(\"_id\" TEXT PRIMARY KEY NOT NULL, \"_rev\" TEXT NOT NULL, \"_seq\" INTEGER NOT NULL, "
      "\"_conflicted\" INTEGER NOT NULL DEFAULT 0" +
      cols + ") STRICT");
  conn.exec("CREATE INDEX " + quote_identifier("_" + table.name + "_conflicted") + " ON " + t +
            "(\"_id\") WHERE \"_conflicted\"=1");
  conn.exec("CREATE TABLE " + h +
            "(\"_id\" TEXT NOT NULL, \"_rev\" TEXT NOT NULL, \"_parent\" TEXT, "
            "\"_gen\" INTEGER NOT NULL, \"_deleted\" INTEGER NOT NULL, \"_leaf\" INTEGER NOT NULL, "
            "\"_stub\" INTEGER NOT NULL, \"_seq\" INTEGER NOT NULL" +
            cols + ", PRIMARY KEY(\"_id\", \"_rev\")) WITHOUT ROWID, STRICT");
  create_tombstones(conn, table);
  create_counts(conn, table);
  auto stmt = conn.prepare("INSERT INTO \"_tables\"(\"name\") VALUES(?)");
  stmt->bind_text(1, table.name);
  stmt->run();
  insert_columns(conn, table.name, table.columns, 0);
}

void SqliteStorage::add_columns(Transaction& txn, const Table& merged,
                                const std::vector<Column>& added) {
  SqliteConnection& conn = conn_of(txn);
  for (const Column& c : added) {
    std::string def = quote_identifier(c.name) + " " + std::string(sql_type(c.type));
    conn.exec("ALTER TABLE " + quote_identifier(merged.name) + " ADD COLUMN " + def);
    conn.exec("ALTER TABLE " + quote_identifier(history_table_name(merged.name)) + " ADD COLUMN " +
              def);
    conn.exec("ALTER TABLE " + quote_identifier(tombstone_table_name(merged.name)) +
              " ADD COLUMN " + def);
  }
  insert_columns(conn, merged.name, added, merged.columns.size() - added.size());
}

// ---------------------------------------------------------------- revision tree

std::vector<Node> SqliteStorage::leaves(Transaction& txn, const Table& table, std::string_view id) {
  auto stmt = conn_of(txn).prepare(sql_for(table).leaves);
  stmt->bind_text(1, id);
  std::vector<Node> out;
  while (stmt->step()) out.push_back(read_node(*stmt));
  return out;
}

std::vector<Node> SqliteStorage::all_nodes(Transaction& txn, const Table& table,
                                           std::string_view id) {
  auto stmt = conn_of(txn).prepare(sql_for(table).all_nodes);
  stmt->bind_text(1, id);
  std::vector<Node> out;
  while (stmt->step()) out.push_back(read_node(*stmt));
  return out;
}

std::optional<Node> SqliteStorage::find_node(Transaction& txn, const Table& table,
                                             std::string_view id, const Revision& revision) {
  auto stmt = conn_of(txn).prepare(sql_for(table).find_node);
  stmt->bind_text(1, id);
  stmt->bind_text(2, revision.str());
  if (!stmt->step()) return std::nullopt;
  return read_node(*stmt);
}

std::optional<Attributes> SqliteStorage::body(Transaction& txn, const Table& table,
                                              std::string_view id, const Revision& revision) {
  auto stmt = conn_of(txn).prepare(sql_for(table).body);
  stmt->bind_text(1, id);
  stmt->bind_text(2, revision.str());
  if (!stmt->step() || stmt->column_int(0) != 0) return std::nullopt;
  return read_columns(*stmt, 1, table);
}

int64_t SqliteStorage::append_change(Transaction& txn, const ChangeRow& change) {
  // One live row per record: insert at a fresh seq, then mark the record's
  // previous row superseded (see sqlite_storage.h). AUTOINCREMENT keeps seq
  // values from ever being reused.
  SqliteConnection& conn = conn_of(txn);
  int64_t seq;
  {
    auto stmt = conn.prepare(
        "INSERT INTO \"_changes\"(\"table\",\"id\",\"rev\",\"deleted\",\"leaves\") "
        "VALUES(?,?,?,?,?)");
    stmt->bind_text(1, change.table);
    stmt->bind_text(2, change.id);
    stmt->bind_text(3, change.winner.str());
    stmt->bind_int(4, change.deleted ? 1 : 0);
    stmt->bind_text(5, join_revisions(change.leaves));
    stmt->run();
    seq = conn.last_insert_rowid();
  }
  if (change.previous_seq > 0) {
    auto stmt = conn.prepare("INSERT OR IGNORE INTO \"_superseded\"(\"seq\") VALUES(?)");
    stmt->bind_int(1, change.previous_seq);
    stmt->run();
    if (sqlite3_changes(conn.handle()) > 0) static_cast<Txn&>(txn).count_superseded();
  }
  return seq;
}

namespace {

// Moves whenever another connection commits to the file; this one's own
// commits leave it as it is.
int64_t data_version(SqliteConnection& conn) {
  auto stmt = conn.prepare("PRAGMA data_version");
  stmt->step();
  return stmt->column_int(0);
}

}  // namespace

int64_t SqliteStorage::count_superseded(SqliteConnection& conn) {
  data_version_ = data_version(conn);
  auto count = conn.prepare("SELECT count(*) FROM \"_superseded\"");
  count->step();
  return count->column_int(0);
}

int64_t SqliteStorage::listed_superseded(SqliteConnection& conn, int64_t added) {
  // Until another connection (another process on the file) commits, this
  // process's own count is exact.
  if (data_version(conn) == data_version_) return superseded_ + added;
  return count_superseded(conn);  // includes this transaction's rows
}

int64_t SqliteStorage::trim_superseded(SqliteConnection& conn, int64_t listed) {
  int64_t upto;
  {
    auto stmt =
        conn.prepare("SELECT \"seq\" FROM \"_superseded\" ORDER BY \"seq\" LIMIT 1 OFFSET ?");
    stmt->bind_int(1, kSupersededDropped - 1);
    if (!stmt->step()) return listed;
    upto = stmt->column_int(0);
  }
  {
    auto stmt = conn.prepare(
        "DELETE FROM \"_changes\" WHERE \"seq\" IN "
        "(SELECT \"seq\" FROM \"_superseded\" WHERE \"seq\"<=?)");
    stmt->bind_int(1, upto);
    stmt->run();
  }
  auto stmt = conn.prepare("DELETE FROM \"_superseded\" WHERE \"seq\"<=?");
  stmt->bind_int(1, upto);
  stmt->run();
  return listed - sqlite3_changes(conn.handle());
}

void SqliteStorage::insert_node(Transaction& txn, const Table& table, std::string_view id,
                                const Node& node, const Attributes& body, int64_t seq) {
  auto stmt = conn_of(txn).prepare(sql_for(table).insert_node);
  stmt->bind_text(1, id);
  stmt->bind_text(2, node.revision.str());
  if (node.parent.empty()) {
    stmt->bind_null(3);
  } else {
    stmt->bind_text(3, node.parent.str());
  }
  stmt->bind_int(4, static_cast<int64_t>(node.revision.generation()));
  stmt->bind_int(5, node.deleted ? 1 : 0);
  stmt->bind_int(6, node.leaf ? 1 : 0);
  stmt->bind_int(7, node.stub ? 1 : 0);
  stmt->bind_int(8, seq);
  bind_columns(*stmt, 9, table, body);
  stmt->run();
}

void SqliteStorage::set_leaf(Transaction& txn, const Table& table, std::string_view id,
                             const Revision& revision, bool leaf) {
  auto stmt = conn_of(txn).prepare(sql_for(table).set_leaf);
  stmt->bind_int(1, leaf ? 1 : 0);
  stmt->bind_text(2, id);
  stmt->bind_text(3, revision.str());
  stmt->run();
}

void SqliteStorage::put_winner(Transaction& txn, const Table& table, std::string_view id,
                               const Node& winner, const Attributes& body, bool conflicted,
                               int64_t seq) {
  auto stmt = conn_of(txn).prepare(sql_for(table).put_winner);
  stmt->bind_text(1, id);
  stmt->bind_text(2, winner.revision.str());
  stmt->bind_int(3, seq);
  stmt->bind_int(4, conflicted ? 1 : 0);
  bind_columns(*stmt, 5, table, body);
  stmt->run();
}

void SqliteStorage::remove_winner(Transaction& txn, const Table& table, std::string_view id) {
  auto stmt = conn_of(txn).prepare(sql_for(table).remove_winner);
  stmt->bind_text(1, id);
  stmt->run();
}

// ---------------------------------------------------------------- reads

std::optional<WinnerRow> SqliteStorage::winner_row(Transaction& txn, const Table& table,
                                                   std::string_view id) {
  auto stmt = conn_of(txn).prepare(sql_for(table).winner_row);
  stmt->bind_text(1, id);
  if (!stmt->step()) return std::nullopt;
  return WinnerRow{read_revision(*stmt, 0), stmt->column_int(1) != 0,
                   read_columns(*stmt, 2, table)};
}

std::vector<std::pair<std::string, WinnerRow>> SqliteStorage::list_winners(
    Transaction& txn, const Table& table, std::string_view after, size_t limit,
    const ScopeClause* clause) {
  if (clause != nullptr && !clause->everything()) {
    return list_winners_where(txn, table, after, limit, *clause);
  }
  auto stmt = conn_of(txn).prepare(sql_for(table).list_winners);
  stmt->bind_text(1, after);
  stmt->bind_int(2, static_cast<int64_t>(limit));
  std::vector<std::pair<std::string, WinnerRow>> out;
  int id_col = 2 + static_cast<int>(table.columns.size());
  while (stmt->step()) {
    out.emplace_back(std::string(stmt->column_text(id_col)),
                     WinnerRow{read_revision(*stmt, 0), stmt->column_int(1) != 0,
                               read_columns(*stmt, 2, table)});
  }
  return out;
}

std::vector<std::string> SqliteStorage::list_conflicted(Transaction& txn, const Table& table,
                                                        std::string_view after, size_t limit,
                                                        const ScopeClause* clause) {
  if (clause != nullptr && !clause->everything()) {
    return list_conflicted_where(txn, table, after, limit, *clause);
  }
  auto stmt = conn_of(txn).prepare(sql_for(table).list_conflicted);
  stmt->bind_text(1, after);
  stmt->bind_int(2, static_cast<int64_t>(limit));
  std::vector<std::string> out;
  while (stmt->step()) out.emplace_back(stmt->column_text(0));
  return out;
}

void SqliteStorage::for_each_record(Transaction& txn, const Table& table,
                                    const std::function<void(const std::string& id)>& visit) {
  std::vector<std::string> ids;
  {
    auto stmt = conn_of(txn).prepare(sql_for(table).record_ids);
    while (stmt->step()) ids.emplace_back(stmt->column_text(0));
  }
  for (const std::string& id : ids) visit(id);
}

}  // namespace outpost
