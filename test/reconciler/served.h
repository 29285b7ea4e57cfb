// A database behind a real outpost server, for replication tests: the
// Router and Server of server/ on a free loopback port (real HTTP, no auth),
// and an HttpEngine that talks to it, so that a replication to or from the
// client crosses the wire with the server's limits.
// Thread-safety: construct and destroy on one thread; client() is an
// ordinary (thread-safe) Engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

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

// "households: district = 'D'": the scope the token tests give a district.
std::string district_scope(const std::string& district);

// A database behind a Router and Server with auth (the engine's own
// tokens) on a free loopback port, and clients that call it with a token.
// Thread-safety: as ServedEngine.
class AuthHub {
 public:
  explicit AuthHub(Engine& engine);  // `engine` must outlive this
  ~AuthHub();
  AuthHub(const AuthHub&) = delete;
  AuthHub& operator=(const AuthHub&) = delete;

  std::string url() const;
  // A token reading and writing households, scoped to `district` (a scope
  // names its tables; unscoped when empty); returns its secret.
  std::string add_token(const std::string& name, const std::string& district);
  void rescope(const std::string& name, const std::string& district, int64_t grace_micros);
  // A client calling the hub with the token `secret`, retrying quickly.
  std::unique_ptr<HttpEngine> client(const std::string& secret) const;

 private:
  Engine& engine_;
  std::unique_ptr<server::Router> router_;
  std::unique_ptr<server::Server> server_;
};

}  // namespace outpost::test
