// RecordEngine: the one implementation of the Engine rules (validation, the
// revision tree, winners, the change feed and its long-poll) over any Storage
// backend. Backends differ only in their Storage.
// Thread-safety: all methods may be called from several threads at once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>

#include "api/engine.h"
#include "engine/open.h"
#include "engine/storage.h"

namespace outpost {

class RecordEngine final : public Engine, private TokenStore {
 public:
  RecordEngine(std::unique_ptr<Storage> storage, const OpenOptions& options);
  ~RecordEngine() override;

  std::string db_id() override;
  std::string backend() override;
  std::string update_seq() override;

  std::vector<Table> list_tables() override;
  std::optional<Table> get_table(const std::string& name) override;
  Table put_table(const Table& table) override;

  std::vector<WriteResult> write(const std::vector<Edit>& edits) override;
  std::vector<WriteResult> write_replicated(const std::vector<RemoteRevision>& revisions) override;
  std::vector<WriteResult> write_within(const std::vector<Edit>& edits,
                                        const WriteScope& scope) override;
  std::vector<WriteResult> write_replicated_within(const std::vector<RemoteRevision>& revisions,
                                                   const WriteScope& scope) override;

  std::optional<Record> get(const std::string& table, const std::string& id,
                            const GetOptions& options) override;
  RecordPage list_records(const std::string& table, const std::string& after, size_t limit,
                          const Scope* scope = nullptr) override;
  ConflictPage list_conflicts(const std::string& table, const std::string& after, size_t limit,
                              const Scope* scope = nullptr) override;

  ChangesPage changes(const ChangesRequest& request) override;

  std::vector<RevsDiffResult> revs_diff(const std::vector<RevsDiffQuery>& queries,
                                        const Scope* scope = nullptr) override;
  std::vector<BulkGetResult> bulk_get(const std::vector<BulkGetQuery>& queries,
                                      const Scope* scope = nullptr) override;

  // Scopes and purge (record_engine_scope.cpp)
  std::optional<Scope> scope() override;
  void set_scope(const std::optional<Scope>& scope) override;
  void prepare_scope(const Scope& scope) override;
  std::vector<std::string> scope_indexes(const std::string& table) override;
  IdPage record_ids(const std::string& table, const RecordSelection& selection,
                    const std::string& after, size_t limit) override;
  PurgeResult purge(const PurgeRequest& request) override;
  std::vector<PurgeLogEntry> purge_log(size_t skip, size_t limit) override;

  // Counts and revision trees for a console (record_engine_counts.cpp)
  std::vector<TableCounts> table_counts() override;
  TableCounts count_in_scope(const std::string& table, const ScopeClause& clause) override;
  ScopeChangeCounts scope_change_counts(const std::string& table, const ScopeClause* from,
                                        const ScopeClause* to) override;
  std::vector<RevisionNode> revision_tree(const std::string& table, const std::string& id,
                                          const Scope* scope = nullptr) override;

  std::optional<std::string> get_local(const std::string& id) override;
  void put_local(const std::string& id, const std::string& json) override;
  std::vector<std::pair<std::string, std::string>> list_local() override;

  std::vector<std::string> check() override;
  TokenStore* tokens() override { return this; }
  EngineStats stats() override;

  // TokenStore (engine/tokens.cpp)
  std::string create_token(const Token& token) override;
  std::vector<Token> list_tokens() override;
  Token update_token(const std::string& name, const TokenUpdate& update) override;
  bool revoke_token(const std::string& name) override;
  std::optional<Token> authenticate(const std::string& secret) override;

 private:
  using Catalog = std::map<std::string, Table, std::less<>>;
  struct Plan;
  // The first this many ancestors of a replicated revision are looked up
  // one by one; beyond, the record's whole tree is read once.
  static constexpr size_t kNodeByNodeLookups = 16;
  // A deleted record's last body is found within this many deletions above
  // its winning tombstone (a deletion of a deletion is rare).
  static constexpr int kLastBodySteps = 8;

  std::shared_ptr<const Catalog> catalog(Transaction& txn);
  const Table& table_in(const Catalog& catalog, std::string_view name) const;
  Plan plan_edit(Transaction& txn, const Catalog& catalog, const Edit& edit);
  Plan plan_remote(Transaction& txn, const Catalog& catalog, const RemoteRevision& remote);
  void apply(Transaction& txn, const Plan& plan);
  // write() and write_replicated(), each document first checked against
  // `scope` when it is not null.
  std::vector<WriteResult> write_edits(const std::vector<Edit>& edits, const WriteScope* scope);
  std::vector<WriteResult> write_remote(const std::vector<RemoteRevision>& revisions,
                                        const WriteScope* scope);
  // The write rule of DESIGN.md section 14 (record_engine_access.cpp):
  // Error(forbidden) unless the document may be written under `scope`.
  // Locks the record.
  void authorize_edit(Transaction& txn, const Table& table, const Edit& edit,
                      const WriteScope& scope);
  void authorize_remote(Transaction& txn, const Table& table, const RemoteRevision& remote,
                        const WriteScope& scope);
  // Whether `remote` carries its parent's body (parent_attributes) and it
  // is the body of ancestry[0], whose parent is `grandparent`: then the
  // sender held that revision with this body, whatever the receiver holds.
  static bool parent_body_fits(const Table& table, const RemoteRevision& remote,
                               const Revision& grandparent);
  // The body a scope judges `node` by: its own, or for a deletion its
  // nearest non-deleted ancestor's; nullopt when only a stub is held.
  std::optional<Attributes> judged_body(Transaction& txn, const Table& table, const std::string& id,
                                        const Node& node);
  // The body a deleted winner last had (DESIGN.md section 14): its nearest
  // non-deleted ancestor's, nullopt when only a stub of it is held.
  std::optional<Attributes> last_body(Transaction& txn, const Plan& plan, const Node& tombstone);
  // Whether record `id` is in `scope` (record_engine_scope.cpp).
  bool in_scope(Transaction& txn, const Table& table, const Scope* scope, const std::string& id);
  // For bulk_get of a deletion: its parent's body, when the parent is a
  // body the asker does not know.
  std::optional<Attributes> parent_body(Transaction& txn, const Table& table,
                                        const BulkGetQuery& query, const std::vector<Node>& tree,
                                        const Node& node);
  // One read of the feed under a scope, without waiting.
  ChangesPage read_scoped(const ChangesRequest& request);
  // The columns with scope indexes, from _meta.
  std::vector<std::string> indexed_columns(Transaction& txn, const Table& table);
  // check(): the maintained counts against T, one line per table that differs.
  void check_counts(Transaction& txn, const Catalog& catalog, std::vector<std::string>& problems);
  void notify_commit();
  // Runs `body` (which begins and ends its own transaction), again with
  // jittered backoff while it throws RetryableError.
  void run_with_retry(const std::function<void()>& body);
  template <typename Fn>
  auto with_retry(Fn&& body) -> decltype(body()) {
    using Result = decltype(body());
    if constexpr (std::is_void_v<Result>) {
      run_with_retry(body);
    } else {
      std::optional<Result> out;
      run_with_retry([&] { out.emplace(body()); });
      return std::move(*out);
    }
  }

  std::unique_ptr<Storage> storage_;
  OpenOptions options_;

  std::mutex catalog_mu_;
  int64_t catalog_version_ = -1;
  std::shared_ptr<const Catalog> catalog_;

  std::atomic<uint64_t> retries_{0};
  std::atomic<uint64_t> database_errors_{0};

  std::mutex feed_mu_;
  std::condition_variable_any feed_cv_;
  uint64_t commits_ = 0;
};

}  // namespace outpost
