// JsonBuilder and JsonDoc (api/json_builder.h) over RapidJSON.
#include "api/json_builder.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api/error.h"
#include "api/json.h"
#include "api/json_parse.h"

namespace outpost {

struct JsonBuilder::Impl {
  Impl() : writer(buffer) {}
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer;
};

JsonBuilder::JsonBuilder() : impl_(std::make_unique<Impl>()) {}
JsonBuilder::~JsonBuilder() = default;

void JsonBuilder::start_object() { impl_->writer.StartObject(); }
void JsonBuilder::end_object() { impl_->writer.EndObject(); }
void JsonBuilder::start_array() { impl_->writer.StartArray(); }
void JsonBuilder::end_array() { impl_->writer.EndArray(); }
void JsonBuilder::string(std::string_view text) {
  impl_->writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}
void JsonBuilder::uint64(uint64_t n) { impl_->writer.Uint64(n); }
void JsonBuilder::number(double d) { impl_->writer.Double(d); }
void JsonBuilder::boolean(bool b) { impl_->writer.Bool(b); }
void JsonBuilder::null() { impl_->writer.Null(); }

void JsonBuilder::strings(const std::vector<std::string>& texts) {
  start_array();
  for (const std::string& t : texts) string(t);
  end_array();
}

std::string JsonBuilder::str() const {
  return std::string(impl_->buffer.GetString(), impl_->buffer.GetSize());
}

namespace {

const rapidjson::Value& value_of(const void* v) { return *static_cast<const rapidjson::Value*>(v); }

}  // namespace

bool JsonNode::is_object() const { return value_of(value_).IsObject(); }
bool JsonNode::is_array() const { return value_of(value_).IsArray(); }
bool JsonNode::is_string() const { return value_of(value_).IsString(); }
bool JsonNode::is_true() const { return value_of(value_).IsTrue(); }
bool JsonNode::is_bool() const { return value_of(value_).IsBool(); }

std::optional<int64_t> JsonNode::integer() const {
  const rapidjson::Value& v = value_of(value_);
  if (!v.IsInt64()) return std::nullopt;
  return v.GetInt64();
}

std::optional<double> JsonNode::number() const {
  const rapidjson::Value& v = value_of(value_);
  if (!v.IsNumber()) return std::nullopt;
  return v.GetDouble();
}

std::optional<JsonNode> JsonNode::member(std::string_view name) const {
  const rapidjson::Value& v = value_of(value_);
  if (!v.IsObject()) return std::nullopt;
  const rapidjson::Value key(
      rapidjson::StringRef(name.data(), static_cast<rapidjson::SizeType>(name.size())));
  auto it = v.FindMember(key);
  if (it == v.MemberEnd()) return std::nullopt;
  return JsonNode(&it->value);
}

std::string JsonNode::string() const {
  const rapidjson::Value& v = value_of(value_);
  return v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : std::string();
}

std::vector<JsonNode> JsonNode::items() const {
  std::vector<JsonNode> out;
  const rapidjson::Value& v = value_of(value_);
  if (!v.IsArray()) return out;
  for (const rapidjson::Value& item : v.GetArray()) out.push_back(JsonNode(&item));
  return out;
}

std::vector<std::pair<std::string, JsonNode>> JsonNode::members() const {
  std::vector<std::pair<std::string, JsonNode>> out;
  const rapidjson::Value& v = value_of(value_);
  if (!v.IsObject()) return out;
  for (const auto& m : v.GetObject()) {
    out.emplace_back(std::string(m.name.GetString(), m.name.GetStringLength()), JsonNode(&m.value));
  }
  return out;
}

struct JsonDoc::Impl {
  rapidjson::Document doc;
};

JsonDoc::JsonDoc() : impl_(std::make_unique<Impl>()) {}
JsonDoc::~JsonDoc() = default;
JsonDoc::JsonDoc(JsonDoc&&) noexcept = default;
JsonDoc& JsonDoc::operator=(JsonDoc&&) noexcept = default;

std::optional<JsonDoc> JsonDoc::parse(std::string_view text) {
  // The same parser as request bodies (iterative, depth-limited, UTF-8
  // checked): local documents come from peers too (a checkpoint read from a
  // hub), and a hostile nesting must not exhaust the stack.
  JsonDoc doc;
  try {
    json_detail::parse(text, JsonLimits{}, doc.impl_->doc);
  } catch (const Error&) {
    return std::nullopt;
  }
  return doc;
}

JsonNode JsonDoc::root() const { return JsonNode(&impl_->doc); }

}  // namespace outpost
