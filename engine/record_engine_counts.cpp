// RecordEngine: the counts and revision trees a console shows. The counts
// of every table are maintained by the backend (Storage::maintained_counts);
// the scoped ones are counted on each call.
#include <algorithm>

#include "engine/record_engine.h"
#include "engine/rev_tree.h"
#include "utils/utf8.h"

namespace outpost {

std::vector<TableCounts> RecordEngine::table_counts() {
  return with_retry([&] {
    auto txn = storage_->begin(TransactionKind::read);
    auto cat = catalog(*txn);
    std::vector<TableCounts> stored = storage_->maintained_counts(*txn);
    std::vector<TableCounts> out;
    out.reserve(cat->size());
    for (const auto& entry : *cat) {  // name order
      const std::string& name = entry.first;
      auto it = std::find_if(stored.begin(), stored.end(),
                             [&](const TableCounts& c) { return c.table == name; });
      out.push_back(it == stored.end() ? TableCounts{name, 0, 0} : *it);
    }
    return out;
  });
}

TableCounts RecordEngine::count_in_scope(const std::string& table_name, const ScopeClause& clause) {
  return with_retry([&] {
    auto txn = storage_->begin(TransactionKind::read);
    auto cat = catalog(*txn);
    return storage_->count_rows(*txn, table_in(*cat, table_name), &clause);
  });
}

ScopeChangeCounts RecordEngine::scope_change_counts(const std::string& table_name,
                                                    const ScopeClause* from,
                                                    const ScopeClause* to) {
  return with_retry([&] {
    auto txn = storage_->begin(TransactionKind::read);
    auto cat = catalog(*txn);
    const Table& table = table_in(*cat, table_name);
    if (from == nullptr && to == nullptr) return ScopeChangeCounts{};
    return storage_->count_scope_change(*txn, table, from, to);
  });
}

std::vector<RevisionNode> RecordEngine::revision_tree(const std::string& table_name,
                                                      const std::string& id, const Scope* scope) {
  return with_retry([&] {
    auto txn = storage_->begin(TransactionKind::read);
    auto cat = catalog(*txn);
    const Table& table = table_in(*cat, table_name);
    validate_record_id(id);
    std::vector<Node> nodes;
    if (in_scope(*txn, table, scope, id)) nodes = storage_->all_nodes(*txn, table, id);
    std::vector<Node> leaves = leaves_of(nodes);
    if (leaves.empty()) {
      // As the HTTP API answers a get() that finds nothing.
      throw Error(ErrorCode::not_found, "there is no record " + quote_for_message(id) +
                                            " in table " + quote_for_message(table.name));
    }
    const Revision winner = pick_winner(leaves).revision;
    std::sort(nodes.begin(), nodes.end(),
              [](const Node& a, const Node& b) { return a.revision < b.revision; });
    std::vector<RevisionNode> out;
    out.reserve(nodes.size());
    for (const Node& n : nodes) {
      out.push_back(
          RevisionNode{n.revision, n.parent, n.deleted, n.leaf, n.stub, n.revision == winner});
    }
    return out;
  });
}

void RecordEngine::check_counts(Transaction& txn, const Catalog& cat,
                                std::vector<std::string>& problems) {
  std::vector<TableCounts> stored = storage_->maintained_counts(txn);
  for (const auto& entry : cat) {
    const std::string& name = entry.first;
    TableCounts real = storage_->count_rows(txn, entry.second, nullptr);
    auto it = std::find_if(stored.begin(), stored.end(),
                           [&](const TableCounts& c) { return c.table == name; });
    TableCounts kept = it == stored.end() ? TableCounts{name, 0, 0} : *it;
    if (kept.records != real.records || kept.conflicts != real.conflicts) {
      problems.push_back(name + ": the maintained counts say " + std::to_string(kept.records) +
                         " records and " + std::to_string(kept.conflicts) +
                         " conflicts, but the table holds " + std::to_string(real.records) +
                         " records and " + std::to_string(real.conflicts) + " conflicts");
    }
  }
  for (const TableCounts& c : stored) {
    if (!cat.contains(c.table) && (c.records != 0 || c.conflicts != 0)) {
      problems.push_back(c.table + ": maintained counts for a table that does not exist");
    }
  }
}

}  // namespace outpost
