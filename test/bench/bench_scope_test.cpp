// `outpost bench scope` in a small configuration (the real binary, which
// starts its own `outpost serve` processes): every figure of both parts is
// printed, the --json values are there, and nothing is left behind.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "e2e/processes.h"
#include "engine/backends.h"

namespace outpost::test {

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

size_t entries(const std::filesystem::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

void check_small_run(const std::string& db) {
  ScratchDir dir;
  const std::filesystem::path where = dir.path() / "bench";
  std::filesystem::create_directory(where);
  std::vector<std::string> args{
      "bench",    "scope", "--records", "300",          "--devices",    "3",
      "--tokens", "50",    "--dir",     where.string(), "--durability", "normal"};
  if (!db.empty()) args.insert(args.end(), {"--db", db});
  CommandRun run = run_outpost(dir.path(), args, "bench");
  INFO(run.out, run.err);
  REQUIRE(run.status == 0);
  // The in-process part.
  CHECK(contains(run.out, "initial pull of 1 district of 3000 records"));
  CHECK(contains(run.out, "incremental sync: "));
  // Through `outpost serve` with tokens: 30 records a district, 1 change each.
  CHECK(contains(run.out, "with a token scoped to 1 district of 3 000 records"));
  CHECK(contains(run.out, "time ratio "));
  CHECK(contains(run.out,
                 "3 devices with a district's token each sync at once (1 of 100 hub "
                 "changes each): per device p50 "));
  CHECK(contains(run.out,
                 "hub RSS (outpost serve) after 50 requests with 50 distinct token "
                 "scopes: "));
  CHECK(contains(run.out, "difference "));
  CHECK(entries(where) == 0);

  // --json carries the values; 0 skips the devices and the memory figures.
  args.insert(args.begin(), "--json");
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--devices" || args[i] == "--tokens") args[i + 1] = "0";
  }
  CommandRun json = run_outpost(dir.path(), args, "bench_json");
  INFO(json.out, json.err);
  REQUIRE(json.status == 0);
  CHECK(contains(json.out, "\"name\":\"token_pull\""));
  CHECK(contains(json.out, "\"time_ratio\":"));
  CHECK_FALSE(contains(json.out, "\"name\":\"devices\""));
  CHECK_FALSE(contains(json.out, "\"name\":\"hub_memory\""));
  CHECK(entries(where) == 0);
}

}  // namespace

TEST_CASE("bench scope: a small run prints the in-process and the hub figures (SQLite)") {
  check_small_run("");
}

TEST_CASE("bench scope: a small run prints the in-process and the hub figures (PostgreSQL)") {
  if (!postgres_configured()) {
    if (running_in_ci()) FAIL("CI=true but OUTPOST_TEST_PG is not set");
    MESSAGE("PostgreSQL suites SKIPPED: set OUTPOST_TEST_PG");
    return;
  }
  check_small_run(std::getenv("OUTPOST_TEST_PG"));
}

}  // namespace outpost::test
