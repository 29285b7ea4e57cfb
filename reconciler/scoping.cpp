#include "reconciler/scoping.h"

#include <algorithm>
#include <map>
#include <set>

#include "api/checkpoint.h"
#include "api/json_builder.h"
#include "api/refusals.h"
#include "utils/log.h"

namespace outpost {

namespace {

constexpr std::string_view kLog = "scope";
constexpr size_t kPage = 1000;
// Records removed from the scope by a source while they still had changes
// no keeper had: purged once one has them (sweep_scope).
constexpr std::string_view kPendingId = "scope-pending-purges";
// A bound on that list, so that a database that is never pushed to a
// keeper cannot grow it without end; the oldest entries go first.
constexpr size_t kMaxPending = 100000;

// A push to a database without a scope, as the source's copy of its
// checkpoint tells it.
struct Keeper {
  std::vector<std::string> tables;   // empty: every table
  std::vector<std::string> cursors;  // the record's change must be at or before each
  std::set<std::pair<std::string, std::string>> refused;  // (table, id)
};

std::vector<Keeper> keepers_of(Engine& db, const std::string& table) {
  std::string me = db.db_id();
  std::vector<std::pair<std::string, std::string>> local = db.list_local();
  std::map<std::string, std::string> docs(local.begin(), local.end());
  std::vector<Keeper> out;
  for (const PeerCheckpoint& peer : peer_checkpoints(local)) {
    const Checkpoint& c = peer.checkpoint;
    // A push narrowed by its own scope vouches only for part of a table;
    // it is not counted, to keep the rule simple and safe.
    if (c.source_db_id != me || c.target_scoped || !c.scope.empty() || c.last_seq.empty()) {
      continue;
    }
    if (!c.tables.empty() && std::find(c.tables.begin(), c.tables.end(), table) == c.tables.end()) {
      continue;
    }
    Keeper k;
    k.tables = c.tables;
    k.cursors.push_back(c.last_seq);
    if (auto skipped = c.skipped.find(table); skipped != c.skipped.end()) {
      k.cursors.push_back(skipped->second);
    }
    if (auto it = docs.find(refusals_local_id(peer.replication_id)); it != docs.end()) {
      for (const Refusal& r : refusals_from_json(it->second).value_or(std::vector<Refusal>{})) {
        k.refused.emplace(r.table, r.id);
      }
    }
    out.push_back(std::move(k));
  }
  return out;
}

// Purges what a keeper has of `ids`, each also unchanged since `bound`
// when given; returns the ids left.
std::vector<std::string> purge_kept(Engine& db, const std::string& table,
                                    std::vector<std::string> ids, const std::string& reason,
                                    const std::optional<std::string>& bound, size_t& purged) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (const Keeper& k : keepers_of(db, table)) {
    if (ids.empty()) break;
    PurgeRequest request;
    request.table = table;
    request.reason = reason;
    request.changed_at_or_before = k.cursors;
    if (bound) request.changed_at_or_before.push_back(*bound);
    for (const std::string& id : ids) {
      if (!k.refused.contains({table, id})) request.ids.push_back(id);
    }
    if (request.ids.empty()) continue;
    PurgeResult result = db.purge(request);
    purged += result.purged.size();
    std::set<std::string> gone(result.purged.begin(), result.purged.end());
    gone.insert(result.absent.begin(), result.absent.end());
    std::erase_if(ids, [&](const std::string& id) { return gone.contains(id); });
  }
  return ids;
}

struct Pending {
  std::string table;
  std::string id;
  std::string bound;
};

std::vector<Pending> load_pending(Engine& db) {
  std::vector<Pending> out;
  std::optional<std::string> text = db.get_local(std::string(kPendingId));
  if (!text) return out;
  std::optional<JsonDoc> doc = JsonDoc::parse(*text);
  if (!doc) return out;
  std::optional<JsonNode> list = doc->root().member("pending");
  if (!list) return out;
  for (const JsonNode& item : list->items()) {
    auto field = [&](std::string_view name) {
      std::optional<JsonNode> v = item.member(name);
      return v ? v->string() : std::string();
    };
    Pending p{field("table"), field("id"), field("bound")};
    if (!p.table.empty() && !p.id.empty()) out.push_back(std::move(p));
  }
  return out;
}

void save_pending(Engine& db, std::vector<Pending> pending) {
  if (pending.size() > kMaxPending) {
    pending.erase(pending.begin(),
                  pending.begin() + static_cast<std::ptrdiff_t>(pending.size() - kMaxPending));
  }
  JsonBuilder w;
  w.start_object();
  w.string("pending");
  w.start_array();
  for (const Pending& p : pending) {
    w.start_object();
    w.field("table", p.table);
    w.field("id", p.id);
    w.field("bound", p.bound);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  db.put_local(std::string(kPendingId), w.str());
}

bool is_local(Engine& db) { return db.backend() != "http"; }

constexpr std::string_view kUnconfirmedId = "scope-unconfirmed";
constexpr size_t kMaxUnconfirmed = 100000;

// Restarts every replication into `db` (its checkpoints there) from the
// beginning.
void restart_incoming(Engine& db) {
  std::string me = db.db_id();
  for (const PeerCheckpoint& peer : peer_checkpoints(db.list_local())) {
    if (peer.checkpoint.target_db_id != me || !peer.token.empty()) continue;
    Checkpoint reset = peer.checkpoint;
    reset.last_seq.clear();
    reset.history.clear();
    reset.skipped.clear();
    db.put_local(peer.replication_id, checkpoint_to_json(reset));
  }
}

}  // namespace

PurgeOutcome purge_acknowledged(Engine& db, const std::string& table,
                                const std::vector<std::string>& ids, const std::string& reason) {
  PurgeOutcome out;
  for (const std::string& id : purge_kept(db, table, ids, reason, std::nullopt, out.purged)) {
    out.waiting.push_back(table + "/" + id);
  }
  return out;
}

PurgeOutcome purge_removed(Engine& db,
                           const std::vector<std::pair<std::string, std::string>>& removed,
                           const std::string& reason) {
  PurgeOutcome out;
  if (removed.empty() || !is_local(db) || !db.scope()) return out;
  std::map<std::string, std::vector<std::string>> by_table;
  for (const auto& [table, id] : removed) by_table[table].push_back(id);
  std::vector<Pending> add;
  std::string bound;
  for (const auto& [table, ids] : by_table) {
    for (const std::string& id : purge_kept(db, table, ids, reason, std::nullopt, out.purged)) {
      if (bound.empty()) bound = db.update_seq();
      add.push_back(Pending{table, id, bound});
      out.waiting.push_back(table + "/" + id);
    }
  }
  if (!add.empty()) {
    std::vector<Pending> pending = load_pending(db);
    pending.insert(pending.end(), add.begin(), add.end());
    save_pending(db, std::move(pending));
    log_info(kLog, "records out of scope wait for a push before they are purged",
             {{"count", add.size()}});
  }
  return out;
}

void forget_pending(
    Engine& db,
    const std::function<bool(const std::string& table, const std::string& id)>& listed) {
  if (!is_local(db)) return;
  std::vector<Pending> pending = load_pending(db);
  const size_t before = pending.size();
  std::erase_if(pending, [&](const Pending& p) { return listed(p.table, p.id); });
  if (pending.size() != before) save_pending(db, std::move(pending));
}

PurgeOutcome sweep_scope(Engine& db, SweepMode mode) {
  PurgeOutcome out;
  if (!is_local(db)) return out;
  // Records a source reported out of the scope, unchanged since.
  std::vector<Pending> pending = load_pending(db);
  if (!pending.empty()) {
    std::vector<Pending> left;
    std::map<std::pair<std::string, std::string>, std::vector<std::string>> groups;
    for (const Pending& p : pending) groups[{p.table, p.bound}].push_back(p.id);
    for (const auto& [key, ids] : groups) {
      std::vector<std::string> still;
      try {
        still = purge_kept(db, key.first, ids, "removed from the scope by a source", key.second,
                           out.purged);
      } catch (const Error& e) {
        if (e.code() != ErrorCode::unknown_table && e.code() != ErrorCode::invalid_value) throw;
      }
      for (const std::string& id : still) {
        left.push_back(Pending{key.first, id, key.second});
        out.waiting.push_back(key.first + "/" + id);
      }
    }
    if (left.size() != pending.size()) save_pending(db, std::move(left));
  }
  // Records outside the database's own scope.
  if (mode == SweepMode::waiting_only) return out;
  std::optional<Scope> scope = db.scope();
  if (!scope) return out;
  for (const Table& table : db.list_tables()) {
    const ScopeClause* clause = scope->find(table.name);
    if (clause && clause->everything()) continue;
    RecordSelection selection;
    selection.kind = clause ? RecordSelection::Kind::not_matching : RecordSelection::Kind::all;
    selection.clause = clause;
    std::string after;
    for (;;) {
      IdPage page = db.record_ids(table.name, selection, after, kPage);
      PurgeOutcome part =
          purge_acknowledged(db, table.name, page.ids, "outside the database's scope");
      out.purged += part.purged;
      out.waiting.insert(out.waiting.end(), part.waiting.begin(), part.waiting.end());
      if (page.next.empty()) break;
      after = page.next;
    }
  }
  std::sort(out.waiting.begin(), out.waiting.end());
  out.waiting.erase(std::unique(out.waiting.begin(), out.waiting.end()), out.waiting.end());
  return out;
}

PurgeOutcome set_database_scope(Engine& db, const std::optional<Scope>& scope) {
  std::optional<Scope> before = db.scope();
  db.set_scope(scope);
  if (before != scope) {
    restart_incoming(db);
    // What a source reported out of the old scope may be in the new one:
    // the rescan and the check against a source without a scope decide.
    if (!load_pending(db).empty()) save_pending(db, {});
  }
  return sweep_scope(db);
}

std::optional<Scope> adopt_scope(Engine& local, Engine& remote,
                                 const std::optional<Scope>& token_scope, PurgeOutcome* outcome) {
  if (!token_scope) return std::nullopt;
  const std::string wanted = scope_fingerprint(*token_scope);
  std::optional<Scope> own = local.scope();
  if (own && scope_fingerprint(*own) == wanted) return std::nullopt;
  // The scope names the remote's tables and columns; the local database
  // needs their definitions to hold it (replication would copy them next
  // anyway). Schemas only grow: a column the remote added is added here.
  for (const ScopeClause& clause : token_scope->clauses) {
    std::optional<Table> definition = remote.get_table(clause.table);
    if (!definition) {
      throw Error(ErrorCode::unknown_table, "the token's scope names table '" + clause.table +
                                                "', which the remote database does not show");
    }
    std::optional<Table> held = local.get_table(clause.table);
    const bool complete =
        held && std::all_of(definition->columns.begin(), definition->columns.end(),
                            [&](const Column& c) { return held->find_column(c.name) != nullptr; });
    if (!complete) local.put_table(*definition);
  }
  PurgeOutcome swept = set_database_scope(local, *token_scope);
  log_info(kLog, "adopted the token's scope",
           {{"fingerprint", wanted},
            {"before", own ? scope_fingerprint(*own) : std::string()},
            {"purged", swept.purged},
            {"waiting", swept.waiting.size()}});
  if (outcome) *outcome = std::move(swept);
  return token_scope;
}

std::optional<Scope> adopt_token_scope(Engine& local, Engine& remote, PurgeOutcome* outcome) {
  return adopt_scope(local, remote, remote.token_scope(), outcome);
}

std::optional<std::vector<std::pair<std::string, std::string>>> unconfirmed(Engine& db) {
  std::vector<std::pair<std::string, std::string>> out;
  std::optional<std::string> text = db.get_local(std::string(kUnconfirmedId));
  if (!text) return out;
  std::optional<JsonDoc> doc = JsonDoc::parse(*text);
  if (!doc) return std::nullopt;
  if (std::optional<JsonNode> all = doc->root().member("all"); all && all->is_true()) {
    return std::nullopt;
  }
  if (std::optional<JsonNode> list = doc->root().member("records")) {
    for (const JsonNode& item : list->items()) {
      std::vector<JsonNode> pair = item.items();
      if (pair.size() == 2) out.emplace_back(pair[0].string(), pair[1].string());
    }
  }
  return out;
}

void set_unconfirmed(Engine& db, const std::vector<std::pair<std::string, std::string>>& records) {
  JsonBuilder w;
  w.start_object();
  if (records.size() > kMaxUnconfirmed) {
    w.string("all");
    w.boolean(true);
  } else {
    w.string("records");
    w.start_array();
    for (const auto& [table, id] : records) w.strings({table, id});
    w.end_array();
  }
  w.end_object();
  db.put_local(std::string(kUnconfirmedId), w.str());
}

void add_unconfirmed(Engine& db, const std::vector<std::pair<std::string, std::string>>& records) {
  if (records.empty()) return;
  std::optional<std::vector<std::pair<std::string, std::string>>> now = unconfirmed(db);
  if (!now) return;  // every record is unconfirmed already
  std::set<std::pair<std::string, std::string>> all(now->begin(), now->end());
  size_t before = all.size();
  all.insert(records.begin(), records.end());
  if (all.size() == before) return;
  set_unconfirmed(db, {all.begin(), all.end()});
}

std::vector<std::pair<std::string, std::string>> purge_if_kept(
    Engine& db, const std::vector<std::pair<std::string, std::string>>& candidates,
    const std::string& reason, size_t& purged) {
  std::map<std::string, std::vector<std::string>> by_table;
  for (const auto& [table, id] : candidates) by_table[table].push_back(id);
  std::vector<std::pair<std::string, std::string>> left;
  for (const auto& [table, ids] : by_table) {
    for (std::string& id : purge_kept(db, table, ids, reason, std::nullopt, purged)) {
      left.emplace_back(table, std::move(id));
    }
  }
  return left;
}

std::string scope_outcome_json(const std::optional<Scope>& scope, const PurgeOutcome* outcome) {
  JsonBuilder w;
  w.start_object();
  w.string("scope");
  if (scope) {
    w.string(scope_text(*scope));
  } else {
    w.null();
  }
  w.string("fingerprint");
  if (scope) {
    w.string(scope_fingerprint(*scope));
  } else {
    w.null();
  }
  if (outcome != nullptr) {
    w.field_count("purged", outcome->purged);
    w.string("waiting");
    w.strings(outcome->waiting);
  }
  w.end_object();
  return w.str();
}

}  // namespace outpost
