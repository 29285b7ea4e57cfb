#include "reconciler/wrappers.h"

#include "api/error.h"

namespace outpost::test {

// ------------------------------------------------------------ counting --

void CountingEngine::before(const char* method) {
  std::lock_guard lock(mu_);
  ++calls_[method];
}

uint64_t CountingEngine::calls(const std::string& method) const {
  std::lock_guard lock(mu_);
  auto it = calls_.find(method);
  return it == calls_.end() ? 0 : it->second;
}

uint64_t CountingEngine::total_calls() const {
  std::lock_guard lock(mu_);
  uint64_t n = 0;
  for (const auto& [name, count] : calls_) n += count;
  return n;
}

void CountingEngine::reset() {
  std::lock_guard lock(mu_);
  calls_.clear();
  replicated_docs_ = bulk_get_queries_ = revs_diff_queries_ = bodies_returned_ = 0;
  last_bulk_get.clear();
  last_bulk_get_results.clear();
  last_write_replicated.clear();
  last_revs_diff_results.clear();
}

std::vector<WriteResult> CountingEngine::write_replicated(
    const std::vector<RemoteRevision>& revisions) {
  {
    std::lock_guard lock(mu_);
    replicated_docs_ += revisions.size();
    last_write_replicated = revisions;
  }
  return ForwardingEngine::write_replicated(revisions);
}

std::vector<RevsDiffResult> CountingEngine::revs_diff(const std::vector<RevsDiffQuery>& queries,
                                                      const Scope* scope) {
  auto results = ForwardingEngine::revs_diff(queries, scope);
  std::lock_guard lock(mu_);
  revs_diff_queries_ += queries.size();
  last_revs_diff_results = results;
  return results;
}

std::vector<BulkGetResult> CountingEngine::bulk_get(const std::vector<BulkGetQuery>& queries,
                                                    const Scope* scope) {
  auto results = ForwardingEngine::bulk_get(queries, scope);
  std::lock_guard lock(mu_);
  bulk_get_queries_ += queries.size();
  for (const auto& r : results) bodies_returned_ += r.revision ? 1 : 0;
  last_bulk_get = queries;
  last_bulk_get_results = results;
  return results;
}

// -------------------------------------------------------------- faulty --

void FaultyEngine::fail_call(uint64_t n, ErrorCode code) {
  std::lock_guard lock(mu_);
  fail_at_ = n == 0 ? 0 : calls_ + n;
  fail_code_ = code;
}

void FaultyEngine::cut_next_write(size_t k) {
  std::lock_guard lock(mu_);
  cut_after_ = k;
}

void FaultyEngine::clear_faults() {
  std::lock_guard lock(mu_);
  fail_at_ = 0;
  cut_after_.reset();
  duplicate_writes = false;
  replay_old_batches = false;
  tamper_id.clear();
}

FaultyEngine::Fired FaultyEngine::fired() const {
  std::lock_guard lock(mu_);
  return fired_;
}

uint64_t FaultyEngine::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

void FaultyEngine::before(const char* method) {
  std::lock_guard lock(mu_);
  ++calls_;
  if (fail_at_ != 0 && calls_ == fail_at_) {
    fail_at_ = 0;
    ++fired_.failed_calls;
    throw Error(fail_code_, std::string("injected fault in ") + method);
  }
}

std::vector<WriteResult> FaultyEngine::write_replicated(
    const std::vector<RemoteRevision>& revisions) {
  std::optional<size_t> cut;
  {
    std::lock_guard lock(mu_);
    if (cut_after_ && revisions.size() > *cut_after_) {
      cut = cut_after_;
      cut_after_.reset();
      ++fired_.cut_writes;
    }
  }
  if (cut) {
    before("write_replicated");
    std::vector<RemoteRevision> head(revisions.begin(),
                                     revisions.begin() + static_cast<std::ptrdiff_t>(*cut));
    inner().write_replicated(head);
    throw Error(ErrorCode::unavailable,
                "injected fault: connection lost after " + std::to_string(*cut) + " documents");
  }
  std::vector<WriteResult> results = ForwardingEngine::write_replicated(revisions);
  if (duplicate_writes) {
    std::vector<WriteResult> again = inner().write_replicated(revisions);
    std::lock_guard lock(mu_);
    ++fired_.duplicated;
  }
  if (replay_old_batches) {
    std::vector<RemoteRevision> old;
    {
      std::lock_guard lock(mu_);
      if (!sent_.empty()) {
        old = sent_[rng_() % sent_.size()];
        ++fired_.replayed;
      }
      sent_.push_back(revisions);
    }
    if (!old.empty()) inner().write_replicated(old);
  }
  return results;
}

std::vector<BulkGetResult> FaultyEngine::bulk_get(const std::vector<BulkGetQuery>& queries,
                                                  const Scope* scope) {
  std::vector<BulkGetResult> results = ForwardingEngine::bulk_get(queries, scope);
  if (tamper_id.empty()) return results;
  for (auto& r : results) {
    if (r.revision && r.revision->id == tamper_id && !r.revision->deleted) {
      r.revision->attributes.insert_or_assign("name", Value::from_string("forged"));
      std::lock_guard lock(mu_);
      ++fired_.tampered;
    }
  }
  return results;
}

// ------------------------------------------------------------ refusing --

std::vector<WriteResult> RefusingEngine::write_replicated(
    const std::vector<RemoteRevision>& revisions) {
  if (!refuse_write) return ForwardingEngine::write_replicated(revisions);
  std::vector<WriteResult> results(revisions.size());
  std::vector<RemoteRevision> passed;
  std::vector<size_t> at;
  for (size_t i = 0; i < revisions.size(); ++i) {
    if (std::optional<Error> e = refuse_write(revisions[i])) {
      results[i] = WriteResult{revisions[i].table, revisions[i].id, revisions[i].revision, *e};
      ++refused_;
      continue;
    }
    passed.push_back(revisions[i]);
    at.push_back(i);
  }
  if (passed.empty()) {
    before("write_replicated");
    return results;
  }
  std::vector<WriteResult> written = ForwardingEngine::write_replicated(passed);
  for (size_t k = 0; k < written.size() && k < at.size(); ++k) results[at[k]] = written[k];
  return results;
}

std::vector<BulkGetResult> RefusingEngine::bulk_get(const std::vector<BulkGetQuery>& queries,
                                                    const Scope* scope) {
  std::vector<BulkGetResult> results = ForwardingEngine::bulk_get(queries, scope);
  if (!refuse_read) return results;
  for (size_t i = 0; i < queries.size() && i < results.size(); ++i) {
    if (std::optional<Error> e = refuse_read(queries[i])) {
      results[i] = BulkGetResult{std::nullopt, *e};
      ++refused_;
    }
  }
  return results;
}

Table RefusingEngine::put_table(const Table& table) {
  if (refuse_put_table) {
    before("put_table");
    throw *refuse_put_table;
  }
  return ForwardingEngine::put_table(table);
}

std::vector<Table> RefusingEngine::list_tables() {
  std::vector<Table> tables = ForwardingEngine::list_tables();
  return view_tables ? view_tables(std::move(tables)) : tables;
}

}  // namespace outpost::test
