#include "reconciler/sync_session.h"

#include <atomic>
#include <climits>
#include <stop_token>
#include <thread>
#include <utility>
#include <vector>

#include "api/error.h"
#include "api/json_builder.h"
#include "api/table.h"
#include "reconciler/stop.h"
#include "utils/backoff.h"
#include "utils/log.h"

namespace outpost {

namespace {

// Runs `fn`, waiting for an unavailable remote (the hub is down, the
// network is gone) with capped backoff until it answers: without limit in
// continuous mode (until the run is cancelled), for at most
// `options.retry_for` since the first failure in one-shot mode.
template <typename Fn>
auto when_reachable(const ReplicationOptions& options,
                    const std::function<void(const std::string&)>& notice, Fn&& fn)
    -> decltype(fn()) {
  const bool continuous = options.continuous;
  Backoff backoff(std::chrono::milliseconds(200),
                  std::chrono::milliseconds(continuous ? 10000 : 5000), INT_MAX);
  const auto started = std::chrono::steady_clock::now();
  for (;;) {
    backoff.next_attempt();
    try {
      return fn();
    } catch (const Error& e) {
      if (e.code() != ErrorCode::unavailable || options.stop.stop_requested()) throw;
      auto wait = backoff.delay();
      std::string text = "waiting for the remote: " + e.message();
      if (!continuous) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            started + options.retry_for - std::chrono::steady_clock::now());
        if (left <= std::chrono::milliseconds(0)) throw;
        wait = std::min(wait, left);
        text += "; retry " + std::to_string(backoff.attempts()) + ", giving up in " +
                std::to_string((left.count() + 999) / 1000) + " s";
      }
      if (notice) notice(text);
      if (sleep_unless_stopped(options.stop, wait)) throw;
    }
  }
}

// Tokens with scopes (DESIGN.md section 14): a device that syncs with a
// hub through a token with a read scope holds that scope as its own. The
// device is the local database and the hub the server, whichever of local
// and remote each is.
struct TokenSides {
  Engine* device = nullptr;
  Engine* hub = nullptr;
  bool device_is_local = true;  // sync(local, remote) pushes first

  explicit operator bool() const { return device != nullptr; }
};

TokenSides token_sides(Engine& local, Engine& remote) {
  const bool local_http = local.backend() == "http";
  const bool remote_http = remote.backend() == "http";
  if (!local_http && remote_http) return {&local, &remote, true};
  if (local_http && !remote_http) return {&remote, &local, false};
  return {};
}

std::string fingerprint_of(const std::optional<Scope>& scope) {
  return scope ? scope_fingerprint(*scope) : std::string();
}

// Adds "adopted_scope" to a report's JSON object.
std::string with_adoption(std::string json, const std::optional<ScopeAdoption>& adopted) {
  if (json.empty() || json.back() != '}') return json;
  json.pop_back();
  return json + ",\"adopted_scope\":" + adoption_json(adopted) + "}";
}

// What the engines have moved over the network so far; nullopt when
// neither is remote.
std::optional<Traffic> traffic_of(Engine& local, Engine& remote) {
  std::optional<Traffic> sum;
  for (Engine* e : {&local, &remote}) {
    if (std::optional<Traffic> t = e->traffic()) {
      if (!sum) sum.emplace();
      *sum += *t;
    }
  }
  return sum;
}

Backoff reconnect_backoff() {
  return Backoff(std::chrono::milliseconds(500), std::chrono::milliseconds(10000), INT_MAX);
}

}  // namespace

std::string adoption_json(const std::optional<ScopeAdoption>& adopted) {
  JsonBuilder w;
  if (!adopted) {
    w.null();
    return w.str();
  }
  w.start_object();
  w.field("scope", scope_text(adopted->scope));
  w.field("fingerprint", scope_fingerprint(adopted->scope));
  w.field_count("purged", adopted->outcome.purged);
  w.field_count("waiting", adopted->outcome.waiting.size());
  w.end_object();
  return w.str();
}

std::shared_ptr<const Scope> parse_sync_scope(Engine& local, Engine& remote,
                                              const std::string& text,
                                              const SyncSessionOptions& options) {
  std::vector<Engine*> sides{&local, &remote};
  if (options.direction == SyncDirection::push && remote.backend() != "http") {
    std::swap(sides[0], sides[1]);
  }
  std::optional<Error> first;
  for (Engine* side : sides) {
    try {
      const std::vector<Table> tables = when_reachable(options.replication, options.on_notice,
                                                       [&] { return side->list_tables(); });
      return std::make_shared<const Scope>(parse_scope(text, tables));
    } catch (const Error& e) {
      if (e.code() != ErrorCode::invalid_scope) throw;
      if (!first) first = e;
    }
  }
  throw *first;
}

SyncSessionStart prepare_sync_session(Engine& local, Engine& remote,
                                      const SyncSessionOptions& options) {
  SyncSessionStart start;
  const std::string local_id = local.db_id();
  // One request tells the remote's id and its token's scope.
  start.remote =
      when_reachable(options.replication, options.on_notice, [&] { return remote.overview(); });
  if (local_id == start.remote.db_id) {
    throw Error(ErrorCode::invalid_value, options.local_name + " and " + options.remote_name +
                                              " are the same database (db_id " + local_id + ")");
  }
  for (const std::string& t : options.replication.tables) {
    if (!local.get_table(t) && !when_reachable(options.replication, options.on_notice,
                                               [&] { return remote.get_table(t); })) {
      throw Error(ErrorCode::unknown_table, "--tables: neither database has a table '" + t + "'");
    }
  }
  if (options.scope_text) {
    start.scope = parse_sync_scope(local, remote, *options.scope_text, options);
  } else {
    start.scope = options.replication.scope;
  }
  return start;
}

SyncSessionReport run_sync_session(Engine& local, Engine& remote, SyncSessionOptions session) {
  SyncSessionReport out;
  const std::optional<Traffic> traffic_start = traffic_of(local, remote);
  SyncSessionStart start = prepare_sync_session(local, remote, session);
  ReplicationOptions& options = session.replication;
  options.scope = start.scope;
  const bool pull = session.direction == SyncDirection::pull;
  const bool push = session.direction == SyncDirection::push;
  const auto& notice = session.on_notice;

  // The device adopts its token's scope before anything is copied; a
  // continuous sync checks it again every scope_check and follows a
  // re-scope without a restart.
  const TokenSides sides = token_sides(local, remote);
  auto adopt = [&](const std::optional<Scope>& token_scope) {
    PurgeOutcome outcome;
    std::optional<Scope> scope = adopt_scope(*sides.device, *sides.hub, token_scope, &outcome);
    if (!scope) return false;
    out.adopted = ScopeAdoption{std::move(*scope), std::move(outcome)};
    if (session.on_adopt) session.on_adopt(*out.adopted);
    return true;
  };
  bool rescoped = false;
  if (sides) {
    rescoped = when_reachable(options, notice, [&] {
      return adopt(sides.hub == &remote ? start.remote.token_scope : sides.hub->token_scope());
    });
  }

  // One run in the requested directions. After a re-scope, what the hub
  // lacks is pushed before anything is pulled (the pull then purges what
  // left the scope, which only a push can let go): a push runs first, and
  // then the sync (whose two directions run side by side).
  auto one_run = [&](const ReplicationOptions& o, bool push_first) {
    std::pair<ReplicationReport, std::string> run;
    if (pull || push) {
      run.first = pull ? replicate(remote, local, o) : replicate(local, remote, o);
      run.second = replication_report_to_json(run.first);
      return run;
    }
    ReplicationReport first;
    if (push_first && sides) {
      first = replicate(*sides.device, *sides.hub, o);
      if (first.fatal || first.cancelled) {
        run.first = first;
        run.second = replication_report_to_json(first);
        return run;
      }
    }
    SyncReport report = sync(local, remote, o);
    if (push_first && sides) {
      // The same direction as the device's push in the sync.
      ReplicationReport& same = sides.device_is_local ? report.a_to_b : report.b_to_a;
      first.add(same);
      same = std::move(first);
      // Measured over the sync alone: the session's traffic counts it all.
      report.traffic.reset();
    }
    run.first = report.combined();
    run.second = sync_report_to_json(report);
    return run;
  };

  ReplicationReport& total = out.total;
  std::string json;
  // Continuous: a run that stops because the remote went away (every retry
  // of a call failed) starts again from its checkpoints once it is back.
  Backoff again = reconnect_backoff();
  try {
    for (bool done = false; !done;) {
      again.next_attempt();
      if (options.continuous && rescoped) {
        // A new scope: push, then pull once (which rescans the new scope and
        // purges what left it), then follow the feeds again.
        ReplicationOptions once = options;
        once.continuous = false;
        auto [run, text] = one_run(once, true);
        const bool retry = !options.stop.stop_requested() && run.fatal &&
                           run.fatal->code() == ErrorCode::unavailable;
        if (retry) {
          run.fatal.reset();
          total.add(run);
          if (notice) notice("remote unavailable, reconnecting");
          sleep_unless_stopped(options.stop, again.delay());
          continue;
        }
        std::optional<Error> fatal = run.fatal;
        total.add(run);
        json = std::move(text);
        if (fatal || options.stop.stop_requested()) {
          total.fatal = fatal;
          break;
        }
        rescoped = false;
      }
      // A continuous run is stopped early when the token's scope changes
      // (checked every scope_check by a thread of its own).
      std::stop_source round;
      std::stop_callback forward(options.stop, [&round] { round.request_stop(); });
      ReplicationOptions each = options;
      each.stop = round.get_token();
      std::atomic<bool> changed{false};
      const std::string held = sides ? fingerprint_of(sides.device->scope()) : std::string();
      // Whether the token's scope is no longer the one the device holds.
      auto scope_moved = [&] {
        try {
          std::optional<Scope> now = sides.hub->token_scope();
          return now && scope_fingerprint(*now) != held;
        } catch (const Error& e) {
          // Unreachable or refused: the runs meet the same and report it.
          log_debug("sync", "cannot read the token's scope", {{"message", e.message()}});
          return false;
        } catch (...) {
          // Nothing may leave the watcher's thread (std::terminate).
          return false;
        }
      };
      // Declared after everything its thread uses, so that it is joined
      // before they go, also when a run throws.
      std::jthread watcher;
      if (options.continuous && sides) {
        watcher = std::jthread([&](std::stop_token stop) {
          while (!sleep_unless_stopped(stop, session.scope_check)) {
            if (scope_moved()) {
              changed = true;
              round.request_stop();
              return;
            }
          }
        });
      }
      auto [run, text] = one_run(each, rescoped);
      if (watcher.joinable()) {
        watcher.request_stop();
        watcher.join();
      }
      // A run that failed just after a re-scope, before the watcher saw it
      // (a table left the token's scope, so the old scope is refused): the
      // re-scope is carried out all the same.
      if (options.continuous && sides && !changed && run.fatal && !options.stop.stop_requested() &&
          scope_moved()) {
        changed = true;
      }
      json = std::move(text);
      if (changed && !options.stop.stop_requested()) {
        // Stopped for the re-scope, not by the caller.
        run.cancelled = false;
        run.fatal.reset();
        total.add(run);
        total.cancelled = false;
        ReplicationOptions forever = options;
        forever.continuous = true;
        rescoped = when_reachable(forever, notice, [&] { return adopt(sides.hub->token_scope()); });
        again = reconnect_backoff();
        continue;
      }
      const bool retry = options.continuous && !options.stop.stop_requested() && run.fatal &&
                         run.fatal->code() == ErrorCode::unavailable;
      if (!retry) {
        std::optional<Error> fatal = run.fatal;
        total.add(run);
        total.fatal = fatal;
        done = true;
        continue;
      }
      run.fatal.reset();
      total.add(run);
      if (notice) notice("remote unavailable, reconnecting");
      sleep_unless_stopped(options.stop, again.delay());
    }
  } catch (const Error&) {
    // Between runs (adopting a new scope, reading the device's own): the
    // stop request ending a wait for the remote cancels the session; any
    // other error ends it as thrown, with no run's report to stand for it.
    if (!options.stop.stop_requested()) throw;
    total.cancelled = true;
  }

  // Ended between runs before any run's report: the runs added up.
  if (json.empty()) json = replication_report_to_json(total);
  out.json = with_adoption(std::move(json), out.adopted);
  if (traffic_start) out.traffic = *traffic_of(local, remote) - *traffic_start;
  return out;
}

}  // namespace outpost
