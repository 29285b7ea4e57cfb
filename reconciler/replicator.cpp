#include "reconciler/replicator.h"

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <deque>
#include <future>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <stop_token>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include "api/refusals.h"
#include "api/round_trips.h"
#include "api/table.h"
#include "reconciler/checkpoint.h"
#include "reconciler/checkpointer.h"
#include "reconciler/feed_guard.h"
#include "reconciler/refusal_book.h"
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
// target, then bulk_get from the source): between local databases, so that
// one chunk's reads overlap the next one's; across a network, a whole page
// (four quarter chunks), so that a page costs one round trip per step.
constexpr size_t kReadsInFlight = 2;
constexpr size_t kReadsInFlightOverANetwork = 4;

// Record ids read per call when a scoped target's holdings are checked.
constexpr size_t kVerifyPage = 1000;

// Pages read with nothing to write after which the checkpoint is saved
// anyway (a long run of echoes or of records the target has).
constexpr size_t kMaxUnsavedPages = 20;

// Work on a thread of its own (in_background): get() waits for its result
// (or rethrows its exception) and takes its causal depth
// (api/round_trips.h). Destroying it waits for the work.
struct Done {};  // the result of work that returns nothing

template <typename T>
class Background {
 public:
  Background() = default;
  explicit Background(std::future<std::pair<T, uint64_t>> future) : future_(std::move(future)) {}
  T get() {
    auto [value, depth] = future_.get();
    join_causal_depth(depth);
    return std::move(value);
  }

 private:
  std::future<std::pair<T, uint64_t>> future_;
};

// Runs `fn` on a thread of its own, from this thread's causal depth.
template <typename Fn>
auto in_background(Fn&& fn) {
  using Result = std::invoke_result_t<Fn&>;
  using T = std::conditional_t<std::is_void_v<Result>, Done, Result>;
  const uint64_t depth = causal_depth();
  return Background<T>(std::async(std::launch::async, [depth, fn = std::forward<Fn>(fn)]() mutable {
    set_causal_depth(depth);
    if constexpr (std::is_void_v<Result>) {
      fn();
      return std::pair<T, uint64_t>(Done{}, causal_depth());
    } else {
      T value = fn();
      return std::pair<T, uint64_t>(std::move(value), causal_depth());
    }
  }));
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

// What `a` and `b` have moved over the network so far; nullopt when
// neither is remote.
std::optional<Traffic> traffic_of(Engine& a, Engine& b) {
  std::optional<Traffic> sum;
  for (Engine* engine : {&a, &b}) {
    std::optional<Traffic> t = engine->traffic();
    if (!t) continue;
    if (!sum) sum.emplace();
    *sum += *t;
  }
  return sum;
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
    return guarded([this] { run_loop(); });
  }

  // After run(): reads the source's feed on from the checkpoint run() left,
  // so that it moves past what was written into the source meanwhile (by
  // the other direction of a sync, whose records are skipped as echoes).
  // Returns this pass's report.
  ReplicationReport settle() {
    {
      std::lock_guard lock(report_mu_);
      ReplicationReport fresh;
      fresh.replication_id = report_.replication_id;
      fresh.source_db_id = report_.source_db_id;
      fresh.target_db_id = report_.target_db_id;
      fresh.start_seq = saved_seq_;
      fresh.last_seq = saved_seq_;
      report_ = std::move(fresh);
    }
    return guarded([this] {
      std::optional<Background<ChangesPage>> none;
      copy_feed(saved_seq_, none);
    });
  }

 private:
  // Runs `body`, turning what stops it into the report; returns a copy of
  // the report.
  template <typename Body>
  ReplicationReport guarded(Body&& body) {
    start_ = std::chrono::steady_clock::now();
    traffic_start_ = traffic_of(source_, target_);
    depth_start_ = causal_depth();
    try {
      body();
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
    std::lock_guard lock(report_mu_);
    return report_;
  }

  bool cancelled() const { return options_.stop.stop_requested(); }

  void finish_times() {
    report_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (traffic_start_) {
      report_.traffic = *traffic_of(source_, target_) - *traffic_start_;
      report_.traffic->round_trips = causal_depth() - depth_start_;
    }
  }

  // When the current outage began: the first failure since the last call
  // that succeeded, whichever call it was (calls run side by side share
  // it, so that a dead peer ends the run retry_for after it went away, not
  // retry_for per call).
  std::chrono::steady_clock::time_point outage_start(std::chrono::steady_clock::time_point now) {
    std::lock_guard lock(outage_mu_);
    if (!outage_since_) outage_since_ = now;
    return *outage_since_;
  }
  void outage_ended() {
    std::lock_guard lock(outage_mu_);
    outage_since_.reset();
  }

  // Runs `fn`, retrying transient failures (unavailable) with backoff: in
  // one-shot mode while the retry budget lasts (ReplicationOptions).
  template <typename Fn>
  auto call(std::string_view what, Fn&& fn) -> decltype(fn()) {
    const bool limited = !options_.continuous;
    Backoff backoff(options_.retry_base, options_.retry_cap,
                    limited ? std::max(1, options_.max_attempts) : INT_MAX);
    for (;;) {
      backoff.next_attempt();
      try {
        if constexpr (std::is_void_v<decltype(fn())>) {
          fn();
          outage_ended();
          return;
        } else {
          auto result = fn();
          outage_ended();
          return result;
        }
      } catch (const Error& e) {
        if (e.code() != ErrorCode::unavailable) throw;
        const auto now = std::chrono::steady_clock::now();
        auto wait = backoff.delay();
        std::optional<std::chrono::milliseconds> remaining;
        if (limited) {
          const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
              outage_start(now) + options_.retry_for - now);
          if (backoff.attempts() >= std::max(1, options_.max_attempts) ||
              left <= std::chrono::milliseconds(0)) {
            throw;
          }
          wait = std::min(wait, left);
          remaining = left - wait;
        }
        if (cancelled()) throw RunCancelled{};
        {
          std::lock_guard lock(report_mu_);
          ++report_.retries;
        }
        log_info(kLog, "transient failure, retrying",
                 {{"call", what}, {"attempt", backoff.attempts()}, {"message", e.message()}});
        if (options_.on_retry) {
          options_.on_retry(
              RetryNotice{std::string(what), backoff.attempts(), e.message(), wait, remaining});
        }
        if (sleep_unless_stopped(options_.stop, wait)) throw RunCancelled{};
      }
    }
  }

  void run_loop() {
    // Calls that do not need each other's answers go to both sides at once:
    // over a slow link, every round trip saved counts. Each side's
    // overview is one request over HTTP.
    auto source_view =
        in_background([&] { return call("overview", [&] { return source_.overview(); }); });
    Overview target_view = call("overview", [&] { return target_.overview(); });
    Overview source = source_view.get();
    report_.target_db_id = target_view.db_id;
    report_.source_db_id = source.db_id;
    if (report_.source_db_id == report_.target_db_id) {
      throw Error(ErrorCode::invalid_value,
                  "the source and the target are the same database (" + report_.source_db_id + ")");
    }
    source_scoped_ = source.scope.has_value();
    target_remote_ = target_.backend() == "http";
    if (target_remote_ || source_.backend() == "http")
      reads_in_flight_ = kReadsInFlightOverANetwork;
    choose_scope(std::move(target_view.scope), source.token_scope);
    target_write_scope_ = std::move(target_view.token_write_scope);
    report_.replication_id = replication_id(report_.source_db_id, report_.target_db_id, tables_,
                                            scope_ ? scope_fingerprint(*scope_) : std::string());
    checkpointer_.emplace(source_, target_, report_.replication_id);

    // The target's copy of the checkpoint first; then, side by side, the
    // source's copy, its list of refused documents, and the feed's first
    // page from the target's copy on, which is used if the source's copy
    // agrees (almost always): over a slow link, one round trip for the three.
    std::optional<Checkpoint> saved =
        call("get_local", [&] { return checkpointer_->load_target(); });
    const std::string guess = saved ? saved->last_seq : std::string();
    auto source_copy = in_background(
        [&] { return call("get_local", [&] { return checkpointer_->load_source(); }); });
    auto refusals = in_background([&] { load_refusals(); });
    Background<ChangesPage> first_page =
        in_background([this, guess] { return read_changes(guess, /*first=*/true); });
    refusals.get();
    if (saved) {
      saved = agreed_checkpoint(*saved, source_copy);
    } else {
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

    gate_.ensure(source.tables, target_view.tables);
    catch_up_skipped_tables();
    // Documents refused before are tried again: after the feed in a
    // one-shot run (a revision superseded by a newer one just written is
    // then found present and dropped), before it in a continuous one (which
    // follows the feed until it is stopped).
    if (options_.continuous) retry_refusals();

    // The page read ahead counts only if it starts where the run does.
    std::optional<Background<ChangesPage>> prefetched;
    if (since == guess) {
      prefetched = std::move(first_page);
    } else {
      try {
        first_page.get();
      } catch (...) {
        // Read from another position: its failure says nothing.
      }
    }

    copy_feed(since, prefetched);
    if (!options_.continuous && !cancelled()) retry_refusals();
    if (!cancelled() && track_listed_ && scope_ && !options_.scope) verify_held();
    if (!cancelled()) sweep_sides();
  }

  // Copies the feed from `since` (its first page read ahead in
  // `prefetched`, if at all): read here, written by a WritePipeline.
  void copy_feed(const std::string& since, std::optional<Background<ChangesPage>>& prefetched) {
    WritePipeline pipeline(
        batch_size_, [this](const std::vector<RemoteRevision>& docs) { write_docs(docs); },
        [this](const WriteJob& end) { page_written(end); }, options_.stop, target_remote_);
    pipeline.start();
    try {
      read_feed(since, pipeline, prefetched);
    } catch (...) {
      // What was read is still written (up to the last whole page, which
      // the checkpoint then covers); the reading half's error is reported.
      pipeline.finish();
      throw;
    }
    pipeline.finish();
  }

  // The scope of this run (DESIGN.md section 14): the target's own scope
  // (`own`), narrowed by the options' scope; the source is asked only for
  // it and given the indexes it needs when it is local. `token`: the
  // source's token's read scope, as its overview showed it.
  void choose_scope(std::optional<Scope> own, const std::optional<Scope>& token) {
    target_scoped_ = own.has_value();
    // Into a scoped local target: what a scoped source sends may be stale
    // (unconfirmed); a source without a scope confirms or removes what the
    // target holds (verify_held).
    track_listed_ = target_scoped_ && !source_scoped_ && !target_remote_;
    track_unconfirmed_ = target_scoped_ && source_scoped_ && !target_remote_;
    if (track_listed_ && source_.backend() == "http" && token && covers(*token, *own)) {
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

  // Whether `token` (a token's read scope) shows every record of `own`.
  static bool covers(const Scope& token, const Scope& own) {
    return scope_fingerprint(intersect_scopes(own, token)) == scope_fingerprint(own);
  }

  // Whether the source, a server seen through a token with a read scope,
  // still shows every record of the target's scope `own` (the token's
  // scope covers it): re-read, so that a re-scope during the run is seen.
  // Such a source answers a record out of the token's scope as absent;
  // with `own` within it, absent there means out of the target's scope too.
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
    return token && covers(*token, own);
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
  // One page of the source's feed from `since` (the run's filter, scope
  // and batch size); `first`: the run's first read (never a long-poll).
  ChangesPage read_changes(const std::string& since, bool first) {
    ChangesRequest request;
    request.since = since;
    request.limit = batch_size_;
    request.tables = tables_;
    request.timeout_ms = options_.continuous && !first ? std::max(1, options_.poll_timeout_ms) : 0;
    request.scope = scope_;
    return call("changes", [&] { return source_.changes(request); });
  }

  // Continuous mode: a long-poll answered empty long before its timeout (a
  // faulty or hostile source, or one shutting down) is not asked again at
  // once, so that such a source cannot make the run spin; the rest of the
  // poll's time is waited out (a stop request ends the wait).
  void wait_out_early_answer(std::chrono::steady_clock::time_point asked_at) {
    const auto poll = std::chrono::milliseconds(std::max(1, options_.poll_timeout_ms));
    const auto took = std::chrono::steady_clock::now() - asked_at;
    if (took >= poll / 2) return;
    sleep_unless_stopped(options_.stop,
                         std::chrono::duration_cast<std::chrono::milliseconds>(poll - took));
  }

  // `prefetched`: the first page, read ahead from `since`.
  void read_feed(std::string since, WritePipeline& pipeline,
                 std::optional<Background<ChangesPage>>& prefetched) {
    bool first = true;
    FeedGuard feed_guard;
    // Pages read whose end is not queued yet, and their feed entries.
    size_t unsaved_pages = 0;
    size_t unsaved_changes = 0;
    while (!cancelled()) {
      ChangesPage page;
      const auto asked_at = std::chrono::steady_clock::now();
      const bool long_poll = !prefetched.has_value();
      try {
        if (prefetched) {
          Background<ChangesPage> ahead = std::move(*prefetched);
          prefetched.reset();
          page = ahead.get();
        } else {
          page = read_changes(since, false);
        }
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
      feed_guard.check(since, page, "the source's change feed");
      gate_.set_cursor(since);
      if (page.results.empty()) {
        // A scoped feed may move on without entries (past changes out of
        // the scope, a bounded read, the end of its first pass): keep that
        // position and read on; the feed has ended when it stops moving.
        if (scope_ && !page.last_seq.empty() && page.last_seq != since) {
          since = page.last_seq;
          ++unsaved_pages;
          const bool last = !page.more && !options_.continuous;
          if (last || unsaved_pages >= kMaxUnsavedPages) {
            pipeline.push(page_end(since, unsaved_changes, unsaved_pages));
          }
          if (last) break;
          continue;
        }
        if (!options_.continuous) break;
        if (long_poll) wait_out_early_answer(asked_at);
        continue;
      }
      std::string next = page.last_seq.empty() ? page.results.back().seq : page.last_seq;
      const size_t listed = page.results.size();
      std::vector<std::pair<std::string, std::string>> removed = take_removed(page.results);
      // The page's last chunk goes with its end, so that a write into a
      // server can carry the checkpoint (WritePipeline, last_write_with_end);
      // into a server, the whole page does: one write, one round trip.
      std::optional<WriteJob> last_chunk;
      read_page(
          page.results,
          [&](std::vector<RemoteRevision> docs) {
            if (last_chunk && target_remote_) {
              std::move(docs.begin(), docs.end(), std::back_inserter(last_chunk->docs));
              return;
            }
            if (last_chunk) pipeline.push(std::move(*last_chunk));
            last_chunk.emplace();
            last_chunk->docs = std::move(docs);
          },
          /*from_feed=*/true);
      const bool wrote = last_chunk.has_value();
      unsaved_changes += listed;
      ++unsaved_pages;
      since = next;
      // Caught up: a one-shot run need not read an empty page to know.
      const bool last = !page.more && !options_.continuous;
      // A page with nothing to write or purge moves the checkpoint only
      // with the next one that has (or at the end): over a slow link, a
      // run of echoes or present records costs no round trip per page.
      if (wrote || !removed.empty() || last || unsaved_pages >= kMaxUnsavedPages) {
        WriteJob end = page_end(since, unsaved_changes, unsaved_pages);
        end.removed = std::move(removed);
        if (last_chunk) end.docs = std::move(last_chunk->docs);
        pipeline.push(std::move(end));
      }
      if (last) break;
    }
    // Stopped, or the feed ended on an empty page, with pages read and
    // their end not queued.
    if (unsaved_pages > 0) pipeline.push(page_end(since, unsaved_changes, unsaved_pages));
  }

  // The job that ends the pages read up to `cursor`; resets the counts of
  // what was read since the last one.
  WriteJob page_end(const std::string& cursor, size_t& changes, size_t& pages) {
    WriteJob end;
    end.checkpoint = cursor;
    end.skipped = gate_.skipped();
    end.changes = std::exchange(changes, 0);
    pages = 0;
    return end;
  }

  // The end of a page is written: save its checkpoint (on the pipeline's
  // writer thread, once every write up to it has finished).
  void page_written(const WriteJob& end) {
    // The page's last documents, with the checkpoint when nothing has to
    // happen between them (a remote target: one round trip for both).
    bool saved = false;
    if (!end.docs.empty()) {
      if (target_remote_ && end.removed.empty() && !track_unconfirmed_) {
        save_refusals();
        Checkpoint checkpoint = next_checkpoint(*end.checkpoint, end.skipped);
        saved = write_docs(end.docs, &checkpoint);
        if (saved) checkpoint_saved(checkpoint);
      } else {
        write_docs(end.docs);
      }
    }
    purge_out_of_scope(end.removed);
    if (track_unconfirmed_) {
      std::vector<std::pair<std::string, std::string>> records;
      {
        std::lock_guard lock(report_mu_);
        records.swap(page_records_);
      }
      call("put_local", [&] { add_unconfirmed(target_, records); });
    }
    if (!saved) save_checkpoint(*end.checkpoint, end.skipped);
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
      FeedGuard feed_guard;
      while (!cancelled()) {
        ChangesRequest request;
        request.since = cursor;
        request.limit = batch_size_;
        request.tables = {table};
        request.scope = scope_;
        ChangesPage page = call("changes", [&] { return source_.changes(request); });
        feed_guard.check(cursor, page, "the source's change feed (table " + table + ")");
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
  // from the source, in chunks of a quarter page, reads_in_flight_ at once,
  // handing each chunk's revisions to `sink` in page order as soon as it and
  // the chunks before it are read.
  // `from_feed`: `changes` is a page of the main feed, whose echoes (the
  // target holds every leaf listed, options' target_holds) are skipped.
  template <typename Sink>
  void read_page(const std::vector<Change>& changes, Sink&& sink, bool from_feed = false) {
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
    uint64_t echoes = 0;
    for (size_t i = 0; i < changes.size(); ++i) {
      const Change& change = changes[i];
      if (latest[key_of(change.table, change.id)] != i) continue;
      std::vector<Revision> leaves = change.leaves;
      if (leaves.empty() && !change.revision.empty()) leaves.push_back(change.revision);
      if (options_.source_holds) options_.source_holds->learn(change.table, change.id, leaves);
      if (!gate_.ready(change.table)) continue;
      if (from_feed && options_.target_holds &&
          options_.target_holds->holds(change.table, change.id, leaves)) {
        echoes += leaves.size();
        continue;
      }
      diff_queries.push_back({change.table, change.id, std::move(leaves)});
    }
    if (echoes > 0) {
      std::lock_guard lock(report_mu_);
      report_.already_present += echoes;
    }
    // Up to reads_in_flight_ chunks are read at once; `sink` gets them in
    // page order, on this thread.
    std::deque<Background<std::vector<RemoteRevision>>> reading;
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
      if (reading.size() == reads_in_flight_) hand_on_oldest();
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
      if (e.code() == ErrorCode::not_found && purged_at_source(q)) continue;
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

  // Whether the revision `q`, listed by the source's feed and now missing
  // there, was purged from it meanwhile (by the other direction of a sync
  // running side by side): a local source with a scope of its own loses a
  // revision only so, and only once a keeper holds it (reconciler/
  // scoping.h), so nothing is lost by not copying it from here.
  bool purged_at_source(const BulkGetQuery& q) {
    if (!source_scoped_ || source_.backend() == "http") return false;
    log_info(kLog, "a revision left the source while it was read (purged: a keeper holds it)",
             {{"table", q.table}, {"id", q.id}, {"revision", q.revision.str()}});
    return true;
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
  // With `checkpoint`, it is saved on the target with the documents when
  // every one is written (Checkpointer::write_then_save_target); returns
  // whether it was.
  bool write_docs(const std::vector<RemoteRevision>& docs, const Checkpoint* checkpoint = nullptr) {
    if (docs.empty()) return false;
    bool saved = false;
    std::vector<WriteResult> results;
    if (checkpoint != nullptr) {
      WrittenAndSaved w = call("write_replicated", [&] {
        return checkpointer_->write_then_save_target(docs, *checkpoint);
      });
      results = std::move(w.results);
      saved = w.saved;
    } else {
      results = call("write_replicated", [&] { return target_.write_replicated(docs); });
    }
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
    return saved;
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
                                              Background<std::optional<Checkpoint>>& reading) {
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
    Checkpoint checkpoint = next_checkpoint(last_seq, skipped);
    call("put_local", [&] { checkpointer_->save_target(checkpoint); });
    checkpoint_saved(checkpoint);
  }

  // The checkpoint at `last_seq`, its history carrying the one saved before.
  Checkpoint next_checkpoint(const std::string& last_seq,
                             const std::map<std::string, std::string>& skipped) {
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
    checkpoint.history = history_;
    if (last_seq != saved_seq_ && !saved_seq_.empty()) {
      checkpoint.history.insert(checkpoint.history.begin(), saved_seq_);
      if (checkpoint.history.size() > kCheckpointHistory) {
        checkpoint.history.resize(kCheckpointHistory);
      }
    }
    return checkpoint;
  }

  // The target's copy of `checkpoint` is saved: the source's follows.
  void checkpoint_saved(const Checkpoint& checkpoint) {
    saved_seq_ = checkpoint.last_seq;
    history_ = checkpoint.history;
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
    if (traffic_start_)
      p.bytes = traffic_of(source_, target_)->wire_bytes - traffic_start_->wire_bytes;
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
  // The target is a server: a page's last write carries its checkpoint.
  bool target_remote_ = false;
  size_t reads_in_flight_ = kReadsInFlight;  // chunks of a page read at once
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
  // The first failure since a call last succeeded (outage_start()).
  std::mutex outage_mu_;
  std::optional<std::chrono::steady_clock::time_point> outage_since_;

  std::chrono::steady_clock::time_point start_;
  std::optional<Traffic> traffic_start_;
  uint64_t depth_start_ = 0;  // this thread's causal depth when the run began
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
  if (other.traffic) {
    if (!traffic) traffic.emplace();
    *traffic += *other.traffic;
  }
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
  // Side by side, the run took as long as the longer direction.
  if (concurrent) total.seconds = std::max(a_to_b.seconds, b_to_a.seconds);
  // Measured over the whole sync: round trips side by side overlap.
  if (traffic) total.traffic = traffic;
  return total;
}

namespace {

// Serializes the progress callback of the two directions of a sync.
ReplicationOptions serialized_progress(const ReplicationOptions& options, std::mutex& mu) {
  ReplicationOptions each = options;
  if (options.progress) {
    each.progress = [&options, &mu](const ReplicationProgress& p) {
      std::lock_guard lock(mu);
      options.progress(p);
    };
  }
  return each;
}

// The options of the two directions a→b and b→a of a sync: each learns
// what its source holds and skips what its target holds.
std::pair<ReplicationOptions, ReplicationOptions> directions(const ReplicationOptions& each) {
  auto a_holds = std::make_shared<EchoLedger>();
  auto b_holds = std::make_shared<EchoLedger>();
  ReplicationOptions ab = each;
  ab.source_holds = a_holds;
  ab.target_holds = b_holds;
  ReplicationOptions ba = each;
  ba.source_holds = b_holds;
  ba.target_holds = a_holds;
  return {std::move(ab), std::move(ba)};
}

// Adds a settling pass to `run` (its errors listed once).
void add_settled(ReplicationReport& run, ReplicationReport settle) {
  const std::string start = run.start_seq;
  auto key = [](const ReplicationError& e) {
    return key_of(e.table, e.id) + '\0' + e.revision + '\0' + std::string(error_code_name(e.code));
  };
  std::set<std::string> seen;
  for (const ReplicationError& e : run.errors) seen.insert(key(e));
  std::erase_if(settle.errors, [&](const ReplicationError& e) { return seen.count(key(e)) != 0; });
  const uint64_t refused = settle.refused;
  settle.traffic.reset();  // the sync measures its traffic as a whole
  run.add(settle);
  run.start_seq = start;
  run.refused = refused;  // the same list, counted after the last pass
}

// Whether `db` is a local database with a scope: a run into it or out of it
// purges records while it runs, so the two directions of a sync must not
// run side by side (one would read what the other purges).
// A database that cannot tell is taken as one (its runs report the error).
bool purges_during_runs(Engine& db) {
  if (db.traffic()) return false;
  try {
    return db.scope().has_value();
  } catch (const Error&) {
    return true;
  }
}

// One-shot sync in turn: a→b, b→a, and a→b once more when b→a wrote
// anything (that pass moves the checkpoint past what a just received, so
// that the next idle sync reads one empty page per direction).
SyncReport sync_in_turn(Engine& a, Engine& b, const ReplicationOptions& options) {
  SyncReport report;
  report.a_to_b = replicate(a, b, options);
  if (report.a_to_b.fatal || report.a_to_b.cancelled) return report;
  report.b_to_a = replicate(b, a, options);
  if (report.b_to_a.revisions_written > 0 && !report.b_to_a.fatal && !report.b_to_a.cancelled) {
    add_settled(report.a_to_b, replicate(a, b, options));
  }
  return report;
}

// One-shot sync: both directions side by side; then each direction whose
// source is local and received revisions from the other reads on past
// them (Replicator::settle).
SyncReport sync_once(Engine& a, Engine& b, const ReplicationOptions& options) {
  const std::optional<Traffic> traffic_start = traffic_of(a, b);
  // Side by side only across a network link (one side local, the other
  // remote): there the round trips are what counts. Between two local
  // databases, or two servers, and into a scoped local one, in turn.
  const bool across_a_link = a.traffic().has_value() != b.traffic().has_value();
  if (!across_a_link || purges_during_runs(a) || purges_during_runs(b)) {
    const uint64_t depth_start = causal_depth();
    SyncReport report = sync_in_turn(a, b, options);
    if (traffic_start) {
      report.traffic = *traffic_of(a, b) - *traffic_start;
      report.traffic->round_trips = causal_depth() - depth_start;
    }
    return report;
  }
  SyncReport report;
  report.concurrent = true;
  const uint64_t depth_start = causal_depth();
  std::mutex progress_mu;
  auto [ab, ba] = directions(serialized_progress(options, progress_mu));
  Replicator push(a, b, ab);
  Replicator pull(b, a, ba);
  uint64_t pull_depth = 0;
  std::thread other([&] {
    set_causal_depth(depth_start);
    report.b_to_a = pull.run();
    pull_depth = causal_depth();
  });
  report.a_to_b = push.run();
  other.join();
  join_causal_depth(pull_depth);
  auto settles = [](const ReplicationReport& run, const ReplicationReport& into_source,
                    Engine& source) {
    return !run.fatal && !run.cancelled && !into_source.fatal &&
           into_source.revisions_written > 0 && !source.traffic();
  };
  const bool settle_push = settles(report.a_to_b, report.b_to_a, a);
  const bool settle_pull = settles(report.b_to_a, report.a_to_b, b);
  if (settle_push) add_settled(report.a_to_b, push.settle());
  if (settle_pull) add_settled(report.b_to_a, pull.settle());
  if (traffic_start) {
    report.traffic = *traffic_of(a, b) - *traffic_start;
    report.traffic->round_trips = causal_depth() - depth_start;
  }
  return report;
}

// Continuous sync: each direction follows its source's feed on its own
// thread until the caller stops the run or one direction stops for good;
// progress callbacks are serialized.
SyncReport sync_continuous(Engine& a, Engine& b, const ReplicationOptions& options) {
  SyncReport report;
  report.concurrent = true;
  const std::optional<Traffic> traffic_start = traffic_of(a, b);
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
  ReplicationOptions each = serialized_progress(options, progress_mu);
  each.stop = stop.get_token();
  // No echo skipping where purges run (purges_during_runs): a record's
  // leaves learned from a feed may be purged and come back differently.
  auto [ab, ba] = purges_during_runs(a) || purges_during_runs(b) ? std::make_pair(each, each)
                                                                 : directions(each);
  const uint64_t depth_start = causal_depth();
  uint64_t depths[2] = {0, 0};
  std::thread push([&] {
    set_causal_depth(depth_start);
    report.a_to_b = replicate(a, b, ab);
    depths[0] = causal_depth();
    finish();
  });
  std::thread pull([&] {
    set_causal_depth(depth_start);
    report.b_to_a = replicate(b, a, ba);
    depths[1] = causal_depth();
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
  join_causal_depth(std::max(depths[0], depths[1]));
  if (traffic_start) {
    report.traffic = *traffic_of(a, b) - *traffic_start;
    report.traffic->round_trips = causal_depth() - depth_start;
  }
  return report;
}

}  // namespace

SyncReport sync(Engine& a, Engine& b, const ReplicationOptions& options) {
  return options.continuous ? sync_continuous(a, b, options) : sync_once(a, b, options);
}

}  // namespace outpost
