// `outpost check`: the engine's consistency check (Engine::check) on a local
// database: every record's winner, leaves, conflict flag and counters agree
// with its revision history. Exit 0 when nothing is wrong, 1 with each
// problem listed otherwise. A quick way to know that a device is intact after
// a crash, a full disk or a sync with a misbehaving peer.
#include <iostream>

#include "api/error.h"
#include "api/json_builder.h"
#include "cli/command.h"
#include "cli/output.h"
#include "client/url.h"

namespace outpost::cli {

namespace {

int run_check(Context& context, const ParsedArgs&) {
  const std::string url = context.effective_db_url();
  if (is_http_url(url)) {
    throw UsageError(
        "'outpost check' reads a database directly (sqlite:PATH or postgres:...); "
        "run it where the server's database is");
  }
  std::unique_ptr<Engine> engine = context.open();
  const std::vector<std::string> problems = engine->check();
  if (context.json) {
    JsonBuilder out;
    out.start_object();
    out.string("ok");
    out.boolean(problems.empty());
    out.string("problems");
    out.strings(problems);
    out.end_object();
    std::cout << out.str() << "\n";
  } else if (problems.empty()) {
    std::cout << "ok: no problems found in " << printable(url) << "\n";
  } else {
    for (const std::string& p : problems) std::cout << "problem: " << printable(p) << "\n";
    std::cerr << "error: internal: " << problems.size() << " problems found in " << printable(url)
              << "\n";
  }
  return problems.empty() ? 0 : 1;
}

const Command kCommands[] = {
    {.name = "",
     .usage = "",
     .summary = "check that the database is consistent (exit 1 and list problems if not)",
     .details = "Reads every table of --db and checks that each record's winner, leaves and\n"
                "conflict flag follow from its revisions, and that the maintained counts\n"
                "match. Prints 'ok: ...' and exits 0, or one 'problem: ...' line per\n"
                "problem and exits 1. --json prints {\"ok\": bool, \"problems\": [...]}.\n"
                "Run it on a device after a crash, a full disk or a failed sync.\n",
     .max_args = 0,
     .run = run_check},
};

const CommandGroup kGroup{"check", "check that the database is consistent", kCommands};

}  // namespace

const CommandGroup& check_commands() { return kGroup; }

}  // namespace outpost::cli
