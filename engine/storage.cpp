// The Storage defaults for batched reads: one single-record call per input.
#include "engine/storage.h"

namespace outpost {

std::vector<std::vector<Node>> Storage::trees(Transaction& txn, const Table& table,
                                              const std::vector<std::string>& ids) {
  std::vector<std::vector<Node>> out;
  out.reserve(ids.size());
  for (const std::string& id : ids) out.push_back(all_nodes(txn, table, id));
  return out;
}

std::vector<std::optional<Attributes>> Storage::bodies(Transaction& txn, const Table& table,
                                                       const std::vector<RevisionKey>& keys) {
  std::vector<std::optional<Attributes>> out;
  out.reserve(keys.size());
  for (const RevisionKey& k : keys) out.push_back(body(txn, table, k.id, k.revision));
  return out;
}

std::vector<Storage::TreeAndBody> Storage::trees_and_bodies(Transaction& txn, const Table& table,
                                                           const std::vector<RevisionKey>& keys) {
  std::vector<std::string> ids;
  ids.reserve(keys.size());
  for (const RevisionKey& k : keys) ids.push_back(k.id);
  std::vector<TreeAndBody> out;
  out.reserve(keys.size());
  for (std::vector<Node>& tree : trees(txn, table, ids)) out.push_back({std::move(tree), {}});
  // Bodies of the revisions the trees hold (stubs have none).
  std::vector<RevisionKey> held;
  std::vector<size_t> at;
  for (size_t i = 0; i < keys.size(); ++i) {
    for (const Node& n : out[i].tree) {
      if (n.revision != keys[i].revision || n.stub) continue;
      held.push_back(keys[i]);
      at.push_back(i);
      break;
    }
  }
  std::vector<std::optional<Attributes>> found = bodies(txn, table, held);
  for (size_t j = 0; j < at.size(); ++j) out[at[j]].body = std::move(found[j]);
  return out;
}

}  // namespace outpost
