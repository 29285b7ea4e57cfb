// Scoped databases (DESIGN.md section 14): purging what a database may not
// or need not hold, without ever dropping a revision no other database has.
//
// The acknowledgment rule. A record may be purged from a database only when
// a *keeper* holds every revision of it: a database without a scope (the
// hub, a full copy) to which this database pushed. The push's checkpoint,
// which the replicator saves in the source too, says so: its last_seq
// covers the record's latest change, the record's table was neither
// filtered out nor skipped, the push was not narrowed by a scope of its own
// (sync --scope), and the record is not among that push's refused
// documents. A
// database that was never pushed to a keeper purges nothing; its out-of-
// scope records wait, and leave after its next push. Two scoped tablets
// that sync with each other therefore never purge on each other's word.
//
// Thread-safety: functions of engines that are themselves thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/engine.h"
#include "api/scope.h"

namespace outpost {

struct PurgeOutcome {
  size_t purged = 0;
  // Records kept because no keeper has acknowledged their latest change
  // yet: "table/id" texts, sorted.
  std::vector<std::string> waiting;
};

// {"scope", "fingerprint"} (both null without a scope), plus "purged" and
// "waiting" when `outcome` is given: what `outpost scope` prints with
// --json and the C ABI's scope calls answer.
std::string scope_outcome_json(const std::optional<Scope>& scope,
                               const PurgeOutcome* outcome = nullptr);

// Purges the records `ids` of `table` from `db` that a keeper has
// acknowledged (see above), logging `reason`; absent ids are ignored.
PurgeOutcome purge_acknowledged(Engine& db, const std::string& table,
                                const std::vector<std::string>& ids, const std::string& reason);

// Records a source's scoped feed reported as `removed` (table, id): purged
// from `db` when a keeper has them, otherwise remembered (a local document)
// and purged by a later sweep_scope once one has, if they have not changed
// since. Nothing when `db` holds no scope of its own or is remote.
PurgeOutcome purge_removed(Engine& db,
                           const std::vector<std::pair<std::string, std::string>>& removed,
                           const std::string& reason);

// Drops the records purge_removed left waiting for which `listed` is true:
// a source without a scope has since listed them in the scope.
void forget_pending(
    Engine& db, const std::function<bool(const std::string& table, const std::string& id)>& listed);

// Purges every record of `db` outside its own scope (a table outside it,
// or a winner, or a deleted record's last body, that does not match) that a
// keeper has acknowledged, and the records purge_removed left waiting that
// one has now. Nothing when `db` is remote.
// waiting_only: only what purge_removed left waiting (after a replication
// run, which leaves the rest to the check against a source without a scope,
// since a record's own winner may be a partial view of it).
enum class SweepMode { everything, waiting_only };
PurgeOutcome sweep_scope(Engine& db, SweepMode mode = SweepMode::everything);

// Sets (or clears) `db`'s scope, then sweeps what fell out of it. A changed
// scope also restarts every replication into `db` from the beginning (its
// checkpoints there are reset), so that records it purged under an earlier
// scope come back when they are in scope again, and the records it holds
// are checked against the next source without a scope (ReplicationReport).
PurgeOutcome set_database_scope(Engine& db, const std::optional<Scope>& scope);

// Tokens with scopes (DESIGN.md section 14): a device syncing with a hub
// adopts the read scope of the token it syncs with as its own scope. When
// `remote`'s token_scope() is set and differs (by fingerprint) from
// `local`'s own scope, the tables it names that `local` lacks are copied
// from `remote`, set_database_scope(local, it) runs (incoming checkpoints
// restart, what fell out is purged if a keeper has it: nothing unpushed is
// lost) and the adopted scope is returned, with the sweep's outcome in
// `outcome` when given. Nothing happens, and nullopt is returned, when the
// token has no scope (a local scope is never cleared because of an
// unscoped token) or when `local` already holds that scope.
std::optional<Scope> adopt_token_scope(Engine& local, Engine& remote,
                                       PurgeOutcome* outcome = nullptr);
// The same with the token's scope already read (`token_scope`, as
// remote.token_scope() answered).
std::optional<Scope> adopt_scope(Engine& local, Engine& remote,
                                 const std::optional<Scope>& token_scope,
                                 PurgeOutcome* outcome = nullptr);

// Records of a scoped `db` that a source without a scope has not confirmed
// as in the scope (DESIGN.md section 14): those received from a scoped
// peer, whose copy may be stale. A local document; each (table, id) once.
void add_unconfirmed(Engine& db, const std::vector<std::pair<std::string, std::string>>& records);
// nullopt: too many were listed; every record counts as unconfirmed.
std::optional<std::vector<std::pair<std::string, std::string>>> unconfirmed(Engine& db);
void set_unconfirmed(Engine& db, const std::vector<std::pair<std::string, std::string>>& records);

// Purges the records of `candidates` that a keeper has (the rest are
// returned): for records a source without a scope no longer holds in the
// scope.
std::vector<std::pair<std::string, std::string>> purge_if_kept(
    Engine& db, const std::vector<std::pair<std::string, std::string>>& candidates,
    const std::string& reason, size_t& purged);

}  // namespace outpost
