#include "api/checkpoint.h"

#include <algorithm>
#include <tuple>

#include "api/json_builder.h"
#include "api/tokens.h"

namespace outpost {

std::string checkpoint_to_json(const Checkpoint& checkpoint) {
  JsonBuilder w;
  w.start_object();
  w.field("last_seq", checkpoint.last_seq);
  w.field("updated_at", checkpoint.updated_at);
  w.field("source", checkpoint.source_db_id);
  w.field("target", checkpoint.target_db_id);
  w.string("tables");
  w.strings(checkpoint.tables);
  w.string("skipped");
  w.start_object();
  for (const auto& [table, cursor] : checkpoint.skipped) w.field(table, cursor);
  w.end_object();
  w.string("history");
  w.strings(checkpoint.history);
  w.field("scope", checkpoint.scope);
  w.string("target_scoped");
  w.boolean(checkpoint.target_scoped);
  w.end_object();
  return w.str();
}

std::optional<Checkpoint> checkpoint_from_json(std::string_view text) {
  std::optional<JsonDoc> doc = JsonDoc::parse(text);
  if (!doc || !doc->root().is_object()) return std::nullopt;
  const JsonNode root = doc->root();
  auto string_of = [&](std::string_view name) {
    std::optional<JsonNode> v = root.member(name);
    return v ? v->string() : std::string();
  };
  auto strings_of = [&](std::string_view name) {
    std::vector<std::string> out;
    if (std::optional<JsonNode> list = root.member(name)) {
      for (const JsonNode& item : list->items()) {
        if (item.is_string()) out.push_back(item.string());
      }
    }
    return out;
  };
  std::optional<JsonNode> last_seq = root.member("last_seq");
  if (!last_seq || !last_seq->is_string()) return std::nullopt;
  Checkpoint checkpoint;
  checkpoint.last_seq = last_seq->string();
  checkpoint.updated_at = string_of("updated_at");
  checkpoint.source_db_id = string_of("source");
  checkpoint.target_db_id = string_of("target");
  checkpoint.tables = strings_of("tables");
  if (std::optional<JsonNode> skipped = root.member("skipped")) {
    for (auto& [table, cursor] : skipped->members()) {
      if (cursor.is_string()) checkpoint.skipped.emplace(table, cursor.string());
    }
  }
  checkpoint.history = strings_of("history");
  checkpoint.scope = string_of("scope");
  std::optional<JsonNode> target_scoped = root.member("target_scoped");
  checkpoint.target_scoped = target_scoped && target_scoped->is_true();
  return checkpoint;
}

std::vector<PeerCheckpoint> peer_checkpoints(
    const std::vector<std::pair<std::string, std::string>>& local) {
  std::vector<PeerCheckpoint> out;
  for (const auto& [id, body] : local) {
    std::optional<Checkpoint> checkpoint = checkpoint_from_json(body);
    if (!checkpoint) continue;
    PeerCheckpoint peer;
    std::tie(peer.token, peer.replication_id) = split_token_local_id(id);
    peer.checkpoint = std::move(*checkpoint);
    out.push_back(std::move(peer));
  }
  // Canonical timestamps compare as text.
  std::stable_sort(out.begin(), out.end(), [](const PeerCheckpoint& a, const PeerCheckpoint& b) {
    return a.checkpoint.updated_at > b.checkpoint.updated_at;
  });
  return out;
}

std::string peers_to_json(const std::vector<PeerCheckpoint>& peers) {
  JsonBuilder w;
  w.start_object();
  w.string("peers");
  w.start_array();
  for (const PeerCheckpoint& p : peers) {
    w.start_object();
    w.field("token", p.token);
    w.field("replication_id", p.replication_id);
    w.field("source", p.checkpoint.source_db_id);
    w.field("target", p.checkpoint.target_db_id);
    w.string("tables");
    w.strings(p.checkpoint.tables);
    w.field("last_seq", p.checkpoint.last_seq);
    w.field("updated_at", p.checkpoint.updated_at);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.str();
}

}  // namespace outpost
