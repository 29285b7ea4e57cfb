// A database behind a real outpost server, for replication tests: the
// Router and Server of server/ on a free loopback port (real HTTP, no auth),
// and an HttpEngine that talks to it, so that a replication to or from the
// client crosses the wire with the server's limits.
// Thread-safety: construct and destroy on one thread; client() is an
// ordinary (thread-safe) Engine.
#pragma once

#include <cstddef>
#include <memory>

#include "api/engine.h"
#include "client/http_engine.h"
#include "server/router.h"
#include "server/server.h"

namespace outpost::test {

class ServedEngine {
 public:
  // `engine` must outlive this. `max_body_bytes`: the server's request
  // body limit (it also advertises it in GET /v1).
  explicit ServedEngine(Engine& engine, size_t max_body_bytes = size_t{16} << 20);
  ~ServedEngine();
  ServedEngine(const ServedEngine&) = delete;
  ServedEngine& operator=(const ServedEngine&) = delete;

  HttpEngine& client() { return *client_; }
  Engine& operator*() { return *client_; }
  std::string url() const;

 private:
  std::unique_ptr<server::Router> router_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<HttpEngine> client_;
};

}  // namespace outpost::test
