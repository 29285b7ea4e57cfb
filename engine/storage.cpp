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

}  // namespace outpost
