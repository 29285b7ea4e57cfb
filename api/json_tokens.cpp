// The token shapes of the JSON codec (api/json.h): GET/POST /v1/tokens and
// GET/PUT /v1/tokens/{name} (DESIGN.md sections 9 and 14). Written with a
// RapidJSON Writer; read from a DOM parsed with the same depth limit as the
// rest of the codec. Request bodies are strict: a field this codec does not
// know, or one the server owns, is refused with invalid_value naming it.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/json.h"
#include "api/json_parse.h"
#include "utils/sha256.h"
#include "utils/time.h"
#include "utils/utf8.h"

namespace outpost {
namespace {

namespace rj = rapidjson;
using rj::SizeType;

// The longest grace a re-scope may give an earlier write scope.
constexpr int64_t kMaxGraceSeconds = int64_t{100} * 365 * 86400;

[[noreturn]] void fail(ErrorCode code, std::string message) {
  throw Error(code, std::move(message));
}

// ---------------------------------------------------------------- writing

class TokenWriter {
 public:
  TokenWriter() : writer_(buffer_) {}

  void start_object() { writer_.StartObject(); }
  void end_object() { writer_.EndObject(); }
  void start_array() { writer_.StartArray(); }
  void end_array() { writer_.EndArray(); }
  void key(std::string_view k) { text(k, true); }
  void string(std::string_view s) { text(s, false); }
  void field(std::string_view k, std::string_view s) {
    key(k);
    string(s);
  }
  void field_bool(std::string_view k, bool b) {
    key(k);
    writer_.Bool(b);
  }
  void field_null(std::string_view k) {
    key(k);
    writer_.Null();
  }
  // A scope text and its fingerprint; both null when the text is empty.
  void scope(std::string_view k, std::string_view fingerprint_key, const std::string& text) {
    if (text.empty()) {
      field_null(k);
      field_null(fingerprint_key);
    } else {
      field(k, text);
      field(fingerprint_key, sha256_hex(text));
    }
  }
  void timestamp(std::string_view k, std::optional<int64_t> micros) {
    if (!micros) return field_null(k);
    field(k, timestamp_text(*micros));
  }
  void names(std::string_view k, const std::vector<std::string>& list) {
    key(k);
    start_array();
    for (const std::string& s : list) string(s);
    end_array();
  }

  std::string str() const { return std::string(buffer_.GetString(), buffer_.GetSize()); }

 private:
  static std::string timestamp_text(int64_t micros) {
    try {
      return format_timestamp(micros);
    } catch (const std::out_of_range&) {
      return format_timestamp(micros < 0 ? kMinTimestampMicros : kMaxTimestampMicros);
    }
  }
  // Always valid UTF-8: an invalid byte becomes U+FFFD.
  void text(std::string_view s, bool is_key) {
    std::string clean;
    if (utf8_invalid_offset(s) != std::string_view::npos) {
      while (!s.empty()) {
        const size_t bad = utf8_invalid_offset(s);
        if (bad == std::string_view::npos) break;
        clean.append(s.substr(0, bad));
        clean += "\xEF\xBF\xBD";
        s.remove_prefix(bad + 1);
      }
      clean.append(s);
      s = clean;
    }
    const auto len = static_cast<SizeType>(s.size());
    if (is_key) {
      writer_.Key(s.data(), len);
    } else {
      writer_.String(s.data(), len);
    }
  }

  rj::StringBuffer buffer_;
  rj::Writer<rj::StringBuffer> writer_;
};

void write_token_fields(TokenWriter& w, const Token& t) {
  w.field("name", t.name);
  w.field_bool("admin", t.admin);
  w.names("read", t.read);
  w.names("write", t.write);
  w.scope("scope", "scope_fingerprint", t.scope);
  w.scope("write_scope", "write_scope_fingerprint", t.write_scope);
  w.key("earlier_write_scopes");
  w.start_array();
  for (const Token::EarlierScope& e : t.earlier_write_scopes) {
    w.start_object();
    w.field("scope", e.scope);
    w.timestamp("until", e.until_micros);
    w.end_object();
  }
  w.end_array();
  w.timestamp("rescoped_at", t.rescoped_at_micros != 0
                                 ? std::optional<int64_t>(t.rescoped_at_micros)
                                 : std::nullopt);
  w.timestamp("created_at", t.created_at_micros);
  w.timestamp("expires_at", t.expires_at_micros);
  w.field_bool("revoked", t.revoked);
}

// ---------------------------------------------------------------- parsing

using json_detail::parse;

using json_detail::view;

using json_detail::json_type_name;

// The fields of one token object. `prefix` names it in messages ("" for the
// body, "tokens[3]" inside a list).
class TokenFields {
 public:
  TokenFields(const rj::Value& v, std::string prefix) : v_(v), prefix_(std::move(prefix)) {
    if (!v.IsObject()) {
      fail(ErrorCode::invalid_json, (prefix_.empty() ? std::string("the body") : name_of("")) +
                                        " must be an object, not " + json_type_name(v));
    }
    for (auto i = v.MemberBegin(); i != v.MemberEnd(); ++i) {
      for (auto j = v.MemberBegin(); j != i; ++j) {
        if (view(i->name) == view(j->name)) {
          fail(ErrorCode::invalid_json, "duplicate " + name_of(view(i->name)));
        }
      }
    }
  }

  // Refuses every field not in `known`, naming it; `owned` are refused as
  // fields the server sets.
  void only(std::initializer_list<std::string_view> known,
            std::initializer_list<std::string_view> owned) const {
    for (auto m = v_.MemberBegin(); m != v_.MemberEnd(); ++m) {
      const std::string_view key = view(m->name);
      bool is_owned = !key.empty() && key.front() == '_';
      for (std::string_view o : owned) is_owned = is_owned || key == o;
      if (is_owned) {
        fail(ErrorCode::invalid_value,
             name_of(key) + " is owned by the server and may not be sent in a request");
      }
      bool is_known = false;
      for (std::string_view k : known) is_known = is_known || key == k;
      if (!is_known) {
        std::string accepted;
        for (std::string_view k : known)
          accepted += (accepted.empty() ? "" : ", ") + std::string(k);
        fail(ErrorCode::invalid_value, "unknown " + name_of(key) + "; accepted: " + accepted);
      }
    }
  }

  // Absent or null: nullptr.
  const rj::Value* find(std::string_view key) const {
    for (auto m = v_.MemberBegin(); m != v_.MemberEnd(); ++m) {
      if (view(m->name) == key && !m->value.IsNull()) return &m->value;
    }
    return nullptr;
  }
  std::optional<std::string> string(std::string_view key) const {
    const rj::Value* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->IsString()) wrong_type(key, "a string", *v);
    return std::string(view(*v));
  }
  std::string required_string(std::string_view key) const {
    std::optional<std::string> s = string(key);
    if (!s) fail(ErrorCode::invalid_json, "missing " + name_of(key));
    return *s;
  }
  std::optional<bool> boolean(std::string_view key) const {
    const rj::Value* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->IsBool()) wrong_type(key, "a boolean", *v);
    return v->GetBool();
  }
  std::vector<std::string> names(std::string_view key) const {
    std::vector<std::string> out;
    const rj::Value* v = find(key);
    if (v == nullptr) return out;
    if (!v->IsArray()) wrong_type(key, "an array of strings", *v);
    for (const rj::Value& item : v->GetArray()) {
      if (!item.IsString()) wrong_type(key, "an array of strings", *v);
      out.emplace_back(view(item));
    }
    return out;
  }
  std::optional<int64_t> timestamp(std::string_view key) const {
    std::optional<std::string> text = string(key);
    if (!text) return std::nullopt;
    ParsedTimestamp ts = parse_rfc3339(*text);
    if (!ts.ok()) {
      fail(ErrorCode::invalid_value, name_of(key) + " is " + quote_for_message(*text) +
                                         ", not an RFC 3339 timestamp such as "
                                         "\"2027-01-31T12:00:00Z\"");
    }
    return ts.micros;
  }
  const rj::Value* array(std::string_view key) const {
    const rj::Value* v = find(key);
    if (v != nullptr && !v->IsArray()) wrong_type(key, "an array", *v);
    return v;
  }
  // "tokens[3].scope"
  std::string path_of(std::string_view key) const {
    std::string path = prefix_;
    if (!key.empty()) path += (path.empty() ? "" : ".") + std::string(key);
    return path;
  }
  std::string name_of(std::string_view key) const {
    return "field " + quote_for_message(path_of(key), 160);
  }

 private:
  [[noreturn]] void wrong_type(std::string_view key, const char* expected,
                               const rj::Value& got) const {
    fail(ErrorCode::invalid_json,
         name_of(key) + " must be " + expected + ", not " + json_type_name(got));
  }

  const rj::Value& v_;
  std::string prefix_;
};

// A token as token_to_json writes it; fields it does not know are ignored.
Token read_token(const rj::Value& v, const std::string& prefix, std::string* secret) {
  TokenFields f(v, prefix);
  Token t;
  t.name = f.required_string("name");
  t.admin = f.boolean("admin").value_or(false);
  t.read = f.names("read");
  t.write = f.names("write");
  t.scope = f.string("scope").value_or("");
  t.write_scope = f.string("write_scope").value_or("");
  if (const rj::Value* earlier = f.array("earlier_write_scopes")) {
    for (SizeType i = 0; i < earlier->Size(); ++i) {
      TokenFields e((*earlier)[i],
                    f.path_of("earlier_write_scopes") + "[" + std::to_string(i) + "]");
      t.earlier_write_scopes.push_back(
          {e.string("scope").value_or(""), e.timestamp("until").value_or(0)});
    }
  }
  t.rescoped_at_micros = f.timestamp("rescoped_at").value_or(0);
  t.created_at_micros = f.timestamp("created_at").value_or(0);
  t.expires_at_micros = f.timestamp("expires_at");
  t.revoked = f.boolean("revoked").value_or(false);
  if (secret != nullptr) *secret = f.string("secret").value_or("");
  return t;
}

}  // namespace

std::string token_to_json(const Token& token) {
  TokenWriter w;
  w.start_object();
  write_token_fields(w, token);
  w.end_object();
  return w.str();
}

std::string tokens_to_json(const std::vector<Token>& tokens) {
  TokenWriter w;
  w.start_object();
  w.key("tokens");
  w.start_array();
  for (const Token& t : tokens) {
    w.start_object();
    write_token_fields(w, t);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.str();
}

std::string created_token_to_json(const Token& token, const std::string& secret) {
  TokenWriter w;
  w.start_object();
  write_token_fields(w, token);
  w.field("secret", secret);
  w.end_object();
  return w.str();
}

Token token_request_from_json(std::string_view text, const JsonLimits& limits) {
  rj::Document doc;
  parse(text, limits, doc);
  TokenFields f(doc, "");
  f.only({"name", "admin", "read", "write", "scope", "write_scope", "expires_at"},
         {"created_at", "revoked", "rescoped_at", "earlier_write_scopes", "secret", "hash",
          "scope_fingerprint", "write_scope_fingerprint", "seq"});
  Token t;
  t.name = f.required_string("name");
  t.admin = f.boolean("admin").value_or(false);
  t.read = f.names("read");
  t.write = f.names("write");
  t.scope = f.string("scope").value_or("");
  t.write_scope = f.string("write_scope").value_or("");
  t.expires_at_micros = f.timestamp("expires_at");
  return t;
}

TokenUpdate token_update_from_json(std::string_view text, const JsonLimits& limits) {
  rj::Document doc;
  parse(text, limits, doc);
  TokenFields f(doc, "");
  f.only({"scope", "write_scope", "grace_seconds"},
         {"name", "admin", "read", "write", "created_at", "expires_at", "revoked", "rescoped_at",
          "earlier_write_scopes", "secret", "hash", "scope_fingerprint", "write_scope_fingerprint",
          "seq"});
  TokenUpdate update;
  update.scope = f.string("scope");
  update.write_scope = f.string("write_scope");
  if (const rj::Value* grace = f.find("grace_seconds")) {
    if (!grace->IsInt64() || grace->GetInt64() < 0 || grace->GetInt64() > kMaxGraceSeconds) {
      fail(ErrorCode::invalid_value, f.name_of("grace_seconds") +
                                         " must be a whole number of seconds from 0 to " +
                                         std::to_string(kMaxGraceSeconds) + " (100 years)");
    }
    update.grace_micros = grace->GetInt64() * 1'000'000;
  }
  if (!update.scope && !update.write_scope) {
    fail(ErrorCode::invalid_value,
         "a token update needs \"scope\", \"write_scope\" or both (canonical or not, e.g. "
         "\"households: district = 'north'\")");
  }
  return update;
}

Token token_from_json(std::string_view text, const JsonLimits& limits, std::string* secret) {
  rj::Document doc;
  parse(text, limits, doc);
  return read_token(doc, "", secret);
}

std::vector<Token> tokens_from_json(std::string_view text, const JsonLimits& limits) {
  rj::Document doc;
  parse(text, limits, doc);
  TokenFields f(doc, "");
  const rj::Value* list = f.array("tokens");
  if (list == nullptr) fail(ErrorCode::invalid_json, "missing field \"tokens\"");
  std::vector<Token> out;
  out.reserve(list->Size());
  for (SizeType i = 0; i < list->Size(); ++i) {
    out.push_back(read_token((*list)[i], "tokens[" + std::to_string(i) + "]", nullptr));
  }
  return out;
}

}  // namespace outpost
