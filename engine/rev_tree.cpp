#include "engine/rev_tree.h"

#include <algorithm>
#include <cassert>
#include <string_view>
#include <unordered_map>

#include "api/error.h"
#include "utils/utf8.h"

namespace outpost {

bool beats(const Node& a, const Node& b) {
  if (a.deleted != b.deleted) return !a.deleted;
  return a.revision > b.revision;  // generation, then hash
}

const Node& pick_winner(const std::vector<Node>& leaves) {
  assert(!leaves.empty());
  const Node* best = &leaves.front();
  for (const Node& n : leaves) {
    if (beats(n, *best)) best = &n;
  }
  return *best;
}

static std::vector<Node> sorted_by_rank(std::vector<Node> leaves) {
  std::sort(leaves.begin(), leaves.end(), [](const Node& a, const Node& b) { return beats(a, b); });
  return leaves;
}

std::vector<Revision> conflicts_of(const std::vector<Node>& leaves) {
  std::vector<Revision> out;
  if (leaves.empty()) return out;
  const Revision& winner = pick_winner(leaves).revision;
  for (const Node& n : sorted_by_rank(leaves)) {
    if (!n.deleted && n.revision != winner) out.push_back(n.revision);
  }
  return out;
}

std::vector<Revision> leaf_revisions(const std::vector<Node>& leaves) {
  std::vector<Revision> out;
  for (const Node& n : sorted_by_rank(leaves)) out.push_back(n.revision);
  return out;
}

std::vector<Node> leaves_of(const std::vector<Node>& nodes) {
  std::vector<Node> out;
  for (const Node& n : nodes) {
    if (n.leaf) out.push_back(n);
  }
  return out;
}

std::optional<Node> find_in(const std::vector<Node>& nodes, const Revision& revision) {
  for (const Node& n : nodes) {
    if (n.revision == revision) return n;
  }
  return std::nullopt;
}

std::vector<Revision> ancestry_in(const std::vector<Node>& tree, const Node& node,
                                  const std::vector<Revision>& known, size_t limit) {
  std::vector<Revision> out;
  if (node.parent.empty()) return out;
  std::unordered_map<std::string_view, const Revision*> parent_of;
  parent_of.reserve(tree.size());
  for (const Node& n : tree) parent_of.emplace(n.revision.str(), &n.parent);
  const Revision* at = &node.parent;
  while (!at->empty() && out.size() < limit) {
    out.push_back(*at);
    if (std::find(known.begin(), known.end(), *at) != known.end()) break;
    auto it = parent_of.find(at->str());
    if (it == parent_of.end()) break;
    at = it->second;
  }
  return out;
}

int64_t newest_seq(const std::vector<Node>& leaves) {
  int64_t newest = 0;
  for (const Node& n : leaves) newest = std::max(newest, n.seq);
  return newest;
}

std::vector<Node> with_new_leaf(std::vector<Node> leaves, const Node& node) {
  if (!node.parent.empty()) {
    std::erase_if(leaves, [&](const Node& n) { return n.revision == node.parent; });
  }
  Node leaf = node;
  leaf.leaf = true;
  leaves.push_back(std::move(leaf));
  return leaves;
}

// "table/id", quoted as untrusted text (a replicated document names both).
static std::string record_name(std::string_view table, std::string_view id) {
  return quote_for_message(std::string(table) + "/" + std::string(id), 160);
}

Revision attach_point(const std::vector<Node>& leaves, const Revision& parent, Edit::Kind kind,
                      std::string_view table, std::string_view id) {
  if (parent.empty()) {
    if (kind != Edit::Kind::put) {
      throw Error(ErrorCode::conflict, "record " + record_name(table, id) +
                                           ": a delete or resolve must name the leaf revision "
                                           "it applies to");
    }
    if (leaves.empty()) return {};
    const Node& winner = pick_winner(leaves);
    if (winner.deleted) return winner.revision;  // every leaf is deleted: recreate
    throw Error(ErrorCode::conflict, "record " + record_name(table, id) +
                                         " already exists at revision " + winner.revision.str() +
                                         "; give that revision to update it");
  }
  auto it = std::find_if(leaves.begin(), leaves.end(),
                         [&](const Node& n) { return n.revision == parent; });
  if (it == leaves.end()) {
    throw Error(ErrorCode::conflict,
                "record " + record_name(table, id) + ": revision " + parent.str() +
                    (leaves.empty() ? std::string(" does not exist (the record has no revisions)")
                                    : " is not a current leaf; the winner is " +
                                          pick_winner(leaves).revision.str()));
  }
  if (kind == Edit::Kind::remove && it->deleted) {
    throw Error(ErrorCode::conflict, "record " + record_name(table, id) + ": revision " +
                                         parent.str() + " is already deleted");
  }
  return parent;
}

void check_remote_shape(const RemoteRevision& remote) {
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::invalid_revision, "record " + record_name(remote.table, remote.id) +
                                                  " revision " + remote.revision.str() + ": " +
                                                  why);
  };
  if (remote.revision.empty()) throw bad("a replicated document needs a revision");
  uint64_t gen = remote.revision.generation();
  if (gen > kMaxGeneration) {
    throw bad("the generation is above 2^53 (9007199254740992), the largest accepted");
  }
  if (remote.ancestry.size() >= gen) throw bad("ancestry is longer than the generation allows");
  for (size_t i = 0; i < remote.ancestry.size(); ++i) {
    if (remote.ancestry[i].generation() != gen - 1 - i) {
      throw bad("ancestry revision " + remote.ancestry[i].str() + " has the wrong generation");
    }
  }
  if (gen > 1 && remote.ancestry.empty()) {
    throw bad("a revision above generation 1 must name its parent in its ancestry");
  }
  if (remote.deleted && !remote.attributes.empty()) {
    throw bad("a deleted revision carries no attributes");
  }
}

}  // namespace outpost
