// The `link` scenario's machinery on a tiny dataset over a quick link: each
// phase moves what it should and the records arrive, also when the relay
// cuts connections. Outcomes only; the times are figures, never checked.
#include "bench/bench_link.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "api/error.h"
#include "e2e/processes.h"

namespace outpost::test {

namespace {

constexpr size_t kRecords = 200;

std::vector<LinkPhase> run_small(const LinkProfile& link, const std::string& name) {
  ScratchDir dir;
  ServeOptions serve("sqlite:" + (dir.path() / "hub.db").string());
  serve.auth = false;
  ServeProcess server(dir.path(), serve);
  LinkBenchProfile profile{name, name, link, kRecords};
  BenchOptions options;
  options.durability = Durability::normal;
  return run_link_profile(profile, server.url(), dir.path(), options);
}

void check_phases(const std::vector<LinkPhase>& phases) {
  REQUIRE(phases.size() == 4);
  for (const LinkPhase& phase : phases) {
    INFO(phase.name, ": ", phase.failure);
    CHECK(phase.failure.empty());
    CHECK(phase.link.connections >= 1);  // a fresh engine each: new connections
    CHECK(phase.link.exchanges >= 1);
    CHECK(phase.link.bytes_up > 0);
    CHECK(phase.link.bytes_down > 0);
    // The replicator's own counts (Traffic), added up over any reruns.
    CHECK(phase.requests >= 1);
    CHECK(phase.round_trips >= 1);
    CHECK(phase.round_trips <= phase.requests);
    CHECK(phase.wire_bytes > 0);
    CHECK(phase.plain_bytes > 0);
  }
  CHECK(phases[0].name == "push_incremental");
  CHECK(phases[0].records == kRecords / 100);
  CHECK(phases[0].moved == kRecords / 100);
  CHECK(phases[1].name == "pull_incremental");
  CHECK(phases[1].records == kRecords / 100);
  CHECK(phases[1].moved == kRecords / 100);
  CHECK(phases[2].name == "idle");
  CHECK(phases[2].moved == 0);
  CHECK(phases[3].name == "first_pull");
  CHECK(phases[3].records == kRecords);
  CHECK(phases[3].moved >= kRecords);
  // The whole dataset went down the link; an idle sync moves far less.
  CHECK(phases[3].link.bytes_down > kRecords * 50);
  CHECK(phases[2].link.bytes_down < phases[3].link.bytes_down);
}

}  // namespace

TEST_CASE("bench link: the profiles follow the issue's sizes and links") {
  const std::vector<LinkBenchProfile> profiles = link_bench_profiles(100000);
  REQUIRE(profiles.size() == 4);
  CHECK(profiles[0].name == "fast");
  CHECK(profiles[0].records == 100000);
  CHECK(profiles[0].link.one_way == std::chrono::milliseconds(25));
  CHECK(profiles[0].link.down_bytes_per_second == 0);
  CHECK(profiles[1].name == "3g");
  CHECK(profiles[1].records == 10000);
  CHECK(profiles[1].link.one_way == std::chrono::milliseconds(150));
  CHECK(profiles[1].link.up_bytes_per_second == 125000);
  CHECK(profiles[2].name == "2g");
  CHECK(profiles[2].link.one_way == std::chrono::milliseconds(350));
  CHECK(profiles[2].link.down_bytes_per_second == 16000);
  CHECK(profiles[2].link.drop_probability == 0);
  CHECK(profiles[3].name == "2g_drop");
  CHECK(profiles[3].records == 10000);
  CHECK(profiles[3].link.drop_probability == doctest::Approx(0.1));
}

TEST_CASE("bench link: --profiles picks profiles by their names, in any case") {
  const std::vector<LinkBenchProfile> all = link_bench_profiles(1000);
  CHECK(select_link_profiles(all, {}).size() == 4);
  const std::vector<LinkBenchProfile> some = select_link_profiles(all, {"2G-drop", "fast"});
  REQUIRE(some.size() == 2);
  CHECK(some[0].name == "fast");
  CHECK(some[1].name == "2g_drop");
  CHECK(select_link_profiles(all, {"3g"}).at(0).name == "3g");
  try {
    select_link_profiles(all, {"4G"});
    FAIL("an unknown profile was accepted");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::invalid_value);
    CHECK(std::string(e.what()).find("'4G'") != std::string::npos);
    CHECK(std::string(e.what()).find("2G-drop") != std::string::npos);
  }
}

TEST_CASE("bench link: a small run over a quick link moves every phase's records") {
  check_phases(run_small(LinkProfile{.one_way = std::chrono::milliseconds(5)}, "quick"));
}

TEST_CASE("bench link: a small run over a link that cuts connections still brings every record") {
  LinkProfile link{.one_way = std::chrono::milliseconds(5)};
  link.drop_probability = 0.5;
  link.drop_window = 2048;  // half the exchanges schedule a cut within 2 KiB
  link.seed = 7;
  const std::vector<LinkPhase> phases = run_small(link, "dropping");
  check_phases(phases);
  uint64_t cut = 0;
  for (const LinkPhase& phase : phases) cut += phase.link.dropped;
  INFO("connections cut: ", cut);
  CHECK(cut > 0);
}

}  // namespace outpost::test
