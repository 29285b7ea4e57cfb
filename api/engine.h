// The abstract Engine: everything a database can do, whatever stores it.
// Backends (engine/sqlite, engine/postgres) and the HTTP client implement it;
// the reconciler, the server and the CLI use only this interface.
//
// Errors: every method throws outpost::Error. Batch writes report per-document
// errors in their results instead, and commit the valid documents together.
// Thread-safety: an Engine may be used from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/record.h"
#include "api/scope.h"
#include "api/table.h"
#include "api/tokens.h"

namespace outpost {

// Counters since the engine was opened, for monitoring (GET /metrics).
struct EngineStats {
  uint64_t transaction_retries = 0;  // transactions run again (a write conflict, a deadlock)
  uint64_t database_errors = 0;      // calls that failed in the database (unavailable, internal)
};

// What an engine has moved over a network since it was opened: a remote
// database seen over HTTP counts; local engines do not (Engine::traffic).
struct Traffic {
  uint64_t requests = 0;  // HTTP requests sent, retries included
  // Round trips: the longest chain of requests in which each needed the
  // answer to the one before (api/round_trips.h). Requests sent side by
  // side count once, so this is what a link's latency multiplies.
  uint64_t round_trips = 0;
  uint64_t wire_bytes = 0;   // sent and received on the wire, bodies as sent (compressed)
  uint64_t plain_bytes = 0;  // the same with every body counted uncompressed

  Traffic& operator+=(const Traffic& other);
  Traffic operator-(const Traffic& earlier) const;
};

struct GetOptions {
  Revision revision;       // empty: the winner
  bool conflicts = false;  // fill Record::conflicts
  bool ancestry = false;   // fill Record::ancestry
  // A record out of this scope reads as absent (DESIGN.md section 14).
  std::shared_ptr<const Scope> scope;
};

// What a replication needs to know of a database before it starts
// (Engine::overview).
struct Overview {
  std::string db_id;
  std::vector<Table> tables;
  std::optional<Scope> scope;              // Engine::scope
  std::optional<Scope> token_scope;        // Engine::token_scope
  std::optional<Scope> token_write_scope;  // Engine::token_write_scope
};

// A table's live records (winners not deleted: rows of T) and, of those,
// the ones with conflicts (Engine::table_counts, count_in_scope).
struct TableCounts {
  std::string table;
  int64_t records = 0;
  int64_t conflicts = 0;
  friend bool operator==(const TableCounts&, const TableCounts&) = default;
};

// What a change of scope on one table would do to its live records
// (Engine::scope_change_counts).
struct ScopeChangeCounts {
  int64_t enter = 0;  // match the new clause, not the old one
  int64_t leave = 0;  // match the old clause, not the new one
  int64_t stay = 0;   // match both
  friend bool operator==(const ScopeChangeCounts&, const ScopeChangeCounts&) = default;
};

// What write_replicated_then_save did.
struct WrittenAndSaved {
  std::vector<WriteResult> results;  // as write_replicated's
  bool saved = false;                // the local document was stored
};

class Engine {
 public:
  virtual ~Engine() = default;

  // Identity
  virtual std::string db_id() = 0;
  // db_id, tables, and the scopes in one call: one request over HTTP
  // (GET /v1?tables=true). The default asks each of them.
  virtual Overview overview();
  virtual std::string backend() = 0;     // "sqlite", "postgres", "http"
  virtual std::string update_seq() = 0;  // cursor of the newest change

  // Tables
  virtual std::vector<Table> list_tables() = 0;
  // nullopt when the table does not exist.
  virtual std::optional<Table> get_table(const std::string& name) = 0;
  // Creates `table` or extends the existing definition (merge_tables rules).
  // Returns the definition now stored.
  virtual Table put_table(const Table& table) = 0;

  // Local edits (new_edits = true), committed in one transaction. Each edit
  // yields a result in order; invalid edits are reported and skipped.
  virtual std::vector<WriteResult> write(const std::vector<Edit>& edits) = 0;
  // Replicated revisions (new_edits = false), committed in one transaction.
  virtual std::vector<WriteResult> write_replicated(
      const std::vector<RemoteRevision>& revisions) = 0;

  // The same under a writer's scope (DESIGN.md section 14): a document
  // `scope` does not allow fails with Error(forbidden), whose message is the
  // same whether or not the record exists. The defaults throw
  // Error(internal) (a remote database enforces its own tokens' scopes).
  virtual std::vector<WriteResult> write_within(const std::vector<Edit>& edits,
                                                const WriteScope& scope);
  virtual std::vector<WriteResult> write_replicated_within(
      const std::vector<RemoteRevision>& revisions, const WriteScope& scope);

  // Reads. get() returns nullopt when the record (or the asked revision's
  // body) does not exist; a deleted winner is returned with deleted = true.
  virtual std::optional<Record> get(const std::string& table, const std::string& id,
                                    const GetOptions& options = {}) = 0;
  // Live records (winners not deleted) in id order, after `after`.
  // Under a scope (DESIGN.md section 14), records out of it are left out,
  // everywhere below as well: they read exactly as absent ones.
  virtual RecordPage list_records(const std::string& table, const std::string& after, size_t limit,
                                  const Scope* scope = nullptr) = 0;
  // Records with conflicts; `table` empty means every table.
  virtual ConflictPage list_conflicts(const std::string& table, const std::string& after,
                                      size_t limit, const Scope* scope = nullptr) = 0;

  // Change feed (DESIGN.md section 6).
  virtual ChangesPage changes(const ChangesRequest& request) = 0;

  // Replication support (DESIGN.md section 7).
  virtual std::vector<RevsDiffResult> revs_diff(const std::vector<RevsDiffQuery>& queries,
                                                const Scope* scope = nullptr) = 0;
  virtual std::vector<BulkGetResult> bulk_get(const std::vector<BulkGetQuery>& queries,
                                              const Scope* scope = nullptr) = 0;

  // Scopes and purge (DESIGN.md section 14). The defaults are for engines
  // that cannot do them from here (a remote database seen over HTTP):
  // scope() is nullopt and the others throw Error(internal).
  //
  // The database's own scope: nullopt when it holds every record.
  virtual std::optional<Scope> scope();
  // The read scope the caller's credentials limit it to: through a server,
  // the calling token's scope (GET /v1, re-read at each call); nullopt for
  // a local database and for a token without one. A device syncing with a
  // hub adopts it as its own scope (reconciler/scoping.h).
  virtual std::optional<Scope> token_scope();
  // The same for the caller's write scope (nullopt: no record-level limit
  // on writes, or a local database). A replicator pushing to a server whose
  // token has one sends along the parent's body of a revision that left it
  // (RemoteRevision::parent_attributes), so the server can tell a hand-over.
  virtual std::optional<Scope> token_write_scope();
  // Stores (or clears) the database's scope and creates the indexes it
  // needs. Purges nothing: reconciler/scoping.h narrows a database safely.
  virtual void set_scope(const std::optional<Scope>& scope);
  // Creates the indexes a scope needs to be read cheaply (on T and on the
  // table's tombstones) when they are missing.
  virtual void prepare_scope(const Scope& scope);
  // The columns of `table` that have scope indexes.
  virtual std::vector<std::string> scope_indexes(const std::string& table);
  // Ids of the records of `table`, live or deleted, by `selection`, id >
  // after, in id order.
  virtual IdPage record_ids(const std::string& table, const RecordSelection& selection,
                            const std::string& after, size_t limit);
  // Removes records with their whole history, in one transaction.
  virtual PurgeResult purge(const PurgeRequest& request);
  // The purge log, oldest first, at most `limit` entries after the first `skip`.
  virtual std::vector<PurgeLogEntry> purge_log(size_t skip, size_t limit);

  // Counts for a console (the defaults throw Error(internal): a remote
  // database cannot count from here).
  //
  // Every table's live records and conflicts, in name order. The counts are
  // maintained with every write, in its transaction, so reading them costs
  // the same whatever the tables hold, and a read after a commit reflects it.
  virtual std::vector<TableCounts> table_counts();
  // The live records of `table` that `clause` matches (its table name is not
  // looked at), and their conflicts: counted on each call, in proportion to
  // the records it matches.
  virtual TableCounts count_in_scope(const std::string& table, const ScopeClause& clause);
  // Of the live records of `table`: how many a change of its clause from
  // `from` to `to` lets in, drops, and keeps. A null clause matches nothing
  // (the table outside the scope); a `*` clause matches every record.
  // Counted on each call with one query.
  virtual ScopeChangeCounts scope_change_counts(const std::string& table, const ScopeClause* from,
                                                const ScopeClause* to);
  // Every node of a record's revision tree, by generation then revision;
  // exactly one is the winner. Error(not_found) when the record does not
  // exist, or is out of `scope` (which then reads as absent).
  virtual std::vector<RevisionNode> revision_tree(const std::string& table, const std::string& id,
                                                  const Scope* scope = nullptr);

  // Local (non-replicated) documents: JSON texts stored by id.
  virtual std::optional<std::string> get_local(const std::string& id) = 0;
  virtual void put_local(const std::string& id, const std::string& json) = 0;
  // write_replicated, then put_local(id, json) only if every revision was
  // written: a replicator saves its checkpoint with the batch that reaches
  // it, in one request over HTTP. The document is stored after the
  // revisions committed, never before. The default makes the two calls.
  virtual WrittenAndSaved write_replicated_then_save(const std::vector<RemoteRevision>& revisions,
                                                     const std::string& id,
                                                     const std::string& json);
  // Every local document as (id, body), in id order: a hub lists who
  // synced with it from them (reconciler/checkpoint.h, peer_checkpoints).
  // Error(internal) from engines that cannot (a remote database).
  virtual std::vector<std::pair<std::string, std::string>> list_local();

  // Verifies the stored invariants: every table's current rows are exactly
  // the winners of its revision tree. Returns one line per problem found
  // (empty when the database is sound).
  virtual std::vector<std::string> check() = 0;

  // The database's API tokens; nullptr for engines that do not hold them
  // (a remote database seen over HTTP).
  virtual TokenStore* tokens() { return nullptr; }

  // Zero for engines that do not count (a remote database seen over HTTP).
  virtual EngineStats stats() { return {}; }

  // What this engine has moved over a network so far; nullopt for a local
  // database.
  virtual std::optional<Traffic> traffic() { return std::nullopt; }
};

// Local document ids are 1 to this many bytes.
constexpr size_t kMaxLocalIdBytes = 512;

// Convenience wrappers around write() for a single edit; they throw the
// document's error instead of returning it.
WriteResult put_record(Engine& engine, const std::string& table, const std::string& id,
                       const Revision& parent, const Attributes& attributes);
WriteResult delete_record(Engine& engine, const std::string& table, const std::string& id,
                          const Revision& parent);
WriteResult resolve_record(Engine& engine, const std::string& table, const std::string& id,
                           const Revision& leaf, const Attributes& attributes);

}  // namespace outpost
