#include "bench/bench_capi.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "api/error.h"
#include "api/json.h"
#include "api/json_builder.h"
#include "bench/bench_common.h"
#include "bench/bench_put.h"
#include "engine/open.h"
#include "outpost.h"

namespace outpost {

namespace {

// Throws the error a C ABI call reported.
void check(outpost_code code, outpost_error& err, const char* what) {
  if (code == OUTPOST_OK) return;
  std::string message = std::string("bench capi: ") + what + ": " +
                        (err.message != nullptr ? err.message : "(no message)");
  outpost_error_clear(&err);
  throw Error(ErrorCode::internal, message);
}

// Appends one record of the bench as a bulk_docs document, the way a C
// program writes its JSON (the values' texts by hand, floats with %.17g).
void append_doc(std::string& out, size_t i) {
  const BaselineRow row = bench_row(i);
  char buf[512];
  std::snprintf(
      buf, sizeof buf,
      "{\"table\":\"%s\",\"id\":\"%s\",\"attributes\":{\"name\":{\"string\":\"%s\"},"
      "\"city\":{\"string\":\"%s\"},\"qty\":{\"int\":\"%lld\"},\"seq\":{\"int\":\"%lld\"},"
      "\"price\":{\"float\":\"%.17g\"},\"active\":{\"bool\":\"%s\"}}}",
      kBenchTable, row.id.c_str(), row.name.c_str(), row.city.c_str(),
      static_cast<long long>(row.qty), static_cast<long long>(row.seq), row.price,
      row.active ? "true" : "false");
  out += buf;
}

// Writes records [0, count) through outpost_bulk_docs, `per_write` per
// call, into the fresh database at `url`. Returns the seconds the writes
// took (building each batch's JSON and reading its answer included).
double time_capi_writes(const BenchOptions& options, const std::string& url, size_t count,
                        size_t per_write) {
  outpost_error err{};
  outpost_db* db = nullptr;
  const std::string open_options = options.durability == Durability::full
                                       ? R"({"durability":"full"})"
                                       : R"({"durability":"normal"})";
  check(outpost_open(url.c_str(), open_options.c_str(), &db, &err), err, "outpost_open");
  std::unique_ptr<outpost_db, void (*)(outpost_db*)> closer(db, outpost_close);
  const std::string table = table_to_json(bench_table());
  check(outpost_table_put(db, kBenchTable, table.c_str(), nullptr, &err), err, "outpost_table_put");

  const auto start = std::chrono::steady_clock::now();
  std::string body;
  for (size_t begin = 0; begin < count; begin += per_write) {
    const size_t end = std::min(count, begin + per_write);
    body.assign("{\"docs\":[");
    for (size_t i = begin; i < end; ++i) {
      if (i > begin) body += ',';
      append_doc(body, i);
    }
    body += "]}";
    char* results = nullptr;
    check(outpost_bulk_docs(db, body.c_str(), &results, &err), err, "outpost_bulk_docs");
    // A document that failed has an "error" in its result.
    const bool failed = std::strstr(results, "\"error\"") != nullptr;
    outpost_free(results);
    if (failed) throw Error(ErrorCode::internal, "bench capi: a document was refused");
    options.notify("C ABI, batched", end, count);
  }
  return seconds_since(start);
}

// The revision the database at `url` holds for record `i`.
std::string revision_of(const std::string& url, size_t i) {
  std::unique_ptr<Engine> engine = open_engine(url);
  std::optional<Record> record = engine->get(kBenchTable, bench_record_id(i));
  if (!record) {
    throw Error(ErrorCode::internal, "bench capi: record " + bench_record_id(i) + " is missing");
  }
  return record->revision.str();
}

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Where bindings/python is: $OUTPOST_PYTHON_DIR, else the source tree the
// binary was built from.
std::filesystem::path python_dir() {
  if (const char* env = std::getenv("OUTPOST_PYTHON_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
#ifdef OUTPOST_SOURCE_DIR
  return std::filesystem::path(OUTPOST_SOURCE_DIR) / "bindings" / "python";
#else
  return {};
#endif
}

// The shared library: $OUTPOST_LIBRARY, else liboutpost.so beside this binary.
std::filesystem::path shared_library() {
  if (const char* env = std::getenv("OUTPOST_LIBRARY"); env != nullptr && *env != '\0') {
    return env;
  }
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : self.parent_path() / "liboutpost.so";
}

// Runs bindings/python/bench.py; its figure, or one that says why not.
BenchFigure python_figure(const BenchOptions& options, const std::filesystem::path& dir,
                          double cxx_seconds, const std::string& last_revision) {
  BenchFigure f;
  f.name = "python_batched";
  f.records = options.records;
  f.per_transaction = options.batch;
  const std::filesystem::path script = python_dir() / "bench.py";
  const std::filesystem::path library = shared_library();
  std::string why_not;
  if (!std::filesystem::exists(script)) {
    why_not = "no " + script.string() + " (set OUTPOST_PYTHON_DIR)";
  } else if (!std::filesystem::exists(library)) {
    why_not = "no " + library.string() + " (set OUTPOST_LIBRARY)";
  }
  std::string output;
  if (why_not.empty()) {
    options.notify("Python, batched", 0, options.records);
    const std::string command = "OUTPOST_LIBRARY=" + shell_quote(library.string()) + " python3 " +
                                shell_quote(script.string()) + " --json --records " +
                                std::to_string(options.records) + " --batch " +
                                std::to_string(options.batch) + " --durability " +
                                (options.durability == Durability::full ? "full" : "normal") +
                                " --dir " + shell_quote(dir.string()) + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) throw Error(ErrorCode::internal, "bench capi: cannot run python3");
    char buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) output.append(buf, n);
    const int status = pclose(pipe);
    if (status != 0) why_not = "python3 bench.py failed: " + output;
  }
  if (!why_not.empty()) {
    f.label = "python: not run: " + why_not;
    f.rates = false;
    return f;
  }
  // The last line is {"records", "seconds", "rate"}.
  const size_t last = output.find_last_of('{');
  std::optional<JsonDoc> doc =
      last == std::string::npos ? std::nullopt : JsonDoc::parse(output.substr(last));
  std::optional<JsonNode> seconds = doc ? doc->root().member("seconds") : std::nullopt;
  if (!seconds || !seconds->number()) {
    throw Error(ErrorCode::internal, "bench capi: python bench printed no figure: " + output);
  }
  // The same records, so the same revision for the last one.
  std::optional<JsonNode> revision = doc->root().member("last_revision");
  if (!revision || revision->string() != last_revision) {
    throw Error(ErrorCode::internal, "bench capi: Python stored another revision for " +
                                         bench_record_id(options.records - 1) +
                                         " than the C++ API (" + last_revision + "): " + output);
  }
  f.label = "python, bulk (" + std::to_string(options.batch) + "/txn)";
  f.engine_seconds = *seconds->number();
  f.baseline_seconds = cxx_seconds;
  return f;
}

}  // namespace

BenchReport run_capi_bench(const BenchOptions& options) {
  const std::string url = options.db_url.empty() ? default_database_url() : options.db_url;
  if (!url.starts_with("sqlite:") && url.find(':') != std::string::npos) {
    throw Error(ErrorCode::unavailable,
                "'outpost bench capi' measures SQLite, the database a device embeds; use --db "
                "sqlite:");
  }
  if (options.records == 0) throw Error(ErrorCode::invalid_value, "bench: --records must be > 0");
  const size_t batch = options.batch == 0 ? 1 : options.batch;

  ScratchDir dir(options.dir);
  BenchReport report;
  report.scenario = "capi";
  report.backend = "sqlite";
  report.durability = options.durability == Durability::full ? "full" : "normal";
  report.baseline = "C++ API";
  report.location = dir.path().parent_path().string();

  BenchFigure c;
  c.name = "capi_batched";
  c.label = "C ABI, bulk_docs (" + std::to_string(batch) + "/txn)";
  c.records = options.records;
  c.per_transaction = batch;
  // Side by side, in turns on fresh files, the best of kRounds each: a
  // neighbour's burst of load then hits both alike.
  constexpr int kRounds = 3;
  std::string cxx_url;
  std::string c_url;
  for (int round = 1; round <= kRounds; ++round) {
    const std::string suffix = std::to_string(round) + ".db";
    cxx_url = "sqlite:" + (dir.path() / ("cxx-" + suffix)).string();
    c_url = "sqlite:" + (dir.path() / ("c-" + suffix)).string();
    const double cxx =
        time_engine_writes(options, cxx_url, options.records, batch, "C++ API, batched");
    const double abi = time_capi_writes(options, c_url, options.records, batch);
    if (round == 1 || cxx < c.baseline_seconds) c.baseline_seconds = cxx;
    if (round == 1 || abi < c.engine_seconds) c.engine_seconds = abi;
  }
  c.values.push_back({"rounds", kRounds});
  // The same edit makes the same revision, whichever way it came in.
  const size_t last = options.records - 1;
  const std::string last_revision = revision_of(cxx_url, last);
  if (last_revision != revision_of(c_url, last)) {
    throw Error(ErrorCode::internal,
                "bench capi: the C ABI and the C++ API stored different revisions for " +
                    bench_record_id(last));
  }
  report.figures.push_back(c);
  // Python too, the best of kRounds runs (each its own process).
  BenchFigure python = python_figure(options, dir.path(), c.baseline_seconds, last_revision);
  for (int round = 2; round <= kRounds && python.rates; ++round) {
    const BenchFigure again = python_figure(options, dir.path(), c.baseline_seconds, last_revision);
    if (again.rates && again.engine_seconds < python.engine_seconds) python = again;
  }
  report.figures.push_back(python);
  return report;
}

}  // namespace outpost
