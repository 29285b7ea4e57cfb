#include "reconciler/checkpoint.h"

#include <algorithm>

#include "utils/sha256.h"

namespace outpost {

std::vector<std::string> normalized_tables(std::vector<std::string> tables) {
  std::erase_if(tables, [](const std::string& t) { return t.empty(); });
  std::sort(tables.begin(), tables.end());
  tables.erase(std::unique(tables.begin(), tables.end()), tables.end());
  return tables;
}

std::string replication_id(std::string_view source_db_id, std::string_view target_db_id,
                           const std::vector<std::string>& tables,
                           std::string_view scope_fingerprint) {
  std::string input = "outpost/replication/1\n";
  input.append(source_db_id);
  input += '\n';
  input.append(target_db_id);
  input += '\n';
  bool first = true;
  for (const std::string& t : normalized_tables(tables)) {
    if (!first) input += ',';
    first = false;
    input += t;
  }
  if (!scope_fingerprint.empty()) {
    input += '\n';
    input.append(scope_fingerprint);
  }
  return sha256_hex(input);
}

std::optional<Checkpoint> resume_point(const Checkpoint& target_copy,
                                       const std::optional<Checkpoint>& source_copy) {
  // The source's own copy is its proof that the cursor still names the same
  // changes: it is written into the same database as the feed, after the
  // positions it covers, and restored with it. Without one (a backup from
  // before the first sync was restored, or the first save was cut short),
  // the source's positions may have been handed out again: start over.
  if (!source_copy) return std::nullopt;
  if (source_copy->last_seq == target_copy.last_seq) return target_copy;
  auto lists = [](const Checkpoint& c, const std::string& cursor) {
    return std::find(c.history.begin(), c.history.end(), cursor) != c.history.end();
  };
  if (lists(target_copy, source_copy->last_seq)) return source_copy;
  if (lists(*source_copy, target_copy.last_seq)) return target_copy;
  return std::nullopt;
}

}  // namespace outpost
