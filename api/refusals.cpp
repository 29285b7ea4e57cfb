#include "api/refusals.h"

#include "api/json_builder.h"
#include "api/revision.h"

namespace outpost {

namespace {

bool is_revision(const std::string& text) {
  try {
    Revision::parse(text);
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

std::string refusals_local_id(std::string_view replication_id) {
  return "refused-" + std::string(replication_id);
}

std::string refusals_to_json(const std::vector<Refusal>& refusals) {
  JsonBuilder w;
  w.start_object();
  w.string("refused");
  w.start_array();
  for (const Refusal& r : refusals) {
    w.start_object();
    w.field("table", r.table);
    w.field("id", r.id);
    w.field("revision", r.revision);
    w.field("error", error_code_name(r.code));
    w.field("message", r.message);
    w.field("at", r.at);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.str();
}

std::optional<std::vector<Refusal>> refusals_from_json(std::string_view text) {
  std::optional<JsonDoc> doc = JsonDoc::parse(text);
  if (!doc || !doc->root().is_object()) return std::nullopt;
  std::optional<JsonNode> list = doc->root().member("refused");
  if (!list || !list->is_array()) return std::nullopt;
  std::vector<Refusal> out;
  for (const JsonNode& entry : list->items()) {
    if (!entry.is_object()) continue;
    auto string_of = [&](std::string_view name) {
      std::optional<JsonNode> v = entry.member(name);
      return v ? v->string() : std::string();
    };
    Refusal r;
    r.table = string_of("table");
    r.id = string_of("id");
    r.revision = string_of("revision");
    if (r.table.empty() || r.id.empty() || !is_revision(r.revision)) continue;
    r.code = error_code_from_name(string_of("error"));
    r.message = string_of("message");
    r.at = string_of("at");
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace outpost
