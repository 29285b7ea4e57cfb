// The revision-tree rules (engine/rev_tree.h) as pure functions: the winner,
// conflicts and leaves, new leaves, where a local edit attaches, ancestry,
// and the shape of a replicated revision.
#include "engine/rev_tree.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "api/error.h"
#include "engine/backends.h"

namespace outpost::test {

namespace {

// "<gen>-" followed by 32 times `hex`.
Revision rev(uint64_t gen, char hex) {
  return Revision::parse(std::to_string(gen) + "-" + std::string(32, hex));
}

Node node(Revision revision, Revision parent = {}, bool deleted = false, int64_t seq = 0) {
  Node n;
  n.revision = std::move(revision);
  n.parent = std::move(parent);
  n.deleted = deleted;
  n.leaf = true;
  n.seq = seq;
  return n;
}

Node tombstone(Revision revision, Revision parent = {}) {
  return node(std::move(revision), std::move(parent), true);
}

// The conflict message of attach_point, or "" when it does not throw.
std::string attach_error(const std::vector<Node>& leaves, const Revision& parent, Edit::Kind kind) {
  try {
    attach_point(leaves, parent, kind, "items", "r1");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::conflict);
    return e.message();
  }
  return "";
}

}  // namespace

TEST_CASE("rev tree: live beats deleted, then higher generation, then greater hash") {
  // Live beats deleted whatever the generation.
  CHECK(beats(node(rev(1, '0')), tombstone(rev(9, 'f'))));
  CHECK_FALSE(beats(tombstone(rev(9, 'f')), node(rev(1, '0'))));
  // Higher generation, whatever the hash.
  CHECK(beats(node(rev(3, '0')), node(rev(2, 'f'))));
  CHECK_FALSE(beats(node(rev(2, 'f')), node(rev(3, '0'))));
  // Same generation: greater hash.
  CHECK(beats(node(rev(2, 'b')), node(rev(2, 'a'))));
  CHECK_FALSE(beats(node(rev(2, 'a')), node(rev(2, 'b'))));
  // Between tombstones the same order applies.
  CHECK(beats(tombstone(rev(4, '1')), tombstone(rev(3, 'f'))));
  // Nothing beats itself.
  CHECK_FALSE(beats(node(rev(2, 'a')), node(rev(2, 'a'))));
}

TEST_CASE("rev tree: the winner does not depend on the order of the leaves") {
  std::vector<Node> leaves = {node(rev(3, 'a')), tombstone(rev(5, 'f')), node(rev(3, 'c')),
                              node(rev(2, 'f')), tombstone(rev(4, '0'))};
  std::sort(leaves.begin(), leaves.end(),
            [](const Node& a, const Node& b) { return a.revision < b.revision; });
  int orders = 0;
  do {
    CHECK(pick_winner(leaves).revision == rev(3, 'c'));
    CHECK(conflicts_of(leaves) == std::vector<Revision>{rev(3, 'a'), rev(2, 'f')});
    CHECK(leaf_revisions(leaves) ==
          std::vector<Revision>{rev(3, 'c'), rev(3, 'a'), rev(2, 'f'), rev(5, 'f'), rev(4, '0')});
    ++orders;
  } while (std::next_permutation(leaves.begin(), leaves.end(), [](const Node& a, const Node& b) {
    return a.revision < b.revision;
  }));
  CHECK(orders == 120);
}

TEST_CASE("rev tree: winner, conflicts and leaves of small trees") {
  // One leaf.
  std::vector<Node> one = {node(rev(1, 'a'))};
  CHECK(pick_winner(one).revision == rev(1, 'a'));
  CHECK(conflicts_of(one).empty());
  CHECK(leaf_revisions(one) == std::vector<Revision>{rev(1, 'a')});
  // Every leaf deleted: the winner is the best tombstone, and deleted
  // leaves are never conflicts.
  std::vector<Node> gone = {tombstone(rev(2, 'a')), tombstone(rev(3, '0'))};
  CHECK(pick_winner(gone).revision == rev(3, '0'));
  CHECK(pick_winner(gone).deleted);
  CHECK(conflicts_of(gone).empty());
  CHECK(leaf_revisions(gone) == std::vector<Revision>{rev(3, '0'), rev(2, 'a')});
  // No leaves.
  CHECK(conflicts_of(std::vector<Node>{}).empty());
  CHECK(leaf_revisions({}).empty());
  CHECK(newest_seq({}) == 0);
  CHECK(newest_seq({node(rev(1, 'a'), {}, false, 7), node(rev(1, 'b'), {}, false, 3)}) == 7);
}

TEST_CASE("rev tree: leaves_of and find_in") {
  Node root = node(rev(1, 'a'));
  root.leaf = false;
  std::vector<Node> tree = {root, node(rev(2, 'b'), rev(1, 'a')), node(rev(2, 'c'), rev(1, 'a'))};
  std::vector<Node> leaves = leaves_of(tree);
  REQUIRE(leaves.size() == 2);
  CHECK(leaves[0].revision == rev(2, 'b'));
  CHECK(leaves[1].revision == rev(2, 'c'));
  REQUIRE(find_in(tree, rev(1, 'a')));
  CHECK(find_in(tree, rev(1, 'a'))->parent.empty());
  CHECK(!find_in(tree, rev(3, 'a')));
}

TEST_CASE("rev tree: with_new_leaf replaces its parent, or adds a branch") {
  std::vector<Node> leaves = {node(rev(2, 'a'), rev(1, 'a')), node(rev(2, 'b'), rev(1, 'a'))};
  Node child = node(rev(3, 'c'), rev(2, 'a'));
  child.leaf = false;  // the result marks it a leaf
  std::vector<Node> after = with_new_leaf(leaves, child);
  REQUIRE(after.size() == 2);
  CHECK(after[0].revision == rev(2, 'b'));
  CHECK(after[1].revision == rev(3, 'c'));
  CHECK(after[1].leaf);
  // A parent that is not a leaf (a branch off an inner node): nothing is dropped.
  std::vector<Node> branched = with_new_leaf(leaves, node(rev(2, 'f'), rev(1, 'a')));
  CHECK(branched.size() == 3);
  // A new root.
  std::vector<Node> first = with_new_leaf({}, node(rev(1, 'a')));
  REQUIRE(first.size() == 1);
  CHECK(first[0].leaf);
}

TEST_CASE("rev tree: attach_point for each kind of edit") {
  const std::vector<Node> live = {node(rev(2, 'a'), rev(1, 'a')),
                                  tombstone(rev(3, 'b'), rev(2, 'c'))};
  const std::vector<Node> gone = {tombstone(rev(2, 'a'), rev(1, 'a')),
                                  tombstone(rev(3, 'b'), rev(2, 'c'))};
  using K = Edit::Kind;

  SUBCASE("create") {
    CHECK(attach_point({}, {}, K::put, "items", "r1").empty());
    // Every leaf deleted: recreate on the winning tombstone.
    CHECK(attach_point(gone, {}, K::put, "items", "r1") == rev(3, 'b'));
    // A live record exists: conflict naming the winner.
    std::string why = attach_error(live, {}, K::put);
    CHECK(why.find("already exists") != std::string::npos);
    CHECK(why.find(rev(2, 'a').str()) != std::string::npos);
  }
  SUBCASE("a delete or resolve without a parent") {
    CHECK(attach_error(live, {}, K::remove).find("must name the leaf") != std::string::npos);
    CHECK(attach_error({}, {}, K::resolve).find("must name the leaf") != std::string::npos);
  }
  SUBCASE("update, delete and resolve of a leaf") {
    CHECK(attach_point(live, rev(2, 'a'), K::put, "items", "r1") == rev(2, 'a'));
    CHECK(attach_point(live, rev(2, 'a'), K::remove, "items", "r1") == rev(2, 'a'));
    CHECK(attach_point(live, rev(3, 'b'), K::resolve, "items", "r1") == rev(3, 'b'));
    // Updating a deleted leaf is allowed (it revives the branch).
    CHECK(attach_point(live, rev(3, 'b'), K::put, "items", "r1") == rev(3, 'b'));
  }
  SUBCASE("a parent that is not a leaf") {
    std::string why = attach_error(live, rev(1, 'a'), K::put);
    CHECK(why.find("is not a current leaf") != std::string::npos);
    CHECK(why.find("the winner is " + rev(2, 'a').str()) != std::string::npos);
  }
  SUBCASE("a parent of a record without revisions") {
    CHECK(attach_error({}, rev(1, 'a'), K::put).find("does not exist") != std::string::npos);
  }
  SUBCASE("deleting a deleted leaf") {
    CHECK(attach_error(live, rev(3, 'b'), K::remove).find("already deleted") != std::string::npos);
  }
}

TEST_CASE("rev tree: ancestry_in walks parents nearest first") {
  // 1a ← 2a ← 3a ← 4a, and 3b off 2a.
  std::vector<Node> tree = {node(rev(1, 'a')), node(rev(2, 'a'), rev(1, 'a')),
                            node(rev(3, 'a'), rev(2, 'a')), node(rev(4, 'a'), rev(3, 'a')),
                            node(rev(3, 'b'), rev(2, 'a'))};
  const Node& tip = tree[3];
  SUBCASE("to the root") {
    CHECK(ancestry_in(tree, tip, {}, SIZE_MAX) ==
          std::vector<Revision>{rev(3, 'a'), rev(2, 'a'), rev(1, 'a')});
    CHECK(ancestry_in(tree, tree[4], {}, SIZE_MAX) ==
          std::vector<Revision>{rev(2, 'a'), rev(1, 'a')});
    CHECK(ancestry_in(tree, tree[0], {}, SIZE_MAX).empty());  // a root has none
  }
  SUBCASE("stops at, and includes, the first known ancestor") {
    CHECK(ancestry_in(tree, tip, {rev(3, 'b'), rev(2, 'a')}, SIZE_MAX) ==
          std::vector<Revision>{rev(3, 'a'), rev(2, 'a')});
    CHECK(ancestry_in(tree, tip, {rev(3, 'a')}, SIZE_MAX) == std::vector<Revision>{rev(3, 'a')});
  }
  SUBCASE("stops at the limit") {
    CHECK(ancestry_in(tree, tip, {}, 2) == std::vector<Revision>{rev(3, 'a'), rev(2, 'a')});
    CHECK(ancestry_in(tree, tip, {}, 0).empty());
  }
  SUBCASE("stops at an ancestor the tree does not hold") {
    std::vector<Node> part = {tree[2], tree[3]};  // 3a and 4a only
    CHECK(ancestry_in(part, tip, {}, SIZE_MAX) == std::vector<Revision>{rev(3, 'a'), rev(2, 'a')});
  }
}

TEST_CASE("rev tree: check_remote_shape") {
  RemoteRevision r;
  r.table = "items";
  r.id = "r1";
  r.revision = rev(3, 'c');
  r.ancestry = {rev(2, 'b'), rev(1, 'a')};
  r.attributes = Attributes{{"name", str("n")}};
  CHECK_NOTHROW(check_remote_shape(r));

  auto why = [](const RemoteRevision& bad) -> std::string {
    try {
      check_remote_shape(bad);
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::invalid_revision);
      return e.message();
    }
    return "";
  };
  SUBCASE("a partial ancestry is fine") {
    RemoteRevision partial = r;
    partial.ancestry = {rev(2, 'b')};
    CHECK_NOTHROW(check_remote_shape(partial));
  }
  SUBCASE("generation 1 needs no ancestry") {
    RemoteRevision root = r;
    root.revision = rev(1, 'a');
    root.ancestry.clear();
    CHECK_NOTHROW(check_remote_shape(root));
  }
  SUBCASE("no revision") {
    RemoteRevision bad = r;
    bad.revision = Revision();
    CHECK(why(bad).find("needs a revision") != std::string::npos);
  }
  SUBCASE("ancestry longer than the generation") {
    RemoteRevision bad = r;
    bad.ancestry = {rev(2, 'b'), rev(1, 'a'), rev(1, 'b')};
    CHECK(why(bad).find("longer than the generation") != std::string::npos);
  }
  SUBCASE("a generation that does not descend by one") {
    RemoteRevision bad = r;
    bad.ancestry = {rev(1, 'a')};
    CHECK(why(bad).find("wrong generation") != std::string::npos);
  }
  SUBCASE("no parent above generation 1") {
    RemoteRevision bad = r;
    bad.ancestry.clear();
    CHECK(why(bad).find("must name its parent") != std::string::npos);
  }
  SUBCASE("a tombstone with attributes") {
    RemoteRevision bad = r;
    bad.deleted = true;
    CHECK(why(bad).find("carries no attributes") != std::string::npos);
    bad.attributes.clear();
    CHECK_NOTHROW(check_remote_shape(bad));
  }
  SUBCASE("a generation above 2^53") {
    RemoteRevision bad = r;
    bad.revision = rev(kMaxGeneration + 1, 'a');
    bad.ancestry.clear();
    CHECK(why(bad).find("above 2^53") != std::string::npos);
  }
}

}  // namespace outpost::test
