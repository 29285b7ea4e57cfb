// The replication checkpoint of DESIGN.md section 7 as a value, and its JSON
// form: which replication it belongs to, how far the source's feed has been
// copied (an opaque source cursor) and when. The reconciler saves and reads
// it (reconciler/checkpoint.h adds the resume rule and the replication id);
// the server lists the checkpoints a database holds (GET /v1/peers). Both
// only see api/, so the value lives here.
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
  // most kCheckpointHistory of reconciler/checkpoint.h). The two copies of a
  // checkpoint are saved one after the other, so one of them can lag; the
  // history tells a lagging copy from a foreign one (resume_point).
  std::vector<std::string> history;
  // Scopes (DESIGN.md section 14): the replication's own scope (canonical
  // text; empty: every record of its tables), and whether the target held
  // a scope of its own. A push to a target without one makes the target a
  // keeper of what it received (reconciler/scoping.h).
  std::string scope;
  bool target_scoped = false;

  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

// {"last_seq", "updated_at", "source", "target", "tables", "skipped": {table: cursor},
//  "history": [cursor, ...], "scope": text, "target_scoped": bool}.
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
