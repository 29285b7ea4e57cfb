// client/http_tokens and HttpEngine::token_scope: a server's tokens over its
// admin routes (/v1/tokens), and the calling token's scope read from GET /v1
// at every call, through a scripted transport.
#include <doctest/doctest.h>

#include "api/json.h"
#include "api/json_builder.h"
#include "client/fake_transport.h"
#include "client/http_engine.h"

namespace {

using outpost::Error;
using outpost::ErrorCode;
using outpost::HttpEngine;
using outpost::HttpRequest;
using outpost::HttpResponse;
using outpost::Token;
using outpost::test::FakeTransport;

HttpResponse json(int status, std::string body) {
  return HttpResponse{status, std::move(body), "application/json"};
}

struct Fixture {
  Fixture() {
    outpost::HttpClientOptions options;
    options.retry_base = std::chrono::milliseconds(1);
    options.retry_cap = std::chrono::milliseconds(2);
    auto transport = std::make_unique<FakeTransport>();
    requests = transport->requests;
    steps = transport->steps;
    engine = std::make_unique<HttpEngine>(outpost::parse_http_url("http://hub:8080"),
                                          std::move(transport), options);
  }
  void answer(HttpResponse response) { steps->push_back({std::move(response), std::nullopt}); }
  const HttpRequest& last() const { return requests->back(); }

  std::shared_ptr<std::vector<HttpRequest>> requests;
  std::shared_ptr<std::deque<FakeTransport::Step>> steps;
  std::unique_ptr<HttpEngine> engine;
};

std::string member(const std::string& text, const char* name) {
  std::optional<outpost::JsonDoc> doc = outpost::JsonDoc::parse(text);
  REQUIRE(doc.has_value());
  std::optional<outpost::JsonNode> v = doc->root().member(name);
  return v ? v->string() : std::string("<absent>");
}

const char* kTables =
    R"({"tables": [{"name": "households", "columns": [{"name": "district", "type": "string",)"
    R"( "required": false}]}]})";

}  // namespace

TEST_CASE("http engine: token_scope reads GET /v1 at every call") {
  Fixture f;
  outpost::ServerInfo info;
  info.db_id = "0b3c6a4e-59a2-4f1e-9d3c-1a2b3c4d5e6f";
  info.token_name = "worker";
  info.token_scope = "households: district = 'north'";
  f.answer(json(200, outpost::info_to_json(info)));
  f.answer(json(200, kTables));
  std::optional<outpost::Scope> scope = f.engine->token_scope();
  REQUIRE(scope.has_value());
  CHECK(outpost::scope_text(*scope) == "households: district = 'north'");
  // Not cached: a re-scope on the server is seen by the next call.
  info.token_scope = "households: district = 'south'";
  f.answer(json(200, outpost::info_to_json(info)));
  f.answer(json(200, kTables));
  scope = f.engine->token_scope();
  REQUIRE(scope.has_value());
  CHECK(outpost::scope_text(*scope) == "households: district = 'south'");
  CHECK(f.requests->size() == 4);
  // Those answers were an older server's, without the tables in GET /v1:
  // they were asked apart. A server that lists them answers in one request.
  // A token without a scope, or no token: nullopt, and the database's own
  // scope is another thing.
  info.token_scope.clear();
  info.tables = outpost::tables_from_json(kTables);
  f.answer(json(200, outpost::info_to_json(info)));
  CHECK_FALSE(f.engine->token_scope().has_value());
  f.answer(json(200, outpost::info_to_json(info)));
  CHECK_FALSE(f.engine->scope().has_value());
  CHECK(f.requests->size() == 6);
}

TEST_CASE("http engine: tokens() manages the server's tokens over /v1/tokens") {
  Fixture f;
  outpost::TokenStore* store = f.engine->tokens();
  REQUIRE(store != nullptr);
  CHECK(f.engine->tokens() == store);

  Token token;
  token.name = "worker";
  token.scope = "households: district = 'north'";
  token.write_scope = "households: district = 'north'";
  token.expires_at_micros = int64_t{1800000000} * 1000000;
  Token stored = token;
  stored.read = {"households"};
  stored.write = {"households"};
  stored.created_at_micros = int64_t{1700000000} * 1000000;
  f.answer(json(201, outpost::created_token_to_json(stored, "s3cret")));
  CHECK(store->create_token(token) == "s3cret");
  CHECK(f.last().method == "POST");
  CHECK(f.last().target == "/v1/tokens");
  // The request holds what a client may choose, and the server reads it.
  Token request = outpost::token_request_from_json(f.last().body);
  CHECK(request.name == "worker");
  CHECK(request.scope == token.scope);
  CHECK(request.write_scope == token.write_scope);
  CHECK(request.expires_at_micros == token.expires_at_micros);

  f.answer(json(200, outpost::tokens_to_json({stored})));
  std::vector<Token> listed = store->list_tokens();
  CHECK(f.last().method == "GET");
  CHECK(f.last().target == "/v1/tokens");
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].name == "worker");
  CHECK(listed[0].scope == stored.scope);

  outpost::TokenUpdate update;
  update.scope = "households: district = 'south'";
  update.grace_micros = int64_t{7200} * 1000000;
  Token moved = stored;
  moved.scope = *update.scope;
  f.answer(json(200, outpost::token_to_json(moved)));
  CHECK(store->update_token("worker", update).scope == *update.scope);
  CHECK(f.last().method == "PUT");
  CHECK(f.last().target == "/v1/tokens/worker");
  outpost::TokenUpdate read_back = outpost::token_update_from_json(f.last().body);
  CHECK(read_back.scope == update.scope);
  CHECK_FALSE(read_back.write_scope.has_value());
  CHECK(read_back.grace_micros == update.grace_micros);
  CHECK(member(f.last().body, "write_scope") == "<absent>");

  f.answer(json(200, R"({"name": "worker", "revoked": true})"));
  CHECK(store->revoke_token("worker"));
  CHECK(f.last().method == "DELETE");
  CHECK(f.last().target == "/v1/tokens/worker");
  f.answer(json(404, outpost::error_to_json(Error(ErrorCode::not_found, "no token 'x'"))));
  CHECK_FALSE(store->revoke_token("x"));
  // Other errors reach the caller with their code.
  f.answer(json(403, outpost::error_to_json(Error(ErrorCode::forbidden, "admins only"))));
  try {
    store->list_tokens();
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::forbidden);
  }
  CHECK_THROWS_AS(store->authenticate("s3cret"), Error);
}
