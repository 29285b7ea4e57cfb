// What a hub knows of the devices that sync with it (GET /v1/devices, the
// web console's devices page): per token, each database that pulled from or
// pushed to this one with it, when, up to which cursor, whether its last
// pull was under the token's current scope, the refusals recorded for its
// pulls, and a health by the age of its newest sync. Built from the local
// documents replication saves on the hub (checkpoints and refusal lists,
// DESIGN.md section 7), so it costs no write on any sync.
// Thread-safety: plain value types and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/refusals.h"
#include "api/tokens.h"

namespace outpost {

enum class Health { healthy, stale, silent, never };
std::string_view health_name(Health health);

// A device is healthy when its newest sync is at most `healthy_micros` old,
// stale up to `stale_micros`, silent beyond; never without any sync.
struct HealthThresholds {
  int64_t healthy_micros = int64_t{24} * 3600 * 1000000;
  int64_t stale_micros = int64_t{7} * 86400 * 1000000;
};
// `newest` is a canonical timestamp, or "" for no sync. Timestamps are the
// device's clock (it saves the checkpoints): one ahead of `now` counts as
// just now.
Health health_of(std::string_view newest, int64_t now_micros, const HealthThresholds& thresholds);

struct DeviceStatus {
  std::string db_id;
  std::string last_pull;                 // canonical timestamp of its newest pull; "" never
  std::string last_push;                 // of its newest push; "" never
  std::string pull_seq;                  // this database's cursor its newest pull reached; "" none
  std::vector<std::string> pull_tables;  // that pull's table filter; empty: all
  std::string synced_scope_fingerprint;  // of the scope it last pulled; "" all
  // Its newest pull was under the token's current read scope, finished its
  // first pass and was saved after the token's last re-scope (TokenDevice).
  bool caught_up = false;
  Health health = Health::never;
  // Changes of this database in the token's scope after pull_seq (the
  // caller counts them with a feed read, up to a cap; pending_more: more).
  std::optional<int64_t> pending;
  bool pending_more = false;
};

struct TokenStatus {
  Token token;
  Health health = Health::never;      // its healthiest device's
  std::vector<DeviceStatus> devices;  // newest sync first
  // Documents its devices' pulls could not write, recorded here (the
  // source of a pull) by the replicator; newest first, at most kMaxListed.
  std::vector<Refusal> refusals;
  size_t refusal_count = 0;
  static constexpr size_t kMaxListed = 100;
};

// Every token of `tokens`, in their order, from the local documents of the
// database `self_db_id` (Engine::list_local: stored ids "<token>/<id>").
std::vector<TokenStatus> token_statuses(
    const std::string& self_db_id, const std::vector<std::pair<std::string, std::string>>& local,
    const std::vector<Token>& tokens, int64_t now_micros, const HealthThresholds& thresholds);

// {"update_seq", "now", "thresholds": {"healthy_hours", "stale_days"},
//  "tokens": [{"name", "admin", "revoked", "expires_at", "scope",
//  "scope_fingerprint", "write_scope", "rescoped_at", "health",
//  "devices": [{"db_id", "last_pull", "last_push", "pull_seq",
//  "synced_scope_fingerprint", "caught_up", "health", "pending",
//  "pending_more"}], "refusal_count", "refusals": [{"table", "id",
//  "revision", "code", "message", "at"}]}]}; absent times are null.
std::string devices_to_json(std::string_view update_seq, int64_t now_micros,
                            const HealthThresholds& thresholds,
                            const std::vector<TokenStatus>& tokens);

// The same at a glance, for a page that shows only totals (the console's
// overview): {"update_seq", "now", "thresholds", "summary": {"tokens":
// live tokens, "health": {"healthy", "stale", "silent": devices; "never":
// live tokens without a device}, "refusal_count", "refusals": the newest
// `max_refusals` of all tokens, each with its "token"}}. Revoked and
// expired tokens are left out.
std::string devices_summary_to_json(std::string_view update_seq, int64_t now_micros,
                                    const HealthThresholds& thresholds,
                                    const std::vector<TokenStatus>& tokens,
                                    size_t max_refusals = 10);

}  // namespace outpost
