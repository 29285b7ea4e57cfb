// Encoders of the JSON codec (api/json.h): a RapidJSON Writer straight into
// a StringBuffer, no DOM.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cassert>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "api/json.h"
#include "utils/sha256.h"
#include "utils/utf8.h"

namespace outpost {
namespace {

// `s` with every byte that is not part of a well-formed UTF-8 sequence
// replaced by U+FFFD; `bad` is the offset of the first such byte.
std::string sanitize_utf8(std::string_view s, size_t bad) {
  std::string out;
  out.reserve(s.size() + 8);
  while (bad != std::string_view::npos) {
    out.append(s.substr(0, bad));
    out += "\xEF\xBF\xBD";
    s.remove_prefix(bad + 1);
    bad = utf8_invalid_offset(s);
  }
  out.append(s);
  return out;
}

// A thin layer over rapidjson::Writer speaking std::string_view and the
// outpost value types.
class JsonWriter {
 public:
  JsonWriter() : writer_(buffer_) {}

  void start_object() { writer_.StartObject(); }
  void end_object() { writer_.EndObject(); }
  void start_array() { writer_.StartArray(); }
  void end_array() { writer_.EndArray(); }

  void key(std::string_view k) { write_text(k, true); }
  void string(std::string_view s) { write_text(s, false); }
  void boolean(bool b) { writer_.Bool(b); }
  void uint64(uint64_t n) { writer_.Uint64(n); }

  void field(std::string_view k, std::string_view s) {
    key(k);
    string(s);
  }
  void field(std::string_view k, const char* s) { field(k, std::string_view(s)); }
  void field(std::string_view k, const std::string& s) { field(k, std::string_view(s)); }
  void field(std::string_view k, bool b) {
    key(k);
    boolean(b);
  }
  void field(std::string_view k, const Revision& r) { field(k, std::string_view(r.str())); }

  void revisions(const std::vector<Revision>& revs) {
    start_array();
    for (const Revision& r : revs) string(r.str());
    end_array();
  }
  void field(std::string_view k, const std::vector<Revision>& revs) {
    key(k);
    revisions(revs);
  }

  void attributes(const Attributes& attributes) {
    start_object();
    for (const auto& [name, value] : attributes) {
      key(name);
      start_object();
      field(value_type_name(value.type()), value.text());
      end_object();
    }
    end_object();
  }

  void error(const Error& e) {
    field("error", e.code_name());
    field("message", std::string_view(e.what()));
  }

  std::string str() const { return std::string(buffer_.GetString(), buffer_.GetSize()); }
  size_t size() const { return buffer_.GetSize(); }

 private:
  void write_text(std::string_view s, bool is_key) {
    const size_t bad = utf8_invalid_offset(s);
    if (bad == std::string_view::npos) {
      emit(s, is_key);
    } else {
      const std::string clean = sanitize_utf8(s, bad);
      emit(clean, is_key);
    }
  }
  void emit(std::string_view s, bool is_key) {
    const auto len = static_cast<rapidjson::SizeType>(s.size());
    if (is_key) {
      writer_.Key(s.data(), len);
    } else {
      writer_.String(s.data(), len);
    }
  }

  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> writer_;
};

void write_table(JsonWriter& w, const Table& table) {
  w.start_object();
  w.field("name", table.name);
  w.key("columns");
  w.start_array();
  for (const Column& c : table.columns) {
    w.start_object();
    w.field("name", c.name);
    w.field("type", value_type_name(c.type));
    w.field("required", c.required);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

void write_record(JsonWriter& w, const Record& r) {
  w.start_object();
  w.field("table", r.table);
  w.field("id", r.id);
  w.field("revision", r.revision);
  w.field("deleted", r.deleted);
  w.key("attributes");
  w.attributes(r.attributes);
  if (r.conflicts) w.field("conflicts", *r.conflicts);
  if (r.ancestry) w.field("ancestry", *r.ancestry);
  w.end_object();
}

// The record shape with "ancestry": bulk_get results and bulk_docs documents
// with new_edits = false.
void write_remote_revision(JsonWriter& w, const RemoteRevision& r) {
  w.start_object();
  w.field("table", r.table);
  w.field("id", r.id);
  w.field("revision", r.revision);
  w.field("deleted", r.deleted);
  w.key("attributes");
  w.attributes(r.attributes);
  w.field("ancestry", r.ancestry);
  if (r.parent_attributes) {
    w.key("parent_attributes");
    w.attributes(*r.parent_attributes);
  }
  w.end_object();
}

void write_edit(JsonWriter& w, const Edit& e) {
  w.start_object();
  w.field("table", e.table);
  if (!e.id.empty()) w.field("id", e.id);
  if (!e.parent.empty()) w.field("revision", e.parent);
  switch (e.kind) {
    case Edit::Kind::put:
      w.key("attributes");
      w.attributes(e.attributes);
      break;
    case Edit::Kind::remove:
      w.field("deleted", true);
      break;
    case Edit::Kind::resolve:
      w.key("attributes");
      w.attributes(e.attributes);
      w.field("resolve", true);
      break;
  }
  w.end_object();
}

void write_write_result(JsonWriter& w, const WriteResult& r) {
  w.start_object();
  w.field("table", r.table);
  w.field("id", r.id);
  if (r.error) {
    w.error(*r.error);
  } else {
    w.field("revision", r.revision);
  }
  w.end_object();
}

// Groups entries by table in first-appearance order, and by id within a
// table, so that no JSON object gets a key twice.
template <typename Entry>
std::vector<std::pair<std::string_view, std::vector<std::vector<const Entry*>>>> group_by_table(
    const std::vector<Entry>& entries) {
  std::vector<std::pair<std::string_view, std::vector<std::vector<const Entry*>>>> groups;
  std::unordered_map<std::string_view, size_t> table_index;
  std::vector<std::unordered_map<std::string_view, size_t>> ids;
  for (const Entry& e : entries) {
    auto [t, t_new] = table_index.try_emplace(e.table, groups.size());
    if (t_new) {
      groups.emplace_back(e.table, std::vector<std::vector<const Entry*>>{});
      ids.emplace_back();
    }
    auto& rows = groups[t->second].second;
    auto [i, i_new] = ids[t->second].try_emplace(e.id, rows.size());
    if (i_new) rows.emplace_back();
    rows[i->second].push_back(&e);
  }
  return groups;
}

// Appends the revisions of `lists` in order, skipping repeats.
void write_merged(JsonWriter& w, const std::vector<const std::vector<Revision>*>& lists) {
  w.start_array();
  if (lists.size() == 1) {
    for (const Revision& r : *lists[0]) w.string(r.str());
  } else {
    std::vector<const Revision*> seen;
    for (const auto* list : lists) {
      for (const Revision& r : *list) {
        bool repeat = false;
        for (const Revision* s : seen) repeat = repeat || *s == r;
        if (repeat) continue;
        seen.push_back(&r);
        w.string(r.str());
      }
    }
  }
  w.end_array();
}

}  // namespace

std::string attributes_to_json(const Attributes& attributes) {
  JsonWriter w;
  w.attributes(attributes);
  return w.str();
}

std::string error_to_json(const Error& error) {
  JsonWriter w;
  w.start_object();
  w.error(error);
  w.end_object();
  return w.str();
}

std::string info_to_json(const ServerInfo& info) {
  JsonWriter w;
  w.start_object();
  w.field("engine", info.engine);
  w.field("version", info.version);
  w.field("db_id", info.db_id);
  w.field("backend", info.backend);
  w.field("update_seq", info.update_seq);
  if (info.max_body_bytes > 0 || info.max_batch_docs > 0) {
    w.key("limits");
    w.start_object();
    w.key("body_bytes");
    w.uint64(info.max_body_bytes);
    w.key("batch_docs");
    w.uint64(info.max_batch_docs);
    w.end_object();
  }
  if (!info.scope.empty()) {
    w.field("scope", info.scope);
    w.field("scope_fingerprint", sha256_hex(info.scope));
  }
  if (!info.token_name.empty()) {
    w.key("token");
    w.start_object();
    w.field("name", info.token_name);
    w.key("admin");
    w.boolean(info.token_admin);
    if (!info.token_scope.empty()) {
      w.field("scope", info.token_scope);
      w.field("scope_fingerprint", sha256_hex(info.token_scope));
    }
    if (!info.token_write_scope.empty()) {
      w.field("write_scope", info.token_write_scope);
      w.field("write_scope_fingerprint", sha256_hex(info.token_write_scope));
    }
    w.end_object();
  }
  if (info.tables) {
    w.key("tables");
    w.start_array();
    for (const Table& t : *info.tables) write_table(w, t);
    w.end_array();
  }
  w.end_object();
  return w.str();
}

std::string table_to_json(const Table& table) {
  JsonWriter w;
  write_table(w, table);
  return w.str();
}

std::string tables_to_json(const std::vector<Table>& tables) {
  JsonWriter w;
  w.start_object();
  w.key("tables");
  w.start_array();
  for (const Table& t : tables) write_table(w, t);
  w.end_array();
  w.end_object();
  return w.str();
}

std::string record_to_json(const Record& record) {
  JsonWriter w;
  write_record(w, record);
  return w.str();
}

std::string record_page_to_json(const RecordPage& page) {
  JsonWriter w;
  w.start_object();
  w.key("records");
  w.start_array();
  for (const Record& r : page.records) write_record(w, r);
  w.end_array();
  w.field("next", page.next);
  w.end_object();
  return w.str();
}

std::string conflict_page_to_json(const ConflictPage& page) {
  JsonWriter w;
  w.start_object();
  w.key("conflicts");
  w.start_array();
  for (const ConflictEntry& e : page.entries) {
    w.start_object();
    w.field("table", e.table);
    w.field("id", e.id);
    w.field("winner", e.winner);
    w.field("conflicts", e.conflicts);
    w.end_object();
  }
  w.end_array();
  w.field("next", page.next);
  w.end_object();
  return w.str();
}

std::string edit_to_json(const Edit& edit) {
  JsonWriter w;
  write_edit(w, edit);
  return w.str();
}

std::string write_result_to_json(const WriteResult& result) {
  JsonWriter w;
  write_write_result(w, result);
  return w.str();
}

std::string write_results_to_json(const std::vector<WriteResult>& results) {
  JsonWriter w;
  w.start_array();
  for (const WriteResult& r : results) write_write_result(w, r);
  w.end_array();
  return w.str();
}

std::string changes_to_json(const ChangesPage& page) {
  JsonWriter w;
  w.start_object();
  w.key("results");
  w.start_array();
  for (const Change& c : page.results) {
    w.start_object();
    w.field("seq", c.seq);
    w.field("table", c.table);
    w.field("id", c.id);
    if (c.removed) {
      w.field("removed", true);
    } else {
      w.field("revision", c.revision);
      w.field("deleted", c.deleted);
      w.field("leaves", c.leaves);
    }
    w.end_object();
  }
  w.end_array();
  w.field("last_seq", page.last_seq);
  w.field("more", page.more);
  w.end_object();
  return w.str();
}

std::string revs_diff_request_to_json(const std::vector<RevsDiffQuery>& queries) {
  JsonWriter w;
  w.start_object();
  for (const auto& [table, rows] : group_by_table(queries)) {
    w.key(table);
    w.start_object();
    for (const auto& row : rows) {
      w.key(row.front()->id);
      std::vector<const std::vector<Revision>*> lists;
      for (const RevsDiffQuery* q : row) lists.push_back(&q->revisions);
      write_merged(w, lists);
    }
    w.end_object();
  }
  w.end_object();
  return w.str();
}

std::string revs_diff_response_to_json(const std::vector<RevsDiffResult>& results) {
  JsonWriter w;
  w.start_object();
  for (const auto& [table, rows] : group_by_table(results)) {
    w.key(table);
    w.start_object();
    for (const auto& row : rows) {
      w.key(row.front()->id);
      w.start_object();
      std::vector<const std::vector<Revision>*> missing;
      std::vector<const std::vector<Revision>*> leaves;
      for (const RevsDiffResult* r : row) {
        missing.push_back(&r->missing);
        leaves.push_back(&r->leaves);
      }
      w.key("missing");
      write_merged(w, missing);
      w.key("leaves");
      write_merged(w, leaves);
      w.end_object();
    }
    w.end_object();
  }
  w.end_object();
  return w.str();
}

std::string bulk_get_request_to_json(const std::vector<BulkGetQuery>& queries) {
  JsonWriter w;
  w.start_object();
  w.key("docs");
  w.start_array();
  for (const BulkGetQuery& q : queries) {
    w.start_object();
    w.field("table", q.table);
    w.field("id", q.id);
    w.field("rev", q.revision);
    w.field("known", q.known);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.str();
}

std::string bulk_get_response_to_json(const std::vector<BulkGetQuery>& queries,
                                      const std::vector<BulkGetResult>& results) {
  assert(queries.size() == results.size());
  JsonWriter w;
  w.start_object();
  w.key("results");
  w.start_array();
  for (size_t i = 0; i < results.size(); ++i) {
    const BulkGetResult& r = results[i];
    if (r.revision && !r.error) {
      write_remote_revision(w, *r.revision);
      continue;
    }
    w.start_object();
    if (i < queries.size()) {
      w.field("table", queries[i].table);
      w.field("id", queries[i].id);
      w.field("rev", queries[i].revision);
    }
    w.error(r.error ? *r.error : Error(ErrorCode::not_found, "revision not available"));
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.str();
}

std::string bulk_docs_request_to_json(const std::vector<Edit>& edits) {
  JsonWriter w;
  w.start_object();
  w.field("new_edits", true);
  w.key("docs");
  w.start_array();
  for (const Edit& e : edits) write_edit(w, e);
  w.end_array();
  w.end_object();
  return w.str();
}

namespace {

// The documents as the elements of one JSON array, without its brackets,
// each one's end noted.
template <typename Doc, typename WriteFn>
EncodedDocs encode_each(const std::vector<Doc>& docs, WriteFn write_one) {
  JsonWriter w;
  w.start_array();
  EncodedDocs out;
  out.ends.reserve(docs.size());
  for (const Doc& d : docs) {
    write_one(w, d);
    out.ends.push_back(w.size() - 1);  // without the leading '['
  }
  w.end_array();
  const std::string all = w.str();
  out.text = all.substr(1, all.size() - 2);
  return out;
}

}  // namespace

EncodedDocs encode_bulk_docs(const std::vector<Edit>& edits) {
  return encode_each(edits, write_edit);
}

EncodedDocs encode_bulk_docs(const std::vector<RemoteRevision>& revisions) {
  return encode_each(revisions, write_remote_revision);
}

size_t EncodedDocs::size_of(size_t i) const {
  const size_t begin = i == 0 ? 0 : ends[i - 1] + 1;  // after the ','
  return ends[i] - begin;
}

std::string bulk_docs_request_from_parts(bool new_edits, const EncodedDocs& docs, size_t begin,
                                         size_t end, std::string_view local_id,
                                         std::string_view local_doc) {
  const size_t from = begin == 0 ? 0 : docs.ends[begin - 1] + 1;
  const size_t to = end == 0 ? 0 : docs.ends[end - 1];
  std::string out = new_edits ? R"({"new_edits":true,"docs":[)" : R"({"new_edits":false,"docs":[)";
  out.reserve(out.size() + (to > from ? to - from : 0) + 2);
  if (end > begin) out.append(docs.text, from, to - from);
  out += ']';
  if (!local_id.empty()) {
    JsonWriter w;
    w.start_object();
    w.field("id", local_id);
    w.field("doc", local_doc);
    w.end_object();
    out += ",\"local\":";
    out += w.str();
  }
  out += '}';
  return out;
}

std::string write_results_saved_to_json(const std::vector<WriteResult>& results, bool saved) {
  JsonWriter w;
  w.start_object();
  w.key("results");
  w.start_array();
  for (const WriteResult& r : results) write_write_result(w, r);
  w.end_array();
  w.field("local_saved", saved);
  w.end_object();
  return w.str();
}

std::string bulk_docs_request_to_json(const std::vector<RemoteRevision>& revisions) {
  JsonWriter w;
  w.start_object();
  w.field("new_edits", false);
  w.key("docs");
  w.start_array();
  for (const RemoteRevision& r : revisions) write_remote_revision(w, r);
  w.end_array();
  w.end_object();
  return w.str();
}

}  // namespace outpost
