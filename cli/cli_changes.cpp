// `outpost changes`: read the change feed (DESIGN.md section 6), once or
// following it until interrupted.
#include <signal.h>

#include <csignal>
#include <iostream>

#include "api/json.h"
#include "cli/command.h"
#include "cli/output.h"

namespace outpost::cli {

namespace {

// How long one long-poll waits before the stop flag is looked at again.
constexpr int kFollowPollMs = 1000;

volatile std::sig_atomic_t g_stop = 0;

void on_stop_signal(int) { g_stop = 1; }

// SIGINT and SIGTERM end --follow after the current poll; a second signal
// takes the default action (SA_RESETHAND), so a stuck process still dies.
void install_stop_handler() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

std::string pad(std::string text, size_t width) {
  const size_t shown = display_width(text);
  if (shown < width) text.append(width - shown, ' ');
  return text;
}

std::vector<std::string> change_row(const Change& change) {
  return {
      printable(change.seq), printable(change.table),       cell(change.id),
      change.revision.str(), change.deleted ? "yes" : "no", std::to_string(change.leaves.size())};
}

void print_page(const ChangesPage& page) {
  if (page.results.empty()) {
    std::cout << "(no changes)\n";
  } else {
    TextTable out({"seq", "table", "id", "revision", "deleted", "leaves"});
    for (const Change& change : page.results) out.add_row(change_row(change));
    out.print(std::cout);
  }
  std::cout << "last_seq " << printable(page.last_seq) << "\n";
}

// One line per entry with fixed minimum widths, since --follow cannot know
// the widths of what is still to come.
void print_follow_lines(const ChangesPage& page) {
  for (const Change& change : page.results) {
    std::vector<std::string> row = change_row(change);
    std::string line =
        pad(row[0], 8) + "  " + pad(row[1], 16) + "  " + pad(row[2], 24) + "  " + row[3];
    if (change.deleted) line += "  deleted";
    std::cout << line << "\n";
  }
}

int run_changes(Context& context, const ParsedArgs& args) {
  ChangesRequest request;
  request.since = args.get_or("since", "");
  request.limit = static_cast<size_t>(args.get_int("limit", 1000, 1, 10000));
  request.tables = split_list(args.get_or("tables", ""));
  auto engine = context.open();
  for (const std::string& table : request.tables) require_table(*engine, table);

  if (!args.has("follow")) {
    ChangesPage page = engine->changes(request);
    if (context.json) {
      std::cout << changes_to_json(page) << "\n";
    } else {
      print_page(page);
    }
    return 0;
  }

  install_stop_handler();
  request.timeout_ms = kFollowPollMs;
  while (!g_stop) {
    ChangesPage page = engine->changes(request);
    if (!page.results.empty()) {
      if (context.json) {
        std::cout << changes_to_json(page) << "\n";
      } else {
        print_follow_lines(page);
      }
      std::cout.flush();
    }
    if (!page.last_seq.empty()) request.since = page.last_seq;
  }
  return 0;
}

constexpr OptionSpec kOptions[] = {
    {"since", "CURSOR", "only entries after this cursor (a last_seq printed before; default: all)"},
    {"limit", "N", "at most N entries per page (default 1000, at most 10000)"},
    {"tables", "a,b", "only these tables"},
    {"follow", "", "keep waiting for new entries and print them as they come (Ctrl-C ends)"},
};

const Command kCommands[] = {
    {.name = "",
     .usage = "[--since CURSOR] [--limit N] [--tables a,b] [--follow]",
     .summary = "list the change feed: each changed record once, at its latest position",
     .details = "Prints seq, table, id, winning revision, whether it is deleted and how many\n"
                "leaves the record has, then 'last_seq CURSOR' to pass as --since next time.\n"
                "--json prints {\"results\": [...], \"last_seq\"}; with --follow, one such object\n"
                "per line each time new entries arrive.\n",
     .options = kOptions,
     .max_args = 0,
     .run = run_changes},
};

const CommandGroup kGroup{"changes", "read the change feed", kCommands};

}  // namespace

const CommandGroup& changes_commands() { return kGroup; }

}  // namespace outpost::cli
