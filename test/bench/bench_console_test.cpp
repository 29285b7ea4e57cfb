// `outpost bench console` in a small configuration (the real binary, which
// starts its own `outpost serve`): every figure is there, the overview's
// counts equal the records and conflicts written, every health bucket has
// devices, and nothing is left behind. Shapes and outcomes only; the
// timings are figures, never checked.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/json_builder.h"
#include "e2e/processes.h"
#include "engine/backends.h"

namespace outpost::test {

namespace {

size_t entries(const std::filesystem::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

// The "values" of every result of a --json report, by result name.
std::map<std::string, std::map<std::string, double>> results_of(const std::string& json) {
  std::map<std::string, std::map<std::string, double>> out;
  std::optional<JsonDoc> doc = JsonDoc::parse(json);
  REQUIRE(doc);
  std::optional<JsonNode> results = doc->root().member("results");
  REQUIRE(results);
  for (const JsonNode& result : results->items()) {
    std::map<std::string, double>& values = out[result.member("name")->string()];
    if (std::optional<JsonNode> v = result.member("values")) {
      for (const auto& [name, value] : v->members()) values[name] = value.number().value_or(-1);
    }
  }
  return out;
}

void check_small_run(const std::string& db) {
  ScratchDir dir;
  const std::filesystem::path where = dir.path() / "bench";
  std::filesystem::create_directory(where);
  std::vector<std::string> args{"--json",    "--durability", "normal",      "bench", "console",
                                "--records", "2000",         "--batch",     "500",   "--tokens",
                                "20",        "--dir",        where.string()};
  if (!db.empty()) args.insert(args.end(), {"--db", db});
  CommandRun run = run_outpost(dir.path(), args, "bench");
  INFO(run.out, run.err);
  REQUIRE(run.status == 0);
  const auto results = results_of(run.out);

  REQUIRE(results.count("load"));
  CHECK(results.at("load").at("conflicts") == 1);  // 1 record in 2 000
  CHECK(results.at("load").at("tokens") == 20);
  CHECK(results.at("load").at("devices") == 19);  // the 20th token never synced

  // The page: its files, then the three API calls, in page order.
  CHECK(results.count("GET /ui/"));
  CHECK(results.count("GET /ui/app.js"));
  CHECK(results.count("GET /ui/overview.js"));
  CHECK(results.count("GET /ui/console.css"));
  CHECK(results.count("GET /v1"));
  CHECK(results.count("GET /v1/tables?counts=true"));
  CHECK(results.count("GET /v1/devices?summary=true"));
  CHECK(results.at("GET /v1/tables?counts=true").at("wire_bytes") > 0);

  REQUIRE(results.count("overview_load"));
  const std::map<std::string, double>& page = results.at("overview_load");
  CHECK(page.at("records_shown") == 2000);
  CHECK(page.at("conflicts_shown") == 1);
  CHECK(page.at("tokens_shown") == 21);  // the admin token too
  CHECK(page.at("loads") == 5);
  CHECK(page.at("healthy") > 0);
  CHECK(page.at("stale") > 0);
  CHECK(page.at("silent") > 0);
  CHECK(page.at("never") == 2);  // district-19 and the admin token
  CHECK(page.at("median_seconds") > 0);
  CHECK(page.at("cold_seconds") > 0);
  CHECK(page.at("wire_bytes") > 0);

  REQUIRE(results.count("count_by_paging"));
  CHECK(results.at("count_by_paging").at("records") == 2000);
  CHECK(results.at("count_by_paging").at("pages") == 1);

  // District d-000 holds records 0, 100, ...: 20 of them.
  REQUIRE(results.count("scoped_counts"));
  CHECK(results.at("scoped_counts").at("records_shown") == 20);

  REQUIRE(results.count("devices_pending_one_token"));
  // Token 0's device pulled at the hub's middle: half its district is pending.
  CHECK(results.at("devices_pending_one_token").at("pending") > 0);
  CHECK(entries(where) == 0);

  // The text report names the requests and the figures.
  args.erase(args.begin());
  CommandRun text = run_outpost(dir.path(), args, "bench_text");
  INFO(text.out, text.err);
  REQUIRE(text.status == 0);
  CHECK(text.out.find("bench console: ") != std::string::npos);
  CHECK(text.out.find("  GET /v1/tables?counts=true   ") != std::string::npos);
  CHECK(text.out.find("counts shown: 2 000 records, 1 conflicts") != std::string::npos);
  CHECK(text.out.find("without maintained counts: counting the records by paging") !=
        std::string::npos);
  CHECK(entries(where) == 0);
}

}  // namespace

TEST_CASE("bench console: a small run loads the overview and shows the counts written (SQLite)") {
  check_small_run("");
}

TEST_CASE(
    "bench console: a small run loads the overview and shows the counts written (PostgreSQL)") {
  if (!postgres_configured()) {
    if (running_in_ci()) FAIL("CI=true but OUTPOST_TEST_PG is not set");
    MESSAGE("PostgreSQL suites SKIPPED: set OUTPOST_TEST_PG");
    return;
  }
  check_small_run(std::getenv("OUTPOST_TEST_PG"));
}

}  // namespace outpost::test
