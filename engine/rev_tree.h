// The revision-tree rules of DESIGN.md section 4, written once: the winner,
// the conflicts, and the plans for local and replicated edits. Pure functions
// over Node values; the caller loads nodes and applies the plan.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/record.h"
#include "engine/storage.h"

namespace outpost {

// True when leaf `a` beats leaf `b`: live beats deleted, then higher
// generation, then greater hash.
bool beats(const Node& a, const Node& b);

// The winning leaf. `leaves` must not be empty.
const Node& pick_winner(const std::vector<Node>& leaves);

// The non-deleted leaves other than the winner, in descending winner order.
std::vector<Revision> conflicts_of(const std::vector<Node>& leaves);

// All leaf revisions, in descending winner order.
std::vector<Revision> leaf_revisions(const std::vector<Node>& leaves);

// The largest seq among `leaves`: the record's current feed position, since
// the newest node of a record is always a leaf. 0 when there are none.
int64_t newest_seq(const std::vector<Node>& leaves);

// The leaves among `nodes` (a record's whole tree, or any part of it).
std::vector<Node> leaves_of(const std::vector<Node>& nodes);

// The node of `revision` among `nodes`, if there.
std::optional<Node> find_in(const std::vector<Node>& nodes, const Revision& revision);

// The ancestry of `node` (DESIGN.md section 4): its ancestors in `tree`
// (the record's whole tree), nearest first, down to and including the first
// one in `known`, at most `limit` of them; it ends early at an ancestor the
// tree does not hold. Replication passes no limit (SIZE_MAX): a path cut
// before the receiver's known revision would graft as a new root.
std::vector<Revision> ancestry_in(const std::vector<Node>& tree, const Node& node,
                                  const std::vector<Revision>& known, size_t limit);

// The leaves after adding `node` as a new leaf whose parent (if it was a
// leaf) stops being one.
std::vector<Node> with_new_leaf(std::vector<Node> leaves, const Node& node);

// Where a local edit attaches: decides the parent a create/update/delete uses,
// or throws Error(conflict) saying why the edit does not apply.
//   create (parent empty): allowed when there are no leaves, or every leaf is
//     deleted (the parent is then the winning tombstone).
//   update/delete/resolve: `parent` must be one of `leaves`; a delete's parent
//     must not already be deleted.
Revision attach_point(const std::vector<Node>& leaves, const Revision& parent, Edit::Kind kind,
                      std::string_view table, std::string_view id);

// Checks a replicated revision's shape: its ancestry's generations descend by
// one from the revision's, a revision above generation 1 names its parent,
// and a tombstone carries no attributes. Throws Error(invalid_revision).
void check_remote_shape(const RemoteRevision& remote);

}  // namespace outpost
