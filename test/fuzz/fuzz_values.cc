// libFuzzer target: typed values (api/value.h), revisions (api/revision.h)
// and the revision-tree rules (engine/rev_tree.h). The first input byte
// picks what is fuzzed:
//   0  Value::parse(type, text): the canonical text parses to itself, the
//      native form rebuilds the same Value, the type name round-trips
//   1  Revision: an accepted text is canonical (str() is the input) and
//      parses again to the same revision; parse and try_parse agree
//   2  compute_revision over fuzzed attributes: generation parent + 1,
//      the result parses, the same edit gives the same revision
//   3  a revision tree built from the bytes: the winner beats every leaf,
//      conflicts and leaves come in winner order, ancestry walks parents
// Values and revisions throw only outpost::Error.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/error.h"
#include "api/record.h"
#include "api/revision.h"
#include "api/value.h"
#include "engine/rev_tree.h"
#include "engine/storage.h"
#include "test/fuzz/fuzz_support.h"

namespace outpost::fuzz {
namespace {

constexpr ValueType kTypes[] = {ValueType::string, ValueType::int_,  ValueType::float_,
                                ValueType::bool_,  ValueType::bytes, ValueType::timestamp};

std::optional<Value> try_value(ValueType type, std::string_view text) {
  try {
    return Value::parse(type, text, "a");
  } catch (const Error&) {
    return std::nullopt;
  }
}

// The same value rebuilt from its native form (what SQL columns give back).
Value from_native(const Value& v) {
  switch (v.type()) {
    case ValueType::string:
      return Value::from_string(v.text());
    case ValueType::int_:
      return Value::from_int(v.as_int());
    case ValueType::float_:
      return Value::from_float(v.as_float());
    case ValueType::bool_:
      return Value::from_bool(v.as_bool());
    case ValueType::bytes:
      return Value::from_bytes(v.as_bytes());
    case ValueType::timestamp:
      return Value::from_timestamp_micros(v.as_timestamp_micros());
  }
  fail("unknown value type");
}

void values(Input& in) {
  ValueType type = kTypes[in.byte() % 6];
  std::string_view text = in.rest();
  std::string_view name = value_type_name(type);
  if (value_type_from_name(name) != type) fail("value_type_from_name(value_type_name(t)) != t");
  std::optional<Value> v = try_value(type, text);
  // The name-taking overload agrees.
  std::optional<Value> by_name;
  try {
    by_name = Value::parse(name, text);
  } catch (const Error&) {
  }
  if (v.has_value() != by_name.has_value() || (v && !(*v == *by_name))) {
    fail("Value::parse by type and by type name disagree", text);
  }
  if (!v) return;
  if (v->type() != type) fail("Value::parse changed the type", text);
  std::optional<Value> again = try_value(type, v->text());
  if (!again) fail("a canonical text is refused", text, v->text());
  check_equal("parse(canonical(parse(x))) != parse(x)", v->text(), again->text());
  Value native = from_native(*v);
  check_equal("the native form does not rebuild the value", v->text(), native.text());
}

void revisions(Input& in) {
  std::string_view text = in.rest();
  Revision r = Revision::try_parse(text);
  bool threw = false;
  try {
    Revision p = Revision::parse(text);
    if (!(p == r)) fail("Revision::parse and try_parse differ", text);
  } catch (const Error& e) {
    threw = true;
    if (e.code() != ErrorCode::invalid_revision) fail("Revision::parse: not invalid_revision");
  }
  if (threw != r.empty()) fail("Revision::parse and try_parse disagree on acceptance", text);
  if (r.empty()) return;
  check_equal("an accepted revision is not canonical", text, r.str());
  if (r.generation() == 0 || r.hash().size() != 32) fail("a revision's parts", text);
  Revision again = Revision::parse(r.str());
  if (!(again == r) || again.generation() != r.generation() || again.hash() != r.hash()) {
    fail("parse(str(parse(x))) != parse(x)", text);
  }
  if ((again <=> r) != std::strong_ordering::equal) fail("<=> of equal revisions");
}

// Attributes from "name\x1ftype-byte text" parts; the ones Value refuses
// are left out.
Attributes read_attributes(Input& in, size_t count) {
  Attributes out;
  for (size_t i = 0; i < count && !in.empty(); ++i) {
    std::string name(in.part('\x1f'));
    ValueType type = kTypes[in.byte() % 6];
    std::optional<Value> v = try_value(type, in.part('\x1e'));
    if (v) out.insert_or_assign(std::move(name), std::move(*v));
  }
  return out;
}

void edits(Input& in) {
  uint8_t flags = in.byte();
  std::string table(in.part('\x1e'));
  std::string id(in.part('\x1e'));
  Revision parent = Revision::try_parse(in.part('\x1e'));
  bool deleted = flags & 1;
  Attributes attributes = deleted ? Attributes{} : read_attributes(in, flags >> 1);
  std::string bytes = canonical_bytes(table, id, parent, deleted, attributes);
  Revision r;
  try {
    r = compute_revision(table, id, parent, deleted, attributes);
  } catch (const Error&) {
    // Only past the largest generation.
    if (parent.generation() < kMaxGeneration) fail("compute_revision refused an edit");
    return;
  }
  if (r.generation() != parent.generation() + 1) fail("compute_revision: generation");
  if (!(Revision::parse(r.str()) == r)) fail("compute_revision: does not parse", r.str());
  if (!(compute_revision(table, id, parent, deleted, attributes) == r)) {
    fail("compute_revision is not deterministic");
  }
  if (bytes != canonical_bytes(table, id, parent, deleted, attributes)) {
    fail("canonical_bytes is not deterministic");
  }
}

Revision make_revision(uint64_t generation, uint8_t salt) {
  static const char kHex[] = "0123456789abcdef";
  std::string hash(32, '0');
  hash[31] = kHex[salt & 15];
  hash[30] = kHex[salt >> 4];
  return Revision::parse(std::to_string(generation) + "-" + hash);
}

void trees(Input& in) {
  // Each node: a parent byte (an earlier node, or a root), a salt for its
  // hash, flags (deleted).
  std::vector<Node> tree;
  size_t count = 1 + in.byte() % 24;
  for (size_t i = 0; i < count && !in.empty(); ++i) {
    uint8_t parent_pick = in.byte();
    uint8_t salt = in.byte();
    uint8_t flags = in.byte();
    Node n;
    uint64_t generation = 1;
    if (!tree.empty() && parent_pick % 4 != 0) {
      const Node& p = tree[parent_pick % tree.size()];
      n.parent = p.revision;
      generation = p.revision.generation() + 1;
    }
    n.revision = make_revision(generation, salt);
    if (find_in(tree, n.revision)) continue;  // one node per revision
    n.deleted = flags & 1;
    n.stub = flags & 2;
    n.seq = static_cast<int64_t>(i) + 1;
    tree.push_back(n);
  }
  if (tree.empty()) return;
  for (Node& n : tree) {
    n.leaf = std::none_of(tree.begin(), tree.end(),
                          [&](const Node& c) { return c.parent == n.revision; });
  }
  std::vector<Node> leaves = leaves_of(tree);
  if (leaves.empty()) fail("a tree without leaves");
  const Node& winner = pick_winner(leaves);
  for (const Node& l : leaves) {
    if (beats(l, winner)) fail("a leaf beats the winner", l.revision.str(), winner.revision.str());
  }
  std::vector<Revision> ranked = leaf_revisions(leaves);
  if (ranked.size() != leaves.size() || !(ranked.front() == winner.revision)) {
    fail("leaf_revisions: not the winner first");
  }
  for (const Revision& c : conflicts_of(leaves)) {
    std::optional<Node> n = find_in(leaves, c);
    if (!n || n->deleted || c == winner.revision) fail("conflicts_of: not a live losing leaf");
  }
  if (newest_seq(leaves) <= 0) fail("newest_seq of stored leaves");
  // Ancestry: each entry is the parent of the one before, generations
  // descending by one, ending at a known revision when one is on the path.
  const Node& start = tree[in.byte() % tree.size()];
  std::vector<Revision> known;
  if (!tree.empty()) known.push_back(tree[in.byte() % tree.size()].revision);
  std::vector<Revision> path = ancestry_in(tree, start, known, 1 + in.byte() % 32);
  uint64_t gen = start.revision.generation();
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i].generation() != gen - 1 - i) fail("ancestry_in: generations", path[i].str());
    bool is_known = path[i] == known.front();
    if (is_known && i + 1 != path.size()) fail("ancestry_in: goes past a known revision");
  }
  // A replicated copy of the start node, with that ancestry, has the
  // right shape when the path reaches a root or a known revision.
  RemoteRevision remote;
  remote.table = "t";
  remote.id = "r";
  remote.revision = start.revision;
  remote.deleted = false;
  remote.ancestry = ancestry_in(tree, start, {}, SIZE_MAX);
  try {
    check_remote_shape(remote);
  } catch (const Error& e) {
    fail(std::string("check_remote_shape refused a whole path: ") + e.what());
  }
  // A local edit on a fuzzed leaf.
  Edit::Kind kind = static_cast<Edit::Kind>(in.byte() % 3);
  const Node& on = leaves[in.byte() % leaves.size()];
  try {
    Revision at = attach_point(leaves, on.revision, kind, "t", "r");
    if (!find_in(leaves, at)) fail("attach_point: not a leaf");
    Node child;
    child.revision = make_revision(at.generation() + 1, 0xff);
    child.parent = at;
    std::vector<Node> next = with_new_leaf(leaves, child);
    if (find_in(next, at) || !find_in(next, child.revision)) fail("with_new_leaf");
  } catch (const Error& e) {
    if (e.code() != ErrorCode::conflict) fail("attach_point: not a conflict");
  }
}

}  // namespace
}  // namespace outpost::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  outpost::fuzz::Input in(data, size);
  switch (in.byte() % 4) {
    case 0:
      outpost::fuzz::values(in);
      break;
    case 1:
      outpost::fuzz::revisions(in);
      break;
    case 2:
      outpost::fuzz::edits(in);
      break;
    case 3:
      outpost::fuzz::trees(in);
      break;
  }
  return 0;
}
