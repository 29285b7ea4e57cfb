#include "reconciler/replicator.h"

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <stop_token>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "api/table.h"
#include "reconciler/checkpoint.h"
#include "reconciler/checkpointer.h"
#include "reconciler/refusal_book.h"
#include "reconciler/refusals.h"
#include "reconciler/scoping.h"
#include "reconciler/stop.h"
#include "reconciler/table_gate.h"
#include "reconciler/write_pipeline.h"
#include "utils/backoff.h"
#include "utils/log.h"
#include "utils/time.h"

namespace outpost {

namespace {

constexpr std::string_view kLog = "replicate";

// Chunks of one page read from the two sides at once (revs_diff from the
// target, then bulk_get from the source). Over a slow link the round trips
// of one chunk then overlap those of the next.
constexpr size_t kReadsInFlight = 2;

// Record ids read per call when a scoped target's holdings are checked.
constexpr size_t kVerifyPage = 1000;

// Runs `fn` on a thread of its own; its result (or exception) is the
// future's. Destroying the future waits for it.
template <typename Fn>
auto in_background(Fn&& fn) {
  return std::async(std::launch::async, std::forward<Fn>(fn));
}

std::string key_of(const std::string& table, const std::string& id) {
  std::string key = table;
  key += '\0';
  key += id;
  return key;
}

// Per-document errors that syncing fixes: the target lacks a table or a
// column that the source has (it was added since the run read the
// definitions). The definition is copied again and the document retried.
bool fixed_by_definitions(ErrorCode code) {
  return code == ErrorCode::unknown_table || code == ErrorCode::unknown_column;
}

// Takes the `removed` entries (DESIGN.md section 14) out of a feed page:
// (table, id) of each.
std::vector<std::pair<std::string, std::string>> take_removed(std::vector<Change>& changes) {
  std::vector<std::pair<std::string, std::string>> removed;
  for (const Change& c : changes) {
    if (c.removed) removed.emplace_back(c.table, c.id);
  }
  std::erase_if(changes, [](const Change& c) { return c.removed; });
  return removed;
}

// One run of one direction.
class Replicator {
 public:
  Replicator(Engine& source, Engine& target, const ReplicationOptions& options)
      : source_(source),
        target_(target),
        options_(options),
        tables_(normalized_tables(options.tables)),
        batch_size_(std::max<size_t>(1, options.batch_size)),
        gate_(
            source, target, tables_,
            [this](std::string_view what, const std::function<void()>& fn) { call(what, fn); },
            [this](ReplicationError error) { add_error(std::move(error)); }) {}

  ReplicationReport run() {
    start_ = std::chrono::steady_clock::now();
    if (options_.bytes_moved) bytes_start_ = options_.bytes_moved();
    try {
      run_loop();
    } catch (const RunCancelled&) {
      report_.cancelled = true;
    } catch (const Error& e) {
      report_.fatal = e;
      log_info(kLog, "replication stopped", {{"error", e.code_name()}, {"message", e.message()}});
    } catch (const std::exception& e) {
      report_.fatal = Error(ErrorCode::internal, e.what());
      log_info(kLog, "replication stopped", {{"error", "internal"}, {"message", e.what()}});
    }
    if (cancelled()) report_.cancelled = true;
    {
      std::lock_guard lock(report_mu_);
      report_.refused = refusals_.size();
    }
    finish_times();
    return std::move(report_);
  }

 private:
  bool cancelled() const { return options_.stop.stop_requested(); }

  void finish_times() {
    report_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (options_.bytes_moved) report_.bytes = options_.bytes_moved() - bytes_start_;
  }

  // Runs `fn`, retrying transient failures (unavailable) with backoff.
  template <typename Fn>
  auto call(std::string_view what, Fn&& fn) -> decltype(fn()) {
    Backoff backoff(options_.retry_base, options_.retry_cap,
                    options_.continuous ? INT_MAX : std::max(1, options_.max_attempts));
    for (;;) {
      backoff.next_attempt();
      try {
        return fn();
      } catch (const Error& e) {
        if (e.code() != ErrorCode::unavailable) throw;
        if (!options_.continuous && backoff.attempts() >= std::max(1, options_.max_attempts)) {
          throw;
        }
        if (cancelled()) throw RunCancelled{};
        {
          std::lock_guard lock(report_mu_);
          ++report_.retries;
        }
        log_info(kLog, "transient failure, retrying",
                 {{"call", what}, {"attempt", backoff.attempts()}, {"message", e.message()}});
        if (sleep_unless_stopped(options_.stop, backoff.delay())) throw RunCancelled{};
      }
    }
  }

  void run_loop() {
    // Calls that do not need each other's answers go to both sides at once:
    // over a slow link, every round trip saved counts.
    auto source_tables =
        in_background([&] { return call("list_tables", [&] { return source_.list_tables(); }); });
    auto target_tables =
        in_background([&] { return call("list_tables", [&] { return target_.list_tables(); }); });
    auto source_id = in_background([&] { return call("db_id", [&] { return source_.db_id(); }); });
    auto source_scope =
        in_background([&] { return call("scope", [&] { return source_.scope(); }); });
    report_.target_db_id = call("db_id", [&] { return target_.db_id(); });
    report_.source_db_id = source_id.get();
    source_scoped_ = source_scope.get().has_value();
    choose_scope();
    // Nullopt at once from a local target.
    target_write_scope_ = call("scope", [&] { return target_.token_write_scope(); });
    report_.replication_id = replication_id(report_.source_db_id, report_.target_db_id, tables_,
                                            scope_ ? scope_fingerprint(*scope_) : std::string());
    checkpointer_.emplace(source_, target_, report_.replication_id);

    // The source's copy of the checkpoint and its list of refused documents
    // are read side by side with the target's copy.
    auto source_copy = in_background(
        [&] { return call("get_local", [&] { return checkpointer_->load_source(); }); });
    auto refusals = in_background([&] { load_refusals(); });
    std::optional<Checkpoint> saved =
        call("get_local", [&] { return checkpointer_->load_target(); });
    refusals.get();
    if (saved) {
      saved = agreed_checkpoint(*saved, source_copy);
    } else {
      // The source's copy alone decides nothing; its call still ends before
      // the next one starts, so that the source sees calls in a fixed order.
      source_copy.get();
    }
    std::string since = saved ? saved->last_seq : std::string();
    if (saved) {
      gate_.resume(saved->skipped);
      saved_seq_ = saved->last_seq;
      history_ = saved->history;
    }
    report_.start_seq = since;
    report_.last_seq = since;
    gate_.set_cursor(since);

    gate_.ensure(source_tables.get(), target_tables.get());
    catch_up_skipped_tables();
    // Documents refused before are tried again: after the feed in a
    // one-shot run (a revision superseded by a newer one just written is
    // then found present and dropped), before it in a continuous one (which
    // follows the feed until it is stopped).
    if (options_.continuous) retry_refusals();

    WritePipeline pipeline(
        batch_size_, [this](const std::vector<RemoteRevision>& docs) { write_docs(docs); },
        [this](const WriteJob& end) { page_written(end); }, options_.stop);
    pipeline.start();
    try {
      read_feed(since, pipeline);
    } catch (...) {
      // What was read is still written (up to the last whole page, which
      // the checkpoint then covers); the reading half's error is reported.
      pipeline.finish();
      throw;
    }
    pipeline.finish();
    if (!options_.continuous && !cancelled()) retry_refusals();
    if (!cancelled() && track_listed_ && scope_ && !options_.scope) verify_held();
    if (!cancelled()) sweep_sides();
  }

  // The scope of this run (DESIGN.md section 14): the target's own scope,
  // narrowed by the options' scope; the source is asked only for it and
  // given the indexes it needs when it is local.
  void choose_scope() {
    std::optional<Scope> own = call("scope", [&] { return target_.scope(); });
    target_scoped_ = own.has_value();
    // Into a scoped local target: what a scoped source sends may be stale
    // (unconfirmed); a source without a scope confirms or removes what the
    // target holds (verify_held).
    track_listed_ = target_scoped_ && !source_scoped_ && target_.backend() != "http";
    track_unconfirmed_ = target_scoped_ && source_scoped_ && target_.backend() != "http";
    if (track_listed_ && source_.backend() == "http" && sees_through_token(*own)) {
      token_view_ = scope_fingerprint(*own);
    }
    if (own && options_.scope) {
      scope_ = std::make_shared<const Scope>(intersect_scopes(*options_.scope, *own));
    } else if (own) {
      scope_ = std::make_shared<const Scope>(std::move(*own));
    } else {
      scope_ = options_.scope;
    }
    if (scope_ && source_.backend() != "http") {
      call("prepare_scope", [&] { source_.prepare_scope(*scope_); });
    }
  }

  // Whether the source, a server seen through a token with a read scope,
  // shows every record of the target's scope `own`: the token's scope
  // covers `own` (the target adopted it, reconciler/scoping.h). Such a
  // source answers a record out of the token's scope as absent; with
  // `own` within it, absent there means out of the target's scope too.
  bool sees_through_token(const Scope& own) {
    std::optional<Scope> token;
    try {
      token = call("token_scope", [&] { return source_.token_scope(); });
    } catch (const Error& e) {
      // A scope the client cannot read proves nothing: no purge on it.
      if (e.code() == ErrorCode::unavailable) throw;
      log_warn(kLog, "cannot read the token's scope; records it hides are kept",
               {{"error", e.code_name()}, {"message", e.message()}});
      return false;
    }
    if (!token) return false;
    return scope_fingerprint(intersect_scopes(own, *token)) == scope_fingerprint(own);
  }

  // A source without a scope says which of the records the target holds
  // are in the scope. Those it does not hold in it left the scope (moved by
  // an edit the target never saw, or copied stale from a scoped peer) and
  // are purged once a keeper has them (reconciler/scoping.h); of those it
  // holds, the revisions the target lacks are copied (a target that judged
  // a record by a partial view of it). Checked: every record after a run
  // from the beginning (a new or changed scope); otherwise the unconfirmed
  // ones and those outside the target's scope by its own view. Records this
  // run listed are confirmed already.
  void verify_held() {
    std::optional<Scope> own = call("scope", [&] { return target_.scope(); });
    if (!own) return;
    // The token's view counts only for the scope it was checked against.
    if (token_view_ && *token_view_ != scope_fingerprint(*own)) token_view_.reset();
    std::optional<std::vector<std::pair<std::string, std::string>>> listed =
        call("get_local", [&] { return unconfirmed(target_); });
    const bool everything =
        !listed || report_.start_seq.empty() || report_.start_seq.starts_with("scan/");
    const bool was_listed = !listed || !listed->empty();
    std::vector<std::pair<std::string, std::string>> candidates;
    if (listed && !everything) candidates = std::move(*listed);
    for (const Table& table : call("list_tables", [&] { return target_.list_tables(); })) {
      const ScopeClause* clause = own->find(table.name);
      RecordSelection selection;
      selection.clause = clause;
      if (clause == nullptr) {
        selection.kind = RecordSelection::Kind::all;
      } else if (everything) {
        selection.kind = RecordSelection::Kind::all;
        selection.clause = nullptr;
      } else if (clause->everything()) {
        continue;
      } else {
        selection.kind = RecordSelection::Kind::not_matching;
      }
      for (std::string after;;) {
        IdPage page = call("record_ids", [&] {
          return target_.record_ids(table.name, selection, after, kVerifyPage);
        });
        for (std::string& id : page.ids) {
          if (clause != nullptr && (everything || selection.kind == RecordSelection::Kind::all) &&
              listed_.contains(key_of(table.name, id))) {
            continue;
          }
          candidates.emplace_back(table.name, std::move(id));
        }
        if (page.next.empty()) break;
        after = page.next;
      }
    }
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    std::vector<std::pair<std::string, std::string>> gone, still_unconfirmed;
    for (size_t at = 0; at < candidates.size(); at += batch_size_) {
      std::vector<RevsDiffQuery> queries;
      for (size_t i = at; i < std::min(candidates.size(), at + batch_size_); ++i) {
        queries.push_back({candidates[i].first, candidates[i].second, {}});
      }
      std::vector<RevsDiffResult> answers =
          call("revs_diff", [&] { return source_.revs_diff(queries, scope_.get()); });
      std::vector<Change> held;
      std::vector<RevsDiffQuery> unseen;
      for (RevsDiffResult& r : answers) {
        if (r.leaves.empty()) {
          unseen.push_back({r.table, r.id, {}});
        } else {
          held.push_back(Change{"", r.table, r.id, Revision(), false, std::move(r.leaves)});
        }
      }
      read_page(held, [&](std::vector<RemoteRevision> docs) { write_docs(docs); });
      std::vector<std::pair<std::string, std::string>> out =
          token_view_ ? absent_through_token(unseen) : out_of_scope_at_source(unseen);
      for (const RevsDiffQuery& q : unseen) {
        // The source lacks it, or is behind the target on it: still unconfirmed.
        if (std::find(out.begin(), out.end(), std::make_pair(q.table, q.id)) == out.end()) {
          still_unconfirmed.emplace_back(q.table, q.id);
        }
      }
      gone.insert(gone.end(), out.begin(), out.end());
    }
    // A token re-scoped while this ran hides what it hid for another
    // reason: nothing is purged on its word; the next run adopts the new
    // scope and checks again.
    if (token_view_ && !gone.empty() && !sees_through_token(*own)) {
      log_warn(kLog, "the token's scope changed during the run; records it hides are kept",
               {{"records", gone.size()}});
      still_unconfirmed.insert(still_unconfirmed.end(), gone.begin(), gone.end());
      gone.clear();
    }
    size_t purged = 0;
    std::vector<std::pair<std::string, std::string>> left = call("purge", [&] {
      return purge_if_kept(target_, gone,
                           (token_view_ ? "not in the token's scope at database "
                                        : "not in the scope at database ") +
                               report_.source_db_id,
                           purged);
    });
    left.insert(left.end(), still_unconfirmed.begin(), still_unconfirmed.end());
    if (!left.empty() || was_listed) {
      call("put_local", [&] { set_unconfirmed(target_, left); });
    }
    std::lock_guard lock(report_mu_);
    report_.purged += purged;
  }

  // Of `records` (the source does not show them in the scope), those out of
  // the scope at a source seen through a token whose scope covers the
  // target's (token_view_): all of them. The source hides what its token
  // may not read, so it cannot show whether it holds them; but whatever it
  // hides is out of the target's scope, and what it lacks (never pushed, or
  // refused) no keeper has acknowledged, so purge_if_kept keeps it.
  static std::vector<std::pair<std::string, std::string>> absent_through_token(
      const std::vector<RevsDiffQuery>& records) {
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(records.size());
    for (const RevsDiffQuery& q : records) out.emplace_back(q.table, q.id);
    return out;
  }

  // Of `records` (the source does not hold them in the scope), those the
  // source holds out of it, knowing every leaf the target has: a source
  // that lacks the record, or is behind the target on it, proves nothing
  // (a stick with an old copy), and they stay unconfirmed.
  std::vector<std::pair<std::string, std::string>> out_of_scope_at_source(
      std::vector<RevsDiffQuery> records) {
    std::vector<std::pair<std::string, std::string>> out;
    if (records.empty()) return out;
    std::vector<RevsDiffResult> mine =
        call("revs_diff", [&] { return target_.revs_diff(records); });
    for (size_t i = 0; i < records.size() && i < mine.size(); ++i) {
      records[i].revisions = std::move(mine[i].leaves);
    }
    std::vector<RevsDiffResult> theirs =
        call("revs_diff", [&] { return source_.revs_diff(records); });
    for (const RevsDiffResult& r : theirs) {
      if (!r.leaves.empty() && r.missing.empty()) out.emplace_back(r.table, r.id);
    }
    return out;
  }

  // Purges from the target what the source reported out of the scope.
  // A scoped source's view may be stale: what it reports removed is only
  // checked later, against a source without a scope (verify_held).
  void purge_out_of_scope(const std::vector<std::pair<std::string, std::string>>& removed) {
    if (removed.empty()) return;
    if (track_listed_) {
      // Listed earlier in this run (the feed's first pass), out of the
      // scope since: not confirmed.
      std::lock_guard lock(report_mu_);
      for (const auto& [table, id] : removed) listed_.erase(key_of(table, id));
    }
    // A run narrowed by --scope reports records out of the narrowing, which
    // may be inside the target's own scope: they are only checked later too.
    if (source_scoped_ || options_.scope) {
      if (target_scoped_ && target_.backend() != "http") {
        call("put_local", [&] { add_unconfirmed(target_, removed); });
      }
      return;
    }
    PurgeOutcome outcome = call("purge", [&] {
      return purge_removed(target_, removed,
                           "removed from the scope by database " + report_.source_db_id);
    });
    std::lock_guard lock(report_mu_);
    report_.purged += outcome.purged;
  }

  // After a run: what fell out of a local scoped side's scope, and what
  // waited for a keeper's acknowledgment, is purged now if it may be.
  void sweep_sides() {
    uint64_t waiting = 0;
    // A record a source without a scope reported removed, then listed in
    // the scope again (it came back, perhaps by the target's own pushed
    // edit winning there), is no longer to be purged.
    if (track_listed_ && !listed_.empty()) {
      call("put_local", [&] {
        forget_pending(target_, [&](const std::string& table, const std::string& id) {
          return listed_.contains(key_of(table, id));
        });
      });
    }
    // A record waiting to be purged whose change this run gave a keeper: the
    // report that it left the scope predates that change, which may have
    // brought it back (the next pull reports it again if it did not).
    if (!written_.empty() && !options_.scope && source_.backend() != "http") {
      call("put_local", [&] {
        forget_pending(source_, [&](const std::string& table, const std::string& id) {
          return written_.contains(key_of(table, id));
        });
      });
    }
    for (Engine* side : {&target_, &source_}) {
      if (side->backend() == "http") continue;
      PurgeOutcome outcome =
          call("purge", [&] { return sweep_scope(*side, SweepMode::waiting_only); });
      std::lock_guard lock(report_mu_);
      report_.purged += outcome.purged;
      if (side == &target_) waiting = outcome.waiting.size();
    }
    report_.purge_waiting = waiting;
  }

  // The reading half of the main loop: pages of the feed from `since`, each
  // turned into write jobs for the writing half (`pipeline`).
  void read_feed(std::string since, WritePipeline& pipeline) {
    bool first = true;
    while (!cancelled()) {
      ChangesRequest request;
      request.since = since;
      request.limit = batch_size_;
      request.tables = tables_;
      request.timeout_ms = options_.continuous ? std::max(1, options_.poll_timeout_ms) : 0;
      request.scope = scope_;
      ChangesPage page;
      try {
        page = call("changes", [&] { return source_.changes(request); });
      } catch (const Error& e) {
        // A checkpoint the source no longer understands (a restored or
        // migrated database): start over; revs_diff makes that cheap.
        if (!first || since.empty() || e.code() != ErrorCode::invalid_value) throw;
        log_warn(kLog, "the source refused the saved checkpoint; starting from the beginning",
                 {{"since", since}, {"message", e.message()}});
        since.clear();
        report_.start_seq.clear();
        continue;
      }
      first = false;
      gate_.set_cursor(since);
      if (page.results.empty()) {
        // A scoped feed may move on without entries (past changes out of
        // the scope, a bounded read, the end of its first pass): keep that
        // position and read on; the feed has ended when it stops moving.
        if (scope_ && !page.last_seq.empty() && page.last_seq != since) {
          WriteJob end;
          end.checkpoint = page.last_seq;
          end.skipped = gate_.skipped();
          pipeline.push(std::move(end));
          since = page.last_seq;
          continue;
        }
        if (!options_.continuous) break;
        continue;
      }
      std::string next = page.last_seq.empty() ? page.results.back().seq : page.last_seq;
      const size_t listed = page.results.size();
      std::vector<std::pair<std::string, std::string>> removed = take_removed(page.results);
      read_page(page.results, [&](std::vector<RemoteRevision> docs) {
        WriteJob job;
        job.docs = std::move(docs);
        pipeline.push(std::move(job));
      });
      WriteJob end;
      end.removed = std::move(removed);
      end.checkpoint = next;
      end.skipped = gate_.skipped();
      end.changes = listed;
      pipeline.push(std::move(end));
      since = next;
    }
  }

  // The end of a page is written: save its checkpoint (on the pipeline's
  // writer thread, once every write up to it has finished).
  void page_written(const WriteJob& end) {
    purge_out_of_scope(end.removed);
    if (track_unconfirmed_) {
      std::vector<std::pair<std::string, std::string>> records;
      {
        std::lock_guard lock(report_mu_);
        records.swap(page_records_);
      }
      call("put_local", [&] { add_unconfirmed(target_, records); });
    }
    save_checkpoint(*end.checkpoint, end.skipped);
    {
      std::lock_guard lock(report_mu_);
      report_.changes_read += end.changes;
      ++report_.batches;
      report_.last_seq = *end.checkpoint;
    }
    notify_progress();
  }

  // Tables an earlier run skipped (refused by the target) and that the
  // target now accepts: copy their changes from where skipping began, one
  // table at a time, saving progress in the checkpoint as it goes.
  void catch_up_skipped_tables() {
    for (const auto& [table, from] : gate_.to_catch_up()) {
      log_info(kLog, "copying a table skipped before", {{"table", table}, {"since", from}});
      std::string cursor = from;
      while (!cancelled()) {
        ChangesRequest request;
        request.since = cursor;
        request.limit = batch_size_;
        request.tables = {table};
        request.scope = scope_;
        ChangesPage page = call("changes", [&] { return source_.changes(request); });
        if (page.results.empty() && scope_ && !page.last_seq.empty() && page.last_seq != cursor) {
          cursor = page.last_seq;  // a scoped feed moving on without entries
          gate_.caught_up_to(table, cursor);
          save_checkpoint(report_.last_seq, gate_.skipped());
          continue;
        }
        if (page.results.empty()) {
          gate_.caught_up(table);
          save_checkpoint(report_.last_seq, gate_.skipped());
          break;
        }
        cursor = page.last_seq.empty() ? page.results.back().seq : page.last_seq;
        std::vector<std::pair<std::string, std::string>> removed = take_removed(page.results);
        read_page(page.results, [&](std::vector<RemoteRevision> docs) { write_docs(docs); });
        purge_out_of_scope(removed);
        gate_.caught_up_to(table, cursor);
        save_checkpoint(report_.last_seq, gate_.skipped());
        {
          std::lock_guard lock(report_mu_);
          report_.changes_read += page.results.size();
          ++report_.batches;
        }
        notify_progress();
      }
    }
  }

  // Asks the target what it lacks of `changes` (a feed page) and reads that
  // from the source, in chunks of a quarter page, kReadsInFlight at once,
  // handing each chunk's revisions to `sink` in page order as soon as it and
  // the chunks before it are read.
  template <typename Sink>
  void read_page(const std::vector<Change>& changes, Sink&& sink) {
    if (track_listed_ || track_unconfirmed_) {
      std::lock_guard lock(report_mu_);
      for (const Change& c : changes) {
        if (track_listed_) listed_.insert(key_of(c.table, c.id));
        if (track_unconfirmed_) page_records_.emplace_back(c.table, c.id);
      }
    }
    // A feed lists each record once, at its latest position; should a batch
    // hold a record twice anyway, only its latest entry counts (its leaves
    // supersede the earlier ones).
    std::unordered_map<std::string, size_t> latest;
    for (size_t i = 0; i < changes.size(); ++i) {
      latest[key_of(changes[i].table, changes[i].id)] = i;
    }
    std::vector<RevsDiffQuery> diff_queries;
    diff_queries.reserve(changes.size());
    for (size_t i = 0; i < changes.size(); ++i) {
      const Change& change = changes[i];
      if (latest[key_of(change.table, change.id)] != i) continue;
      if (!gate_.ready(change.table)) continue;
      std::vector<Revision> leaves = change.leaves;
      if (leaves.empty() && !change.revision.empty()) leaves.push_back(change.revision);
      diff_queries.push_back({change.table, change.id, std::move(leaves)});
    }
    // Up to kReadsInFlight chunks are read at once; `sink` gets them in
    // page order, on this thread.
    std::deque<std::future<std::vector<RemoteRevision>>> reading;
    auto hand_on_oldest = [&] {
      std::vector<RemoteRevision> docs = reading.front().get();
      reading.pop_front();
      if (!docs.empty()) sink(std::move(docs));
    };
    const size_t chunk = std::max<size_t>(1, batch_size_ / 4);
    for (size_t at = 0; at < diff_queries.size(); at += chunk) {
      const size_t end = std::min(at + chunk, diff_queries.size());
      std::vector<RevsDiffQuery> part(diff_queries.begin() + static_cast<std::ptrdiff_t>(at),
                                      diff_queries.begin() + static_cast<std::ptrdiff_t>(end));
      reading.push_back(
          in_background([this, part = std::move(part)] { return read_missing(part); }));
      if (reading.size() == kReadsInFlight) hand_on_oldest();
    }
    while (!reading.empty()) hand_on_oldest();
  }

  // The revisions of `diff_queries` that the target lacks, read from the source.
  std::vector<RemoteRevision> read_missing(const std::vector<RevsDiffQuery>& diff_queries) {
    std::vector<RevsDiffResult> diffs =
        call("revs_diff", [&] { return target_.revs_diff(diff_queries); });
    std::unordered_map<std::string, const RevsDiffResult*> diff_of;
    for (const RevsDiffResult& d : diffs) diff_of.emplace(key_of(d.table, d.id), &d);

    std::vector<BulkGetQuery> wanted;
    uint64_t present = 0;
    for (const RevsDiffQuery& q : diff_queries) {
      auto it = diff_of.find(key_of(q.table, q.id));
      if (it == diff_of.end()) {
        // The target said nothing about it: ask for every leaf.
        for (const Revision& r : q.revisions) wanted.push_back({q.table, q.id, r, {}});
        continue;
      }
      const RevsDiffResult& d = *it->second;
      size_t missing = 0;
      for (const Revision& r : q.revisions) {
        if (std::find(d.missing.begin(), d.missing.end(), r) == d.missing.end()) continue;
        ++missing;
        wanted.push_back({q.table, q.id, r, d.leaves});
      }
      present += q.revisions.size() - missing;
    }
    {
      std::lock_guard lock(report_mu_);
      report_.already_present += present;
    }
    std::vector<RemoteRevision> docs;
    if (wanted.empty()) return docs;

    std::vector<BulkGetResult> got = call("bulk_get", [&] { return source_.bulk_get(wanted); });
    docs.reserve(got.size());
    for (size_t i = 0; i < got.size(); ++i) {
      if (got[i].revision) {
        docs.push_back(std::move(*got[i].revision));
        with_handed_over_parent(docs.back());
        continue;
      }
      if (i >= wanted.size()) break;
      const BulkGetQuery& q = wanted[i];
      Error e = got[i].error.value_or(Error(ErrorCode::not_found, "the source did not return it"));
      add_refusal(q.table, q.id, q.revision.str(), e, "reading from the source: ");
    }
    if (got.size() < wanted.size()) {
      for (size_t i = got.size(); i < wanted.size(); ++i) {
        add_refusal(wanted[i].table, wanted[i].id, wanted[i].revision.str(),
                    Error(ErrorCode::internal, "the source's answer left it out"),
                    "reading from the source: ");
      }
    }
    return docs;
  }

  // A revision whose body is outside the target token's write scope is
  // allowed there when it builds on one in it (DESIGN.md section 14); when the
  // target may hold only a stub of that parent (a push sends leaf bodies
  // only), the parent's body goes along, so a hand-over made offline
  // arrives. Nothing is added for targets without a write scope.
  void with_handed_over_parent(RemoteRevision& doc) {
    if (!target_write_scope_ || doc.deleted || doc.parent_attributes || doc.ancestry.empty()) {
      return;
    }
    auto covers = [&](const Attributes& body) {
      const ScopeClause* clause = target_write_scope_->find(doc.table);
      return clause != nullptr && scope_matches(*clause, doc.id, body);
    };
    if (covers(doc.attributes)) return;
    GetOptions parent;
    parent.revision = doc.ancestry.front();
    std::optional<Record> held =
        call("get", [&] { return source_.get(doc.table, doc.id, parent); });
    // Sent whether or not the parent is in the current write scope: the
    // server also honours the token's earlier ones for a while.
    if (held && !held->deleted) doc.parent_attributes = std::move(held->attributes);
  }

  // Writes `docs` to the target and accounts for every one of them: written,
  // or recorded as refused (add_refusal). A document refused for a missing
  // table or column is retried once after the definitions are copied again.
  void write_docs(const std::vector<RemoteRevision>& docs) {
    if (docs.empty()) return;
    std::vector<WriteResult> results =
        call("write_replicated", [&] { return target_.write_replicated(docs); });
    if (results.size() != docs.size()) {
      throw Error(ErrorCode::internal, "the target answered " + std::to_string(results.size()) +
                                           " results for " + std::to_string(docs.size()) +
                                           " documents");
    }
    retry_with_definitions(docs, results);
    for (size_t i = 0; i < results.size(); ++i) {
      const WriteResult& r = results[i];
      if (r.ok()) {
        std::lock_guard lock(report_mu_);
        ++report_.revisions_written;
        if (!target_scoped_) written_.insert(key_of(docs[i].table, docs[i].id));
        continue;
      }
      add_refusal(docs[i].table, docs[i].id, docs[i].revision.str(), *r.error, "");
    }
  }

  // Writes again the documents of `docs` that failed for a table or column
  // the target lacks, once the source's definitions of their tables are
  // copied again; their new outcomes replace those in `results`.
  void retry_with_definitions(const std::vector<RemoteRevision>& docs,
                              std::vector<WriteResult>& results) {
    std::vector<size_t> again;
    std::set<std::string> tables;
    for (size_t i = 0; i < results.size(); ++i) {
      if (results[i].ok() || !fixed_by_definitions(results[i].error->code())) continue;
      again.push_back(i);
      tables.insert(docs[i].table);
    }
    if (again.empty()) return;
    std::map<std::string, std::string> not_copied;  // table → why
    for (const std::string& table : tables) {
      try {
        copy_definition(table);
      } catch (const Error& e) {
        if (e.code() == ErrorCode::unavailable) throw;
        not_copied[table] = e.message();
      }
    }
    std::vector<RemoteRevision> retried;
    retried.reserve(again.size());
    for (size_t i : again) retried.push_back(docs[i]);
    std::vector<WriteResult> second =
        call("write_replicated", [&] { return target_.write_replicated(retried); });
    if (second.size() != retried.size()) {
      throw Error(ErrorCode::internal, "the target answered " + std::to_string(second.size()) +
                                           " results for " + std::to_string(retried.size()) +
                                           " documents");
    }
    for (size_t k = 0; k < again.size(); ++k) {
      WriteResult& r = results[again[k]];
      r = std::move(second[k]);
      auto why = not_copied.find(docs[again[k]].table);
      if (!r.ok() && why != not_copied.end()) {
        r.error = Error(
            r.error->code(),
            r.error->message() + " (copying the table's definition failed: " + why->second + ")");
      }
    }
  }

  // Copies the source's current definition of `table` to the target (the
  // target's becomes a superset). Throws the engines' errors.
  void copy_definition(const std::string& table) {
    std::optional<Table> definition = call("get_table", [&] { return source_.get_table(table); });
    if (!definition) {
      throw Error(ErrorCode::unknown_table, "the source has no table " + table);
    }
    call("put_table", [&] { return target_.put_table(*definition); });
    log_info(kLog, "copied a table's definition again", {{"table", table}});
  }

  // Records that the target refused (or the source could not produce) one
  // revision: in the run's errors, and in the refusals that are saved on
  // the source before the checkpoint moves past it.
  void add_refusal(const std::string& table, const std::string& id, const std::string& revision,
                   const Error& error, std::string_view context) {
    Refusal refusal{table,
                    id,
                    revision,
                    error.code(),
                    std::string(context) + error.message(),
                    format_timestamp(now_micros())};
    log_warn(kLog, "document not written",
             {{"table", table},
              {"id", id},
              {"revision", revision},
              {"error", error.code_name()},
              {"message", refusal.message}});
    add_error({table, id, revision, error.code(), refusal.message});
    refusals_.add(std::move(refusal));
  }

  // Reads the source's list of documents refused by earlier runs.
  void load_refusals() {
    std::optional<std::string> text = call(
        "get_local", [&] { return source_.get_local(refusals_local_id(report_.replication_id)); });
    std::optional<std::vector<Refusal>> list;
    if (text) {
      list = refusals_from_json(*text);
      if (!list) {
        throw Error(ErrorCode::internal,
                    "the source's list of refused documents does not decode (local document " +
                        refusals_local_id(report_.replication_id) + ")");
      }
    }
    if (list) refusals_.load(std::move(*list));
  }

  // Saves the list of refused documents on the source when it changed
  // (RefusalBook::to_save): before every checkpoint, and after the retry
  // pass (`before_checkpoint` false: whatever its size).
  void save_refusals(bool before_checkpoint = true) {
    std::optional<std::string> json = refusals_.to_save(before_checkpoint);
    if (!json) return;
    try {
      call("put_local",
           [&] { source_.put_local(refusals_local_id(report_.replication_id), *json); });
    } catch (...) {
      refusals_.save_failed();
      throw;
    }
  }

  // Tries again every document refused by an earlier run (the target may
  // accept it now) that this run has not tried yet. Those the target has
  // are dropped from the list; the others are recorded again with their
  // new error.
  void retry_refusals() {
    std::map<std::string, std::vector<Revision>> by_record;  // key_of(table, id) → revisions
    std::vector<Change> changes;
    for (const Refusal& r :
         refusals_.take_untried([&](const std::string& table) { return gate_.is_ready(table); })) {
      auto [at, first] = by_record.try_emplace(key_of(r.table, r.id));
      if (first) changes.push_back(Change{"", r.table, r.id, Revision(), false, {}});
      at->second.push_back(Revision::parse(r.revision));
    }
    if (changes.empty()) return;
    for (Change& c : changes) {
      c.leaves = by_record[key_of(c.table, c.id)];
      c.revision = c.leaves.front();
    }
    log_info(kLog, "retrying documents refused before", {{"records", changes.size()}});
    read_page(changes, [&](std::vector<RemoteRevision> docs) { write_docs(docs); });
    save_refusals(/*before_checkpoint=*/false);
  }

  // The checkpoint to resume from, given the target's copy: see
  // resume_point. A source restored from a backup hands out its old cursors
  // again for new edits, so resuming from the target's newer checkpoint
  // would skip them; its own copy, restored with it, tells. So does a copy
  // whose save was lost when the run was cut between the two saves. A
  // source without a copy cannot show that its cursors still name the same
  // changes: the run starts from the beginning.
  // `reading`: the source's copy, being read.
  std::optional<Checkpoint> agreed_checkpoint(const Checkpoint& target_copy,
                                              std::future<std::optional<Checkpoint>>& reading) {
    std::optional<Checkpoint> source_copy = reading.get();
    std::optional<Checkpoint> agreed = resume_point(target_copy, source_copy);
    if (!source_copy) {
      log_warn(kLog,
               "the source has no copy of the checkpoint the target holds (it was restored from "
               "a backup taken before its first sync, or the first save was cut short); "
               "starting from the beginning",
               {{"target", target_copy.last_seq}});
    } else if (!agreed) {
      log_warn(kLog,
               "the source's copy of the checkpoint and the target's share no position (the "
               "source was restored from an old backup); starting from the beginning",
               {{"source", source_copy->last_seq}, {"target", target_copy.last_seq}});
    } else if (agreed->last_seq != target_copy.last_seq) {
      log_info(kLog,
               "the source's copy of the checkpoint is behind the target's (its last save was "
               "lost, or the source was restored from a backup); resuming from the source's",
               {{"source", source_copy->last_seq}, {"target", target_copy.last_seq}});
    } else if (source_copy && source_copy->last_seq != target_copy.last_seq) {
      log_info(kLog,
               "the target's copy of the checkpoint is behind the source's (the target was "
               "restored from a backup); resuming from the target's",
               {{"source", source_copy->last_seq}, {"target", target_copy.last_seq}});
    }
    return agreed;
  }

  void save_checkpoint(const std::string& last_seq,
                       const std::map<std::string, std::string>& skipped) {
    save_refusals();
    Checkpoint checkpoint;
    checkpoint.last_seq = last_seq;
    checkpoint.updated_at = format_timestamp(now_micros());
    checkpoint.source_db_id = report_.source_db_id;
    checkpoint.target_db_id = report_.target_db_id;
    checkpoint.tables = tables_;
    checkpoint.skipped = skipped;
    checkpoint.scope = options_.scope ? scope_text(*options_.scope) : std::string();
    checkpoint.target_scoped = target_scoped_;
    if (scope_) checkpoint.copied_scope_fingerprint = scope_fingerprint(*scope_);
    if (last_seq != saved_seq_ && !saved_seq_.empty()) {
      history_.insert(history_.begin(), saved_seq_);
      if (history_.size() > kCheckpointHistory) history_.resize(kCheckpointHistory);
    }
    saved_seq_ = last_seq;
    checkpoint.history = history_;
    call("put_local", [&] { checkpointer_->save_target(checkpoint); });
    // The source's copy is what lets the next run trust the checkpoint
    // (resume_point). A source that refuses it does not stop this run, but
    // the next one starts from the beginning, which the log says.
    if (!source_checkpoint_refused_) {
      try {
        call("put_local", [&] { checkpointer_->save_source(checkpoint); });
      } catch (const Error& e) {
        if (e.code() == ErrorCode::unavailable) throw;
        source_checkpoint_refused_ = true;
        log_warn(kLog,
                 "the source refused its copy of the checkpoint: the next run cannot trust the "
                 "checkpoint and starts from the beginning",
                 {{"error", e.code_name()}, {"message", e.message()}});
      }
    }
  }

  void add_error(ReplicationError error) {
    std::lock_guard lock(report_mu_);
    report_.errors.push_back(std::move(error));
  }

  void notify_progress() {
    if (!options_.progress) return;
    ReplicationProgress p;
    std::unique_lock lock(report_mu_);
    p.source_db_id = report_.source_db_id;
    p.target_db_id = report_.target_db_id;
    p.changes_read = report_.changes_read;
    p.revisions_written = report_.revisions_written;
    p.already_present = report_.already_present;
    p.errors = report_.errors.size();
    if (options_.bytes_moved) p.bytes = options_.bytes_moved() - bytes_start_;
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    p.last_seq = report_.last_seq;
    lock.unlock();
    options_.progress(p);
  }

  Engine& source_;
  Engine& target_;
  const ReplicationOptions& options_;
  const std::vector<std::string> tables_;
  const size_t batch_size_;
  TableGate gate_;
  std::optional<Checkpointer> checkpointer_;
  // Documents refused by the target, as saved on the source: loaded at the
  // start, changed by the writes.
  RefusalBook refusals_;
  bool source_checkpoint_refused_ = false;
  std::shared_ptr<const Scope> scope_;  // this run's (choose_scope); null: every record
  bool target_scoped_ = false;
  // The write scope of the target's token, when the target is a server
  // whose token has one (with_handed_over_parent).
  std::optional<Scope> target_write_scope_;
  bool source_scoped_ = false;
  bool track_listed_ = false;  // verify_held runs at the end
  // The fingerprint of the target's scope when the source, seen through a
  // token whose scope covers it, shows all of it (sees_through_token).
  std::optional<std::string> token_view_;
  bool track_unconfirmed_ = false;          // what is written goes on the unconfirmed list
  std::unordered_set<std::string> listed_;  // key_of: records the feed listed this run
  // key_of: records this run wrote a revision of into a target without a
  // scope (a keeper).
  std::unordered_set<std::string> written_;
  std::vector<std::pair<std::string, std::string>> page_records_;
  // The last cursor saved (or resumed from) and the ones saved before it,
  // newest first: the checkpoint's history.
  std::string saved_seq_;
  std::vector<std::string> history_;
  // The run's report. The reading half and the writing half both add to it,
  // under report_mu_, while the writer runs.
  std::mutex report_mu_;
  ReplicationReport report_;

  std::chrono::steady_clock::time_point start_;
  uint64_t bytes_start_ = 0;
};

}  // namespace

void ReplicationReport::add(const ReplicationReport& other) {
  if (replication_id.empty()) {
    replication_id = other.replication_id;
    source_db_id = other.source_db_id;
    target_db_id = other.target_db_id;
    start_seq = other.start_seq;
  }
  if (!other.last_seq.empty()) last_seq = other.last_seq;
  changes_read += other.changes_read;
  revisions_written += other.revisions_written;
  already_present += other.already_present;
  batches += other.batches;
  retries += other.retries;
  if (other.bytes) bytes = bytes.value_or(0) + *other.bytes;
  seconds += other.seconds;
  errors.insert(errors.end(), other.errors.begin(), other.errors.end());
  refused += other.refused;
  purged += other.purged;
  // What waits is a state, not a count of events: the latest run's.
  purge_waiting = other.purge_waiting;
  if (!fatal && other.fatal) fatal = other.fatal;
  cancelled = cancelled || other.cancelled;
}

ReplicationReport replicate(Engine& source, Engine& target, const ReplicationOptions& options) {
  return Replicator(source, target, options).run();
}

ReplicationReport SyncReport::combined() const {
  ReplicationReport total;
  total.add(a_to_b);
  total.add(b_to_a);
  // Side by side (continuous), the run took as long as the longer direction.
  if (concurrent) total.seconds = std::max(a_to_b.seconds, b_to_a.seconds);
  return total;
}

namespace {

// One-shot sync: a→b, b→a, and a→b once more when b→a wrote anything.
SyncReport sync_once(Engine& a, Engine& b, const ReplicationOptions& options) {
  SyncReport report;
  report.a_to_b = replicate(a, b, options);
  if (report.a_to_b.fatal || report.a_to_b.cancelled) return report;
  report.b_to_a = replicate(b, a, options);
  if (report.b_to_a.revisions_written > 0 && !report.b_to_a.fatal && !report.b_to_a.cancelled) {
    ReplicationReport settle = replicate(a, b, options);
    const std::string start = report.a_to_b.start_seq;
    // The settling pass tries the same refused documents again: list each
    // error once.
    auto key = [](const ReplicationError& e) {
      return key_of(e.table, e.id) + '\0' + e.revision + '\0' +
             std::string(error_code_name(e.code));
    };
    std::set<std::string> seen;
    for (const ReplicationError& e : report.a_to_b.errors) seen.insert(key(e));
    std::erase_if(settle.errors,
                  [&](const ReplicationError& e) { return seen.count(key(e)) != 0; });
    report.a_to_b.add(settle);
    report.a_to_b.start_seq = start;
    report.a_to_b.refused = settle.refused;  // the same list, counted after the last run
  }
  return report;
}

// Continuous sync: each direction follows its source's feed on its own
// thread until the caller stops the run or one direction stops for good;
// progress callbacks are serialized.
SyncReport sync_continuous(Engine& a, Engine& b, const ReplicationOptions& options) {
  SyncReport report;
  report.concurrent = true;
  std::stop_source stop;  // stops both directions
  std::mutex finished_mu;
  std::condition_variable_any finished_cv;
  int finished = 0;
  auto finish = [&] {
    {
      std::lock_guard lock(finished_mu);
      ++finished;
    }
    finished_cv.notify_all();
  };
  std::mutex progress_mu;
  ReplicationOptions each = options;
  each.stop = stop.get_token();
  if (options.progress) {
    each.progress = [&](const ReplicationProgress& p) {
      std::lock_guard lock(progress_mu);
      options.progress(p);
    };
  }
  std::thread push([&] {
    report.a_to_b = replicate(a, b, each);
    finish();
  });
  std::thread pull([&] {
    report.b_to_a = replicate(b, a, each);
    finish();
  });
  {
    // Until the caller stops the run or one direction stops for good.
    std::unique_lock lock(finished_mu);
    finished_cv.wait(lock, options.stop, [&] { return finished > 0; });
  }
  stop.request_stop();
  push.join();
  pull.join();
  return report;
}

}  // namespace

SyncReport sync(Engine& a, Engine& b, const ReplicationOptions& options) {
  return options.continuous ? sync_continuous(a, b, options) : sync_once(a, b, options);
}

}  // namespace outpost
