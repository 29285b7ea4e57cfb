// API tokens (DESIGN.md section 9): random secrets shown once at creation and
// stored only as SHA-256 hashes. A token is admin, or carries per-table read
// and write lists. Thread-safety: a TokenStore may be used from several threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace outpost {

struct Token {
  std::string name;  // 1-64 bytes of [A-Za-z0-9._-]
  bool admin = false;
  std::vector<std::string> read;   // readable tables (admin: all)
  std::vector<std::string> write;  // writable tables (admin: all)
  int64_t created_at_micros = 0;   // set by the store
  std::optional<int64_t> expires_at_micros;
  bool revoked = false;

  bool can_read(const std::string& table) const;
  bool can_write(const std::string& table) const;
};

// Through a server with auth, each token has local documents of its own
// (a device's checkpoints): the server stores them under "<token>/<id>", so
// no token reads or moves another's. Token names hold no '/'.
inline std::string token_local_id(const std::string& token_name, const std::string& id) {
  return token_name + "/" + id;
}
// The other way: {token name, id} of a stored id; an id without '/' was
// stored without a token (no auth, or straight into the database).
inline std::pair<std::string, std::string> split_token_local_id(const std::string& stored) {
  const size_t slash = stored.find('/');
  if (slash == std::string::npos) return {"", stored};
  return {stored.substr(0, slash), stored.substr(slash + 1)};
}

class TokenStore {
 public:
  virtual ~TokenStore() = default;
  // Creates `token` and returns its secret (≥128 random bits, base64url),
  // which is never stored. Error(conflict) when the name is taken,
  // Error(invalid_name) for a bad name.
  virtual std::string create_token(const Token& token) = 0;
  virtual std::vector<Token> list_tokens() = 0;
  // Revokes the named token; false when there is none.
  virtual bool revoke_token(const std::string& name) = 0;
  // The live (not revoked, not expired) token whose secret is `secret`.
  virtual std::optional<Token> authenticate(const std::string& secret) = 0;
};

}  // namespace outpost
