#include "engine/postgres/pg_txn.h"

#include <algorithm>
#include <functional>
#include <mutex>

#include "engine/postgres/pg_listener.h"
#include "engine/postgres/pg_values.h"

namespace outpost {

PgStorage::Txn::Txn(PgStorage& owner, PgPool::Lease conn, TransactionKind kind)
    : owner_(owner), conn_(std::move(conn)), kind_(kind) {
  try {
    PgResult res =
        conn_->exec(std::string(kind == TransactionKind::write
                                    ? "BEGIN ISOLATION LEVEL READ COMMITTED; "
                                    : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; ") +
                    kPgCatalogVersionSql);
    catalog_version = pg_read_catalog_version(res);
  } catch (...) {
    // No destructor runs for a half-built transaction: end it here.
    end_quietly();
    throw;
  }
}

void PgStorage::Txn::commit() {
  if (writer()) {
    owner_.flush(*this);
    std::function<void()> hook;
    {
      std::lock_guard lock(owner_.hook_mu_);
      hook = owner_.before_commit_;
    }
    if (hook) hook();
  }
  PgResult res = conn_->exec(wrote_changes ? std::string("NOTIFY ") + kPgChangesChannel + "; COMMIT"
                                           : std::string("COMMIT"));
  done_ = true;
  if (res.command_tag() != "COMMIT") {
    throw Error(ErrorCode::internal, "PostgreSQL rolled the transaction back at commit");
  }
  if (writer()) {
    if (wrote_changes) {
      try {
        owner_.after_write_commit(*conn_);
      } catch (const Error&) {
        // Compaction is an optimisation: a later commit does it. The
        // connection's state is unknown, so it is not reused.
        conn_.discard();
      }
    }
    std::function<void()> hook;
    {
      std::lock_guard lock(owner_.hook_mu_);
      hook = owner_.after_commit_;
    }
    if (hook) hook();
  }
}

void PgStorage::Txn::end_quietly() noexcept {
  try {
    conn_->exec("ROLLBACK");
  } catch (...) {
    conn_.discard();  // state unknown: never reuse it
  }
}

void PgStorage::Txn::TableBuffer::reset() {
  history.reset(8 + table.columns.size());
  leaf_updates.reset(3);
  winner_inserts.reset(4 + table.columns.size());
  winner_upserts.reset(4 + table.columns.size());
  removed.reset(1);
  winner_ids.clear();
  tombstone_upserts.reset(4 + table.columns.size());
  tombstones_removed.reset(1);
  tombstone_ids.clear();
}

void PgStorage::Txn::TableBuffer::add_body(Columns& c, size_t first, const Attributes& body) {
  const std::vector<Column>& columns = table.columns;
  auto it = body.begin();
  for (size_t idx : by_name) {
    const std::string& name = columns[idx].name;
    while (it != body.end() && it->first < name) ++it;
    PgArray& a = c.arrays[first + idx];
    if (it == body.end() || it->first != name) {
      a.add_null();
    } else {
      a.add(pg_value_text(it->second));
    }
  }
}

PgStorage::Txn::TableBuffer& PgStorage::Txn::buffer_for(const Table& table) {
  TableBuffer& b = buffers[table.name];
  if (b.table.columns.size() != table.columns.size() || b.history.arrays.empty()) {
    if (!b.empty()) owner_.flush(*this);
    b.table = table;
    b.by_name.resize(table.columns.size());
    for (size_t i = 0; i < b.by_name.size(); ++i) b.by_name[i] = i;
    std::sort(b.by_name.begin(), b.by_name.end(),
              [&](size_t x, size_t y) { return table.columns[x].name < table.columns[y].name; });
    b.reset();
  }
  return b;
}

PgStorage::Txn::RecordState& PgStorage::Txn::touch(std::string_view table, std::string_view id) {
  RecordState* r = nullptr;
  if (last_state_ && last_table_ == table && last_id_ == id) {
    r = last_state_;
  } else {
    r = &records[pg_record_key(table, id)];
    last_state_ = r;
    last_table_ = table;
    last_id_ = id;
  }
  r->pending = true;
  any_pending = true;
  return *r;
}

PgStorage::Txn::RecordState* PgStorage::Txn::locked_tree(const Table& table, std::string_view id) {
  if (!writer()) return nullptr;
  auto it = records.find(pg_record_key(table.name, id));
  if (it == records.end()) return nullptr;
  RecordState& state = it->second;
  if (!state.cached) {
    sync(table.name, id);
    state.nodes = owner_.read_tree(*conn_, table, id);
    state.cached = true;
  }
  return &state;
}

void PgStorage::Txn::fill_seq_pool(size_t n) {
  PgResult res = conn_->query("SELECT nextval('\"_changes_seq\"') FROM generate_series(1,$1)",
                              PgParams().add(static_cast<int64_t>(n)));
  for (int i = res.rows() - 1; i >= 0; --i) seq_pool.push_back(res.int64(i, 0));
}

}  // namespace outpost
