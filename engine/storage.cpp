// The Storage defaults for batched reads: one single-record call per input.
#include "engine/storage.h"

#include "engine/rev_tree.h"

namespace outpost {

std::vector<std::vector<Node>> Storage::trees(Transaction& txn, const Table& table,
                                              const std::vector<std::string>& ids) {
  std::vector<std::vector<Node>> out;
  out.reserve(ids.size());
  for (const std::string& id : ids) out.push_back(all_nodes(txn, table, id));
  return out;
}

std::vector<Storage::TreeAndBody> Storage::trees_and_bodies(Transaction& txn, const Table& table,
                                                            const std::vector<RevisionKey>& keys) {
  std::vector<TreeAndBody> out;
  out.reserve(keys.size());
  for (const RevisionKey& k : keys) {
    TreeAndBody entry{all_nodes(txn, table, k.id), {}};
    std::optional<Node> node = find_in(entry.tree, k.revision);
    if (node && !node->stub) entry.body = body(txn, table, k.id, k.revision);
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace outpost
