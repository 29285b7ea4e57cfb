#include "api/checkpoint.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "api/json_builder.h"
#include "api/tokens.h"
#include "utils/sha256.h"
#include "utils/time.h"

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
  w.field("copied_scope_fingerprint", checkpoint.copied_scope_fingerprint);
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
  checkpoint.copied_scope_fingerprint = string_of("copied_scope_fingerprint");
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

namespace {

void write_peers(JsonBuilder& w, const std::vector<PeerCheckpoint>& peers) {
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
    w.field("scope_fingerprint", synced_scope_fingerprint(p.checkpoint));
    w.end_object();
  }
  w.end_array();
}

// A checkpoint saved at or after `micros` (canonical timestamps; one that
// does not parse counts as before).
bool saved_since(const std::string& updated_at, int64_t micros) {
  if (micros == 0) return true;
  ParsedTimestamp at = parse_rfc3339(updated_at);
  return at.ok() && at.micros >= micros;
}

}  // namespace

std::string synced_scope_fingerprint(const Checkpoint& checkpoint) {
  if (!checkpoint.copied_scope_fingerprint.empty()) return checkpoint.copied_scope_fingerprint;
  return checkpoint.scope.empty() ? std::string() : sha256_hex(checkpoint.scope);
}

std::string peers_to_json(const std::vector<PeerCheckpoint>& peers) {
  JsonBuilder w;
  w.start_object();
  write_peers(w, peers);
  w.end_object();
  return w.str();
}

std::vector<TokenPeers> token_peers(const std::string& self_db_id,
                                    const std::vector<PeerCheckpoint>& peers,
                                    const std::vector<Token>& tokens) {
  std::vector<TokenPeers> out;
  out.reserve(tokens.size());
  // Each token's pulls, newest first: a token costs in proportion to its
  // own devices, not to every checkpoint.
  std::multimap<std::string, const PeerCheckpoint*> by_token;
  for (const PeerCheckpoint& p : peers) by_token.emplace(p.token, &p);
  for (const Token& token : tokens) {
    TokenPeers entry;
    entry.name = token.name;
    entry.scope_fingerprint = token.scope.empty() ? std::string() : sha256_hex(token.scope);
    if (token.rescoped_at_micros != 0) {
      try {
        entry.rescoped_at = format_timestamp(token.rescoped_at_micros);
      } catch (const std::exception&) {
        entry.rescoped_at = std::to_string(token.rescoped_at_micros);
      }
    }
    // `peers` is newest first: a device's first pull seen is its newest.
    std::set<std::string> seen;
    auto [first, last] = by_token.equal_range(token.name);
    for (auto it = first; it != last; ++it) {
      const Checkpoint& c = it->second->checkpoint;
      if (c.source_db_id != self_db_id || c.target_db_id.empty() || c.target_db_id == self_db_id ||
          !seen.insert(c.target_db_id).second) {
        continue;
      }
      TokenDevice device;
      device.db_id = c.target_db_id;
      device.synced_scope_fingerprint = synced_scope_fingerprint(c);
      device.updated_at = c.updated_at;
      device.caught_up = device.synced_scope_fingerprint == entry.scope_fingerprint &&
                         !c.last_seq.starts_with("scan/") &&
                         saved_since(c.updated_at, token.rescoped_at_micros);
      entry.devices.push_back(std::move(device));
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::string peers_report_to_json(const std::string& self_db_id,
                                 const std::vector<PeerCheckpoint>& peers,
                                 const std::vector<Token>& tokens) {
  JsonBuilder w;
  w.start_object();
  write_peers(w, peers);
  w.string("tokens");
  w.start_array();
  for (const TokenPeers& t : token_peers(self_db_id, peers, tokens)) {
    w.start_object();
    w.field("name", t.name);
    w.field("scope_fingerprint", t.scope_fingerprint);
    w.field("rescoped_at", t.rescoped_at);
    w.string("devices");
    w.start_array();
    for (const TokenDevice& d : t.devices) {
      w.start_object();
      w.field("db_id", d.db_id);
      w.field("synced_scope_fingerprint", d.synced_scope_fingerprint);
      w.field("updated_at", d.updated_at);
      w.field_bool("caught_up", d.caught_up);
      w.end_object();
    }
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.str();
}

std::optional<std::vector<TokenPeers>> token_peers_from_json(std::string_view text) {
  std::optional<JsonDoc> doc = JsonDoc::parse(text);
  if (!doc || !doc->root().is_object()) return std::nullopt;
  std::optional<JsonNode> list = doc->root().member("tokens");
  if (!list || !list->is_array()) return std::nullopt;
  auto string_of = [](const JsonNode& node, std::string_view name) {
    std::optional<JsonNode> v = node.member(name);
    return v ? v->string() : std::string();
  };
  std::vector<TokenPeers> out;
  for (const JsonNode& item : list->items()) {
    TokenPeers entry;
    entry.name = string_of(item, "name");
    entry.scope_fingerprint = string_of(item, "scope_fingerprint");
    entry.rescoped_at = string_of(item, "rescoped_at");
    if (std::optional<JsonNode> devices = item.member("devices")) {
      for (const JsonNode& d : devices->items()) {
        TokenDevice device;
        device.db_id = string_of(d, "db_id");
        device.synced_scope_fingerprint = string_of(d, "synced_scope_fingerprint");
        device.updated_at = string_of(d, "updated_at");
        std::optional<JsonNode> caught_up = d.member("caught_up");
        device.caught_up = caught_up && caught_up->is_true();
        entry.devices.push_back(std::move(device));
      }
    }
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace outpost
