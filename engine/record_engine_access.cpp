// The write rule of a writer's scope (DESIGN.md section 14): a write is
// allowed when it creates a record that does not exist with a body in the
// scope, or when it builds on a revision whose body is in the scope (the
// parent of a local edit; an ancestor of a replicated revision that this
// database holds with its body). So a field worker can edit their records
// and hand one over to another district, an edit made before a record
// moved away still arrives, and a record that was never in the writer's
// scope can be neither written nor captured by a forged branch.
//
// Bodies count when this database holds them, or when the sender sends a
// revision's parent body along (RemoteRevision::parent_attributes) and it
// hashes to that parent: a push carries only its leaf's body, so the
// ancestors a hub received earlier may be stubs.
//
// Every refusal is the same Error(forbidden), whether or not the record
// exists, so that a refusal reveals nothing more than that.
#include <unordered_map>

#include "engine/record_engine.h"
#include "engine/rev_tree.h"
#include "utils/utf8.h"

namespace outpost {

namespace {

Error forbidden(const Table& table, const std::string& id) {
  return Error(ErrorCode::forbidden,
               "record " + quote_for_message(id, 120) + " of table " +
                   quote_for_message(table.name) +
                   ": this write is outside the token's write scope (a create needs a body in "
                   "the scope; any other write, a revision whose body is in it)");
}

bool valid_id(const std::string& id) {
  if (id.empty()) return false;
  try {
    validate_record_id(id);
    return true;
  } catch (const Error&) {
    return false;
  }
}

// Whether one of `scopes` covers a record of `table` with this body.
bool any_allows(const std::vector<const Scope*>& scopes, const Table& table, const std::string& id,
                const Attributes& body) {
  for (const Scope* scope : scopes) {
    const ScopeClause* clause = scope->find(table.name);
    if (clause != nullptr && scope_matches(*clause, id, body)) return true;
  }
  return false;
}

}  // namespace

std::optional<Attributes> RecordEngine::judged_body(Transaction& txn, const Table& table,
                                                    const std::string& id, const Node& node) {
  Node at = node;
  for (int step = 0; step <= kLastBodySteps; ++step) {
    if (at.stub) return std::nullopt;
    if (!at.deleted) return storage_->body(txn, table, id, at.revision);
    if (at.parent.empty()) return std::nullopt;
    std::optional<Node> parent = storage_->find_node(txn, table, id, at.parent);
    if (!parent) return std::nullopt;
    at = std::move(*parent);
  }
  return std::nullopt;
}

void RecordEngine::authorize_edit(Transaction& txn, const Table& table, const Edit& edit,
                                  const WriteScope& scope) {
  // A document plan_edit refuses anyway (no id, a bad id) is left to it.
  if (!valid_id(edit.id)) return;
  storage_->lock_record(txn, table, edit.id);
  std::vector<Node> leaves = storage_->leaves(txn, table, edit.id);
  const std::vector<const Scope*> current{&scope.scope};
  auto in_scope = [&](const Node& node) {
    std::optional<Attributes> body = judged_body(txn, table, edit.id, node);
    return body && any_allows(current, table, edit.id, *body);
  };
  if (leaves.empty()) {
    // Only a create; an edit of an id that does not exist is refused like
    // one of a record out of the scope, so that edits cannot tell which
    // ids exist.
    if (edit.kind == Edit::Kind::put && edit.parent.empty() &&
        any_allows(current, table, edit.id, edit.attributes)) {
      return;
    }
    throw forbidden(table, edit.id);
  }
  const bool winner_in_scope = in_scope(pick_winner(leaves));
  // A resolution decides the record's winner: only for a record in the
  // scope, whatever leaf it keeps.
  if (edit.kind == Edit::Kind::resolve && !winner_in_scope) throw forbidden(table, edit.id);
  if (!edit.parent.empty()) {
    if (std::optional<Node> leaf = find_in(leaves, edit.parent)) {
      if (in_scope(*leaf)) return;
      throw forbidden(table, edit.id);
    }
    // The same edit made before (a retried request): plan_edit finds it
    // and writes nothing. Only when its result is in the scope: otherwise
    // the answer would confirm a guess of a body out of the scope (a
    // retried hand-over to another district is refused).
    Revision again = compute_revision(table.name, edit.id, edit.parent,
                                      edit.kind == Edit::Kind::remove, edit.attributes);
    if (std::optional<Node> node = storage_->find_node(txn, table, edit.id, again);
        node && in_scope(*node)) {
      return;
    }
  }
  // No parent, or one that is not a leaf: plan_edit refuses it (or, for a
  // deleted record, recreates it on its last body), and tells why only to
  // a writer whose scope holds the record.
  if (winner_in_scope) return;
  throw forbidden(table, edit.id);
}

void RecordEngine::authorize_remote(Transaction& txn, const Table& table,
                                    const RemoteRevision& remote, const WriteScope& scope) {
  if (!valid_id(remote.id)) return;
  storage_->lock_record(txn, table, remote.id);
  std::vector<const Scope*> scopes{&scope.scope};
  for (const Scope& earlier : scope.earlier) scopes.push_back(&earlier);
  auto allows = [&](const Attributes& body) { return any_allows(scopes, table, remote.id, body); };
  // The parent's body as the sender holds it, when it is that revision's
  // (its hash says so): a sender cannot make it up for a revision that exists.
  const Revision grandparent = remote.ancestry.size() > 1 ? remote.ancestry[1] : Revision();
  const bool parent_body = parent_body_fits(table, remote, grandparent);

  std::vector<Node> leaves = storage_->leaves(txn, table, remote.id);
  if (leaves.empty()) {
    // A record this database does not hold: judged by its body (a
    // deletion by the body it deletes), or by its parent's. Making up a
    // parent here writes nothing a create and an edit could not.
    if (!remote.deleted && allows(remote.attributes)) return;
    if (parent_body && allows(*remote.parent_attributes)) return;
    throw forbidden(table, remote.id);
  }
  // A record in the writer's current scope takes any revision: its
  // branches travel with it. (Not for an earlier scope: a worker moved away
  // keeps only the edits that build on what they held.)
  if (std::optional<Attributes> now = judged_body(txn, table, remote.id, pick_winner(leaves));
      now && any_allows({&scope.scope}, table, remote.id, *now)) {
    return;
  }
  // Otherwise the revision itself (held already: nothing is written), or an
  // ancestor this database holds whose body, held or sent along, is in the
  // scope. The first few are looked up one by one; a long path reads the
  // record's tree once.
  std::vector<Node> tree;
  std::unordered_map<std::string, const Node*> by_revision;
  auto lookup = [&](size_t i, const Revision& revision) -> std::optional<Node> {
    if (i < kNodeByNodeLookups) return storage_->find_node(txn, table, remote.id, revision);
    if (by_revision.empty()) {
      tree = storage_->all_nodes(txn, table, remote.id);
      for (const Node& n : tree) by_revision.emplace(n.revision.str(), &n);
    }
    auto it = by_revision.find(revision.str());
    if (it == by_revision.end()) return std::nullopt;
    return *it->second;
  };
  if (lookup(0, remote.revision)) return;
  for (size_t i = 0; i < remote.ancestry.size(); ++i) {
    std::optional<Node> node = lookup(i + 1, remote.ancestry[i]);
    if (!node) continue;
    if (i == 0 && parent_body && allows(*remote.parent_attributes)) return;
    if (node->stub) continue;
    std::optional<Attributes> body = judged_body(txn, table, remote.id, *node);
    if (body && allows(*body)) return;
  }
  throw forbidden(table, remote.id);
}

}  // namespace outpost
