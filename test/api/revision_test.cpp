// Revisions: every revision case of vectors/revisions.json (canonical bytes
// and revision), plus parsing and ordering of revision ids.
#include "api/revision.h"

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "api/error.h"

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

const std::string kHash = "0123456789abcdef0123456789abcdef";

}  // namespace

TEST_CASE("vectors: every revision case of revisions.json") {
  const rapidjson::Document doc = load_vectors();
  const auto& cases = doc["revisions"];
  REQUIRE(cases.IsArray());
  REQUIRE(cases.Size() > 0);
  size_t passed = 0;
  size_t index = 0;
  for (const auto& c : cases.GetArray()) {
    const std::string table = str(c["table"]);
    const std::string id = str(c["id"]);
    const std::string parent_text = str(c["parent"]);
    const bool deleted = c["deleted"].GetBool();
    INFO("revision case #" << index++ << " table=" << table << " id=" << id << " parent="
                           << parent_text << " deleted=" << deleted << " note=" << str(c["note"]));
    Attributes attributes;
    for (const auto& a : c["attributes"].GetObject()) {
      const std::string name = str(a.name);
      REQUIRE(a.value.MemberCount() == 1);
      const auto& typed = *a.value.MemberBegin();
      const std::string type = str(typed.name);
      if (type == "null") continue;  // null and absent are the same value
      attributes.emplace(name, Value::parse(std::string_view(type), str(typed.value), name));
    }
    const Revision parent = parent_text.empty() ? Revision() : Revision::parse(parent_text);
    const std::string bytes = canonical_bytes(table, id, parent, deleted, attributes);
    const Revision rev = compute_revision(table, id, parent, deleted, attributes);
    CHECK(bytes == str(c["canonical"]));
    CHECK(rev.str() == str(c["revision"]));
    CHECK(rev.generation() == (parent.empty() ? 1 : parent.generation() + 1));
    if (bytes == str(c["canonical"]) && rev.str() == str(c["revision"])) ++passed;
  }
  MESSAGE("revision vector cases passed: " << passed << "/" << cases.Size());
  CHECK(passed == cases.Size());
}

TEST_CASE("Revision::parse accepts only <gen>-<32 lowercase hex>") {
  const Revision r = Revision::parse("12-" + kHash);
  CHECK(r.generation() == 12);
  CHECK(r.hash() == kHash);
  CHECK(r.str() == "12-" + kHash);
  CHECK(!r.empty());
  CHECK(Revision::parse("9223372036854775807-" + kHash).generation() == 9223372036854775807ull);
  CHECK(Revision().empty());
  CHECK(Revision().hash().empty());

  for (const std::string& bad : std::vector<std::string>{
           std::string(), std::string("1"), "1-", "-" + kHash, "0-" + kHash, "01-" + kHash,
           "+1-" + kHash, " 1-" + kHash, "1-" + kHash + " ", "1-" + kHash + "0",
           "1-" + kHash.substr(1), "1-0123456789ABCDEF0123456789abcdef",
           "1-0123456789abcdeg0123456789abcdef", "9223372036854775808-" + kHash,
           "99999999999999999999999-" + kHash, "1_" + kHash, "1--" + kHash.substr(1),
           "a-" + kHash}) {
    INFO("input \"" << bad << "\"");
    try {
      Revision::parse(bad);
      FAIL_CHECK("accepted");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::invalid_revision);
      CHECK(e.message().find("invalid revision") == 0);
    }
    CHECK(Revision::try_parse(bad).empty());
  }
  CHECK(Revision::try_parse("3-" + kHash) == Revision::parse("3-" + kHash));
}

TEST_CASE("Revision order: generation, then hash") {
  const Revision a = Revision::parse("2-ffffffffffffffffffffffffffffffff");
  const Revision b = Revision::parse("10-00000000000000000000000000000000");
  const Revision c = Revision::parse("10-00000000000000000000000000000001");
  CHECK(a < b);  // numeric, not textual, generation order
  CHECK(b < c);
  CHECK(c > a);
  CHECK((b <=> Revision::parse(b.str())) == std::strong_ordering::equal);
  CHECK(Revision() < a);
  std::vector<Revision> v{c, a, b};
  std::sort(v.begin(), v.end());
  CHECK(v == std::vector<Revision>{a, b, c});
}

TEST_CASE("compute_revision chains generations and refuses tombstones with attributes") {
  Attributes attrs{{"x", Value::from_int(1)}};
  const Revision r1 = compute_revision("t", "x", Revision(), false, attrs);
  const Revision r2 = compute_revision("t", "x", r1, false, attrs);
  const Revision r3 = compute_revision("t", "x", r2, true, {});
  CHECK(r1.generation() == 1);
  CHECK(r2.generation() == 2);
  CHECK(r3.generation() == 3);
  CHECK(r1.hash() != r2.hash());
  CHECK(compute_revision("t", "x", r1, false, attrs) == r2);  // deterministic
  CHECK(canonical_bytes("t", "x", Revision(), false, {}) == "outpost/rev/1\n1:t,1:x,0:,1:0,");
  try {
    compute_revision("t", "x", r1, true, attrs);
    FAIL_CHECK("accepted a tombstone with attributes");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::invalid_value);
  }
  try {
    compute_revision("t", "x", Revision::parse("9223372036854775807-" + kHash), false, {});
    FAIL_CHECK("accepted a generation overflow");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::invalid_revision);
  }
}

}  // namespace outpost
