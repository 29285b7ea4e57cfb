// The replication checkpoint of DESIGN.md section 7 as a value: which
// replication it belongs to (the replication id), how far the source's feed
// has been copied (an opaque source cursor) and when. Encoding and decoding
// are pure; storing it is the Checkpointer's job (reconciler/checkpointer.h).
// Thread-safety: plain value types and pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace outpost {

struct Checkpoint {
  std::string last_seq;    // source cursor; "" means the beginning
  std::string updated_at;  // canonical timestamp text (UTC) of the save
  // Who and what, so that a hub can report when each peer last synced.
  std::string source_db_id;
  std::string target_db_id;
  std::vector<std::string> tables;  // the sorted table filter; empty: all
  // Tables whose changes were skipped (the target refused the table, e.g.
  // schema_conflict), each with the source cursor from which they were
  // skipped; a later run that can write the table copies it from there.
  std::map<std::string, std::string> skipped;

  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

// The table filter as it enters the replication id: sorted, duplicates and
// empty names removed.
std::vector<std::string> normalized_tables(std::vector<std::string> tables);

// Hex SHA-256 of "outpost/replication/1\n" source "\n" target "\n" and the
// normalized tables joined by ','. The same pair and filter always give the
// same id; each direction and each filter has its own.
std::string replication_id(std::string_view source_db_id, std::string_view target_db_id,
                           const std::vector<std::string>& tables);

// {"last_seq", "updated_at", "source", "target", "tables", "skipped": {table: cursor}}.
std::string checkpoint_to_json(const Checkpoint& checkpoint);
// nullopt when `text` is not a checkpoint (malformed JSON, no string
// "last_seq"); unknown fields are ignored, missing optional ones left empty.
std::optional<Checkpoint> checkpoint_from_json(std::string_view text);

}  // namespace outpost
