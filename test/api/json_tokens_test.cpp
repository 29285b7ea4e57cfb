// The token shapes of the JSON codec (api/json_tokens.cpp): round trips
// between token_to_json and token_from_json, and the refusals of the
// request decoders (POST and PUT /v1/tokens).
#include <doctest/doctest.h>

#include <cstdlib>
#include <functional>
#include <optional>
#include <random>
#include <string>

#include "api/json.h"
#include "utils/sha256.h"
#include "utils/time.h"

namespace outpost {
namespace {

std::optional<ErrorCode> error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.code();
  }
  return std::nullopt;
}

std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

Token scoped_token() {
  Token t;
  t.name = "worker-7";
  t.read = {"households", "visits"};
  t.write = {"households"};
  t.scope = "households: district = 'north'; visits: district = 'north'";
  t.write_scope = "households: district = 'north'";
  t.earlier_write_scopes = {{"households: district = 'east'", 1800000000000000},
                            {"households: *", 1790000000123456}};
  t.rescoped_at_micros = 1780000000000001;
  t.created_at_micros = 1770000000000000;
  t.expires_at_micros = 1900000000000000;
  return t;
}

void check_same(const Token& a, const Token& b) {
  CHECK(a.name == b.name);
  CHECK(a.admin == b.admin);
  CHECK(a.read == b.read);
  CHECK(a.write == b.write);
  CHECK(a.scope == b.scope);
  CHECK(a.write_scope == b.write_scope);
  CHECK(a.earlier_write_scopes == b.earlier_write_scopes);
  CHECK(a.rescoped_at_micros == b.rescoped_at_micros);
  CHECK(a.created_at_micros == b.created_at_micros);
  CHECK(a.expires_at_micros == b.expires_at_micros);
  CHECK(a.revoked == b.revoked);
}

TEST_CASE("json tokens: a token round-trips with its scopes, fingerprints and times") {
  const Token t = scoped_token();
  const std::string json = token_to_json(t);
  CHECK(has(json, "\"scope_fingerprint\":\"" + sha256_hex(t.scope) + "\""));
  CHECK(has(json, "\"write_scope_fingerprint\":\"" + sha256_hex(t.write_scope) + "\""));
  CHECK(has(json, "\"rescoped_at\":\"" + format_timestamp(t.rescoped_at_micros) + "\""));
  CHECK(has(json, "\"until\":\"2027-01-15T08:00:00.000000Z\""));
  CHECK_FALSE(has(json, "secret"));
  check_same(token_from_json(json), t);

  // No scope: null texts and fingerprints; no re-scope: null rescoped_at.
  Token plain;
  plain.name = "plain";
  plain.admin = true;
  plain.created_at_micros = 1;
  plain.revoked = true;
  const std::string pj = token_to_json(plain);
  CHECK(has(pj, "\"scope\":null,\"scope_fingerprint\":null"));
  CHECK(has(pj, "\"write_scope\":null,\"write_scope_fingerprint\":null"));
  CHECK(has(pj, "\"earlier_write_scopes\":[]"));
  CHECK(has(pj, "\"rescoped_at\":null"));
  CHECK(has(pj, "\"expires_at\":null"));
  check_same(token_from_json(pj), plain);

  // A list, and a creation's answer with its secret.
  std::vector<Token> both = tokens_from_json(tokens_to_json({t, plain}));
  REQUIRE(both.size() == 2);
  check_same(both[0], t);
  check_same(both[1], plain);
  CHECK(tokens_from_json(tokens_to_json({})).empty());
  std::string secret;
  check_same(token_from_json(created_token_to_json(t, "s3cr3t"), {}, &secret), t);
  CHECK(secret == "s3cr3t");
}

TEST_CASE("json tokens: random tokens round-trip (seeded)") {
  const char* given = std::getenv("OUTPOST_TEST_SEED");
  const uint64_t seed = given ? std::stoull(given) : std::random_device{}();
  CAPTURE(seed);
  std::mt19937_64 random(seed);
  auto text = [&](size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += static_cast<char>(0x20 + random() % 0x5f);
    return s;
  };
  for (int round = 0; round < 200; ++round) {
    Token t;
    t.name = text(1 + random() % 10);
    t.admin = random() % 2 == 0;
    for (size_t i = random() % 3; i > 0; --i) t.read.push_back(text(5));
    for (size_t i = random() % 3; i > 0; --i) t.write.push_back(text(5));
    if (random() % 2) t.scope = text(1 + random() % 40);
    if (random() % 2) t.write_scope = text(1 + random() % 40);
    for (size_t i = random() % 9; i > 0; --i) {
      t.earlier_write_scopes.push_back(
          {text(random() % 20), static_cast<int64_t>(random() % 4000000000000000)});
    }
    if (random() % 2) t.rescoped_at_micros = static_cast<int64_t>(random() % 4000000000000000);
    t.created_at_micros = static_cast<int64_t>(random() % 4000000000000000);
    if (random() % 2) t.expires_at_micros = static_cast<int64_t>(random() % 4000000000000000);
    t.revoked = random() % 2 == 0;
    check_same(token_from_json(token_to_json(t)), t);
  }
}

TEST_CASE("json tokens: a creation request reads its fields") {
  Token t = token_request_from_json(
      R"({"name": "w", "read": [], "write": ["visits"], "scope": "households: *",
          "write_scope": null, "expires_at": "2030-01-01T00:00:00+01:00"})");
  CHECK(t.name == "w");
  CHECK_FALSE(t.admin);
  CHECK(t.read.empty());
  CHECK(t.write == std::vector<std::string>{"visits"});
  CHECK(t.scope == "households: *");
  CHECK(t.write_scope.empty());
  REQUIRE(t.expires_at_micros);
  CHECK(format_timestamp(*t.expires_at_micros) == "2029-12-31T23:00:00.000000Z");
  Token admin = token_request_from_json(R"({"name": "root", "admin": true})");
  CHECK(admin.admin);
  CHECK_FALSE(admin.expires_at_micros);
}

TEST_CASE("json tokens: a creation request refuses server-owned, unknown and bad fields") {
  for (const char* owned : {"created_at", "revoked", "rescoped_at", "earlier_write_scopes",
                            "secret", "hash", "scope_fingerprint", "_id", "seq"}) {
    CAPTURE(owned);
    const std::string body = std::string(R"({"name": "w", ")") + owned + R"(": "x"})";
    CHECK(error_of([&] { token_request_from_json(body); }) == ErrorCode::invalid_value);
    CHECK(has(message_of([&] { token_request_from_json(body); }), owned));
  }
  CHECK(error_of([&] { token_request_from_json(R"({"name": "w", "colour": "red"})"); }) ==
        ErrorCode::invalid_value);
  CHECK(has(message_of([&] { token_request_from_json(R"({"name": "w", "colour": "red"})"); }),
            "colour"));
  CHECK(error_of([&] { token_request_from_json(R"({"name": "w", "expires_at": "tomorrow"})"); }) ==
        ErrorCode::invalid_value);
  CHECK(error_of([&] { token_request_from_json(R"({"admin": true})"); }) ==
        ErrorCode::invalid_json);
  CHECK(error_of([&] { token_request_from_json(R"({"name": 7})"); }) == ErrorCode::invalid_json);
  CHECK(error_of([&] { token_request_from_json(R"({"name": "w", "read": [1]})"); }) ==
        ErrorCode::invalid_json);
  CHECK(error_of([&] { token_request_from_json(R"({"name": "w", "name": "v"})"); }) ==
        ErrorCode::invalid_json);
  CHECK(error_of([&] { token_request_from_json(R"([])"); }) == ErrorCode::invalid_json);
  CHECK(error_of([&] { token_request_from_json(R"({"name": )"); }) == ErrorCode::invalid_json);
  // The depth limit applies.
  JsonLimits shallow;
  shallow.max_depth = 2;
  CHECK(error_of([&] { token_request_from_json(R"({"name": "w", "read": [["x"]]})", shallow); }) ==
        ErrorCode::invalid_json);
  CHECK(error_of([&] {
          token_request_from_json(std::string(100000, '[') + std::string(100000, ']'));
        }) == ErrorCode::invalid_json);
}

TEST_CASE("json tokens: an update request reads scopes and grace, and refuses the rest") {
  TokenUpdate u = token_update_from_json(R"({"scope": "households: *"})");
  CHECK(u.scope == std::optional<std::string>("households: *"));
  CHECK_FALSE(u.write_scope);
  CHECK(u.grace_micros == kDefaultRescopeGraceMicros);
  u = token_update_from_json(R"({"write_scope": "visits: *", "grace_seconds": 0})");
  CHECK_FALSE(u.scope);
  CHECK(u.write_scope == std::optional<std::string>("visits: *"));
  CHECK(u.grace_micros == 0);
  u = token_update_from_json(R"({"scope": "", "grace_seconds": 3600})");
  CHECK(u.scope == std::optional<std::string>(""));  // the engine refuses it (invalid_scope)
  CHECK(u.grace_micros == int64_t{3600} * 1000000);
  u = token_update_from_json(R"({"scope": "a: *", "grace_seconds": 3153600000})");
  CHECK(u.grace_micros == int64_t{3153600000} * 1000000);

  for (const char* body :
       {R"({})", R"({"scope": null})", R"({"scope": "a: *", "grace_seconds": -1})",
        R"({"scope": "a: *", "grace_seconds": 1.5})", R"({"scope": "a: *", "grace_seconds": "9"})",
        R"({"scope": "a: *", "grace_seconds": 3153600001})", R"({"scope": "a: *", "read": []})",
        R"({"scope": "a: *", "rescoped_at": "2020-01-01T00:00:00Z"})",
        R"({"scope": "a: *", "extra": 1})"}) {
    CAPTURE(body);
    CHECK(error_of([&] { token_update_from_json(body); }) == ErrorCode::invalid_value);
  }
  CHECK(has(message_of([&] { token_update_from_json(R"({"scope": "a: *", "extra": 1})"); }),
            "extra"));
  CHECK(error_of([&] { token_update_from_json(R"({"scope": 5})"); }) == ErrorCode::invalid_json);
}

TEST_CASE("json tokens: the client's side ignores fields it does not know") {
  Token t = token_from_json(R"({"name": "w", "admin": false, "read": ["a"], "future": {"x": 1}})");
  CHECK(t.name == "w");
  CHECK(t.read == std::vector<std::string>{"a"});
  CHECK(error_of([&] { token_from_json(R"({"admin": false})"); }) == ErrorCode::invalid_json);
  CHECK(error_of([&] { tokens_from_json(R"({})"); }) == ErrorCode::invalid_json);
  CHECK(error_of([&] { tokens_from_json(R"({"tokens": [{"name": 1}]})"); }) ==
        ErrorCode::invalid_json);
}

}  // namespace
}  // namespace outpost
