// The TokenStore side of RecordEngine, and the Storage defaults for backends
// without tokens.
#include <openssl/crypto.h>

#include <algorithm>
#include <set>

#include "api/json_builder.h"
#include "api/scope.h"
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

// The tables of `scope`, in its (sorted) order.
std::vector<std::string> tables_of(const Scope& scope) {
  std::vector<std::string> out;
  for (const ScopeClause& clause : scope.clauses) out.push_back(clause.table);
  return out;
}

// `text` parsed against the tables of `catalog` and written canonically.
// Throws Error(invalid_scope), prefixed with what the scope was for.
Scope parse_token_scope(const std::string& text, const std::vector<Table>& tables,
                        std::string_view what) {
  try {
    return parse_scope(text, tables, kStoredScopeLimits);
  } catch (const Error& e) {
    throw Error(e.code(), std::string(what) + ": " + e.message());
  }
}

// A token with a read scope writes the tables it names through a write
// scope, never through the table list: a list would let it write records it
// cannot read, and error messages name what it writes. Error(invalid_value).
void check_write_list(const Token& token) {
  if (token.scope.empty() || !token.write_scope.empty()) return;
  for (const std::string& table : token.write) {
    if (std::find(token.read.begin(), token.read.end(), table) != token.read.end()) {
      throw Error(ErrorCode::invalid_value,
                  "token \"" + token.name + "\": its read scope names table \"" + table +
                      "\", so it writes that table through a write scope (--write-scope), not "
                      "a list of writable tables");
    }
  }
}

// The scope a token's text and table list mean together, as canonical text:
// the text itself, or `*` clauses for the tables of the list that exist
// ("" for none), so that parse_scope takes it.
std::string effective_scope_text(const std::string& text, const std::vector<std::string>& tables,
                                 const std::vector<Table>& existing) {
  if (!text.empty()) return text;
  std::set<std::string> names(tables.begin(), tables.end());
  std::string out;
  for (const std::string& name : names) {
    if (std::none_of(existing.begin(), existing.end(),
                     [&](const Table& t) { return t.name == name; })) {
      continue;
    }
    if (!out.empty()) out += "; ";
    out += name + ": *";
  }
  return out;
}

}  // namespace

std::string Storage::encode_earlier_scopes(const std::vector<Token::EarlierScope>& scopes) {
  if (scopes.empty()) return "";
  JsonBuilder b;
  b.start_array();
  for (const Token::EarlierScope& e : scopes) {
    b.start_object();
    b.field("scope", e.scope);
    b.field("until", format_timestamp(e.until_micros));
    b.end_object();
  }
  b.end_array();
  return b.str();
}

std::vector<Token::EarlierScope> Storage::decode_earlier_scopes(std::string_view text) {
  std::vector<Token::EarlierScope> out;
  if (text.empty()) return out;
  auto bad = [&]() -> Error {
    return Error(ErrorCode::internal, "a stored token's earlier_write_scopes is not valid: " +
                                          std::string(text.substr(0, 80)));
  };
  std::optional<JsonDoc> doc = JsonDoc::parse(text);
  if (!doc || !doc->root().is_array()) throw bad();
  for (const JsonNode& item : doc->root().items()) {
    std::optional<JsonNode> scope = item.member("scope");
    std::optional<JsonNode> until = item.member("until");
    if (!scope || !scope->is_string() || !until || !until->is_string()) throw bad();
    ParsedTimestamp ts = parse_rfc3339(until->string());
    if (!ts.ok()) throw bad();
    out.push_back({scope->string(), ts.micros});
  }
  return out;
}

void Storage::insert_token(Transaction&, const Token&, const std::string&) { no_tokens(); }
std::vector<Token> Storage::load_tokens(Transaction&, const std::string&) { no_tokens(); }
bool Storage::revoke_token(Transaction&, const std::string&) { no_tokens(); }
std::optional<std::pair<Token, std::string>> Storage::find_token(Transaction&, const std::string&) {
  no_tokens();
}
void Storage::update_token_scopes(Transaction&, const Token&) { no_tokens(); }

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
  if (given.admin && (!given.scope.empty() || !given.write_scope.empty())) {
    throw Error(ErrorCode::invalid_value, "token \"" + given.name +
                                              "\": an admin token may do everything and takes "
                                              "no scope; give --admin or a scope, not both");
  }
  if (!given.scope.empty() && !given.read.empty()) {
    throw Error(ErrorCode::invalid_value,
                "token \"" + given.name +
                    "\": give a read scope or a list of readable tables, not both (the scope "
                    "names its tables)");
  }
  if (!given.write_scope.empty() && !given.write.empty()) {
    throw Error(ErrorCode::invalid_value,
                "token \"" + given.name +
                    "\": give a write scope or a list of writable tables, not both (the scope "
                    "names its tables)");
  }
  Token token = given;
  token.created_at_micros = now_micros();
  token.revoked = false;
  token.earlier_write_scopes.clear();
  token.rescoped_at_micros = 0;
  std::string secret = new_secret();
  std::optional<Scope> read_scope;
  with_retry([&] {
    auto txn = storage_->begin(TransactionKind::write);
    if (!given.scope.empty() || !given.write_scope.empty()) {
      std::vector<Table> tables;
      for (const auto& [name, t] : *catalog(*txn)) tables.push_back(t);
      if (!given.scope.empty()) {
        read_scope = parse_token_scope(given.scope, tables, "the token's read scope");
        token.scope = scope_text(*read_scope);
        token.read = tables_of(*read_scope);
      }
      if (!given.write_scope.empty()) {
        Scope write = parse_token_scope(given.write_scope, tables, "the token's write scope");
        token.write_scope = scope_text(write);
        token.write = tables_of(write);
      }
    }
    check_write_list(token);
    if (!storage_->load_tokens(*txn, token.name).empty()) {
      throw Error(ErrorCode::conflict, "a token named \"" + token.name + "\" already exists");
    }
    storage_->insert_token(*txn, token, sha256_hex(secret));
    txn->commit();
  });
  // The feed under this scope wants indexes on the columns it names. The
  // token is stored already: an index that cannot be made now is made when
  // the scope is next prepared, and is no reason to report a failure.
  if (read_scope) {
    try {
      prepare_scope(*read_scope);
    } catch (const Error&) {
    }
  }
  return secret;
}

Token RecordEngine::update_token(const std::string& name, const TokenUpdate& update) {
  std::optional<Scope> read_scope;
  Token out = with_retry([&] {
    read_scope.reset();
    auto txn = storage_->begin(TransactionKind::write);
    const int64_t now = now_micros();
    std::optional<Token> found;
    for (Token& existing : storage_->load_tokens(*txn, name)) found = std::move(existing);
    if (!found || found->revoked ||
        (found->expires_at_micros && *found->expires_at_micros <= now)) {
      throw Error(ErrorCode::not_found, "there is no live token named \"" + name + "\"");
    }
    Token token = *found;
    if (token.admin) {
      throw Error(ErrorCode::invalid_value, "token \"" + name +
                                                "\" is an admin token: it may do everything "
                                                "and takes no scope");
    }
    std::vector<Table> tables;
    if (update.scope || update.write_scope) {
      for (const auto& [table_name, t] : *catalog(*txn)) tables.push_back(t);
    }
    const std::string old_read = effective_scope_text(found->scope, found->read, tables);
    const std::string old_write = effective_scope_text(found->write_scope, found->write, tables);
    if (update.scope) {
      read_scope = parse_token_scope(*update.scope, tables, "the token's read scope");
      token.scope = scope_text(*read_scope);
      token.read = tables_of(*read_scope);
    }
    if (update.write_scope) {
      Scope write = parse_token_scope(*update.write_scope, tables, "the token's write scope");
      token.write_scope = scope_text(write);
      token.write = tables_of(write);
    } else if (update.scope && old_write == old_read) {
      // The token wrote what it read: it goes on writing what it reads now.
      token.write_scope = token.scope;
      token.write = token.read;
    }
    check_write_list(token);
    const std::string new_write = effective_scope_text(token.write_scope, token.write, tables);
    std::vector<Token::EarlierScope> earlier;
    if (new_write != old_write && !old_write.empty() && update.grace_micros > 0) {
      earlier.push_back(
          {old_write, now + std::min(update.grace_micros, kMaxTimestampMicros - now)});
    }
    for (const Token::EarlierScope& e : found->earlier_write_scopes) {
      // Expired, or the write scope again: no longer an earlier one.
      if (e.until_micros <= now || e.scope == new_write) continue;
      if (!earlier.empty() && e.scope == earlier.front().scope) continue;  // just pushed again
      earlier.push_back(e);
    }
    if (earlier.size() > kMaxEarlierWriteScopes) earlier.resize(kMaxEarlierWriteScopes);
    token.earlier_write_scopes = std::move(earlier);
    if (token.scope != found->scope || token.write_scope != found->write_scope) {
      token.rescoped_at_micros = now;
    }
    if (update.dry_run) return token;  // the transaction rolls back
    storage_->update_token_scopes(*txn, token);
    txn->commit();
    return token;
  });
  if (update.dry_run) return out;
  // The feed under this scope wants indexes on the columns it names. The
  // token is stored already: an index that cannot be made now is made when
  // the scope is next prepared, and is no reason to report a failure.
  if (read_scope) {
    try {
      prepare_scope(*read_scope);
    } catch (const Error&) {
    }
  }
  return out;
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
