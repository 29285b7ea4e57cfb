// `outpost bench [SCENARIO]`: runs a scenario of bench/ and prints its
// figures (text or JSON). Never a pass or a fail, only figures.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "api/json_builder.h"
#include "bench/bench.h"
#include "cli/command.h"
#include "cli/output.h"
#include "utils/text.h"

namespace outpost::cli {

namespace {

// Progress on stderr, rewritten in place, when stderr is a terminal.
class ProgressLine {
 public:
  ProgressLine() : enabled_(isatty(STDERR_FILENO) == 1) {}
  ~ProgressLine() { clear(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void update(std::string_view stage, size_t done, size_t total) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    std::cerr << "\r\033[K" << stage << ": " << with_thousands(static_cast<double>(done)) << " / "
              << with_thousands(static_cast<double>(total)) << std::flush;
    shown_ = true;
  }

  void clear() {
    if (shown_) std::cerr << "\r\033[K" << std::flush;
    shown_ = false;
  }

 private:
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

std::string scenario_names() {
  std::string names;
  for (const BenchScenario& scenario : bench_scenarios()) {
    if (!names.empty()) names += ", ";
    names += scenario.name;
  }
  return names;
}

std::string fixed(double value, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, value);
  return buf;
}

std::string right(const std::string& text, size_t width) {
  return std::string(width > text.size() ? width - text.size() : 0, ' ') + text;
}

std::string left(const std::string& text, size_t width) {
  return text + std::string(width > text.size() ? width - text.size() : 0, ' ');
}

void print_text(const BenchReport& report) {
  std::cout << "bench " << report.scenario << ": " << report.backend << ", durability "
            << report.durability << ", fresh databases in " << report.location << "\n";
  size_t label_width = 0, engine_width = 0, baseline_width = 0;
  for (const BenchFigure& figure : report.figures) {
    if (!figure.rates) continue;
    label_width = std::max(label_width, figure.label.size());
    engine_width = std::max(engine_width, with_thousands(figure.engine_rate()).size());
    baseline_width = std::max(baseline_width, with_thousands(figure.baseline_rate()).size());
  }
  for (const BenchFigure& figure : report.figures) {
    if (!figure.rates) {
      std::cout << figure.label << "\n";
      continue;
    }
    std::cout << left(figure.label, label_width) << "   engine "
              << right(with_thousands(figure.engine_rate()), engine_width) << " rec/s   "
              << report.baseline << " "
              << right(with_thousands(figure.baseline_rate()), baseline_width) << " rec/s   ratio "
              << fixed(figure.ratio(), 2) << "   ("
              << with_thousands(static_cast<double>(figure.records)) << " records)\n";
  }
}

void print_json(const BenchReport& report) {
  JsonBuilder w;
  w.start_object();
  w.field("scenario", report.scenario);
  w.field("backend", report.backend);
  w.field("durability", report.durability);
  w.field("baseline", report.baseline);
  w.string("results");
  w.start_array();
  for (const BenchFigure& figure : report.figures) {
    w.start_object();
    w.field("name", figure.name);
    w.field("label", figure.label);
    w.field_count("records", figure.records);
    w.field_count("per_transaction", figure.per_transaction);
    w.field_number("engine_seconds", figure.engine_seconds);
    w.field_number("baseline_seconds", figure.baseline_seconds);
    w.field_number("engine_records_per_s", figure.engine_rate());
    w.field_number("baseline_records_per_s", figure.baseline_rate());
    w.field_number("ratio", figure.ratio());
    if (!figure.values.empty()) {
      w.string("values");
      w.start_object();
      for (const BenchValue& value : figure.values) w.field_number(value.name, value.value);
      w.end_object();
    }
    w.end_object();
  }
  w.end_array();
  w.end_object();
  std::cout << w.str() << "\n";
}

int run_bench(Context& context, const ParsedArgs& args) {
  const std::string name = args.positionals.empty() ? "put" : args.positionals[0];
  const BenchScenario* scenario = find_bench_scenario(name);
  if (scenario == nullptr) {
    throw UsageError("'" + name + "' is not a bench scenario (scenarios: " + scenario_names() +
                     ")");
  }
  // `console` measures a hub of the size issue 19 names, filled in large batches.
  const bool console = name == "console";
  BenchOptions options;
  options.db_url = context.db_url;
  options.records = static_cast<size_t>(args.get_int("records", console ? 1000000 : 100000, 1));
  options.batch = static_cast<size_t>(args.get_int("batch", console ? 10000 : 1000, 1));
  options.single_records = static_cast<size_t>(args.get_int("single", 2000, 0));
  options.durability = context.durability;
  options.dir = args.get_or("dir", "");
  options.devices = static_cast<size_t>(args.get_int("devices", 32, 0, 100));
  options.tokens =
      static_cast<size_t>(args.get_int("tokens", console ? 1000 : 10000, 0, 1'000'000));
  if (std::optional<std::string> profiles = args.get("profiles")) {
    options.link_profiles = split_list(*profiles);
    if (options.link_profiles.empty()) throw UsageError("--profiles needs at least one profile");
  }

  ProgressLine progress;
  if (!context.json) {
    options.progress = [&](std::string_view stage, size_t done, size_t total) {
      progress.update(stage, done, total);
    };
  }
  BenchReport report = scenario->run(options);
  progress.clear();
  if (context.json) {
    print_json(report);
  } else {
    print_text(report);
  }
  return 0;
}

constexpr OptionSpec kOptions[] = {
    {"records", "N", "records written in batches (default 100000; console 1000000)"},
    {"batch", "N",
     "records per write call and transaction in the batched figure (default 1000; console "
     "10000)"},
    {"single", "N", "records written one per write call afterwards (default 2000; 0 skips)"},
    {"dir", "DIR", "where the temporary databases go (default $TMPDIR or /tmp)"},
    {"devices", "N",
     "scope: devices syncing with the hub at once (default 32, at most 100; 0 skips)"},
    {"tokens", "N",
     "scope: tokens of distinct scopes for the hub's memory (default 10000; 0 skips); console: "
     "tokens scoped to a district, with their devices (default 1000)"},
    {"profiles", "LIST",
     "link: the link profiles to run, of fast,3G,2G,2G-drop (default: all four)"},
};

const Command kCommands[] = {
    {.name = "",
     .usage = "[SCENARIO] [--records N] [--single N] [--devices N] [--tokens N] [--profiles LIST] "
              "[--db URL]",
     .summary = "measure the engine against the same work done with raw SQL",
     .details =
         "Scenarios:\n"
         "  put   (default) N records of six columns (2 strings, 2 ints, a float, a bool)\n"
         "        through Engine::write in batches, then single durable writes, each against\n"
         "        raw SQLite inserts of the same rows with the same SHA-256 revision hash\n"
         "        (3 rows per record, prepared statements, WAL). Prints records/s of both\n"
         "        and the ratio engine/raw.\n"
         "  replicate  N records replicated SQLite to SQLite in process, against the same\n"
         "        records written locally in batches; then the time to catch up a device\n"
         "        after 10 000 edits to 100 records on the other side.\n"
         "  http  N records pushed to and pulled from an `outpost serve` process over\n"
         "        loopback (SQLite server, or PostgreSQL with --db postgres:...), against\n"
         "        in-process replication of the same records; then 5 rounds of a 1%\n"
         "        incremental sync (the median round is printed).\n"
         "  link  an `outpost serve` process (SQLite server, or PostgreSQL with --db\n"
         "        postgres:...) behind a relay that simulates a field link, on the profiles\n"
         "        fast (50 ms round trip), 3G (300 ms, 1 Mbit/s), 2G (700 ms, 128 kbit/s)\n"
         "        and 2G-drop (2G with 10% of exchanges cutting the connection; --profiles\n"
         "        picks some). On each, from a base dataset synced with a device (N records\n"
         "        on fast, N/10 on the others): a 1% push, a 1% pull, an idle two-way sync\n"
         "        and a first pull into a fresh device. Each prints the time, the round\n"
         "        trips, requests and bytes (on the wire and uncompressed) the replicator\n"
         "        counted, the relay's exchanges, connections, cuts and bytes each way, and\n"
         "        for the 1% rounds the wire bytes per record.\n"
         "  scope  a database of 10 x N records in 100 districts (--db backend); one\n"
         "        district pulled into a fresh scoped SQLite device, in process, against\n"
         "        the same records pulled from a database holding only them (a ratio near\n"
         "        1: the cost does not depend on the database's size); then an incremental\n"
         "        sync after 10 000 changes, 100 of them in the district. The device's peak\n"
         "        RSS during the initial pull is printed with it. Then the same databases as\n"
         "        hubs, through `outpost serve` processes with tokens (DESIGN.md section 14):\n"
         "        a fresh device pulls with a token scoped to the district (adopting its\n"
         "        scope) against an unscoped token on the district-only hub (time ratio,\n"
         "        target <= 1.5); --devices devices, each with its own district's token,\n"
         "        sync an incremental round (1% of every district changed) one at a time,\n"
         "        then all at once (aggregate rate, p50/p99 per device); the hub's RSS\n"
         "        after --tokens requests each with a token of its own scope, against a\n"
         "        fresh server after as many requests with 1 token (target: < 50 MiB more).\n"
         "  console  the web console's overview page on a hub (SQLite, or PostgreSQL with\n"
         "        --db postgres:...) of N records (default 1 000 000, written --batch 10 000\n"
         "        per call, 1 in 2 000 with a conflict) and --tokens tokens (default 1 000)\n"
         "        scoped to a district each, with their devices' checkpoints (healthy, stale,\n"
         "        silent, never synced). Through an `outpost serve` process with an admin\n"
         "        token, over loopback, one after the other: GET /ui/, every file of the\n"
         "        page's module graph, GET /v1, /v1/tables?counts=true and /v1/devices (what\n"
         "        overview.js asks). Prints the request list with each request's median,\n"
         "        the cold load, the best and the median of 5 loads and the bytes on the\n"
         "        wire, against counting the records by paging\n"
         "        GET /v1/tables/households/records?limit=10000 to the end (the ratio);\n"
         "        then GET /v1/tables?counts=true with a token scoped to one district, and\n"
         "        GET /v1/devices?pending=true for one token. The time to fill the hub\n"
         "        is printed apart. The counts the page got must equal the records written.\n\n"
         "The bench writes fresh databases and removes them: files in a temporary\n"
         "directory for sqlite, fresh schemas of the --db database for postgres:...\n"
         "(never its existing tables). On PostgreSQL `put` also measures 8 concurrent\n"
         "writers. --durability applies to SQLite's engine and baseline alike\n"
         "(default full).\n"
         "--json: {\"scenario\", \"backend\", \"durability\", \"baseline\", \"results\": "
         "[{\"name\",\n"
         "\"records\", \"engine_records_per_s\", \"baseline_records_per_s\", \"ratio\", ...}]}.\n",
     .options = kOptions,
     .max_args = 1,
     .run = run_bench},
};

const CommandGroup kGroup{"bench", "measure write throughput against raw SQLite", kCommands};

}  // namespace

const CommandGroup& bench_commands() { return kGroup; }

}  // namespace outpost::cli
