// A sync session: everything `outpost sync` does between a local database
// and another one (DESIGN.md sections 7, 11 and 14), as one call that the
// CLI and the C ABI share. Before any run it reads the remote's overview,
// refuses the same database on both sides and a --tables table neither side
// has, and parses --scope against the sides' tables. A device syncing with
// a hub through a token with a scope adopts that scope first; after a
// re-scope it pushes before it pulls. A continuous session waits for an
// unreachable remote, restarts a run the remote broke off from its
// checkpoints, and checks the token's scope on a thread of its own.
//
// Thread-safety: run_sync_session blocks its caller and may call the
// callbacks of SyncSessionOptions (and of its ReplicationOptions) from other
// threads; stop it from any thread through replication.stop.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/engine.h"
#include "api/scope.h"
#include "reconciler/replicator.h"
#include "reconciler/scoping.h"  // PurgeOutcome

namespace outpost {

enum class SyncDirection { both, pull, push };

// A scope the device adopted from its token (DESIGN.md section 14).
struct ScopeAdoption {
  Scope scope;
  PurgeOutcome outcome;
};

struct SyncSessionOptions {
  // tables, batch_size, continuous, stop, progress. `scope` is filled from
  // scope_text (kept as given when scope_text is not set).
  ReplicationOptions replication;
  SyncDirection direction = SyncDirection::both;
  std::optional<std::string> scope_text;         // sync --scope
  std::chrono::milliseconds scope_check{30000};  // --scope-check-ms
  // Names in error messages, e.g. "--db sqlite:x".
  std::string local_name = "the local database";
  std::string remote_name = "the remote";
  // Each scope adopted, as it is (on the calling thread).
  std::function<void(const ScopeAdoption&)> on_adopt;
  // "waiting for the remote: ..." (both modes; one-shot says when it gives
  // up: ReplicationOptions::retry_for), "remote unavailable, reconnecting"
  // (continuous only); on the calling thread.
  std::function<void(const std::string&)> on_notice;
};

struct SyncSessionReport {
  ReplicationReport total;               // every run added up; total.fatal: the error that ended it
  std::string json;                      // the `outpost sync --json` object (last run's report +
                                         // "adopted_scope")
  std::optional<ScopeAdoption> adopted;  // the last scope adopted
  // What both engines moved over the whole session (the overview and the
  // adoption included); nullopt when neither is remote.
  std::optional<Traffic> traffic;
};

// Throws Error for what stops it before any run (same database, a table
// neither side has, an invalid scope, a remote still unreachable after
// replication.retry_for in one-shot mode) and for what fails between two runs of a continuous
// session (adopting a new scope). A run's failure lands in total.fatal. A stop request that ends a
// wait for the remote returns with total.cancelled, except before the first run, where the wait's
// error is thrown.
SyncSessionReport run_sync_session(Engine& local, Engine& remote, SyncSessionOptions options);

// What run_sync_session checks before any run, for callers that stop there
// (`outpost sync --rejected`): the remote's overview (one call, waited for
// in continuous mode), checked against `local` as above, and the scope
// parsed from options.scope_text (without one: options.replication.scope,
// as given). Throws as
// run_sync_session does.
struct SyncSessionStart {
  Overview remote;
  std::shared_ptr<const Scope> scope;
};
SyncSessionStart prepare_sync_session(Engine& local, Engine& remote,
                                      const SyncSessionOptions& options);

// `text` (sync --scope) parsed against the tables of the target when it is
// local, else the source's (both directions: local's first); a scope that
// fails against one side is tried on the other, and the first side's error
// is thrown when it fails on both. Tables are read as prepare_sync_session
// reads the overview (options: replication.continuous and .stop, on_notice).
std::shared_ptr<const Scope> parse_sync_scope(Engine& local, Engine& remote,
                                              const std::string& text,
                                              const SyncSessionOptions& options);

// The "adopted_scope" value of the report: {"scope", "fingerprint",
// "purged", "waiting"}, or null.
std::string adoption_json(const std::optional<ScopeAdoption>& adopted);

}  // namespace outpost
