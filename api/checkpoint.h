// The replication checkpoint of DESIGN.md section 7 as a value, and its JSON
// form: which replication it belongs to, how far the source's feed has been
// copied (an opaque source cursor) and when. The reconciler saves and reads
// it (reconciler/checkpoint.h adds the resume rule and the replication id);
// the server lists the checkpoints a database holds (GET /v1/peers). Both
// only see api/, so the value lives here.
// Thread-safety: plain value types and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/tokens.h"

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
  // The fingerprint of the scope the run copied: the target's own scope,
  // narrowed by `scope` (a device's adopted token scope, DESIGN.md section
  // 14); empty: every record of its tables. What `outpost peers` reports
  // as the scope a device last synced under.
  std::string copied_scope_fingerprint;

  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

// {"last_seq", "updated_at", "source", "target", "tables", "skipped": {table: cursor},
//  "history": [cursor, ...], "scope": text, "target_scoped": bool,
//  "copied_scope_fingerprint": hex}.
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
//  "last_seq", "updated_at", "scope_fingerprint"}, ...]}; scope_fingerprint
// is the scope the replication copied (PeerCheckpoint::scope_fingerprint).
std::string peers_to_json(const std::vector<PeerCheckpoint>& peers);
// The fingerprint of the scope a replication copied: copied_scope_fingerprint,
// else that of its own scope (`scope`, from before copied_scope_fingerprint
// was saved); "" for every record.
std::string synced_scope_fingerprint(const Checkpoint& checkpoint);

// Per token, whether its devices have caught up with its current scope
// (DESIGN.md section 14, GET /v1/peers and `outpost peers`). A token's
// devices are the databases that pulled from this one (`self`) with it:
// the checkpoints whose source is `self`, saved under the token's name.
struct TokenDevice {
  std::string db_id;
  // The scope of its newest pull (synced_scope_fingerprint), and when.
  std::string synced_scope_fingerprint;
  std::string updated_at;
  // That pull was under the token's current read scope, had finished its
  // first pass over it (its cursor is no "scan/" one) and was saved at or
  // after the token's last re-scope.
  bool caught_up = false;
};
struct TokenPeers {
  std::string name;
  std::string scope_fingerprint;     // of the token's read scope; "" without one
  std::string rescoped_at;           // canonical timestamp; "" never
  std::vector<TokenDevice> devices;  // newest pull first
};
// Every token of `tokens` (those without a device too), in their order.
std::vector<TokenPeers> token_peers(const std::string& self_db_id,
                                    const std::vector<PeerCheckpoint>& peers,
                                    const std::vector<Token>& tokens);
// {"peers": [...as peers_to_json...], "tokens": [{"name", "scope_fingerprint",
//  "rescoped_at", "devices": [{"db_id", "synced_scope_fingerprint",
//  "updated_at", "caught_up"}]}]}
std::string peers_report_to_json(const std::string& self_db_id,
                                 const std::vector<PeerCheckpoint>& peers,
                                 const std::vector<Token>& tokens);
// The "tokens" of a peers_report_to_json text (a server's GET /v1/peers);
// nullopt when it is not such a text.
std::optional<std::vector<TokenPeers>> token_peers_from_json(std::string_view text);

}  // namespace outpost
