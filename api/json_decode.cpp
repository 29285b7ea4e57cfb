// Decoders of the JSON codec (api/json.h). Text is parsed into a RapidJSON
// DOM through a depth-counting SAX handler with the iterative parser, so
// neither parsing nor a hostile nesting depth can exhaust the stack; then
// each shape is read from the DOM with the field helpers below, which carry
// the rules every request body shares (types, duplicates, server-owned
// fields) in one place.
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "api/json.h"
#include "api/json_parse.h"
#include "utils/utf8.h"

namespace outpost {
namespace {

namespace rj = rapidjson;
using rj::SizeType;

// ---------------------------------------------------------------------------
// Parsing with a depth limit

// Forwards SAX events to a Document, refusing to nest deeper than max_depth.
class DepthLimitedHandler {
 public:
  DepthLimitedHandler(rj::Document& doc, size_t max_depth) : doc_(doc), max_depth_(max_depth) {}

  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(int64_t i) { return doc_.Int64(i); }
  bool Uint64(uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) { return doc_.Double(d); }
  bool RawNumber(const char* s, SizeType n, bool copy) { return doc_.RawNumber(s, n, copy); }
  bool String(const char* s, SizeType n, bool copy) {
    return well_formed(s, n) && doc_.String(s, n, copy);
  }
  bool Key(const char* s, SizeType n, bool copy) {
    return well_formed(s, n) && doc_.Key(s, n, copy);
  }
  bool StartObject() { return enter() && doc_.StartObject(); }
  bool EndObject(SizeType members) {
    --depth_;
    return doc_.EndObject(members);
  }
  bool StartArray() { return enter() && doc_.StartArray(); }
  bool EndArray(SizeType elements) {
    --depth_;
    return doc_.EndArray(elements);
  }

  bool too_deep() const { return too_deep_; }
  bool lone_surrogate() const { return lone_surrogate_; }

 private:
  // The reader validates raw UTF-8, but RapidJSON 1.1 decodes an unpaired
  // "\uDC00" escape into a surrogate code point, which is not UTF-8. Such a
  // sequence starts with byte 0xED, so only strings holding one are checked.
  bool well_formed(const char* s, SizeType n) {
    if (std::memchr(s, 0xED, n) == nullptr) return true;
    if (is_valid_utf8(std::string_view(s, n))) return true;
    lone_surrogate_ = true;
    return false;
  }

  bool enter() {
    if (depth_ >= max_depth_) {
      too_deep_ = true;
      return false;
    }
    ++depth_;
    return true;
  }

  rj::Document& doc_;
  size_t max_depth_;
  size_t depth_ = 0;
  bool too_deep_ = false;
  bool lone_surrogate_ = false;
};

[[noreturn]] void fail(ErrorCode code, std::string message) {
  throw Error(code, std::move(message));
}

using json_detail::parse;

// ---------------------------------------------------------------------------
// Paths to name fields in messages, rendered only when something fails.

struct Path {
  const Path* parent = nullptr;
  std::string_view key;  // a field name, or empty for an array index
  size_t index = 0;

  Path field(std::string_view k) const { return Path{this, k, 0}; }
  Path at(size_t i) const { return Path{this, {}, i}; }

  std::string str() const {
    if (parent == nullptr) return std::string(key);
    std::string s = parent->str();
    if (key.empty()) return s + "[" + std::to_string(index) + "]";
    if (s.empty()) return std::string(key);
    return s + "." + std::string(key);
  }
  // `field "docs[2].id"`, or `the body` for the root.
  std::string name() const {
    const std::string s = str();
    return s.empty() ? std::string("the body") : "field " + quote_for_message(s, 160);
  }
};

const Path kRoot{};

using json_detail::view;
std::string copy_string(const rj::Value& v) { return {v.GetString(), v.GetStringLength()}; }

using json_detail::json_type_name;

[[noreturn]] void fail_type(const Path& p, const char* expected, const rj::Value& got) {
  fail(ErrorCode::invalid_json, p.name() + " must be " + expected + ", not " + json_type_name(got));
}

void expect_object(const rj::Value& v, const Path& p) {
  if (!v.IsObject()) fail_type(p, "an object", v);
}
void expect_array(const rj::Value& v, const Path& p) {
  if (!v.IsArray()) fail_type(p, "an array", v);
}
void expect_string(const rj::Value& v, const Path& p) {
  if (!v.IsString()) fail_type(p, "a string", v);
}

// Names that only the engine may use: "_"-prefixed column and field names.
bool is_reserved_name(std::string_view key) { return !key.empty() && key.front() == '_'; }
// Fields a request body may not carry: the server assigns them.
bool is_server_owned_field(std::string_view key) { return is_reserved_name(key) || key == "seq"; }

[[noreturn]] void fail_server_owned(const Path& p) {
  fail(ErrorCode::invalid_json,
       p.name() + " is owned by the server and may not be sent in a request");
}

// Every key of an object at most once.
void check_unique_keys(const rj::Value& obj, const Path& p) {
  const SizeType n = obj.MemberCount();
  if (n < 2) return;
  const auto report = [&](std::string_view key) {
    fail(ErrorCode::invalid_json, "duplicate " + p.field(key).name());
  };
  if (n <= 16) {
    for (auto i = obj.MemberBegin(); i != obj.MemberEnd(); ++i) {
      for (auto j = obj.MemberBegin(); j != i; ++j) {
        if (view(i->name) == view(j->name)) report(view(i->name));
      }
    }
    return;
  }
  std::unordered_set<std::string_view> seen;
  seen.reserve(n);
  for (auto i = obj.MemberBegin(); i != obj.MemberEnd(); ++i) {
    if (!seen.insert(view(i->name)).second) report(view(i->name));
  }
}

Revision read_revision(const rj::Value& v, const Path& p) {
  expect_string(v, p);
  try {
    return Revision::parse(view(v));
  } catch (const Error& e) {
    throw Error(e.code(), p.str() + ": " + e.message());
  }
}

std::vector<Revision> read_revisions(const rj::Value& v, const Path& p) {
  expect_array(v, p);
  std::vector<Revision> revs;
  revs.reserve(v.Size());
  for (SizeType i = 0; i < v.Size(); ++i) revs.push_back(read_revision(v[i], p.at(i)));
  return revs;
}

Attributes read_attributes(const rj::Value& v, const Path& p) {
  expect_object(v, p);
  check_unique_keys(v, p);
  Attributes attributes;
  for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
    const std::string_view name = view(m->name);
    if (is_reserved_name(name)) fail_server_owned(p.field(name));
    const rj::Value& typed = m->value;
    // Built only for a message: this loop runs for every attribute of
    // every document of a batch.
    auto quoted = [name] { return "attribute " + quote_for_message(name); };
    if (!typed.IsObject() || typed.MemberCount() != 1) {
      fail(ErrorCode::invalid_value, quoted() +
                                         " must be an object with exactly one key, the type, e.g. "
                                         "{\"string\": \"text\"} or {\"null\": \"true\"}");
    }
    const auto& [type_key, inner] = *typed.MemberBegin();
    const std::string_view type_name = view(type_key);
    if (!inner.IsString()) {
      fail(ErrorCode::invalid_value, quoted() + ": the value of " + quote_for_message(type_name) +
                                         " must be a JSON string, not " + json_type_name(inner));
    }
    if (type_name == "null") {
      if (view(inner) != "true") {
        fail(ErrorCode::invalid_value, quoted() + ": null is written {\"null\": \"true\"}");
      }
      continue;
    }
    const std::optional<ValueType> type = value_type_from_name(type_name);
    if (!type) {
      fail(ErrorCode::invalid_value,
           quoted() + ": unknown type " + quote_for_message(type_name) +
               "; accepted: string, int, float, bool, bytes, timestamp, null");
    }
    attributes.emplace(std::string(name), Value::parse(*type, view(inner), name));
  }
  return attributes;
}

// Whether a decoder reads a request (server-owned fields refused) or a
// response (anything unknown ignored).
enum class Mode { request, response };

// The fields of one JSON object of a fixed shape.
class Fields {
 public:
  Fields(const rj::Value& v, const Path& path, Mode mode) : v_(v), path_(path) {
    expect_object(v, path);
    check_unique_keys(v, path);
    if (mode == Mode::request) {
      for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
        if (is_server_owned_field(view(m->name))) fail_server_owned(path.field(view(m->name)));
      }
    }
  }

  const Path& path() const { return path_; }
  Path at(std::string_view key) const { return path_.field(key); }

  // nullptr when absent.
  const rj::Value* find(std::string_view key) const {
    for (auto m = v_.MemberBegin(); m != v_.MemberEnd(); ++m) {
      if (view(m->name) == key) return &m->value;
    }
    return nullptr;
  }
  // Absent or JSON null.
  const rj::Value* find_set(std::string_view key) const {
    const rj::Value* v = find(key);
    return v != nullptr && !v->IsNull() ? v : nullptr;
  }
  const rj::Value& get(std::string_view key) const {
    const rj::Value* v = find(key);
    if (v == nullptr) fail(ErrorCode::invalid_json, "missing " + at(key).name());
    return *v;
  }

  std::string string(std::string_view key) const {
    const rj::Value& v = get(key);
    expect_string(v, at(key));
    return copy_string(v);
  }
  std::optional<std::string> optional_string(std::string_view key) const {
    const rj::Value* v = find_set(key);
    if (v == nullptr) return std::nullopt;
    expect_string(*v, at(key));
    return copy_string(*v);
  }
  bool boolean(std::string_view key) const {
    const rj::Value& v = get(key);
    if (!v.IsBool()) fail_type(at(key), "a boolean", v);
    return v.GetBool();
  }
  std::optional<bool> optional_boolean(std::string_view key) const {
    const rj::Value* v = find_set(key);
    if (v == nullptr) return std::nullopt;
    if (!v->IsBool()) fail_type(at(key), "a boolean", *v);
    return v->GetBool();
  }
  const rj::Value& array(std::string_view key) const {
    const rj::Value& v = get(key);
    expect_array(v, at(key));
    return v;
  }
  Revision revision(std::string_view key) const { return read_revision(get(key), at(key)); }
  // Empty when absent or null.
  Revision optional_revision(std::string_view key) const {
    const rj::Value* v = find_set(key);
    return v == nullptr ? Revision() : read_revision(*v, at(key));
  }
  std::vector<Revision> revisions(std::string_view key) const {
    return read_revisions(get(key), at(key));
  }
  std::optional<std::vector<Revision>> optional_revisions(std::string_view key) const {
    const rj::Value* v = find_set(key);
    if (v == nullptr) return std::nullopt;
    return read_revisions(*v, at(key));
  }
  Attributes attributes(std::string_view key) const { return read_attributes(get(key), at(key)); }
  std::optional<Attributes> optional_attributes(std::string_view key) const {
    const rj::Value* v = find_set(key);
    if (v == nullptr) return std::nullopt;
    return read_attributes(*v, at(key));
  }

 private:
  const rj::Value& v_;
  const Path& path_;
};

// A string field that, when present, must equal what the route says.
void check_matches(const Fields& f, std::string_view key, std::string_view expected) {
  const std::optional<std::string> got = f.optional_string(key);
  if (got && *got != expected) {
    fail(ErrorCode::invalid_json, f.at(key).name() + " is " + quote_for_message(*got) +
                                      " but the request path says " + quote_for_message(expected));
  }
}

void check_no_attributes_on_delete(const std::optional<Attributes>& attributes, const Fields& f) {
  if (attributes && !attributes->empty()) {
    fail(ErrorCode::invalid_json,
         f.at("attributes").name() + " must be empty: a deletion carries no attributes");
  }
}

// ---------------------------------------------------------------------------
// Shapes

Column read_column(const rj::Value& v, const Path& p) {
  Fields f(v, p, Mode::request);
  Column c;
  c.name = f.string("name");
  const std::string type_name = f.string("type");
  const std::optional<ValueType> type = value_type_from_name(type_name);
  if (!type) {
    fail(ErrorCode::invalid_value, "column " + quote_for_message(c.name) + ": unknown type " +
                                       quote_for_message(type_name) +
                                       "; accepted: string, int, float, bool, bytes, timestamp");
  }
  c.type = *type;
  c.required = f.optional_boolean("required").value_or(false);
  return c;
}

Table read_table(const rj::Value& v, const Path& p, std::string_view name, Mode mode) {
  Fields f(v, p, mode);
  Table t;
  if (name.empty()) {
    t.name = f.string("name");
  } else {
    check_matches(f, "name", name);
    t.name = std::string(name);
  }
  const rj::Value& columns = f.array("columns");
  const Path cp = f.at("columns");
  t.columns.reserve(columns.Size());
  for (SizeType i = 0; i < columns.Size(); ++i)
    t.columns.push_back(read_column(columns[i], cp.at(i)));
  return t;
}

Record read_record(const rj::Value& v, const Path& p) {
  Fields f(v, p, Mode::response);
  Record r;
  r.table = f.string("table");
  r.id = f.string("id");
  r.revision = f.revision("revision");
  r.deleted = f.optional_boolean("deleted").value_or(false);
  r.attributes = f.optional_attributes("attributes").value_or(Attributes{});
  r.conflicts = f.optional_revisions("conflicts");
  r.ancestry = f.optional_revisions("ancestry");
  return r;
}

RemoteRevision read_remote_revision(const rj::Value& v, const Path& p, Mode mode) {
  Fields f(v, p, mode);
  RemoteRevision r;
  r.table = f.string("table");
  r.id = f.string("id");
  r.revision = f.revision("revision");
  r.deleted = f.optional_boolean("deleted").value_or(false);
  std::optional<Attributes> attributes = f.optional_attributes("attributes");
  if (r.deleted) check_no_attributes_on_delete(attributes, f);
  r.attributes = std::move(attributes).value_or(Attributes{});
  r.ancestry = f.optional_revisions("ancestry").value_or(std::vector<Revision>{});
  r.parent_attributes = f.optional_attributes("parent_attributes");
  return r;
}

// What a single-record route fixes about the edit it reads.
struct Route {
  Edit::Kind kind;
  std::string_view table;
  std::string_view id;
};

Edit read_edit(const rj::Value& v, const Path& p, const Route* route) {
  Fields f(v, p, Mode::request);
  Edit e;
  if (route != nullptr) {
    check_matches(f, "table", route->table);
    e.table = std::string(route->table);
    if (!route->id.empty()) {
      check_matches(f, "id", route->id);
      e.id = std::string(route->id);
    } else {
      e.id = f.optional_string("id").value_or(std::string());
    }
  } else {
    e.table = f.string("table");
    e.id = f.optional_string("id").value_or(std::string());
  }
  e.parent = f.optional_revision("revision");

  const bool deleted = f.optional_boolean("deleted").value_or(false);
  const bool resolve = f.optional_boolean("resolve").value_or(false);
  if (deleted && resolve) {
    fail(ErrorCode::invalid_json, "\"deleted\" and \"resolve\" may not both be true in " +
                                      (p.str().empty() ? std::string("the body") : p.str()));
  }
  e.kind = deleted ? Edit::Kind::remove : resolve ? Edit::Kind::resolve : Edit::Kind::put;
  if (route != nullptr) {
    if ((deleted || resolve) && e.kind != route->kind) {
      fail(ErrorCode::invalid_json,
           f.at(deleted ? "deleted" : "resolve").name() + " does not fit the request path");
    }
    e.kind = route->kind;
  }

  if (e.kind == Edit::Kind::remove) {
    check_no_attributes_on_delete(f.optional_attributes("attributes"), f);
  } else {
    e.attributes = f.attributes("attributes");
  }
  if (e.kind == Edit::Kind::resolve && e.parent.empty()) {
    fail(ErrorCode::invalid_json,
         "missing " + f.at("revision").name() + ": resolve names the leaf it builds on");
  }
  return e;
}

WriteResult read_write_result(const rj::Value& v, const Path& p) {
  Fields f(v, p, Mode::response);
  WriteResult r;
  r.table = f.optional_string("table").value_or(std::string());
  r.id = f.string("id");
  if (f.find("error") != nullptr) {
    r.error = Error(error_code_from_name(f.string("error")),
                    f.optional_string("message").value_or(std::string()));
  } else {
    r.revision = f.revision("revision");
  }
  return r;
}

// The string value of a field if it has one, for naming a rejected document.
std::string string_or_empty(const rj::Value& v, std::string_view key) {
  if (!v.IsObject()) return {};
  for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
    if (view(m->name) == key) return m->value.IsString() ? copy_string(m->value) : std::string();
  }
  return {};
}

template <typename T, typename ReadOne>
std::vector<T> read_array(const rj::Value& v, const Path& p, ReadOne read_one) {
  expect_array(v, p);
  std::vector<T> out;
  out.reserve(v.Size());
  for (SizeType i = 0; i < v.Size(); ++i) out.push_back(read_one(v[i], p.at(i)));
  return out;
}

}  // namespace

void check_json(std::string_view text, const JsonLimits& limits) {
  rj::Document doc;
  parse(text, limits, doc);
  // No object may name a key twice (readers would disagree on which wins).
  // An explicit stack: the depth is bounded by `limits` only.
  std::vector<const rj::Value*> pending{&doc};
  std::unordered_set<std::string_view> keys;
  while (!pending.empty()) {
    const rj::Value* v = pending.back();
    pending.pop_back();
    if (v->IsArray()) {
      for (const rj::Value& item : v->GetArray()) pending.push_back(&item);
    } else if (v->IsObject()) {
      keys.clear();
      for (const auto& m : v->GetObject()) {
        std::string_view key(m.name.GetString(), m.name.GetStringLength());
        if (!keys.insert(key).second) {
          fail(ErrorCode::invalid_json, "duplicate key " + quote_for_message(key, 160));
        }
        pending.push_back(&m.value);
      }
    }
  }
}

Attributes attributes_from_json(std::string_view text, const JsonLimits& limits) {
  rj::Document doc;
  parse(text, limits, doc);
  return read_attributes(doc, kRoot);
}

Error error_from_json(std::string_view text, const JsonLimits& limits) {
  rj::Document doc;
  parse(text, limits, doc);
  Fields f(doc, kRoot, Mode::response);
  return Error(error_code_from_name(f.string("error")),
               f.optional_string("message").value_or(std::string()));
}

ServerInfo info_from_json(std::string_view text, const JsonLimits& limits) {
  rj::Document doc;
  parse(text, limits, doc);
  Fields f(doc, kRoot, Mode::response);
  ServerInfo info;
  info.engine = f.string("engine");
  info.version = f.string("version");
  info.db_id = f.string("db_id");
  info.backend = f.string("backend");
  info.update_seq = f.string("update_seq");
  if (const rj::Value* limits = f.find_set("limits"); limits != nullptr && limits->IsObject()) {
    auto count = [&](const char* key) -> uint64_t {
      auto it = limits->FindMember(key);
      return it != limits->MemberEnd() && it->value.IsUint64() ? it->value.GetUint64() : 0;
    };
    info.max_body_bytes = count("body_bytes");
    info.max_batch_docs = count("batch_docs");
  }
  info.scope = f.optional_string("scope").value_or(std::string());
  if (const rj::Value* token = f.find_set("token"); token != nullptr && token->IsObject()) {
    auto text = [&](const char* key) -> std::string {
      auto it = token->FindMember(key);
      return it != token->MemberEnd() && it->value.IsString()
                 ? std::string(it->value.GetString(), it->value.GetStringLength())
                 : std::string();
    };
    info.token_name = text("name");
    auto admin = token->FindMember("admin");
    info.token_admin =
        admin != token->MemberEnd() && admin->value.IsBool() && admin->value.GetBool();
    info.token_scope = text("scope");
    info.token_write_scope = text("write_scope");
  }
  if (f.find_set("tables") != nullptr) {
    info.tables = read_array<Table>(
        f.get("tables"), f.at("tables"),
        [](const rj::Value& v, const Path& p) { return read_table(v, p, {}, Mode::response); });
  }
  return info;
}

Table table_from_json(std::string_view text, std::string_view name, const JsonLimits& limits) {
  rj::Document doc;
  parse(text, limits, doc);
  return read_table(doc, kRoot, name, Mode::request);
}

std::vector<Table> tables_from_json(std::string_view text, const JsonLimits& limits) {
  rj::Document doc;
  parse(text, limits, doc);
  Fields f(doc, kRoot, Mode::response);
  return read_array<Table>(f.get("tables"), f.at("tables"), [](const rj::Value& v, const Path& p) {
    return read_table(v, p, {}, Mode::response);
  });
}

Record record_from_json(std::string_view text, const JsonLimits& limits) {
  rj::Document doc;
  parse(text, limits, doc);
  return read_record(doc, kRoot);
}

RecordPage record_page_from_json(std::string_view text, const JsonLimits& limits) {
  rj::Document doc;
  parse(text, limits, doc);
  Fields f(doc, kRoot, Mode::response);
  RecordPage page;
  page.records = read_array<Record>(f.get("records"), f.at("records"), read_record);
  page.next = f.optional_string("next").value_or(std::string());
  return page;
}

ConflictPage conflict_page_from_json(std::string_view text, const JsonLimits& limits) {
  rj::Document doc;
  parse(text, limits, doc);
  Fields f(doc, kRoot, Mode::response);
  ConflictPage page;
  page.entries = read_array<ConflictEntry>(
      f.get("conflicts"), f.at("conflicts"), [](const rj::Value& v, const Path& p) {
        Fields e(v, p, Mode::response);
        ConflictEntry entry;
        entry.table = e.string("table");
        entry.id = e.string("id");
        entry.winner = e.revision("winner");
        entry.conflicts = e.optional_revisions("conflicts").value_or(std::vector<Revision>{});
        return entry;
      });
  page.next = f.optional_string("next").value_or(std::string());
  return page;
}

Edit edit_from_json(std::string_view text, Edit::Kind kind, std::string_view table,
                    std::string_view id, const JsonLimits& limits) {
  rj::Document doc;
  parse(text, limits, doc);
  const Route route{kind, table, id};
  return read_edit(doc, kRoot, &route);
}

WriteResult write_result_from_json(std::string_view text, const JsonLimits& limits) {
  rj::Document doc;
  parse(text, limits, doc);
  return read_write_result(doc, kRoot);
}

std::vector<WriteResult> write_results_from_json(std::string_view text, const JsonLimits& limits) {
  rj::Document doc;
  parse(text, limits, doc);
  return read_array<WriteResult>(doc, kRoot, read_write_result);
}

std::vector<WriteResult> write_results_saved_from_json(std::string_view text, bool& saved,
                                                       const JsonLimits& limits) {
  rj::Document doc;
  parse(text, limits, doc);
  saved = false;
  if (doc.IsArray()) return read_array<WriteResult>(doc, kRoot, read_write_result);
  Fields f(doc, kRoot, Mode::response);
  saved = f.optional_boolean("local_saved").value_or(false);
  return read_array<WriteResult>(f.get("results"), f.at("results"), read_write_result);
}

ChangesPage changes_from_json(std::string_view text, const JsonLimits& limits) {
  rj::Document doc;
  parse(text, limits, doc);
  Fields f(doc, kRoot, Mode::response);
  ChangesPage page;
  page.results =
      read_array<Change>(f.get("results"), f.at("results"), [](const rj::Value& v, const Path& p) {
        Fields e(v, p, Mode::response);
        Change c;
        c.seq = e.string("seq");
        c.table = e.string("table");
        c.id = e.string("id");
        c.removed = e.optional_boolean("removed").value_or(false);
        if (c.removed) return c;  // out of the scope now: no revision
        c.revision = e.revision("revision");
        c.deleted = e.optional_boolean("deleted").value_or(false);
        c.leaves = e.optional_revisions("leaves").value_or(std::vector<Revision>{});
        return c;
      });
  page.last_seq = f.string("last_seq");
  page.more = f.optional_boolean("more").value_or(true);
  return page;
}

std::vector<RevsDiffQuery> revs_diff_request_from_json(std::string_view text,
                                                       const JsonLimits& limits) {
  rj::Document doc;
  parse(text, limits, doc);
  expect_object(doc, kRoot);
  check_unique_keys(doc, kRoot);
  std::vector<RevsDiffQuery> queries;
  for (auto t = doc.MemberBegin(); t != doc.MemberEnd(); ++t) {
    const Path tp = kRoot.field(view(t->name));
    expect_object(t->value, tp);
    check_unique_keys(t->value, tp);
    for (auto i = t->value.MemberBegin(); i != t->value.MemberEnd(); ++i) {
      RevsDiffQuery q;
      q.table = copy_string(t->name);
      q.id = copy_string(i->name);
      q.revisions = read_revisions(i->value, tp.field(view(i->name)));
      queries.push_back(std::move(q));
    }
  }
  return queries;
}

std::vector<RevsDiffResult> revs_diff_response_from_json(std::string_view text,
                                                         const JsonLimits& limits) {
  rj::Document doc;
  parse(text, limits, doc);
  expect_object(doc, kRoot);
  check_unique_keys(doc, kRoot);
  std::vector<RevsDiffResult> results;
  for (auto t = doc.MemberBegin(); t != doc.MemberEnd(); ++t) {
    const Path tp = kRoot.field(view(t->name));
    expect_object(t->value, tp);
    check_unique_keys(t->value, tp);
    for (auto i = t->value.MemberBegin(); i != t->value.MemberEnd(); ++i) {
      const Path ip = tp.field(view(i->name));
      Fields f(i->value, ip, Mode::response);
      RevsDiffResult r;
      r.table = copy_string(t->name);
      r.id = copy_string(i->name);
      r.missing = f.optional_revisions("missing").value_or(std::vector<Revision>{});
      r.leaves = f.optional_revisions("leaves").value_or(std::vector<Revision>{});
      results.push_back(std::move(r));
    }
  }
  return results;
}

std::vector<BulkGetQuery> bulk_get_request_from_json(std::string_view text,
                                                     const JsonLimits& limits) {
  rj::Document doc;
  parse(text, limits, doc);
  Fields f(doc, kRoot, Mode::request);
  return read_array<BulkGetQuery>(
      f.get("docs"), f.at("docs"), [](const rj::Value& v, const Path& p) {
        Fields d(v, p, Mode::request);
        BulkGetQuery q;
        q.table = d.string("table");
        q.id = d.string("id");
        q.revision = d.revision("rev");
        q.known = d.optional_revisions("known").value_or(std::vector<Revision>{});
        return q;
      });
}

std::vector<BulkGetResult> bulk_get_response_from_json(std::string_view text,
                                                       const JsonLimits& limits) {
  rj::Document doc;
  parse(text, limits, doc);
  Fields f(doc, kRoot, Mode::response);
  return read_array<BulkGetResult>(
      f.get("results"), f.at("results"), [](const rj::Value& v, const Path& p) {
        BulkGetResult r;
        expect_object(v, p);
        if (v.HasMember("error")) {
          Fields e(v, p, Mode::response);
          r.error = Error(error_code_from_name(e.string("error")),
                          e.optional_string("message").value_or(std::string()));
        } else {
          r.revision = read_remote_revision(v, p, Mode::response);
        }
        return r;
      });
}

BulkDocsRequest bulk_docs_request_from_json(std::string_view text, const JsonLimits& limits) {
  // A batch's DOM in one chunk sized to the text rather than in 64 KiB
  // chunks: freeing many chunks makes malloc hand the memory back to the
  // system and fault it in again at the next batch, which cost more than
  // the parse itself (`outpost bench capi`).
  rj::MemoryPoolAllocator<> pool(std::max<size_t>(size_t{64} << 10, text.size() * 4));
  rj::Document doc(&pool);
  parse(text, limits, doc);
  Fields f(doc, kRoot, Mode::request);
  BulkDocsRequest request;
  request.new_edits = f.optional_boolean("new_edits").value_or(true);
  if (const rj::Value* local = f.find_set("local"); local != nullptr) {
    Fields l(*local, f.at("local"), Mode::request);
    request.local_id = l.string("id");
    request.local_doc = l.string("doc");
    if (request.local_id.empty()) {
      throw Error(ErrorCode::invalid_name, "local.id: a local document id is 1 or more bytes");
    }
  }
  const rj::Value& docs = f.array("docs");
  const Path dp = f.at("docs");
  if (request.new_edits) {
    request.edits.reserve(docs.Size());
  } else {
    request.revisions.reserve(docs.Size());
  }
  for (SizeType i = 0; i < docs.Size(); ++i) {
    const Path p = dp.at(i);
    try {
      if (request.new_edits) {
        request.edits.push_back(read_edit(docs[i], p, nullptr));
      } else {
        request.revisions.push_back(read_remote_revision(docs[i], p, Mode::request));
      }
    } catch (const Error& e) {
      WriteResult rejected;
      rejected.table = string_or_empty(docs[i], "table");
      rejected.id = string_or_empty(docs[i], "id");
      rejected.error = e;
      request.rejected.push_back({i, std::move(rejected)});
    }
  }
  return request;
}

std::vector<WriteResult> bulk_docs_results(const BulkDocsRequest& request,
                                           std::vector<WriteResult> written) {
  std::vector<WriteResult> out;
  out.reserve(written.size() + request.rejected.size());
  size_t next_written = 0;
  for (const BulkDocsRequest::Rejected& r : request.rejected) {
    while (out.size() < r.index && next_written < written.size()) {
      out.push_back(std::move(written[next_written++]));
    }
    out.push_back(r.result);
  }
  while (next_written < written.size()) out.push_back(std::move(written[next_written++]));
  return out;
}

namespace json_detail {

const char* json_type_name(const rapidjson::Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "a boolean";
    case rapidjson::kObjectType:
      return "an object";
    case rapidjson::kArrayType:
      return "an array";
    case rapidjson::kStringType:
      return "a string";
    case rapidjson::kNumberType:
      return "a number";
  }
  return "unknown";
}

void parse(std::string_view text, const JsonLimits& limits, rapidjson::Document& doc) {
  constexpr unsigned kFlags = rj::kParseIterativeFlag | rj::kParseValidateEncodingFlag;
  rj::MemoryStream stream(text.data(), text.size());
  rj::Reader reader;
  DepthLimitedHandler handler(doc, limits.max_depth);
  rj::ParseResult result;
  auto generate = [&](rj::Document&) {
    result = reader.Parse<kFlags>(stream, handler);
    return !result.IsError();
  };
  doc.Populate(generate);
  if (handler.too_deep()) {
    fail(ErrorCode::invalid_json, "malformed JSON at offset " + std::to_string(result.Offset()) +
                                      ": nested deeper than " + std::to_string(limits.max_depth) +
                                      " levels");
  }
  if (handler.lone_surrogate()) {
    fail(ErrorCode::invalid_json, "malformed JSON at offset " + std::to_string(result.Offset()) +
                                      ": a \\u escape encodes an unpaired UTF-16 surrogate");
  }
  if (result.IsError()) {
    fail(ErrorCode::invalid_json, "malformed JSON at offset " + std::to_string(result.Offset()) +
                                      ": " + rj::GetParseError_En(result.Code()));
  }
  // The stream reads a NUL byte as its end: anything after one is garbage.
  if (stream.Tell() != text.size()) {
    fail(ErrorCode::invalid_json,
         "malformed JSON at offset " + std::to_string(stream.Tell()) + ": unexpected NUL byte");
  }
}

}  // namespace json_detail

}  // namespace outpost
