// Engine wrappers for the replication tests (STYLE.md 13):
//   ForwardingEngine  forwards every Engine method to another Engine;
//   CountingEngine    counts what crosses the interface (calls per method,
//                     documents, queries, ancestry) and keeps the last
//                     requests for inspection;
//   FaultyEngine      injects faults: fails the n-th call, cuts a
//                     write_replicated after k documents, duplicates or
//                     replays batches, tampers with bulk_get bodies;
//   RefusingEngine    refuses chosen documents one by one, as a target that
//                     will not take them or a source that cannot produce
//                     them does, and runs a hook before calls (to change a
//                     database while a replication runs).
// Thread-safety: counters and fault plans are guarded by a mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "api/engine.h"

namespace outpost::test {

class ForwardingEngine : public Engine {
 public:
  explicit ForwardingEngine(Engine& inner) : inner_(inner) {}
  Engine& inner() { return inner_; }

  std::string db_id() override {
    before("db_id");
    return inner_.db_id();
  }
  std::string backend() override {
    before("backend");
    return inner_.backend();
  }
  std::string update_seq() override {
    before("update_seq");
    return inner_.update_seq();
  }
  std::vector<Table> list_tables() override {
    before("list_tables");
    return inner_.list_tables();
  }
  std::optional<Table> get_table(const std::string& name) override {
    before("get_table");
    return inner_.get_table(name);
  }
  Table put_table(const Table& table) override {
    before("put_table");
    return inner_.put_table(table);
  }
  std::vector<WriteResult> write(const std::vector<Edit>& edits) override {
    before("write");
    return inner_.write(edits);
  }
  std::vector<WriteResult> write_replicated(const std::vector<RemoteRevision>& revisions) override {
    before("write_replicated");
    return inner_.write_replicated(revisions);
  }
  std::optional<Record> get(const std::string& table, const std::string& id,
                            const GetOptions& options = {}) override {
    before("get");
    return inner_.get(table, id, options);
  }
  RecordPage list_records(const std::string& table, const std::string& after, size_t limit,
                          const Scope* scope = nullptr) override {
    before("list_records");
    return inner_.list_records(table, after, limit, scope);
  }
  ConflictPage list_conflicts(const std::string& table, const std::string& after, size_t limit,
                              const Scope* scope = nullptr) override {
    before("list_conflicts");
    return inner_.list_conflicts(table, after, limit, scope);
  }
  ChangesPage changes(const ChangesRequest& request) override {
    before("changes");
    return inner_.changes(request);
  }
  std::vector<RevsDiffResult> revs_diff(const std::vector<RevsDiffQuery>& queries,
                                        const Scope* scope = nullptr) override {
    before("revs_diff");
    return inner_.revs_diff(queries, scope);
  }
  std::vector<BulkGetResult> bulk_get(const std::vector<BulkGetQuery>& queries,
                                      const Scope* scope = nullptr) override {
    before("bulk_get");
    return inner_.bulk_get(queries, scope);
  }
  std::optional<std::string> get_local(const std::string& id) override {
    before("get_local");
    return inner_.get_local(id);
  }
  void put_local(const std::string& id, const std::string& json) override {
    before("put_local");
    inner_.put_local(id, json);
  }
  std::vector<std::string> check() override {
    before("check");
    return inner_.check();
  }
  std::vector<std::pair<std::string, std::string>> list_local() override {
    before("list_local");
    return inner_.list_local();
  }
  std::optional<Scope> scope() override {
    before("scope");
    return inner_.scope();
  }
  void set_scope(const std::optional<Scope>& scope) override {
    before("set_scope");
    inner_.set_scope(scope);
  }
  void prepare_scope(const Scope& scope) override {
    before("prepare_scope");
    inner_.prepare_scope(scope);
  }
  IdPage record_ids(const std::string& table, const RecordSelection& selection,
                    const std::string& after, size_t limit) override {
    before("record_ids");
    return inner_.record_ids(table, selection, after, limit);
  }
  PurgeResult purge(const PurgeRequest& request) override {
    before("purge");
    return inner_.purge(request);
  }

 protected:
  // Called before each forwarded call with the method's name.
  virtual void before(const char* /*method*/) {}

 private:
  Engine& inner_;
};

class CountingEngine final : public ForwardingEngine {
 public:
  using ForwardingEngine::ForwardingEngine;

  // Calls of `method` since the last reset().
  uint64_t calls(const std::string& method) const;
  uint64_t total_calls() const;
  void reset();

  // Documents and queries that crossed the interface since the last reset().
  uint64_t replicated_docs() const { return replicated_docs_; }  // write_replicated
  uint64_t bulk_get_queries() const { return bulk_get_queries_; }
  uint64_t revs_diff_queries() const { return revs_diff_queries_; }
  uint64_t bodies_returned() const { return bodies_returned_; }  // by bulk_get
  std::vector<BulkGetQuery> last_bulk_get;                       // the queries
  std::vector<BulkGetResult> last_bulk_get_results;              // what was returned
  std::vector<RemoteRevision> last_write_replicated;             // what was written
  std::vector<RevsDiffResult> last_revs_diff_results;            // what revs_diff answered

  std::vector<WriteResult> write_replicated(const std::vector<RemoteRevision>& revisions) override;
  std::vector<RevsDiffResult> revs_diff(const std::vector<RevsDiffQuery>& queries,
                                        const Scope* scope = nullptr) override;
  std::vector<BulkGetResult> bulk_get(const std::vector<BulkGetQuery>& queries,
                                      const Scope* scope = nullptr) override;

 protected:
  void before(const char* method) override;

 private:
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> calls_;
  uint64_t replicated_docs_ = 0;
  uint64_t bulk_get_queries_ = 0;
  uint64_t revs_diff_queries_ = 0;
  uint64_t bodies_returned_ = 0;
};

class FaultyEngine final : public ForwardingEngine {
 public:
  using ForwardingEngine::ForwardingEngine;

  // The n-th call from now (1 = the next one, counting every method) throws
  // Error(code) instead of reaching the engine. 0 disables.
  void fail_call(uint64_t n, ErrorCode code = ErrorCode::unavailable);
  // The next write_replicated with more than k documents applies the first k
  // (in their own transaction) and then throws Error(unavailable).
  void cut_next_write(size_t k);
  // Disarms every fault (fail_call, cut_next_write, duplicates, replays, tamper).
  void clear_faults();
  // Every write_replicated is sent to the engine twice.
  bool duplicate_writes = false;
  // After each write_replicated, one earlier batch (chosen at random) is
  // sent again, as a reordered duplicate would arrive.
  bool replay_old_batches = false;
  // bulk_get returns this id's body with an attribute changed (a forged
  // revision) when it is asked for it.
  std::string tamper_id;

  // Faults that fired, in all and by kind.
  struct Fired {
    uint64_t failed_calls = 0, cut_writes = 0, duplicated = 0, replayed = 0, tampered = 0;
    uint64_t total() const { return failed_calls + cut_writes + duplicated + replayed + tampered; }
  };
  Fired fired() const;
  uint64_t faults_injected() const { return fired().total(); }
  uint64_t calls() const;

  std::vector<WriteResult> write_replicated(const std::vector<RemoteRevision>& revisions) override;
  std::vector<BulkGetResult> bulk_get(const std::vector<BulkGetQuery>& queries,
                                      const Scope* scope = nullptr) override;

 protected:
  void before(const char* method) override;

 private:
  mutable std::mutex mu_;
  uint64_t calls_ = 0;
  uint64_t fail_at_ = 0;
  ErrorCode fail_code_ = ErrorCode::unavailable;
  std::optional<size_t> cut_after_;
  Fired fired_;
  std::vector<std::vector<RemoteRevision>> sent_;
  std::mt19937_64 rng_{42};
};

// Set the hooks before a run; the replicator calls them from several threads.
class RefusingEngine final : public ForwardingEngine {
 public:
  using ForwardingEngine::ForwardingEngine;

  // write_replicated answers the returned error for a document instead of
  // writing it (the others are written, in one call).
  std::function<std::optional<Error>(const RemoteRevision&)> refuse_write;
  // bulk_get answers the returned error for a query instead of the revision.
  std::function<std::optional<Error>(const BulkGetQuery&)> refuse_read;
  // put_table throws this error.
  std::optional<Error> refuse_put_table;
  // list_tables answers what this makes of the real list (a stale view).
  std::function<std::vector<Table>(std::vector<Table>)> view_tables;
  // Runs before every call with the method's name.
  std::function<void(const std::string&)> on_call;

  // Documents and queries refused so far.
  uint64_t refused() const { return refused_.load(); }

  std::vector<WriteResult> write_replicated(const std::vector<RemoteRevision>& revisions) override;
  std::vector<BulkGetResult> bulk_get(const std::vector<BulkGetQuery>& queries,
                                      const Scope* scope = nullptr) override;
  Table put_table(const Table& table) override;
  std::vector<Table> list_tables() override;

 protected:
  void before(const char* method) override {
    if (on_call) on_call(method);
  }

 private:
  std::atomic<uint64_t> refused_{0};
};

}  // namespace outpost::test
