// Replication between any two Engines (DESIGN.md section 7).
//
// replicate(source, target) copies every revision the source has and the
// target lacks: table definitions first (the target's become a superset of
// the source's), then the change feed in batches, each batch going through
// revs_diff → bulk_get (ancestry trimmed at the leaves the target knows) →
// write_replicated → checkpoint (target's copy, then the source's).
// sync(a, b) is both directions.
//
// Guarantees: a rerun after an interruption anywhere resumes from the last
// saved checkpoint; duplicated or replayed batches change nothing (replicated
// writes are idempotent and the winner rule is order-free). Transient errors
// (ErrorCode::unavailable) are retried with capped, jittered backoff; other
// engine errors stop the run and are reported in ReplicationReport::fatal.
//
// Retries: in one-shot mode the replicator retries a failing engine call
// until ReplicationOptions::retry_for (60 s by default) has passed since the
// outage began (the first failure since any call last succeeded), or max_attempts (unlimited by
// default) are spent, waiting with capped, jittered backoff (100 ms doubling, capped at 5 s)
// between attempts, and tells on_retry before each wait; a field link that drops for half a minute
// costs a pause, not the run. An HttpEngine below retries each request a few times of its own
// (HttpClientOptions::max_attempts) before it throws unavailable; `outpost sync` sets that to one
// attempt, so that the replicator's budget alone bounds a run facing a dead or stalling hub: a call
// ends at most retry_for plus two request time limits after it began. A local engine (RecordEngine)
// retries only its transactions' serialization failures, inside one call (record_engine.h). In
// continuous mode the replicator retries without limit until stopped. A table the target refuses
// (schema_conflict, forbidden) stops only that table: its changes are skipped and the checkpoint
// remembers from where, so a later run that can write the table copies it from there.
//
// Nothing is skipped silently: the checkpoint never moves past a document
// that was neither written nor recorded. A document refused for a table or
// column the target lacks is retried once the source's definition is copied
// again (a column added mid-run). A document refused for good (forbidden,
// invalid_revision, too_large, ...) or that the source cannot produce is
// recorded in the source database (api/refusals.h) before the
// checkpoint moves past it, reported in the run's errors, and tried again
// by every later run (after the feed in one-shot mode, so that one
// superseded by a newer revision just written is found present; before it
// in continuous mode) until the target has it; ReplicationReport::refused
// counts those still recorded.
//
// A checkpoint is trusted only when the source's own copy of it shows that
// the cursor still names the same changes (checkpoint.h, resume_point):
// a source restored from a backup taken before its first sync rescans.
//
// Into a scoped local target, a run from a source without a scope of its
// own ends by checking what the target holds against the source
// (docs/replication.md, "Checking what a scoped database holds"). A source
// seen through a token with a read scope that covers the target's own (the
// device adopted it, reconciler/scoping.h) hides what the token may not
// read: a record it does not show is out of the target's scope, and goes to
// the acknowledgment rule (purged only if a keeper has its latest change).
//
// Only api/ is used, so local engines and the HTTP client Engine are
// interchangeable.
//
// Round trips (docs/replication.md, "Round trips"): each side's overview is
// one request (Engine::overview), both at once; the source's copy of the
// checkpoint, its refused documents and the feed's first page (from the
// target's copy) are read side by side; a page's last write into a server
// carries the checkpoint (Engine::write_replicated_then_save); a page that
// says the feed has no more ends a one-shot run; a page with nothing to
// write saves no checkpoint of its own. The report counts round trips by
// cause (api/round_trips.h).
//
// Pipelining: a run reads the feed on the calling thread (changes), then
// each page in chunks of a quarter batch, two chunks at once on threads of
// their own (four, a whole page, when either side is a server), (revs_diff,
// then bulk_get), handed on in page order to the
// writing thread (write_replicated, checkpoints), so that reading the next
// chunks overlaps writing this one. Up to two writes of a page run at
// once (a page lists each record once); chunks that queue up while they run
// are written together, never past the end of a feed page nor beyond half a
// page; into a server, a page goes as one write, with its checkpoint. The
// checkpoint is saved once every write up to a page's end has finished, so
// it only ever covers whole pages. Per-document errors of one page may be
// reported out of page order.
//
// The writing half is a WritePipeline (write_pipeline.h).
//
// Thread-safety: one run uses each engine from several threads at once (two
// chunk reads, two writes, the setup calls; sync in continuous mode runs both
// directions), so the engines must be safe for that (RecordEngine and
// HttpEngine are).
// The progress callback is called after each page from the writing thread,
// never by two threads at once.
#pragma once

#include <chrono>
#include <climits>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "api/engine.h"
#include "api/error.h"
#include "api/scope.h"
#include "reconciler/echo_ledger.h"

namespace outpost {

// What a run has done so far, given to the progress callback after each batch.
struct ReplicationProgress {
  std::string source_db_id;
  std::string target_db_id;
  uint64_t changes_read = 0;
  uint64_t revisions_written = 0;
  uint64_t already_present = 0;
  uint64_t errors = 0;
  std::optional<uint64_t> bytes;  // on the wire, when the engines can tell (HTTP)
  double seconds = 0;
  std::string last_seq;  // the checkpoint just saved

  double rate() const { return seconds > 0 ? static_cast<double>(changes_read) / seconds : 0; }
};

// A transient failure about to be retried (ReplicationOptions::on_retry).
struct RetryNotice {
  std::string call;     // "changes", "bulk_get", ...
  int attempt = 0;      // the attempt that failed, from 1
  std::string message;  // what failed
  std::chrono::milliseconds wait{0};
  // What is left of the call's retry budget after the wait; nullopt in
  // continuous mode (no limit).
  std::optional<std::chrono::milliseconds> remaining;
};

struct ReplicationOptions {
  std::vector<std::string> tables;  // empty: every table
  // Narrows the replication to the records in this scope (sync --scope).
  // Whatever it says, a run copies into a scoped target only what the
  // target's own scope covers (the intersection), asks the source only for
  // that, and purges from the target the records the source reports as
  // removed (reconciler/scoping.h). The scope's fingerprint is part of the
  // replication id. Null: every record.
  std::shared_ptr<const Scope> scope;
  size_t batch_size = 1000;  // changes per batch
  // Continuous: after catching up, keep long-polling the source's feed until
  // `stop` is requested; transient errors are then retried without limit.
  bool continuous = false;
  int poll_timeout_ms = 1000;  // one long-poll; also how soon a stop is noticed while polling
  std::function<void(const ReplicationProgress&)> progress;
  // A stop request (from any thread, or from the progress callback) stops
  // the run after the current call, and at once during a retry's wait; the
  // run then returns with `cancelled` set. Default: never stopped.
  std::stop_token stop;
  // Retry of transient errors (unavailable), per call. One-shot mode: until
  // retry_for has passed since the outage began (the run's first failure
  // since a call last succeeded), and at most max_attempts attempts per
  // call; continuous mode retries until cancelled.
  std::chrono::milliseconds retry_base{100};
  std::chrono::milliseconds retry_cap{5000};
  std::chrono::milliseconds retry_for{60000};
  int max_attempts = INT_MAX;
  // Before each retry's wait (a progress line); may be called from any of
  // the run's threads.
  std::function<void(const RetryNotice&)> on_retry;
  // Set by sync() for its two directions (reconciler/echo_ledger.h): a run
  // records in `source_holds` the leaves the source's feed lists, and skips
  // the records of that feed whose leaves `target_holds` says the target
  // has (they came from it). Null: neither.
  std::shared_ptr<EchoLedger> source_holds;
  std::shared_ptr<const EchoLedger> target_holds;
};

// An error about one document (id set) or one whole table (id empty).
struct ReplicationError {
  std::string table;
  std::string id;
  std::string revision;
  ErrorCode code = ErrorCode::internal;
  std::string message;
};

struct ReplicationReport {
  std::string replication_id;  // of the last direction run
  std::string source_db_id;
  std::string target_db_id;
  std::string start_seq;  // the checkpoint the run started from
  std::string last_seq;   // the checkpoint it ended at
  uint64_t changes_read = 0;
  uint64_t revisions_written = 0;
  uint64_t already_present = 0;  // leaves listed in the feed the target had
  uint64_t batches = 0;
  uint64_t retries = 0;  // transient errors retried
  // Requests, round trips and bytes over the network (Engine::traffic);
  // nullopt when neither engine is remote.
  std::optional<Traffic> traffic;
  double seconds = 0;
  std::vector<ReplicationError> errors;  // per document and per table
  // Documents recorded as refused on the source and not written yet, after
  // the run (this run's and earlier ones'); `outpost sync --rejected`.
  uint64_t refused = 0;
  // Scoped targets: records purged because the source reported them out of
  // the scope, or because they fell out of the target's own scope; and
  // those waiting for a keeper to acknowledge them (reconciler/scoping.h).
  uint64_t purged = 0;
  uint64_t purge_waiting = 0;
  std::optional<Error> fatal;  // what stopped the run early
  bool cancelled = false;

  bool ok() const { return !fatal && errors.empty() && refused == 0; }
  double rate() const { return seconds > 0 ? static_cast<double>(changes_read) / seconds : 0; }
  // Adds `other`'s counts, errors and time (for sync's two directions).
  void add(const ReplicationReport& other);
};

// Copies from `source` to `target`. Never throws for engine errors: they end
// up in the report (`fatal` when the run stopped early).
ReplicationReport replicate(Engine& source, Engine& target, const ReplicationOptions& options);

struct SyncReport {
  ReplicationReport a_to_b;
  ReplicationReport b_to_a;
  bool concurrent = false;  // both directions ran at once
  // Over the whole sync, both directions and what ran after them; nullopt
  // when neither engine is remote.
  std::optional<Traffic> traffic;

  ReplicationReport combined() const;
  bool ok() const { return a_to_b.ok() && b_to_a.ok(); }
};

// Both directions. One-shot, between a local database without a scope and
// a remote one (a device and its hub): both directions at once, on two
// threads, each skipping what the other direction's source is known to
// hold (EchoLedger: nothing is offered back to the database it came from);
// then the direction whose source is local reads its feed on past what the
// other direction wrote into it, so that its checkpoint moves past those
// revisions without offering them back (one round trip to save the
// checkpoint on the server). Otherwise one-shot runs in turn: a→b, b→a,
// then a→b once more if b→a wrote anything (which moves its checkpoint
// past what a just received). Continuous: both directions at once, on two
// threads, until cancelled.
SyncReport sync(Engine& a, Engine& b, const ReplicationOptions& options);

// The report as JSON: {"replication_id", "source", "target", "start_seq",
// "last_seq", "changes_read", "revisions_written", "already_present",
// "batches", "retries", "requests", "round_trips", "bytes" (on the wire),
// "bytes_plain" (bodies uncompressed) (those four null when unknown),
// "seconds", "rate",
// "cancelled", "refused", "purged", "purge_waiting", "errors": [{"table", "id", "revision",
// "error", "message"}], "fatal": {"error", "message"} or null}.
std::string replication_report_to_json(const ReplicationReport& report);
// {"a_to_b": report, "b_to_a": report, "total": combined report}.
std::string sync_report_to_json(const SyncReport& report);

}  // namespace outpost
