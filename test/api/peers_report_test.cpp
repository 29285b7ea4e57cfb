// The peers report (DESIGN.md section 14, GET /v1/peers and `outpost
// peers`): per token, the devices that pulled with it, the scope each last
// synced under, and whether each has caught up with the token's scope.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "api/checkpoint.h"
#include "api/json_builder.h"
#include "api/tokens.h"
#include "utils/sha256.h"
#include "utils/time.h"

namespace outpost {
namespace {

constexpr const char* kHub = "hub-db";
const std::string kScopeA = "households: district = 'a'";
const std::string kScopeB = "households: district = 'b'";

PeerCheckpoint pull(const std::string& token, const std::string& device,
                    const std::string& fingerprint, const std::string& updated_at,
                    const std::string& last_seq = "42") {
  PeerCheckpoint p;
  p.token = token;
  p.replication_id = "rep-" + device + "-" + updated_at;
  p.checkpoint.source_db_id = kHub;
  p.checkpoint.target_db_id = device;
  p.checkpoint.last_seq = last_seq;
  p.checkpoint.updated_at = updated_at;
  p.checkpoint.copied_scope_fingerprint = fingerprint;
  return p;
}

Token scoped(const std::string& name, const std::string& scope, int64_t rescoped_at = 0) {
  Token t;
  t.name = name;
  t.read = {"households"};
  t.scope = scope;
  t.rescoped_at_micros = rescoped_at;
  return t;
}

int64_t at(const char* text) { return parse_rfc3339(text).micros; }

}  // namespace

TEST_CASE("peers report: each token's devices, the scope they synced under, caught up or not") {
  const std::string fa = sha256_hex(kScopeA), fb = sha256_hex(kScopeB);
  std::vector<PeerCheckpoint> peers = {
      // Newest first, as peer_checkpoints orders them.
      pull("worker", "dev1", fb, "2026-03-02T10:00:00.000000Z"),  // after the re-scope, new scope
      pull("worker", "dev1", fa, "2026-02-01T10:00:00.000000Z"),  // older pull: ignored
      pull("worker", "dev2", fa, "2026-03-02T09:00:00.000000Z"),  // still the old scope
      pull("worker", "dev3", fb, "2026-03-02T08:00:00.000000Z",
           "scan/7/x"),                                           // first pass unfinished
      pull("worker", "dev4", fb, "2026-02-28T08:00:00.000000Z"),  // saved before the re-scope
      pull("other", "dev5", fa, "2026-03-02T08:00:00.000000Z"),   // another token's device
  };
  // A push into the hub and a pull from elsewhere are no devices of a token.
  PeerCheckpoint push = pull("worker", "dev6", "", "2026-03-03T08:00:00.000000Z");
  push.checkpoint.source_db_id = "dev6";
  push.checkpoint.target_db_id = kHub;
  peers.push_back(push);
  PeerCheckpoint elsewhere = pull("worker", "dev7", fb, "2026-03-03T08:00:00.000000Z");
  elsewhere.checkpoint.source_db_id = "another-hub";
  peers.push_back(elsewhere);

  std::vector<Token> tokens = {scoped("worker", kScopeB, at("2026-03-01T00:00:00Z")),
                               scoped("other", kScopeA), scoped("idle", "")};
  std::vector<TokenPeers> report = token_peers(kHub, peers, tokens);
  REQUIRE(report.size() == 3);

  const TokenPeers& worker = report[0];
  CHECK(worker.name == "worker");
  CHECK(worker.scope_fingerprint == fb);
  CHECK(worker.rescoped_at == "2026-03-01T00:00:00.000000Z");
  REQUIRE(worker.devices.size() == 4);
  CHECK(worker.devices[0].db_id == "dev1");
  CHECK(worker.devices[0].synced_scope_fingerprint == fb);
  CHECK(worker.devices[0].updated_at == "2026-03-02T10:00:00.000000Z");
  CHECK(worker.devices[0].caught_up);
  CHECK(worker.devices[1].db_id == "dev2");
  CHECK(worker.devices[1].synced_scope_fingerprint == fa);
  CHECK_FALSE(worker.devices[1].caught_up);
  CHECK(worker.devices[2].db_id == "dev3");
  CHECK_FALSE(worker.devices[2].caught_up);
  CHECK(worker.devices[3].db_id == "dev4");
  CHECK_FALSE(worker.devices[3].caught_up);

  const TokenPeers& other = report[1];
  CHECK(other.scope_fingerprint == fa);
  CHECK(other.rescoped_at.empty());
  REQUIRE(other.devices.size() == 1);
  CHECK(other.devices[0].db_id == "dev5");
  CHECK(other.devices[0].caught_up);  // never re-scoped: the scope alone counts

  // A token without a device is listed with none.
  CHECK(report[2].name == "idle");
  CHECK(report[2].scope_fingerprint.empty());
  CHECK(report[2].devices.empty());

  // The JSON form, and the client's reading of it, say the same.
  const std::string json = peers_report_to_json(kHub, peers, tokens);
  std::optional<std::vector<TokenPeers>> decoded = token_peers_from_json(json);
  REQUIRE(decoded.has_value());
  REQUIRE(decoded->size() == 3);
  CHECK((*decoded)[0].name == "worker");
  CHECK((*decoded)[0].rescoped_at == worker.rescoped_at);
  REQUIRE((*decoded)[0].devices.size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    CHECK((*decoded)[0].devices[i].db_id == worker.devices[i].db_id);
    CHECK((*decoded)[0].devices[i].synced_scope_fingerprint ==
          worker.devices[i].synced_scope_fingerprint);
    CHECK((*decoded)[0].devices[i].updated_at == worker.devices[i].updated_at);
    CHECK((*decoded)[0].devices[i].caught_up == worker.devices[i].caught_up);
  }
  CHECK((*decoded)[2].devices.empty());

  // "peers" keeps peers_to_json's entries, each with its scope fingerprint.
  std::optional<JsonDoc> doc = JsonDoc::parse(json);
  REQUIRE(doc.has_value());
  std::optional<JsonNode> list = doc->root().member("peers");
  REQUIRE(list.has_value());
  std::vector<JsonNode> entries = list->items();
  REQUIRE(entries.size() == peers.size());
  for (const char* field : {"token", "replication_id", "source", "target", "last_seq", "updated_at",
                            "scope_fingerprint"}) {
    CAPTURE(field);
    CHECK(entries[0].member(field).has_value());
  }
  CHECK(entries[0].member("tables").has_value());
  CHECK(entries[0].member("scope_fingerprint")->string() == fb);
  CHECK(peers_to_json(peers).find("\"scope_fingerprint\"") != std::string::npos);
}

TEST_CASE("peers report: a checkpoint's scope fingerprint, from before it was saved too") {
  Checkpoint c;
  CHECK(synced_scope_fingerprint(c).empty());
  c.scope = kScopeA;  // a run narrowed by --scope, saved without copied_scope_fingerprint
  CHECK(synced_scope_fingerprint(c) == sha256_hex(kScopeA));
  c.copied_scope_fingerprint = sha256_hex(kScopeB);
  CHECK(synced_scope_fingerprint(c) == sha256_hex(kScopeB));
  // The field survives the checkpoint's JSON.
  std::optional<Checkpoint> back = checkpoint_from_json(checkpoint_to_json(c));
  REQUIRE(back.has_value());
  CHECK(*back == c);
  CHECK_FALSE(token_peers_from_json("{\"peers\": []}").has_value());
  CHECK_FALSE(token_peers_from_json("not json").has_value());
}

}  // namespace outpost
