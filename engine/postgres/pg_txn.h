// PgStorage::Txn: one PostgreSQL transaction of a PgStorage, and the write
// buffer of a writer (pg_storage.h): the records it locked and their trees,
// the rows waiting to be sent (one array per column, sent as one
// multi-row statement per table and kind at the next flush), and a pool of
// seqs taken from the sequence in advance.
// Internal to engine/postgres/.
// Thread-safety: a transaction belongs to the thread that began it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/postgres/pg_connection.h"
#include "engine/postgres/pg_pool.h"
#include "engine/postgres/pg_storage.h"

namespace outpost {

// The engine's catalog version (DDL bumps it); read at every BEGIN.
inline constexpr const char* kPgCatalogVersionSql =
    "SELECT \"value\" FROM \"_meta\" WHERE \"key\"='catalog_version'";

// The catalog version a kPgCatalogVersionSql query returned.
inline int64_t pg_read_catalog_version(const PgResult& res) {
  return res.rows() == 0 ? 0 : res.int64(0, 0);
}

// Every row of `res` as a Node (node columns from column 0). In pg_storage.cpp.
std::vector<Node> pg_read_nodes(const PgResult& res);

using PgRecordKey = std::pair<std::string, std::string>;  // table, id

inline PgRecordKey pg_record_key(std::string_view table, std::string_view id) {
  return {std::string(table), std::string(id)};
}

class PgStorage::Txn final : public Transaction {
 public:
  // BEGIN and the catalog version (which every transaction of the engine
  // reads first) in one round trip.
  Txn(PgStorage& owner, PgPool::Lease conn, TransactionKind kind);
  ~Txn() override {
    if (!done_) end_quietly();
  }
  // A writer flushes its buffer first; both run the test hooks (pg_test_hooks.h).
  void commit() override;

  PgConnection& conn() { return *conn_; }
  PgStorage& owner() { return owner_; }
  bool writer() const { return kind_ == TransactionKind::write; }

  // What this transaction knows about a record it locked.
  struct RecordState {
    // Had no change row when it was locked (a new record): its row is
    // inserted at the next flush, which fails as retryable if another writer
    // created the record meanwhile.
    bool fresh = false;
    int64_t reserved_seq = 0;  // seq taken when it was locked (0: used up)
    bool cached = false;       // `nodes` is the whole tree (including buffered writes)
    std::vector<Node> nodes;
    bool pending = false;  // buffered writes not yet sent
  };
  // Rows of one kind waiting to be written, one array per column (the
  // statement binds each array as one parameter and unnests them).
  struct Columns {
    std::vector<PgArray> arrays;
    size_t rows = 0;
    void reset(size_t n) {
      arrays.assign(n, PgArray());
      rows = 0;
    }
    PgParams params() const {
      PgParams p;
      for (const PgArray& a : arrays) p.add(a.str());
      return p;
    }
  };
  struct TableBuffer {
    Table table;
    std::vector<size_t> by_name;  // column indexes in bytewise name order
    Columns history;              // _id,_rev,_parent,_gen,_deleted,_leaf,_stub,_seq, columns
    Columns leaf_updates;         // _id,_rev,_leaf
    Columns winner_inserts;       // _id,_rev,_seq,_conflicted, columns
    Columns winner_upserts;       // same
    Columns removed;              // _id
    std::set<std::string, std::less<>> winner_ids;     // ids in the three above
    Columns tombstone_upserts;                         // _id,_rev,_seq,_known, columns
    Columns tombstones_removed;                        // _id
    std::set<std::string, std::less<>> tombstone_ids;  // ids in the two above
    bool empty() const {
      return history.rows == 0 && leaf_updates.rows == 0 && winner_ids.empty() &&
             tombstone_ids.empty();
    }
    void reset();
    // Appends the body's values (null when absent) to arrays[first...].
    void add_body(Columns& c, size_t first, const Attributes& body);
  };
  struct ChangeBuffer {
    Columns fresh, known;  // "table","id","seq","rev","deleted","leaves"
    std::vector<RecordState*> fresh_states;
    std::set<PgRecordKey> keys;
    bool empty() const { return keys.empty(); }
    void reset() {
      fresh.reset(6);
      known.reset(6);
      fresh_states.clear();
      keys.clear();
    }
  };

  std::optional<int64_t> catalog_version;  // as read at BEGIN; reset by DDL
  std::map<PgRecordKey, RecordState> records;
  std::map<std::string, TableBuffer> buffers;
  ChangeBuffer changes;
  std::vector<int64_t> seq_pool;
  bool any_pending = false;
  bool wrote_changes = false;

  // The buffer of `table`'s rows, (re)built for its current definition
  // (what was buffered for an older one is sent first).
  TableBuffer& buffer_for(const Table& table);
  // The state of a record this transaction writes; marks it pending.
  RecordState& touch(std::string_view table, std::string_view id);

  // Sends buffered writes when a read of (table, id) could see them.
  void sync(std::string_view table, std::string_view id) {
    if (!any_pending) return;
    auto it = records.find(pg_record_key(table, id));
    if (it != records.end() && it->second.pending) owner_.flush(*this);
  }
  void sync_all() {
    if (any_pending) owner_.flush(*this);
  }
  // The state of a record this writer locked, its whole tree read on first
  // use (nobody else changes the record until the transaction ends); null
  // for a reader, or a record this transaction did not lock.
  RecordState* locked_tree(const Table& table, std::string_view id);
  // Takes `n` more seqs from the sequence in one round trip.
  void fill_seq_pool(size_t n);
  int64_t next_seq() {
    if (seq_pool.empty()) fill_seq_pool(16);
    int64_t seq = seq_pool.back();
    seq_pool.pop_back();
    return seq;
  }

 private:
  // Rolls back, or drops the connection when even that fails.
  void end_quietly() noexcept;

  PgStorage& owner_;
  PgPool::Lease conn_;
  TransactionKind kind_;
  bool done_ = false;
  RecordState* last_state_ = nullptr;  // std::map nodes never move
  std::string last_table_, last_id_;
};

}  // namespace outpost
