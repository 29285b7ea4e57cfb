// SqliteStorage: the Storage of an embedded database file (DESIGN.md section
// 5 and 10). WAL mode, a busy timeout, durable commits by default. Writes go
// through one connection with BEGIN IMMEDIATE, so feed order is commit order;
// reads use a small pool of further connections and see committed snapshots;
// WAL checkpoints run on a thread of their own (sqlite_checkpointer.h).
// Split like PgStorage: sqlite_storage.cpp (open, transactions, catalog,
// revision tree, reads), sqlite_migrations.cpp, sqlite_feed.cpp,
// sqlite_tokens.cpp, sqlite_local.cpp and sqlite_counts.cpp (maintained
// counts; the scoped ones are in sqlite_scope.cpp).
// Thread-safety: safe from several threads; a transaction holds its
// connection exclusively until it ends.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/open.h"
#include "engine/storage.h"

namespace outpost {

class SqliteCheckpointer;
class SqliteConnection;

class SqliteStorage final : public Storage {
 public:
  // A record's previous _changes row is not deleted when the record moves:
  // that would dirty one more scattered page per update, about a fifth of
  // the cost of a scattered update. Its seq goes into _superseded instead (a
  // small table, whose few pages every write shares) and the feed skips it.
  // Once more than kSupersededKept rows wait, a commit deletes the oldest
  // kSupersededDropped of them, which lie in the older part of _changes, so
  // that one deletion dirties far fewer pages than as many single ones (on
  // a 100 000-record table it adds about 30 ms to that commit).
  static constexpr int64_t kSupersededKept = 32768;
  static constexpr int64_t kSupersededDropped = 8192;

  // Opens or creates the file at `path` and applies pending migrations.
  SqliteStorage(const std::string& path, const OpenOptions& options);
  ~SqliteStorage() override;

  std::string backend() const override { return "sqlite"; }
  std::string db_id() const override { return db_id_; }
  std::unique_ptr<Transaction> begin(TransactionKind kind) override;

  int64_t catalog_version(Transaction& txn) override;
  std::vector<Table> load_tables(Transaction& txn) override;
  void create_table(Transaction& txn, const Table& table) override;
  void add_columns(Transaction& txn, const Table& merged,
                   const std::vector<Column>& added) override;

  std::vector<Node> leaves(Transaction& txn, const Table& table, std::string_view id) override;
  std::vector<Node> all_nodes(Transaction& txn, const Table& table, std::string_view id) override;
  std::optional<Node> find_node(Transaction& txn, const Table& table, std::string_view id,
                                const Revision& revision) override;
  std::optional<Attributes> body(Transaction& txn, const Table& table, std::string_view id,
                                 const Revision& revision) override;

  int64_t append_change(Transaction& txn, const ChangeRow& change) override;
  void insert_node(Transaction& txn, const Table& table, std::string_view id, const Node& node,
                   const Attributes& body, int64_t seq) override;
  void set_leaf(Transaction& txn, const Table& table, std::string_view id, const Revision& revision,
                bool leaf) override;
  void put_winner(Transaction& txn, const Table& table, std::string_view id, const Node& winner,
                  const Attributes& body, bool conflicted, int64_t seq) override;
  void remove_winner(Transaction& txn, const Table& table, std::string_view id) override;

  std::optional<WinnerRow> winner_row(Transaction& txn, const Table& table,
                                      std::string_view id) override;
  std::vector<std::pair<std::string, WinnerRow>> list_winners(Transaction& txn, const Table& table,
                                                              std::string_view after, size_t limit,
                                                              const ScopeClause* clause) override;
  std::vector<std::string> list_conflicted(Transaction& txn, const Table& table,
                                           std::string_view after, size_t limit,
                                           const ScopeClause* clause) override;

  // Scopes (sqlite_scope.cpp)
  void put_tombstone(Transaction& txn, const Table& table, std::string_view id, const Node& winner,
                     const std::optional<Attributes>& last_body, int64_t seq) override;
  void remove_tombstone(Transaction& txn, const Table& table, std::string_view id) override;
  std::vector<std::string> matching(Transaction& txn, const Table& table, const ScopeClause& clause,
                                    const std::vector<std::string>& ids) override;
  std::vector<std::string> ever_matching(Transaction& txn, const Table& table,
                                         const ScopeClause& clause,
                                         const std::vector<std::string>& ids,
                                         bool stubs_count) override;
  std::vector<FeedEntry> scan_matching(Transaction& txn, const Table& table,
                                       const ScopeClause& clause, std::string_view after,
                                       std::string_view until, size_t limit) override;
  std::vector<std::string> select_ids(Transaction& txn, const Table& table,
                                      const RecordSelection& selection, std::string_view after,
                                      size_t limit) override;
  bool changed_at_or_before(Transaction& txn, const Table& table, std::string_view id,
                            std::string_view cursor) override;
  bool purge_record(Transaction& txn, const Table& table, std::string_view id) override;
  void log_purge(Transaction& txn, const PurgeLogEntry& entry) override;
  std::vector<PurgeLogEntry> purge_log(Transaction& txn, size_t skip, size_t limit) override;
  std::optional<std::string> get_meta(Transaction& txn, std::string_view key) override;
  void put_meta(Transaction& txn, std::string_view key,
                const std::optional<std::string>& value) override;
  void create_scope_index(Transaction& txn, const Table& table, const std::string& column) override;
  void for_each_record(Transaction& txn, const Table& table,
                       const std::function<void(const std::string& id)>& visit) override;

  // Counts (sqlite_counts.cpp)
  std::vector<TableCounts> maintained_counts(Transaction& txn) override;
  TableCounts count_rows(Transaction& txn, const Table& table, const ScopeClause* clause) override;
  ScopeChangeCounts count_scope_change(Transaction& txn, const Table& table,
                                       const ScopeClause* from, const ScopeClause* to) override;

  FeedPage read_changes(Transaction& txn, std::string_view since,
                        const std::vector<std::string>& tables, size_t limit) override;
  std::string last_cursor(Transaction& txn) override;
  void check_cursor(std::string_view cursor) const override;

  void insert_token(Transaction& txn, const Token& token, const std::string& hash) override;
  std::vector<Token> load_tokens(Transaction& txn, const std::string& name) override;
  bool revoke_token(Transaction& txn, const std::string& name) override;
  void update_token_scopes(Transaction& txn, const Token& token) override;
  std::optional<std::pair<Token, std::string>> find_token(Transaction& txn,
                                                          const std::string& hash) override;

  std::optional<std::string> get_local(Transaction& txn, std::string_view id) override;
  void put_local(Transaction& txn, std::string_view id, std::string_view json) override;
  std::vector<std::pair<std::string, std::string>> list_local(Transaction& txn) override;

 private:
  class Txn;
  struct TableSql;

  static SqliteConnection& conn_of(Transaction& txn);
  std::unique_ptr<SqliteConnection> connect();
  void migrate(SqliteConnection& conn);
  // The table's tombstone table (sqlite_scope.cpp): created empty, and
  // filled from the history of a table that had none (a migration).
  static void create_tombstones(SqliteConnection& conn, const Table& table);
  static void fill_tombstones(SqliteConnection& conn, const Table& table);
  // The triggers that keep "_counts" (sqlite_counts.cpp), and the table's
  // row there, counted from T as it is.
  static void create_counts(SqliteConnection& conn, const Table& table);
  static std::vector<Table> read_tables(SqliteConnection& conn);
  // list_winners and list_conflicted under a scope clause (sqlite_scope.cpp).
  std::vector<std::pair<std::string, WinnerRow>> list_winners_where(Transaction& txn,
                                                                    const Table& table,
                                                                    std::string_view after,
                                                                    size_t limit,
                                                                    const ScopeClause& clause);
  std::vector<std::string> list_conflicted_where(Transaction& txn, const Table& table,
                                                 std::string_view after, size_t limit,
                                                 const ScopeClause& clause);
  const TableSql& sql_for(const Table& table);
  void release_reader(std::unique_ptr<SqliteConnection> conn);
  // Rows in _superseded, counted; notes the data_version it was counted at.
  int64_t count_superseded(SqliteConnection& conn);
  // Rows in _superseded inside a write transaction that added `added`.
  int64_t listed_superseded(SqliteConnection& conn, int64_t added);
  // Deletes the kSupersededDropped oldest of the `listed` rows of
  // _superseded from both tables; returns the rows left.
  int64_t trim_superseded(SqliteConnection& conn, int64_t listed);

  std::string path_;
  OpenOptions options_;
  std::string db_id_;

  std::mutex writer_mu_;
  std::unique_ptr<SqliteConnection> writer_;
  // Rows in _superseded after this process's last commit, exact while
  // data_version_ (PRAGMA data_version on writer_) has not moved; -1: recount.
  // Both under writer_mu_.
  int64_t superseded_ = 0;
  int64_t data_version_ = -1;
  std::unique_ptr<SqliteCheckpointer> checkpointer_;  // hooks writer_; goes first

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<SqliteConnection>> idle_readers_;
  size_t open_readers_ = 0;

  std::mutex sql_mu_;
  std::vector<std::unique_ptr<TableSql>> table_sql_;
};

}  // namespace outpost
