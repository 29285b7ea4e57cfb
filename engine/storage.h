// The storage seam: what a backend (SQLite, PostgreSQL) must provide so that
// RecordEngine can implement the rules of DESIGN.md sections 2-6 once.
// A Storage knows tables, rows and transactions; it knows nothing of winners,
// conflicts or edit rules. All SQL lives behind this seam, in engine/<backend>/.
//
// Thread-safety: a Storage may be used from several threads; each Transaction
// belongs to the thread that began it. Backends decide how transactions are
// isolated (SQLite: one writer at a time; PostgreSQL: a connection pool).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/engine.h"
#include "api/record.h"
#include "api/scope.h"
#include "api/table.h"
#include "api/tokens.h"

namespace outpost {

// One node of a record's revision tree, without its body.
struct Node {
  Revision revision;
  Revision parent;  // empty for a root
  bool deleted = false;
  bool leaf = false;
  bool stub = false;  // no body held
  int64_t seq = 0;    // the feed position of the write that stored it (0: unknown)
};

// A change row as stored: the record's winner and leaves after a write.
struct ChangeRow {
  std::string table;
  std::string id;
  Revision winner;
  bool deleted = false;
  std::vector<Revision> leaves;
  // The record's feed position before this write (0: none or unknown). Its
  // newest node is always a leaf, so this is the largest seq of its leaves.
  int64_t previous_seq = 0;
};

// The current row of a live record, as stored in table T.
struct WinnerRow {
  Revision revision;
  bool conflicted = false;
  Attributes attributes;
};

// Thrown by a backend when a transaction failed for a transient reason
// (serialization failure, deadlock, lost connection) and may simply be run
// again from the start. RecordEngine retries it with jittered backoff.
class RetryableError : public Error {
 public:
  explicit RetryableError(std::string message)
      : Error(ErrorCode::unavailable, std::move(message)) {}
};

// An open transaction. The destructor rolls back unless commit() ran
// (STYLE.md 5). Backends subclass it to carry their connection.
class Transaction {
 public:
  virtual ~Transaction() = default;
  virtual void commit() = 0;
};

enum class TransactionKind { read, write };

class Storage {
 public:
  virtual ~Storage() = default;

  virtual std::string backend() const = 0;
  virtual std::string db_id() const = 0;

  // Begins a transaction. On SQLite a write transaction excludes other
  // writers for its whole life (BEGIN IMMEDIATE), so feed order is commit
  // order; PostgreSQL runs writers concurrently and serializes them per
  // record through lock_record().
  virtual std::unique_ptr<Transaction> begin(TransactionKind kind) = 0;

  // Locks one record against concurrent writers until the transaction ends.
  // Called before a write transaction reads the record's tree.
  virtual void lock_record(Transaction& txn, const Table& table, std::string_view id) {
    (void)txn, (void)table, (void)id;
  }

  // A hint before a write batch: the engine is about to lock and read the
  // records `ids` of `table` (valid ids, possibly repeated). A backend may
  // lock them all at once and read their leaves in one round trip; the
  // engine still calls lock_record() and leaves() for each of them.
  virtual void prefetch(Transaction& txn, const Table& table, const std::vector<std::string>& ids) {
    (void)txn, (void)table, (void)ids;
  }

  // A counter that changes whenever any process changes the table catalog.
  virtual int64_t catalog_version(Transaction& txn) = 0;
  virtual std::vector<Table> load_tables(Transaction& txn) = 0;
  // Creates T and T_history with native columns and records the definition.
  virtual void create_table(Transaction& txn, const Table& table) = 0;
  // Adds `added` (already merged into `merged`) to an existing table.
  virtual void add_columns(Transaction& txn, const Table& merged,
                           const std::vector<Column>& added) = 0;

  // Revision tree of one record. `table` exists.
  virtual std::vector<Node> leaves(Transaction& txn, const Table& table, std::string_view id) = 0;
  virtual std::vector<Node> all_nodes(Transaction& txn, const Table& table,
                                      std::string_view id) = 0;
  virtual std::optional<Node> find_node(Transaction& txn, const Table& table, std::string_view id,
                                        const Revision& revision) = 0;
  // The body of a revision; nullopt when the node is unknown or a stub.
  virtual std::optional<Attributes> body(Transaction& txn, const Table& table, std::string_view id,
                                         const Revision& revision) = 0;

  // Batched reads for the paths that serve a whole replication batch
  // (revs_diff, bulk_get). The results are in the order of the input, which
  // may repeat a record. The defaults call all_nodes() and body() per
  // record; a backend whose statements cost a round trip each reads the
  // batch in one statement.
  virtual std::vector<std::vector<Node>> trees(Transaction& txn, const Table& table,
                                               const std::vector<std::string>& ids);
  // For bulk_get: the tree of each key's record, and the body of the key's
  // revision (nullopt when the tree lacks it or holds only a stub).
  struct RevisionKey {
    std::string id;
    Revision revision;
  };
  struct TreeAndBody {
    std::vector<Node> tree;
    std::optional<Attributes> body;
  };
  virtual std::vector<TreeAndBody> trees_and_bodies(Transaction& txn, const Table& table,
                                                    const std::vector<RevisionKey>& keys);

  // Writes. The engine calls them in this order for each record it changes:
  // append_change (which allocates the seq), insert_node / set_leaf, then
  // put_winner or remove_winner.
  virtual int64_t append_change(Transaction& txn, const ChangeRow& change) = 0;
  virtual void insert_node(Transaction& txn, const Table& table, std::string_view id,
                           const Node& node, const Attributes& body, int64_t seq) = 0;
  virtual void set_leaf(Transaction& txn, const Table& table, std::string_view id,
                        const Revision& revision, bool leaf) = 0;
  virtual void put_winner(Transaction& txn, const Table& table, std::string_view id,
                          const Node& winner, const Attributes& body, bool conflicted,
                          int64_t seq) = 0;
  virtual void remove_winner(Transaction& txn, const Table& table, std::string_view id) = 0;

  // Reads for the public API.
  virtual std::optional<WinnerRow> winner_row(Transaction& txn, const Table& table,
                                              std::string_view id) = 0;
  // Live records with id > after, in id order; with a clause, only those
  // it matches (DESIGN.md section 14).
  virtual std::vector<std::pair<std::string, WinnerRow>> list_winners(
      Transaction& txn, const Table& table, std::string_view after, size_t limit,
      const ScopeClause* clause) = 0;
  // Ids of records whose current row is marked conflicted, id > after, in
  // order; with a clause, only those it matches.
  virtual std::vector<std::string> list_conflicted(Transaction& txn, const Table& table,
                                                   std::string_view after, size_t limit,
                                                   const ScopeClause* clause) = 0;
  // Every record id that has history, in order (for check()).
  virtual void for_each_record(Transaction& txn, const Table& table,
                               const std::function<void(const std::string& id)>& visit) = 0;

  // ---------------------------------------------------------- scopes
  // (DESIGN.md section 14). A record whose winner is deleted keeps a row in
  // its table's tombstone table ("_tombstones_<T>", the shape of T without
  // _conflicted, plus _known): its winner, feed seq and last body (the
  // nearest non-deleted ancestor's), so that a scope can judge it. Its
  // columns are null and _known false when this database never held that
  // body; such a record matches no clause but `*`.
  //
  // Called by the engine instead of put_winner when the winner is deleted,
  // after remove_winner; remove_tombstone before put_winner when it was.
  virtual void put_tombstone(Transaction& txn, const Table& table, std::string_view id,
                             const Node& winner, const std::optional<Attributes>& last_body,
                             int64_t seq) = 0;
  virtual void remove_tombstone(Transaction& txn, const Table& table, std::string_view id) = 0;
  // Of `ids` (distinct), those whose record matches `clause` now (its live
  // winner, or its tombstone's known last body).
  virtual std::vector<std::string> matching(Transaction& txn, const Table& table,
                                            const ScopeClause& clause,
                                            const std::vector<std::string>& ids) = 0;
  // Of `ids` (distinct), those with a revision body (not a deletion) that
  // matches `clause`, or, when `stubs_count`, with a stub (whose body is
  // unknown, so may have).
  virtual std::vector<std::string> ever_matching(Transaction& txn, const Table& table,
                                                 const ScopeClause& clause,
                                                 const std::vector<std::string>& ids,
                                                 bool stubs_count) = 0;
  // The records `clause` matches now, id > after, in id order, at most
  // `limit`, each with its feed entry: the first pass of a scoped feed. An
  // entry whose feed row is after `until` (a cursor this storage issued)
  // has an empty cursor; the second pass shows it.
  struct FeedEntry;
  virtual std::vector<FeedEntry> scan_matching(Transaction& txn, const Table& table,
                                               const ScopeClause& clause, std::string_view after,
                                               std::string_view until, size_t limit) = 0;
  // Record ids (live or deleted) by `selection`, id > after, in id order.
  virtual std::vector<std::string> select_ids(Transaction& txn, const Table& table,
                                              const RecordSelection& selection,
                                              std::string_view after, size_t limit) = 0;
  // Whether the record's feed row is at or before `cursor` (one this
  // storage issued). False when the record is absent.
  virtual bool changed_at_or_before(Transaction& txn, const Table& table, std::string_view id,
                                    std::string_view cursor) = 0;
  // Removes a record entirely: its row in T or its tombstone, its history
  // and its feed row. False when there was no such record.
  virtual bool purge_record(Transaction& txn, const Table& table, std::string_view id) = 0;
  virtual void log_purge(Transaction& txn, const PurgeLogEntry& entry) = 0;
  virtual std::vector<PurgeLogEntry> purge_log(Transaction& txn, size_t skip, size_t limit) = 0;
  // Values of _meta (e.g. the database's scope); nullopt removes.
  virtual std::optional<std::string> get_meta(Transaction& txn, std::string_view key) = 0;
  virtual void put_meta(Transaction& txn, std::string_view key,
                        const std::optional<std::string>& value) = 0;
  // An index on (column, _id) over T and its tombstones, when missing.
  virtual void create_scope_index(Transaction& txn, const Table& table,
                                  const std::string& column) = 0;

  // ---------------------------------------------------------- counts
  // Each table's live records (rows of T) and conflicted ones, maintained
  // by the backend with every change of T in the same transaction, so that
  // reading them does not scan T. Tables without rows may be left out.
  virtual std::vector<TableCounts> maintained_counts(Transaction& txn) = 0;
  // The same counted from T, over the rows `clause` matches (every row
  // when null): check() compares the two; count_in_scope uses it.
  virtual TableCounts count_rows(Transaction& txn, const Table& table,
                                 const ScopeClause* clause) = 0;
  // The rows of T that match `to` and not `from` (enter), `from` and not
  // `to` (leave), and both (stay), in one statement. A null clause matches
  // no row.
  virtual ScopeChangeCounts count_scope_change(Transaction& txn, const Table& table,
                                               const ScopeClause* from, const ScopeClause* to) = 0;

  // Change feed: entries after `since` (a cursor this storage issued, "" for
  // the beginning), optionally filtered by table names, at most `limit`.
  struct FeedEntry {
    std::string cursor;
    ChangeRow change;
  };
  struct FeedPage {
    std::vector<FeedEntry> entries;
    std::string last_cursor;  // where the next read continues (never empty)
  };
  virtual FeedPage read_changes(Transaction& txn, std::string_view since,
                                const std::vector<std::string>& tables, size_t limit) = 0;
  // The cursor of the newest change ("0" when there is none).
  virtual std::string last_cursor(Transaction& txn) = 0;
  // Validates a cursor given by a client; throws Error(invalid_value).
  virtual void check_cursor(std::string_view cursor) const = 0;

  // Registers a callback the storage calls when it learns that another
  // process committed a change (PostgreSQL LISTEN/NOTIFY). Backends that
  // cannot observe other processes ignore it; the engine then re-reads the
  // feed periodically while a long-poll waits.
  virtual void set_external_change_listener(std::function<void()> listener) { (void)listener; }

  // API tokens, stored by the SHA-256 hex of their secret. The defaults
  // refuse, for backends that do not hold tokens.
  virtual void insert_token(Transaction& txn, const Token& token, const std::string& hash);
  // Every token by name, or the one named `name` when it is not empty.
  virtual std::vector<Token> load_tokens(Transaction& txn, const std::string& name = {});
  virtual bool revoke_token(Transaction& txn, const std::string& name);
  // The token stored under `hash`, with that hash, if any.
  virtual std::optional<std::pair<Token, std::string>> find_token(Transaction& txn,
                                                                  const std::string& hash);
  // Stores the scope fields of the token named `token.name` (read, write,
  // scope, write_scope, earlier_write_scopes, rescoped_at); the other fields
  // are left as they are.
  virtual void update_token_scopes(Transaction& txn, const Token& token);
  // The stored text of Token::earlier_write_scopes, the same on every
  // backend: "" when there are none, else a JSON array
  // [{"scope": TEXT, "until": RFC 3339 TIMESTAMP}, ...], newest first.
  // decode throws Error(internal) on a text encode did not write.
  static std::string encode_earlier_scopes(const std::vector<Token::EarlierScope>& scopes);
  static std::vector<Token::EarlierScope> decode_earlier_scopes(std::string_view text);

  // Local documents.
  virtual std::optional<std::string> get_local(Transaction& txn, std::string_view id) = 0;
  virtual void put_local(Transaction& txn, std::string_view id, std::string_view json) = 0;
  // Every local document as (id, body), in id order.
  virtual std::vector<std::pair<std::string, std::string>> list_local(Transaction& txn) = 0;
};

}  // namespace outpost
