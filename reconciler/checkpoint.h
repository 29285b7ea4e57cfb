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
#include <utility>
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
  // The cursors this replication saved before last_seq, newest first (at
  // most kCheckpointHistory). The two copies of a checkpoint are saved one
  // after the other, so one of them can lag; the history tells a lagging
  // copy from a foreign one (resume_point).
  std::vector<std::string> history;

  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

constexpr size_t kCheckpointHistory = 20;

// Where a run resumes: the newest cursor that both copies show was saved.
// The target's copy is authoritative; when both agree, it is the answer.
// Without a source copy the source cannot show that its cursors still name
// the same changes (a backup from before the first sync was restored: its
// positions are handed out again), so the answer is nullopt: start from
// the beginning, which revs_diff keeps cheap. A source copy that the target's history lists
// is behind (its save was lost, or the source was restored from a backup)
// and is the answer: nothing the source wrote after it was copied for
// sure. A target copy that the source's history lists is behind (the
// target was restored) and is the answer. Copies that share no cursor give
// nullopt: start from the beginning.
std::optional<Checkpoint> resume_point(const Checkpoint& target_copy,
                                       const std::optional<Checkpoint>& source_copy);

// The table filter as it enters the replication id: sorted, duplicates and
// empty names removed.
std::vector<std::string> normalized_tables(std::vector<std::string> tables);

// Hex SHA-256 of "outpost/replication/1\n" source "\n" target "\n" and the
// normalized tables joined by ','. The same pair and filter always give the
// same id; each direction and each filter has its own.
std::string replication_id(std::string_view source_db_id, std::string_view target_db_id,
                           const std::vector<std::string>& tables);

// {"last_seq", "updated_at", "source", "target", "tables", "skipped": {table: cursor},
//  "history": [cursor, ...]}.
std::string checkpoint_to_json(const Checkpoint& checkpoint);
// nullopt when `text` is not a checkpoint (malformed JSON, no string
// "last_seq"); unknown fields are ignored, missing optional ones left empty.
std::optional<Checkpoint> checkpoint_from_json(std::string_view text);

// One replication's checkpoint as a database holds it: who synced with it
// (the token that saved it through a server, see token_local_id; empty when
// saved directly or without auth), up to which cursor, and when.
struct PeerCheckpoint {
  std::string token;
  std::string replication_id;
  Checkpoint checkpoint;
};
// The checkpoints among `local` (Engine::list_local), the newest save
// first; local documents that are not checkpoints are left out.
std::vector<PeerCheckpoint> peer_checkpoints(
    const std::vector<std::pair<std::string, std::string>>& local);
// {"peers": [{"token", "replication_id", "source", "target", "tables",
//  "last_seq", "updated_at"}, ...]}
std::string peers_to_json(const std::vector<PeerCheckpoint>& peers);

}  // namespace outpost
