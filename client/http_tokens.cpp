// HttpEngine::tokens(): a server's API tokens (DESIGN.md sections 9 and 14)
// managed through its admin routes, so that `outpost tokens ... --db
// http://hub --token ADMIN` works like it does on the hub's database.
#include <optional>
#include <string>
#include <vector>

#include "api/error.h"
#include "api/json.h"
#include "api/json_builder.h"
#include "client/http_engine.h"
#include "client/url.h"
#include "utils/time.h"

namespace outpost {

namespace {

// POST /v1/tokens: what the client may choose (the server owns the rest).
std::string token_request_to_json(const Token& token) {
  JsonBuilder w;
  w.start_object();
  w.field("name", token.name);
  w.field_bool("admin", token.admin);
  w.string("read");
  w.strings(token.read);
  w.string("write");
  w.strings(token.write);
  if (!token.scope.empty()) w.field("scope", token.scope);
  if (!token.write_scope.empty()) w.field("write_scope", token.write_scope);
  if (token.expires_at_micros) w.field("expires_at", format_timestamp(*token.expires_at_micros));
  w.end_object();
  return w.str();
}

// PUT /v1/tokens/{name}.
std::string token_update_to_json(const TokenUpdate& update) {
  JsonBuilder w;
  w.start_object();
  if (update.scope) w.field("scope", *update.scope);
  if (update.write_scope) w.field("write_scope", *update.write_scope);
  w.field_count("grace_seconds",
                static_cast<uint64_t>(std::max<int64_t>(0, update.grace_micros) / 1000000));
  w.end_object();
  return w.str();
}

std::string token_path(const std::string& name) { return "/v1/tokens/" + percent_encode(name); }

class HttpTokenStore final : public TokenStore {
 public:
  explicit HttpTokenStore(HttpEngine& engine) : engine_(engine) {}

  std::string create_token(const Token& token) override {
    // Sent once: after a lost answer, a retry would find the token created
    // and its secret gone. The caller sees the failure and can list.
    std::string secret;
    std::string answer;
    try {
      answer = engine_.request("POST", "/v1/tokens", token_request_to_json(token), false);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::unavailable) throw;
      throw Error(e.code(), e.message() +
                                " (the token may have been created: check with 'tokens "
                                "list' and revoke it if so)");
    }
    token_from_json(answer, {}, &secret);
    if (secret.empty()) {
      throw Error(ErrorCode::internal,
                  engine_.url().str() + ": the server created the token without a secret");
    }
    return secret;
  }

  std::vector<Token> list_tokens() override {
    return tokens_from_json(engine_.request("GET", "/v1/tokens"));
  }

  Token update_token(const std::string& name, const TokenUpdate& update) override {
    if (update.dry_run) {
      // Never send a re-scope that was meant to save nothing.
      throw Error(ErrorCode::invalid_value,
                  "a re-scope preview is asked with PUT /v1/tokens/{name}?dry_run=true; this "
                  "client saves re-scopes only");
    }
    return token_from_json(engine_.request("PUT", token_path(name), token_update_to_json(update)));
  }

  bool revoke_token(const std::string& name) override {
    try {
      engine_.request("DELETE", token_path(name));
      return true;
    } catch (const Error& e) {
      if (e.code() == ErrorCode::not_found) return false;
      throw;
    }
  }

  std::optional<Token> authenticate(const std::string&) override {
    throw Error(ErrorCode::internal, engine_.url().str() +
                                         ": tokens are not authenticated over HTTP; the server "
                                         "checks them itself");
  }

 private:
  HttpEngine& engine_;
};

}  // namespace

TokenStore* HttpEngine::tokens() {
  std::lock_guard lock(limits_mu_);
  if (!tokens_) tokens_ = std::make_unique<HttpTokenStore>(*this);
  return tokens_.get();
}

}  // namespace outpost
