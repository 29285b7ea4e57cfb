#include "reconciler/served.h"

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

}  // namespace outpost::test
