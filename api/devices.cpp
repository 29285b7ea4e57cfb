#include "api/devices.h"

#include <algorithm>
#include <map>

#include "api/checkpoint.h"
#include "api/json_builder.h"
#include "utils/sha256.h"
#include "utils/time.h"

namespace outpost {

namespace {

constexpr std::string_view kRefusalPrefix = "refused-";
// A refusal list the replicator writes holds at most kMaxRefusals entries
// (a few MiB); a larger document was not written by it and is not parsed
// (any token may write its own local documents).
constexpr size_t kMaxRefusalListBytes = 8 * 1024 * 1024;

// "" for 0 (never), else the canonical text.
std::string timestamp_or_empty(int64_t micros) {
  if (micros == 0) return {};
  try {
    return format_timestamp(micros);
  } catch (const std::exception&) {
    return {};
  }
}

void field_or_null(JsonBuilder& w, std::string_view key, const std::string& text) {
  w.string(key);
  if (text.empty()) {
    w.null();
  } else {
    w.string(text);
  }
}

// Canonical timestamps order as text.
const std::string& newest_of(const std::string& a, const std::string& b) { return a < b ? b : a; }

}  // namespace

std::string_view health_name(Health health) {
  switch (health) {
    case Health::healthy:
      return "healthy";
    case Health::stale:
      return "stale";
    case Health::silent:
      return "silent";
    case Health::never:
      break;
  }
  return "never";
}

Health health_of(std::string_view newest, int64_t now_micros, const HealthThresholds& thresholds) {
  if (newest.empty()) return Health::never;
  ParsedTimestamp at = parse_rfc3339(newest);
  if (!at.ok()) return Health::silent;
  const int64_t age = std::max<int64_t>(0, now_micros - at.micros);
  if (age <= thresholds.healthy_micros) return Health::healthy;
  if (age <= thresholds.stale_micros) return Health::stale;
  return Health::silent;
}

std::vector<TokenStatus> token_statuses(
    const std::string& self_db_id, const std::vector<std::pair<std::string, std::string>>& local,
    const std::vector<Token>& tokens, int64_t now_micros, const HealthThresholds& thresholds) {
  const std::vector<PeerCheckpoint> peers = peer_checkpoints(local);
  const std::vector<TokenPeers> pulls = token_peers(self_db_id, peers, tokens);

  // Each token's checkpoints, newest first, so that each token costs in
  // proportion to its own devices.
  std::multimap<std::string, const PeerCheckpoint*> by_token;
  for (const PeerCheckpoint& p : peers) by_token.emplace(p.token, &p);

  // Refusal lists by token.
  std::map<std::string, std::vector<Refusal>> refused;
  for (const auto& [stored, body] : local) {
    auto [token, id] = split_token_local_id(stored);
    if (token.empty() || !id.starts_with(kRefusalPrefix)) continue;
    if (body.size() > kMaxRefusalListBytes) continue;
    if (std::optional<std::vector<Refusal>> list = refusals_from_json(body)) {
      std::vector<Refusal>& into = refused[token];
      into.insert(into.end(), list->begin(), list->end());
    }
  }

  std::vector<TokenStatus> out;
  out.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    TokenStatus status;
    status.token = tokens[i];
    std::map<std::string, DeviceStatus> devices;  // by db_id
    for (const TokenDevice& d : pulls[i].devices) {
      DeviceStatus& device = devices[d.db_id];
      device.db_id = d.db_id;
      device.last_pull = d.updated_at;
      device.synced_scope_fingerprint = d.synced_scope_fingerprint;
      device.caught_up = d.caught_up;
    }
    // `peers` is newest first: the first checkpoint seen of each kind is
    // the newest (a device may hold several, one per table filter).
    auto [first, last] = by_token.equal_range(status.token.name);
    for (auto it = first; it != last; ++it) {
      const PeerCheckpoint& p = *it->second;
      const Checkpoint& c = p.checkpoint;
      if (c.source_db_id == self_db_id && devices.count(c.target_db_id) &&
          devices[c.target_db_id].pull_seq.empty()) {
        devices[c.target_db_id].pull_seq = c.last_seq;
        devices[c.target_db_id].pull_tables = c.tables;
      } else if (c.target_db_id == self_db_id && !c.source_db_id.empty() &&
                 c.source_db_id != self_db_id) {
        DeviceStatus& device = devices[c.source_db_id];
        device.db_id = c.source_db_id;
        if (device.last_push.empty()) device.last_push = c.updated_at;
      }
    }
    for (auto& [db_id, device] : devices) {
      device.health =
          health_of(newest_of(device.last_pull, device.last_push), now_micros, thresholds);
      if (static_cast<int>(device.health) < static_cast<int>(status.health)) {
        status.health = device.health;
      }
      status.devices.push_back(std::move(device));
    }
    std::stable_sort(status.devices.begin(), status.devices.end(),
                     [](const DeviceStatus& a, const DeviceStatus& b) {
                       return newest_of(a.last_pull, a.last_push) >
                              newest_of(b.last_pull, b.last_push);
                     });
    if (auto it = refused.find(status.token.name); it != refused.end()) {
      std::vector<Refusal>& list = it->second;
      std::stable_sort(list.begin(), list.end(),
                       [](const Refusal& a, const Refusal& b) { return a.at > b.at; });
      status.refusal_count = list.size();
      if (list.size() > TokenStatus::kMaxListed) list.resize(TokenStatus::kMaxListed);
      status.refusals = std::move(list);
    }
    out.push_back(std::move(status));
  }
  return out;
}

namespace {

void write_head(JsonBuilder& w, std::string_view update_seq, int64_t now_micros,
                const HealthThresholds& thresholds) {
  w.field("update_seq", update_seq);
  w.field("now", format_timestamp(now_micros));
  w.string("thresholds");
  w.start_object();
  w.field_number("healthy_hours", static_cast<double>(thresholds.healthy_micros) / 3.6e9);
  w.field_number("stale_days", static_cast<double>(thresholds.stale_micros) / 8.64e10);
  w.end_object();
}

void write_refusal(JsonBuilder& w, const Refusal& r) {
  w.field("table", r.table);
  w.field("id", r.id);
  w.field("revision", r.revision);
  w.field("code", error_code_name(r.code));
  w.field("message", r.message);
  w.field("at", r.at);
}

}  // namespace

std::string devices_summary_to_json(std::string_view update_seq, int64_t now_micros,
                                    const HealthThresholds& thresholds,
                                    const std::vector<TokenStatus>& tokens, size_t max_refusals) {
  size_t live = 0;
  size_t refusal_count = 0;
  std::map<Health, size_t> health{
      {Health::healthy, 0}, {Health::stale, 0}, {Health::silent, 0}, {Health::never, 0}};
  std::vector<std::pair<const std::string*, const Refusal*>> refusals;
  for (const TokenStatus& t : tokens) {
    const bool expired = t.token.expires_at_micros && *t.token.expires_at_micros <= now_micros;
    if (t.token.revoked || expired) continue;
    ++live;
    if (t.devices.empty()) ++health[Health::never];
    for (const DeviceStatus& d : t.devices) ++health[d.health];
    refusal_count += t.refusal_count;
    for (const Refusal& r : t.refusals) refusals.emplace_back(&t.token.name, &r);
  }
  std::stable_sort(refusals.begin(), refusals.end(),
                   [](const auto& a, const auto& b) { return a.second->at > b.second->at; });
  if (refusals.size() > max_refusals) refusals.resize(max_refusals);

  JsonBuilder w;
  w.start_object();
  write_head(w, update_seq, now_micros, thresholds);
  w.string("summary");
  w.start_object();
  w.field_count("tokens", live);
  w.string("health");
  w.start_object();
  for (const auto& [h, n] : health) w.field_count(health_name(h), n);
  w.end_object();
  w.field_count("refusal_count", refusal_count);
  w.string("refusals");
  w.start_array();
  for (const auto& [token, refusal] : refusals) {
    w.start_object();
    w.field("token", *token);
    write_refusal(w, *refusal);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  w.end_object();
  return w.str();
}

std::string devices_to_json(std::string_view update_seq, int64_t now_micros,
                            const HealthThresholds& thresholds,
                            const std::vector<TokenStatus>& tokens) {
  JsonBuilder w;
  w.start_object();
  write_head(w, update_seq, now_micros, thresholds);
  w.string("tokens");
  w.start_array();
  for (const TokenStatus& t : tokens) {
    const Token& token = t.token;
    w.start_object();
    w.field("name", token.name);
    w.field_bool("admin", token.admin);
    w.field_bool("revoked", token.revoked);
    field_or_null(w, "expires_at",
                  token.expires_at_micros ? timestamp_or_empty(*token.expires_at_micros) : "");
    field_or_null(w, "scope", token.scope);
    field_or_null(w, "scope_fingerprint", token.scope.empty() ? "" : sha256_hex(token.scope));
    field_or_null(w, "write_scope", token.write_scope);
    field_or_null(w, "rescoped_at", timestamp_or_empty(token.rescoped_at_micros));
    w.field("health", health_name(t.health));
    w.string("devices");
    w.start_array();
    for (const DeviceStatus& d : t.devices) {
      w.start_object();
      w.field("db_id", d.db_id);
      field_or_null(w, "last_pull", d.last_pull);
      field_or_null(w, "last_push", d.last_push);
      field_or_null(w, "pull_seq", d.pull_seq);
      w.field("synced_scope_fingerprint", d.synced_scope_fingerprint);
      w.field_bool("caught_up", d.caught_up);
      w.field("health", health_name(d.health));
      w.string("pending");
      if (d.pending) {
        w.uint64(static_cast<uint64_t>(*d.pending));
      } else {
        w.null();
      }
      w.field_bool("pending_more", d.pending_more);
      w.end_object();
    }
    w.end_array();
    w.field_count("refusal_count", t.refusal_count);
    w.string("refusals");
    w.start_array();
    for (const Refusal& r : t.refusals) {
      w.start_object();
      write_refusal(w, r);
      w.end_object();
    }
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.str();
}

}  // namespace outpost
