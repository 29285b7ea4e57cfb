// End to end through the `outpost` command: records larger than the hub's
// body limit. The push is split to fit; the one record no request can hold
// is refused, recorded, counted in the summary and listed by
// `sync --rejected`, and the exit status stays 1 until it has gone too.
#include <doctest/doctest.h>

#include "api/engine.h"
#include "client/http_engine.h"
#include "e2e/processes.h"
#include "engine/backends.h"
#include "engine/open.h"

namespace {

using namespace outpost;
using namespace outpost::test;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

Attributes photo(size_t bytes, char fill) {
  return Attributes{{"data", Value::from_bytes(std::string(bytes, fill))}};
}

TEST_CASE(
    "e2e: sync --push to a hub with a small body limit: split to fit, the record too "
    "large recorded and listed until it fits") {
  ScratchDir dir;
  ServeOptions serve("sqlite:" + (dir.path() / "hub.db").string());
  serve.auth = false;
  serve.extra_args = {"--max-body", "262144"};
  ServeProcess hub(dir.path(), serve);
  const std::string device = "sqlite:" + (dir.path() / "device.db").string();
  {
    auto engine = open_engine(device);
    create_table(*engine, Table{"photos", {col("data", ValueType::bytes)}});
    // 20 photos of 60 KB: about 80 KB each as JSON, three to a request.
    for (int i = 0; i < 20; ++i) {
      put_record(*engine, "photos", "p" + std::to_string(i), {}, photo(60000, 'a' + i % 26));
    }
    put_record(*engine, "photos", "huge", {}, photo(300000, 'h'));
  }
  const std::vector<std::string> push{"sync", "--db", device, "--remote", hub.url(), "--push"};

  CommandRun first = run_outpost(dir.path(), push, "push1");
  INFO(first.err);
  CHECK(first.status == 1);
  CHECK(contains(first.out, "20 revisions written"));
  CHECK(contains(first.out, "1 errors, 1 refused"));
  CHECK(contains(first.err, "photos/huge"));
  CHECK(contains(first.err, "too_large"));
  CHECK(contains(first.err, "'outpost sync --rejected' lists them"));

  std::vector<std::string> rejected = push;
  rejected.push_back("--rejected");
  CommandRun listed = run_outpost(dir.path(), rejected, "rejected1");
  CHECK(listed.status == 0);
  CHECK(listed.out.starts_with("push: photos/huge 1-"));
  CHECK(contains(listed.out, ": too_large: the document is "));
  rejected.push_back("--json");
  CommandRun as_json = run_outpost(dir.path(), rejected, "rejected2");
  CHECK(as_json.status == 0);
  CHECK(as_json.out.starts_with(R"({"push":{"refused":[{"table":"photos","id":"huge",)"));

  // Still refused: the next sync tries again and still says so.
  CommandRun second = run_outpost(dir.path(), push, "push2");
  CHECK(second.status == 1);
  CHECK(contains(second.out, "1 refused"));

  // Made smaller, it goes, and nothing is left to list.
  {
    auto engine = open_engine(device);
    put_record(*engine, "photos", "huge", must_get(*engine, "photos", "huge").revision,
               photo(1000, 's'));
  }
  CommandRun third = run_outpost(dir.path(), push, "push3");
  INFO(third.err);
  CHECK(third.status == 0);
  CHECK_FALSE(contains(third.out, "refused"));
  rejected.pop_back();
  CommandRun none = run_outpost(dir.path(), rejected, "rejected3");
  CHECK(none.out == "no refused documents\n");

  std::unique_ptr<HttpEngine> client = open_http_engine(hub.url());
  CHECK(all_records(*client, "photos").size() == 21);
}

}  // namespace
