// A small JSON writer and reader for the modules outside the HTTP codec that
// keep JSON of their own (replication checkpoints and reports, refusal
// lists, bench figures), so that RapidJSON stays inside api/json_* (DESIGN.md
// section 1). The wire shapes of the HTTP API belong in api/json.h instead.
//
// JsonBuilder writes compact JSON, exactly what a rapidjson::Writer writes:
// strings are written as given (no UTF-8 repair), doubles in RapidJSON's
// shortest round-trip form. The caller keeps the calls balanced.
// JsonDoc parses a whole text with the HTTP codec's parser (iterative, at
// most JsonLimits::max_depth levels, valid UTF-8 only: local documents may
// come from a peer); a JsonNode is a view into its JsonDoc and lives no
// longer than it.
//
// Thread-safety: one object per thread; distinct objects are independent.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace outpost {

class JsonBuilder {
 public:
  JsonBuilder();
  ~JsonBuilder();
  JsonBuilder(const JsonBuilder&) = delete;
  JsonBuilder& operator=(const JsonBuilder&) = delete;

  void start_object();
  void end_object();
  void start_array();
  void end_array();
  void string(std::string_view text);  // a key too, inside an object
  void uint64(uint64_t n);
  void number(double d);
  void boolean(bool b);
  void null();

  // key, then the string value.
  void field(std::string_view key, std::string_view text) {
    string(key);
    string(text);
  }
  // key, then the value.
  void field_count(std::string_view key, uint64_t n) {
    string(key);
    uint64(n);
  }
  void field_number(std::string_view key, double d) {
    string(key);
    number(d);
  }
  void field_bool(std::string_view key, bool b) {
    string(key);
    boolean(b);
  }
  // An array of strings.
  void strings(const std::vector<std::string>& texts);

  // The text written so far.
  std::string str() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A value inside a JsonDoc.
class JsonNode {
 public:
  bool is_object() const;
  bool is_array() const;
  bool is_string() const;
  bool is_true() const;  // the literal true
  bool is_bool() const;  // true or false
  // An integer that fits int64_t; nullopt for any other value (a string,
  // a fraction, a number out of range).
  std::optional<int64_t> integer() const;
  // Any number, as a double; nullopt for any other value.
  std::optional<double> number() const;
  // The first member called `name`; nullopt when there is none or this is not
  // an object.
  std::optional<JsonNode> member(std::string_view name) const;
  // The text of a string; "" for any other value.
  std::string string() const;
  // The elements of an array, in order; empty for any other value.
  std::vector<JsonNode> items() const;
  // The members of an object, in order; empty for any other value.
  std::vector<std::pair<std::string, JsonNode>> members() const;

 private:
  friend class JsonDoc;
  explicit JsonNode(const void* value) : value_(value) {}
  const void* value_;  // a rapidjson::Value owned by the JsonDoc
};

class JsonDoc {
 public:
  // nullopt when `text` is not well-formed JSON.
  static std::optional<JsonDoc> parse(std::string_view text);
  ~JsonDoc();
  JsonDoc(JsonDoc&&) noexcept;
  JsonDoc& operator=(JsonDoc&&) noexcept;

  JsonNode root() const;

 private:
  struct Impl;
  JsonDoc();
  std::unique_ptr<Impl> impl_;
};

}  // namespace outpost
