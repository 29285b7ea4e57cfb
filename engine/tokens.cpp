// The TokenStore side of RecordEngine, and the Storage defaults for backends
// without tokens.
#include <openssl/crypto.h>

#include <algorithm>

#include "engine/record_engine.h"
#include "utils/base64.h"
#include "utils/sha256.h"
#include "utils/time.h"
#include "utils/uuid.h"

namespace outpost {

namespace {

constexpr size_t kSecretBytes = 24;  // 192 bits

[[noreturn]] void no_tokens() {
  throw Error(ErrorCode::internal, "this backend does not store API tokens");
}

void validate_token_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
  if (!ok) {
    throw Error(ErrorCode::invalid_name, "invalid token name \"" + name.substr(0, 80) +
                                             "\": token names are 1-64 characters of "
                                             "A-Z, a-z, 0-9, '.', '_' and '-'");
  }
}

// URL-safe base64 without padding, so a secret can sit in a header or a shell.
std::string new_secret() {
  std::string b64 = base64_encode(random_bytes(kSecretBytes));
  for (char& c : b64) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  std::erase(b64, '=');
  return b64;
}

}  // namespace

void Storage::insert_token(Transaction&, const Token&, const std::string&) { no_tokens(); }
std::vector<Token> Storage::load_tokens(Transaction&) { no_tokens(); }
bool Storage::revoke_token(Transaction&, const std::string&) { no_tokens(); }
std::optional<std::pair<Token, std::string>> Storage::find_token(Transaction&, const std::string&) {
  no_tokens();
}

bool Token::can_read(const std::string& table) const {
  return admin || std::find(read.begin(), read.end(), table) != read.end();
}

bool Token::can_write(const std::string& table) const {
  return admin || std::find(write.begin(), write.end(), table) != write.end();
}

std::string RecordEngine::create_token(const Token& given) {
  validate_token_name(given.name);
  for (const auto& list : {given.read, given.write}) {
    for (const std::string& t : list) validate_table_name(t);
  }
  Token token = given;
  token.created_at_micros = now_micros();
  token.revoked = false;
  std::string secret = new_secret();
  with_retry([&] {
    auto txn = storage_->begin(TransactionKind::write);
    for (const Token& existing : storage_->load_tokens(*txn)) {
      if (existing.name == token.name) {
        throw Error(ErrorCode::conflict, "a token named \"" + token.name + "\" already exists");
      }
    }
    storage_->insert_token(*txn, token, sha256_hex(secret));
    txn->commit();
  });
  return secret;
}

std::vector<Token> RecordEngine::list_tokens() {
  return with_retry([&] {
    auto txn = storage_->begin(TransactionKind::read);
    return storage_->load_tokens(*txn);
  });
}

bool RecordEngine::revoke_token(const std::string& name) {
  return with_retry([&] {
    auto txn = storage_->begin(TransactionKind::write);
    bool found = storage_->revoke_token(*txn, name);
    txn->commit();
    return found;
  });
}

std::optional<Token> RecordEngine::authenticate(const std::string& secret) {
  if (secret.empty() || secret.size() > 256) return std::nullopt;
  std::string hash = sha256_hex(secret);
  auto found = with_retry([&] {
    auto txn = storage_->begin(TransactionKind::read);
    return storage_->find_token(*txn, hash);
  });
  if (!found) return std::nullopt;
  auto& [token, stored] = *found;
  // The lookup matched already; compare once more in constant time so the
  // decision never depends on a short-circuiting string comparison.
  if (stored.size() != hash.size() || CRYPTO_memcmp(stored.data(), hash.data(), hash.size()) != 0) {
    return std::nullopt;
  }
  if (token.revoked) return std::nullopt;
  if (token.expires_at_micros && *token.expires_at_micros <= now_micros()) return std::nullopt;
  return token;
}

}  // namespace outpost
