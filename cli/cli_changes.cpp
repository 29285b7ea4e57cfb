// `outpost changes`: read the change feed (DESIGN.md section 6), once or
// following it until interrupted, optionally under a scope (section 14:
// "query change streams") and with each winner's body.
#include <signal.h>

#include <csignal>
#include <iostream>
#include <memory>
#include <optional>

#include "api/json.h"
#include "api/json_builder.h"
#include "api/scope.h"
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
  if (change.removed) {
    return {printable(change.seq), printable(change.table), cell(change.id), "-", "removed", "0"};
  }
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
    if (change.removed) line += "  removed";
    if (change.deleted) line += "  deleted";
    std::cout << line << "\n";
  }
}

// The winner's body of a change, read under the feed's scope; nullopt for
// removed and deleted entries, and for a record gone since.
std::optional<Attributes> body_of(Engine& engine, const Change& change,
                                  const std::shared_ptr<const Scope>& scope) {
  if (change.removed || change.deleted) return std::nullopt;
  GetOptions options;
  options.scope = scope;
  std::optional<Record> record = engine.get(change.table, change.id, options);
  if (!record || record->deleted) return std::nullopt;
  return std::move(record->attributes);
}

// One change as a JSON object: {"seq", "table", "id", "revision", "deleted",
// "leaves", "attributes"?}, or {"seq", "table", "id", "removed": true}.
std::string change_json(const Change& change, const std::optional<Attributes>& attributes) {
  JsonBuilder w;
  w.start_object();
  w.field("seq", change.seq);
  w.field("table", change.table);
  w.field("id", change.id);
  if (change.removed) {
    w.field_bool("removed", true);
  } else {
    w.field("revision", change.revision.str());
    w.field_bool("deleted", change.deleted);
    w.string("leaves");
    w.start_array();
    for (const Revision& leaf : change.leaves) w.string(leaf.str());
    w.end_array();
  }
  w.end_object();
  std::string text = w.str();
  if (attributes) {
    text.pop_back();
    text += ",\"attributes\":" + attributes_to_json(*attributes) + "}";
  }
  return text;
}

// A page as {"results": [...], "last_seq"}; with bodies when `engine` is given.
std::string page_json(const ChangesPage& page, Engine* engine,
                      const std::shared_ptr<const Scope>& scope) {
  if (engine == nullptr) return changes_to_json(page);
  std::string text = "{\"results\":[";
  for (size_t i = 0; i < page.results.size(); ++i) {
    if (i > 0) text += ',';
    text += change_json(page.results[i], body_of(*engine, page.results[i], scope));
  }
  JsonBuilder last;
  last.string(page.last_seq);
  return text + "],\"last_seq\":" + last.str() + "}";
}

int run_changes(Context& context, const ParsedArgs& args) {
  ChangesRequest request;
  request.since = args.get_or("since", "");
  request.limit = static_cast<size_t>(args.get_int("limit", 1000, 1, 10000));
  request.tables = split_list(args.get_or("tables", ""));
  const bool with_records = args.has("records");
  if (with_records && !context.json) {
    throw UsageError("--records goes with --json (the bodies are printed as JSON)");
  }
  auto engine = context.open();
  for (const std::string& table : request.tables) require_table(*engine, table);
  if (auto scope = args.get("scope")) {
    request.scope = std::make_shared<const Scope>(parse_scope_for(*engine, *scope));
  }
  Engine* bodies = with_records ? engine.get() : nullptr;

  if (!args.has("follow")) {
    ChangesPage page = engine->changes(request);
    if (context.json) {
      std::cout << page_json(page, bodies, request.scope) << "\n";
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
        // JSON lines: one object per change, so that a script can read them
        // as they come.
        for (const Change& change : page.results) {
          std::cout << change_json(change,
                                   bodies ? body_of(*bodies, change, request.scope) : std::nullopt)
                    << "\n";
        }
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
    {"scope", "SCOPE", "only records in SCOPE, plus removed entries for those that left it"},
    {"records", "", "with --json: include each winner's body (\"attributes\")"},
};

const Command kCommands[] = {
    {.name = "",
     .usage = "[--since CURSOR] [--limit N] [--tables a,b] [--scope SCOPE] [--follow] "
              "[--records]",
     .summary = "list the change feed: each changed record once, at its latest position",
     .details = "Prints seq, table, id, winning revision, whether it is deleted and how many\n"
                "leaves the record has, then 'last_seq CURSOR' to pass as --since next time.\n"
                "--json prints {\"results\": [...], \"last_seq\"}; with --follow, one object\n"
                "per change and per line (JSON lines), flushed as entries arrive.\n"
                "--scope SCOPE (see 'outpost scope set --help') lists only the records in\n"
                "SCOPE, plus {\"seq\", \"table\", \"id\", \"removed\": true} entries for records\n"
                "that were in it and are not any more (not when reading from the beginning).\n"
                "Its cursors are valid only with the same scope. --records adds each winner's\n"
                "body as \"attributes\" (not for deleted or removed entries), so a script\n"
                "can follow a district's live changes:\n"
                "  outpost changes --scope \"households: district = 'north'\" --follow --json "
                "--records\n",
     .options = kOptions,
     .max_args = 0,
     .run = run_changes},
};

const CommandGroup kGroup{"changes", "read the change feed", kCommands};

}  // namespace

const CommandGroup& changes_commands() { return kGroup; }

}  // namespace outpost::cli
