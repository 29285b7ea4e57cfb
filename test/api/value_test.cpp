// Typed values: every value case of vectors/revisions.json, plus factories,
// accessors and round trips.
#include "api/value.h"

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

#include "api/error.h"
#include "utils/time.h"

namespace outpost {
namespace {

rapidjson::Document load_vectors() {
  const std::string path = std::string(OUTPOST_VECTORS_DIR) + "/revisions.json";
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  REQUIRE_MESSAGE(!doc.HasParseError(), "cannot parse " << path);
  return doc;
}

std::string str(const rapidjson::Value& v) {
  return std::string(v.GetString(), v.GetStringLength());
}

ErrorCode code_of(auto&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.code();
  }
  FAIL("no outpost::Error thrown");
  return ErrorCode::internal;
}

std::string message_of(auto&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.message();
  }
  FAIL("no outpost::Error thrown");
  return {};
}

}  // namespace

TEST_CASE("vectors: every value case of revisions.json") {
  const rapidjson::Document doc = load_vectors();
  const auto& values = doc["values"];
  REQUIRE(values.IsArray());
  REQUIRE(values.Size() > 0);
  size_t passed = 0;
  for (const auto& c : values.GetArray()) {
    const std::string type = str(c["type"]);
    const std::string input = str(c["input"]);
    INFO("case type=" << type << " input=\"" << input << "\"");
    if (c.HasMember("canonical")) {
      const std::string want = str(c["canonical"]);
      INFO("expected canonical \"" << want << "\"");
      try {
        const Value v = Value::parse(std::string_view(type), input, "attr");
        CHECK(value_type_name(v.type()) == type);
        CHECK(v.text() == want);
        // The canonical text is a fixed point.
        CHECK(Value::parse(v.type(), v.text()).text() == want);
        if (v.text() == want) ++passed;
      } catch (const Error& e) {
        FAIL_CHECK("unexpected error: " << e.message());
      }
    } else {
      REQUIRE(str(c["error"]) == "invalid_value");
      try {
        const Value v = Value::parse(std::string_view(type), input, "attr");
        FAIL_CHECK("accepted as \"" << v.text() << "\", expected invalid_value (" << str(c["why"])
                                    << ")");
      } catch (const Error& e) {
        INFO("message: " << e.message());
        CHECK(e.code() == ErrorCode::invalid_value);
        CHECK(e.message().find("attribute \"attr\"") == 0);
        if (e.code() == ErrorCode::invalid_value) ++passed;
      }
    }
  }
  MESSAGE("value vector cases passed: " << passed << "/" << values.Size());
  CHECK(passed == values.Size());
}

TEST_CASE("value type names") {
  for (auto t : {ValueType::string, ValueType::int_, ValueType::float_, ValueType::bool_,
                 ValueType::bytes, ValueType::timestamp}) {
    CHECK(value_type_from_name(value_type_name(t)) == t);
  }
  CHECK(!value_type_from_name("null"));
  CHECK(!value_type_from_name("decimal"));
  CHECK(!value_type_from_name("Int"));
  CHECK(code_of([] { Value::parse(std::string_view("decimal"), "1", "x"); }) ==
        ErrorCode::invalid_value);
}

TEST_CASE("error messages name the attribute and say what is accepted") {
  CHECK(message_of([] { Value::parse(ValueType::int_, "007", "size"); }) ==
        "attribute \"size\": int must be a canonical decimal integer like 42 or -7, got \"007\"");
  CHECK(message_of([] { Value::parse(ValueType::int_, "007"); }) ==
        "int must be a canonical decimal integer like 42 or -7, got \"007\"");
  const std::string f = message_of([] { Value::parse(ValueType::float_, "1e400", "lat"); });
  CHECK(f.find("attribute \"lat\"") == 0);
  CHECK(f.find("float out of range") != std::string::npos);
  const std::string b = message_of([] { Value::parse(ValueType::bool_, "True", "ok"); });
  CHECK(b.find("true or false") != std::string::npos);
  const std::string t =
      message_of([] { Value::parse(ValueType::timestamp, "9999-12-31T23:59:59-01:00", "when"); });
  CHECK(t.find("0001-9999") != std::string::npos);
  // Hostile bytes in the input are escaped, and huge inputs are cut short.
  const std::string s = message_of([] { Value::parse(ValueType::bytes, "\x01\"\xff", "p"); });
  CHECK(s.find("\\u0001\\\"\\xff") != std::string::npos);
  const std::string big(100000, '7');
  CHECK(message_of([&] { Value::parse(ValueType::int_, "0" + big, "n"); }).size() < 400);
}

TEST_CASE("strings: U+0000 and invalid UTF-8 are refused") {
  using namespace std::string_literals;
  CHECK(code_of([] { Value::parse(ValueType::string, "a\0b"s, "s"); }) == ErrorCode::invalid_value);
  for (const char* bad : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\x80",
                          "\xf8\x88\x80\x80\x80"}) {
    INFO("input bytes " << bad);
    CHECK(code_of([&] { Value::parse(ValueType::string, bad, "s"); }) == ErrorCode::invalid_value);
  }
  CHECK(Value::parse(ValueType::string, "\xf4\x8f\xbf\xbf").text() == "\xf4\x8f\xbf\xbf");
  CHECK(code_of([] { Value::from_string("x\0"s); }) == ErrorCode::invalid_value);
  CHECK(Value::from_string("Ωmega").text() == "Ωmega");
}

TEST_CASE("ints: range and accessors") {
  CHECK(Value::from_int(std::numeric_limits<int64_t>::min()).text() == "-9223372036854775808");
  CHECK(Value::from_int(0).text() == "0");
  CHECK(Value::parse(ValueType::int_, "-17").as_int() == -17);
  CHECK(Value::parse(ValueType::int_, "9223372036854775807").as_int() ==
        std::numeric_limits<int64_t>::max());
  CHECK(code_of([] { Value::parse(ValueType::int_, "-9223372036854775809"); }) ==
        ErrorCode::invalid_value);
  CHECK(code_of([] { Value::from_int(1).as_float(); }) == ErrorCode::internal);
}

TEST_CASE("floats: ECMAScript layout") {
  struct Case {
    double v;
    const char* text;
  };
  for (const Case& c :
       {Case{0.0, "0"}, Case{-0.0, "0"}, Case{1.0, "1"}, Case{-1.5, "-1.5"}, Case{1e21, "1e+21"},
        Case{1e20, "100000000000000000000"}, Case{123e18, "123000000000000000000"},
        Case{1e-6, "0.000001"}, Case{1e-7, "1e-7"}, Case{1.25e-7, "1.25e-7"}, Case{0.1, "0.1"},
        Case{5e-324, "5e-324"}, Case{-1.7976931348623157e308, "-1.7976931348623157e+308"},
        Case{123.456, "123.456"}, Case{1234567.0, "1234567"}}) {
    INFO("value " << c.text);
    CHECK(Value::from_float(c.v).text() == c.text);
    CHECK(Value::parse(ValueType::float_, c.text).text() == c.text);
  }
  CHECK(Value::parse(ValueType::float_, "1e-400").text() == "0");  // underflow rounds to zero
  CHECK(Value::parse(ValueType::float_, "-1e-400").text() == "0");
  // Overflow and underflow are told apart by magnitude, not by the exponent's sign.
  CHECK(Value::parse(ValueType::float_,
                     "0.0000000000000000000000000000000000000000000000000000000001e360")
            .text() == "1e+302");
  CHECK(code_of([] { Value::parse(ValueType::float_, "0.00000001e317"); }) ==
        ErrorCode::invalid_value);
  CHECK(Value::parse(ValueType::float_, "100000e-329").text() == "0");
  CHECK(Value::parse(ValueType::float_, "0.000001e-320").text() == "0");
  CHECK(Value::parse(ValueType::float_, "2.4703282292062328e-324").text() == "5e-324");
  CHECK(code_of([] { Value::parse(ValueType::float_, "1.7976931348623159e308"); }) ==
        ErrorCode::invalid_value);
  CHECK(code_of([] { Value::from_float(std::nan("")); }) == ErrorCode::invalid_value);
  CHECK(code_of([] { Value::from_float(-std::numeric_limits<double>::infinity()); }) ==
        ErrorCode::invalid_value);
  for (const char* bad :
       {"", "-", "1.", "+1", "01", "1e", "1e+", "--1", "1.0.0", " 1", "1 ", "inf"}) {
    INFO("input " << bad);
    CHECK(code_of([&] { Value::parse(ValueType::float_, bad); }) == ErrorCode::invalid_value);
  }
}

TEST_CASE("floats: from_float/as_float round-trip random doubles") {
  const auto seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(-1e6, 1e6);
  for (int i = 0; i < 20000; ++i) {
    double v = 0;
    if (i % 2 == 0) {
      // Any finite bit pattern, covering subnormals and extreme exponents.
      do {
        const uint64_t bits = rng();
        std::memcpy(&v, &bits, sizeof v);
      } while (!std::isfinite(v));
    } else {
      v = uniform(rng);
    }
    const Value f = Value::from_float(v);
    INFO("value " << f.text());
    const double back = f.as_float();
    CHECK((back == v || (v == 0 && back == 0)));
    CHECK(Value::parse(ValueType::float_, f.text()).text() == f.text());
    if (back != v && !(v == 0 && back == 0)) break;
  }
}

TEST_CASE("bytes: base64 factories and accessors") {
  const std::string raw("\x00\x01\x02\xff", 4);
  const Value b = Value::from_bytes(raw);
  CHECK(b.text() == "AAEC/w==");
  CHECK(b.as_bytes() == raw);
  CHECK(Value::from_bytes("").text() == "");
  CHECK(Value::parse(ValueType::bytes, "QQ==").as_bytes() == "A");
  CHECK(code_of([] { Value::parse(ValueType::bytes, "QR=="); }) == ErrorCode::invalid_value);
  CHECK(code_of([] { Value::parse(ValueType::bytes, "Q===", "p"); }) == ErrorCode::invalid_value);
  CHECK(code_of([] { Value::parse(ValueType::bytes, "QQ==QQ==", "p"); }) ==
        ErrorCode::invalid_value);
}

TEST_CASE("bools") {
  CHECK(Value::from_bool(true).text() == "true");
  CHECK(Value::from_bool(false).as_bool() == false);
  CHECK(Value::parse(ValueType::bool_, "true").as_bool());
}

TEST_CASE("timestamps: canonical form and round trips at the extremes") {
  CHECK(Value::from_timestamp_micros(0).text() == "1970-01-01T00:00:00.000000Z");
  CHECK(Value::from_timestamp_micros(-1).text() == "1969-12-31T23:59:59.999999Z");
  const Value lo = Value::from_timestamp_micros(kMinTimestampMicros);
  CHECK(lo.text() == "0001-01-01T00:00:00.000000Z");
  CHECK(lo.as_timestamp_micros() == kMinTimestampMicros);
  const Value hi = Value::from_timestamp_micros(kMaxTimestampMicros);
  CHECK(hi.text() == "9999-12-31T23:59:59.999999Z");
  CHECK(hi.as_timestamp_micros() == kMaxTimestampMicros);
  CHECK(code_of([] { Value::from_timestamp_micros(kMinTimestampMicros - 1); }) ==
        ErrorCode::invalid_value);
  CHECK(code_of([] { Value::from_timestamp_micros(kMaxTimestampMicros + 1); }) ==
        ErrorCode::invalid_value);
  CHECK(code_of([] { Value::parse(ValueType::timestamp, "0001-01-01T00:59:59.999999+01:00"); }) ==
        ErrorCode::invalid_value);
  CHECK(code_of([] { Value::parse(ValueType::timestamp, "0001-01-01T00:00:00+01:00", "t"); }) ==
        ErrorCode::invalid_value);
  CHECK(Value::parse(ValueType::timestamp, "0001-01-01T00:00:00-01:00").text() ==
        "0001-01-01T01:00:00.000000Z");
  CHECK(Value::parse(ValueType::timestamp, "9999-12-31T23:59:59+01:00").text() ==
        "9999-12-31T22:59:59.000000Z");
  CHECK(Value::parse(ValueType::timestamp, "2000-02-29T00:00:00Z").as_timestamp_micros() ==
        951782400000000);
  CHECK(code_of([] { Value::parse(ValueType::timestamp, "1900-02-29T00:00:00Z"); }) ==
        ErrorCode::invalid_value);
  CHECK(code_of([] { Value::parse(ValueType::timestamp, "2026-01-01T00:00:00+24:00"); }) ==
        ErrorCode::invalid_value);
  CHECK(code_of([] { Value::parse(ValueType::timestamp, "0000-01-01T00:00:00Z"); }) ==
        ErrorCode::invalid_value);

  const auto seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> any(kMinTimestampMicros, kMaxTimestampMicros);
  for (int i = 0; i < 20000; ++i) {
    const int64_t us = any(rng);
    const Value t = Value::from_timestamp_micros(us);
    INFO("micros " << us << " text " << t.text());
    CHECK(t.as_timestamp_micros() == us);
    CHECK(Value::parse(ValueType::timestamp, t.text()).text() == t.text());
    if (t.as_timestamp_micros() != us) break;
  }
}

}  // namespace outpost
