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

  // Record-level access (DESIGN.md section 14), canonical scope texts. An
  // empty text means the table list alone (`*` clauses). With a read scope,
  // `read` lists exactly the tables it names; with a write scope, `write`
  // lists exactly the tables it names. Admin tokens have neither.
  std::string scope;        // read scope
  std::string write_scope;  // write scope
  // Write scopes this token had before a re-scope, still honoured for
  // replicated revisions (edits a device made offline before its worker
  // moved) until `until_micros`, so that such edits arrive instead of being
  // refused. Newest first, at most kMaxEarlierWriteScopes.
  struct EarlierScope {
    std::string scope;  // canonical text; empty: the table list alone
    int64_t until_micros = 0;
    friend bool operator==(const EarlierScope&, const EarlierScope&) = default;
  };
  std::vector<EarlierScope> earlier_write_scopes;
  int64_t rescoped_at_micros = 0;  // the last change of scope or write_scope; 0: never

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

constexpr size_t kMaxEarlierWriteScopes = 8;
// How long an earlier write scope is honoured after a re-scope, by default.
constexpr int64_t kDefaultRescopeGraceMicros = int64_t{90} * 86400 * 1000000;

// A re-scope (TokenStore::update_token). Unset fields stay as they are.
struct TokenUpdate {
  std::optional<std::string> scope;        // new read scope text
  std::optional<std::string> write_scope;  // new write scope text
  // How long the write scope being replaced stays honoured for replicated
  // revisions; 0 ends it at once.
  int64_t grace_micros = kDefaultRescopeGraceMicros;
  // Only answer the token as it would be: nothing is saved (a console's
  // re-scope preview).
  bool dry_run = false;
};

class TokenStore {
 public:
  virtual ~TokenStore() = default;
  // Creates `token` and returns its secret (≥128 random bits, base64url),
  // which is never stored. Error(conflict) when the name is taken,
  // Error(invalid_name) for a bad name.
  virtual std::string create_token(const Token& token) = 0;
  virtual std::vector<Token> list_tokens() = 0;
  // Re-scopes the named token (see TokenUpdate and DESIGN.md section 14)
  // and returns it as stored. A read scope given without a write scope
  // moves the write scope along when it equalled the old read scope.
  // Error(not_found) when there is no such live token, Error(invalid_scope)
  // for a bad scope, Error(invalid_value) for an admin token.
  virtual Token update_token(const std::string& name, const TokenUpdate& update) = 0;
  // Revokes the named token; false when there is none.
  virtual bool revoke_token(const std::string& name) = 0;
  // The live (not revoked, not expired) token whose secret is `secret`.
  virtual std::optional<Token> authenticate(const std::string& secret) = 0;
};

}  // namespace outpost
