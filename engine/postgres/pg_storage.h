// PgStorage: the Storage of a PostgreSQL hub database (DESIGN.md sections 5,
// 6 and 10), through libpq.
//
// - Tables: T and T_history with native column types, `_id` and revisions
//   COLLATE "C" (bytewise id order, as on SQLite); engine tables _meta,
//   _tables, _columns, _changes, _local, _tokens (pg_migrations.cpp).
// - Transactions: writers run concurrently in READ COMMITTED and are
//   serialized per record by a row lock on the record's _changes row (FOR
//   UPDATE); a new record's row is inserted at flush, and finding it taken
//   by a concurrent creator makes the transaction retryable. Readers run in
//   REPEATABLE READ READ ONLY. Connections come from a bounded pool.
// - Writes are buffered inside a transaction and sent as one multi-row
//   statement per table and kind (unnest of array parameters) before a read
//   that could see them and at commit; prefetch() locks and reads the trees
//   of a whole batch in a few statements.
// - Change feed ordered by (writer's xid8, seq), showing only rows whose xid
//   is below the snapshot's xmin: no change is ever skipped (see
//   docs/postgres-feed.md). Cursors are "XID:SEQ".
// - LISTEN/NOTIFY wakes long-polls across processes (PgListener).
// - Scopes (DESIGN.md section 14): each table has a tombstone table
//   "_tombstones_<T>" (buffered like T's rows, written after them); scope
//   conditions bind their IN lists as typed arrays and run unprepared, as
//   they vary per scope (pg_scope.cpp).
//
// Files: pg_storage.cpp (open, catalog, locking, buffered writes, revision
// tree, reads), pg_txn.{h,cpp} (a transaction and its write buffer),
// pg_migrations.cpp, pg_feed.cpp, pg_scope.cpp, pg_tokens.cpp and
// pg_local.cpp, as on SQLite, and pg_counts.cpp (maintained counts:
// delta rows written by triggers); pg_position.h and pg_values.h are shared
// internals.
//
// Thread-safety: safe from several threads; a transaction belongs to the
// thread that began it and holds one pooled connection until it ends.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/open.h"
#include "engine/storage.h"

namespace outpost {

class PgConnection;
class PgListener;
class PgPool;

class PgStorage final : public Storage {
 public:
  static constexpr size_t kDefaultPoolSize = 8;

  // Connects with a libpq conninfo string or URI ("" = PG* variables),
  // applies pending migrations and checks that the change feed can be
  // trusted. Throws Error(unavailable) with one clear line on failure.
  PgStorage(const std::string& conninfo, const OpenOptions& options,
            size_t pool_size = kDefaultPoolSize);
  ~PgStorage() override;

  std::string backend() const override { return "postgres"; }
  std::string db_id() const override { return db_id_; }
  std::unique_ptr<Transaction> begin(TransactionKind kind) override;
  void lock_record(Transaction& txn, const Table& table, std::string_view id) override;
  void prefetch(Transaction& txn, const Table& table, const std::vector<std::string>& ids) override;

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
  std::vector<std::vector<Node>> trees(Transaction& txn, const Table& table,
                                       const std::vector<std::string>& ids) override;
  std::vector<TreeAndBody> trees_and_bodies(Transaction& txn, const Table& table,
                                            const std::vector<RevisionKey>& keys) override;

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

  // Scopes (pg_scope.cpp)
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

  // Counts (pg_counts.cpp)
  std::vector<TableCounts> maintained_counts(Transaction& txn) override;
  TableCounts count_rows(Transaction& txn, const Table& table, const ScopeClause* clause) override;
  ScopeChangeCounts count_scope_change(Transaction& txn, const Table& table,
                                       const ScopeClause* from, const ScopeClause* to) override;

  FeedPage read_changes(Transaction& txn, std::string_view since,
                        const std::vector<std::string>& tables, size_t limit) override;
  std::string last_cursor(Transaction& txn) override;
  void check_cursor(std::string_view cursor) const override;
  void set_external_change_listener(std::function<void()> listener) override;

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
  friend void set_before_commit_hook_for_testing(PgStorage& storage, std::function<void()> hook);
  friend void set_after_commit_hook_for_testing(PgStorage& storage, std::function<void()> hook);

  static Txn& txn_of(Transaction& txn);
  static PgConnection& conn_of(Transaction& txn);
  const TableSql& sql_for(const Table& table);
  // The whole tree of record `id`, as stored (buffered writes not included).
  std::vector<Node> read_tree(PgConnection& conn, const Table& table, std::string_view id);
  void migrate(PgConnection& conn);
  // Every table's definition, as load_tables (also during migrations).
  static std::vector<Table> read_tables(PgConnection& conn);
  // Fills the tombstone table of a table that had none, from its history
  // (a migration; pg_scope.cpp).
  static void fill_tombstones(PgConnection& conn, const Table& table);
  // list_winners and list_conflicted under a scope clause (pg_scope.cpp).
  std::vector<std::pair<std::string, WinnerRow>> list_winners_where(Transaction& txn,
                                                                    const Table& table,
                                                                    std::string_view after,
                                                                    size_t limit,
                                                                    const ScopeClause& clause);
  std::vector<std::string> list_conflicted_where(Transaction& txn, const Table& table,
                                                 std::string_view after, size_t limit,
                                                 const ScopeClause& clause);
  // Gives a table that had none its count triggers and counts it once (a
  // migration; pg_counts.cpp).
  static void seed_counts(PgConnection& conn, const Table& table);
  // Called by a write transaction after its commit, on its connection:
  // compacts "_count_deltas" now and then (pg_counts.cpp).
  void after_write_commit(PgConnection& conn);
  void check_feed_horizon(PgConnection& conn);
  void lock_ids(Txn& txn, const Table& table, std::vector<std::string> ids, bool read_trees);
  void flush(Txn& txn);
  void flush_changes(Txn& txn);

  std::string conninfo_;
  std::string db_id_;
  std::unique_ptr<PgPool> pool_;

  std::mutex sql_mu_;
  std::vector<std::unique_ptr<TableSql>> table_sql_;

  std::mutex listener_mu_;
  std::unique_ptr<PgListener> listener_;
  std::shared_ptr<std::function<void()>> on_change_;

  // Maintained counts (pg_counts.cpp): write commits of this process, and
  // whether a read summed so many delta rows that the next commit compacts.
  std::atomic<uint64_t> write_commits_{0};
  std::atomic<bool> compact_wanted_{false};

  std::mutex hook_mu_;
  std::function<void()> before_commit_;  // tests only (pg_test_hooks.h)
  std::function<void()> after_commit_;   // tests only (pg_test_hooks.h)
};

}  // namespace outpost
