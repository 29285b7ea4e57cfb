#include "reconciler/refusals.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

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
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  auto string = [&](std::string_view text) {
    writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  };
  writer.StartObject();
  string("refused");
  writer.StartArray();
  for (const Refusal& r : refusals) {
    writer.StartObject();
    string("table");
    string(r.table);
    string("id");
    string(r.id);
    string("revision");
    string(r.revision);
    string("error");
    string(error_code_name(r.code));
    string("message");
    string(r.message);
    string("at");
    string(r.at);
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::optional<std::vector<Refusal>> refusals_from_json(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  auto list = doc.FindMember("refused");
  if (list == doc.MemberEnd() || !list->value.IsArray()) return std::nullopt;
  std::vector<Refusal> out;
  for (const auto& entry : list->value.GetArray()) {
    if (!entry.IsObject()) continue;
    auto string_of = [&](const char* name) {
      auto it = entry.FindMember(name);
      return it != entry.MemberEnd() && it->value.IsString()
                 ? std::string(it->value.GetString(), it->value.GetStringLength())
                 : std::string();
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
