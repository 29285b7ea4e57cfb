// The `capi` scenario on a small run: both figures are measured, the C ABI
// and the C++ API store the same revisions (the scenario throws otherwise),
// and the Python figure runs from the source tree with the library beside
// the CLI. Outcomes only; the rates are figures, never checked.
#include "bench/bench_capi.h"

#include <doctest/doctest.h>

#include <string>

#include "api/error.h"

namespace outpost::test {

TEST_CASE("bench capi: C ABI, C++ API and Python write the same records side by side") {
  BenchOptions options;
  options.records = 1500;
  options.batch = 500;
  options.durability = Durability::normal;
  const BenchReport report = run_capi_bench(options);
  CHECK(report.scenario == "capi");
  CHECK(report.baseline == "C++ API");
  REQUIRE(report.figures.size() == 2);
  const BenchFigure& c = report.figures[0];
  CHECK(c.name == "capi_batched");
  CHECK(c.records == 1500);
  CHECK(c.per_transaction == 500);
  CHECK(c.engine_seconds > 0);
  CHECK(c.baseline_seconds > 0);
  const BenchFigure& python = report.figures[1];
  INFO(python.label);
  CHECK(python.name == "python_batched");
  // The build puts liboutpost.so beside the binaries and the scenario finds
  // bindings/python in the source tree: the figure must really be there.
  CHECK(python.rates);
  CHECK(python.engine_seconds > 0);
  CHECK(python.baseline_seconds == c.baseline_seconds);
}

TEST_CASE("bench capi: a server or a PostgreSQL URL is refused with a clear error") {
  BenchOptions options;
  options.records = 10;
  options.db_url = "postgres://localhost/x";
  CHECK_THROWS_WITH_AS(run_capi_bench(options),
                       doctest::Contains("measures SQLite, the database a device embeds"), Error);
}

}  // namespace outpost::test
