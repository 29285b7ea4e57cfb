#include "reconciler/served.h"

#include "api/scope.h"
#include "api/tokens.h"

namespace outpost::test {

ServedEngine::ServedEngine(Engine& engine, size_t max_body_bytes) {
  server::RouterOptions routing;
  routing.auth = false;
  routing.max_body_bytes = max_body_bytes;
  router_ = std::make_unique<server::Router>(engine, routing);
  server::ServerOptions serving;
  serving.port = 0;
  serving.max_body_bytes = max_body_bytes;
  server_ = std::make_unique<server::Server>(*router_, serving);
  server_->start();
  HttpClientOptions options;
  options.retry_base = std::chrono::milliseconds(1);
  options.retry_cap = std::chrono::milliseconds(5);
  client_ = open_http_engine(url(), options);
}

ServedEngine::~ServedEngine() {
  client_.reset();
  server_->stop(std::chrono::seconds(5));
}

std::string ServedEngine::url() const {
  return "http://127.0.0.1:" + std::to_string(server_->port());
}

std::string district_scope(const std::string& district) {
  return "households: district = '" + district + "'";
}

AuthHub::AuthHub(Engine& engine) : engine_(engine) {
  server::RouterOptions routing;
  routing.auth = true;
  router_ = std::make_unique<server::Router>(engine, routing);
  server::ServerOptions serving;
  serving.port = 0;
  server_ = std::make_unique<server::Server>(*router_, serving);
  server_->start();
}

AuthHub::~AuthHub() { server_->stop(std::chrono::seconds(5)); }

std::string AuthHub::url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

std::string AuthHub::add_token(const std::string& name, const std::string& district) {
  Token token;
  token.name = name;
  if (district.empty()) {
    token.read = {"households"};
    token.write = {"households"};
  } else {
    const std::string text =
        scope_text(parse_scope(district_scope(district), engine_.list_tables()));
    token.scope = text;
    token.write_scope = text;
  }
  return engine_.tokens()->create_token(token);
}

void AuthHub::rescope(const std::string& name, const std::string& district, int64_t grace_micros) {
  TokenUpdate update;
  update.scope = district_scope(district);
  update.write_scope = district_scope(district);
  update.grace_micros = grace_micros;
  engine_.tokens()->update_token(name, update);
}

std::unique_ptr<HttpEngine> AuthHub::client(const std::string& secret) const {
  HttpClientOptions options;
  options.token = secret;
  options.retry_base = std::chrono::milliseconds(1);
  options.retry_cap = std::chrono::milliseconds(5);
  return open_http_engine(url(), options);
}

}  // namespace outpost::test
