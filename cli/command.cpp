#include "cli/command.h"

#include <algorithm>
#include <iostream>

#include "client/http_engine.h"
#include "client/url.h"
#include "utils/log.h"

namespace outpost::cli {

namespace {

constexpr OptionSpec kGlobalOptions[] = {
    {"db", "URL", "sqlite:PATH, a path, or postgres:... (default $OUTPOST_DB, sqlite:outpost.db)"},
    {"json", "", "print JSON instead of text"},
    {"durability", "MODE", "full (default: every commit reaches the disk) or normal (faster)"},
    {"log-level", "LEVEL", "debug, info, warn (default), error or off; logs go to stderr"},
    {"help", "", "show this help (also -h)"},
    {"version", "", "print the version"},
};

Context make_context(const ParsedArgs& args) {
  Context context;
  context.db_url = args.get_or("db", "");
  context.json = args.has("json");
  if (auto mode = args.get("durability")) {
    if (*mode == "full") {
      context.durability = Durability::full;
    } else if (*mode == "normal") {
      context.durability = Durability::normal;
    } else {
      throw UsageError("--durability takes full or normal, not '" + *mode + "'");
    }
  }
  if (auto level = args.get("log-level")) {
    auto parsed = log_level_from_name(*level);
    if (!parsed) {
      throw UsageError("--log-level takes debug, info, warn, error or off, not '" + *level + "'");
    }
    set_log_level(*parsed);
  }
  return context;
}

std::string command_help(const std::string& path, const Command& command) {
  std::string text = "usage: " + path;
  if (!command.usage.empty()) text += " " + std::string(command.usage);
  text += "\n\n" + std::string(command.summary) + "\n";
  if (!command.details.empty()) text += "\n" + std::string(command.details);
  if (!text.ends_with('\n')) text += '\n';
  if (!command.options.empty()) text += "\noptions:\n" + format_options({command.options});
  text += "\nglobal options:\n" + format_options({global_options()});
  return text;
}

std::string group_help(const CommandGroup& group) {
  std::string text = "usage: outpost " + std::string(group.name) + " <subcommand> [<args>]\n\n" +
                     std::string(group.summary) + "\n\nsubcommands:\n";
  size_t width = 0;
  for (const Command& command : group.commands) {
    width = std::max(width, command.name.size() + 1 + command.usage.size());
  }
  for (const Command& command : group.commands) {
    std::string left = std::string(command.name) + " " + std::string(command.usage);
    text += "  " + left + std::string(width - left.size() + 3, ' ') + std::string(command.summary) +
            "\n";
  }
  text += "\nrun 'outpost " + std::string(group.name) +
          " <subcommand> --help' for the options of one.\n";
  return text;
}

std::string names_of(const CommandGroup& group) {
  std::string names;
  for (const Command& command : group.commands) {
    if (!names.empty()) names += ", ";
    names += command.name;
  }
  return names;
}

}  // namespace

std::span<const OptionSpec> global_options() { return kGlobalOptions; }

std::unique_ptr<Engine> Context::open() const {
  OpenOptions options;
  options.durability = durability;
  return open_engine(db_url, options);
}

std::unique_ptr<Engine> Context::open_local_or_remote(const ParsedArgs& args) const {
  const std::string url = effective_db_url();
  if (!is_http_url(url)) {
    if (args.has("token")) throw UsageError("--token applies only to an http(s):// --db");
    return open();
  }
  return open_http_engine(url, http_client_options(args));
}

HttpClientOptions http_client_options(const ParsedArgs& args) {
  HttpClientOptions options;
  if (std::optional<std::string> token = args.get("token")) {
    options.token = *token;
  } else if (const char* env = std::getenv("OUTPOST_TOKEN"); env != nullptr) {
    options.token = env;
  }
  options.insecure = args.has("insecure");
  options.ca_file = args.get_or("cacert", "");
  if (options.insecure && !options.ca_file.empty()) {
    throw UsageError("--insecure and --cacert exclude each other");
  }
  return options;
}

std::string Context::effective_db_url() const {
  return db_url.empty() ? default_database_url() : db_url;
}

Table require_table(Engine& engine, const std::string& table) {
  std::optional<Table> found = engine.get_table(table);
  if (!found) {
    throw Error(ErrorCode::unknown_table,
                "there is no table '" + table + "' (see 'outpost tables list')");
  }
  return std::move(*found);
}

int run_group(const CommandGroup& group, std::span<const std::string> leading,
              std::span<const std::string> args, std::string& path) {
  path = "outpost " + std::string(group.name);
  std::vector<std::string> tokens(leading.begin(), leading.end());
  const Command* command = &group.commands[0];
  std::span<const std::string> rest = args;
  if (!group.single()) {
    ParseResult pre = parse_args(args, {global_options()}, {.stop_at_positional = true});
    tokens.insert(tokens.end(), args.begin(),
                  args.end() - static_cast<std::ptrdiff_t>(pre.rest.size()));
    if (pre.rest.empty()) {
      if (parse_args(tokens, {global_options()}).args.has("help")) {
        std::cout << group_help(group);
        return 0;
      }
      throw UsageError("'" + path + "' needs a subcommand: " + names_of(group));
    }
    auto found = std::find_if(group.commands.begin(), group.commands.end(),
                              [&](const Command& c) { return c.name == pre.rest[0]; });
    if (found == group.commands.end()) {
      throw UsageError("'" + pre.rest[0] + "' is not a subcommand of '" + path +
                       "' (subcommands: " + names_of(group) + ")");
    }
    command = &*found;
    path += " " + std::string(command->name);
    rest = args.subspan(args.size() - pre.rest.size() + 1);
  }
  tokens.insert(tokens.end(), rest.begin(), rest.end());

  ParsedArgs parsed = parse_args(tokens, {global_options(), command->options}).args;
  if (parsed.has("help")) {
    std::cout << command_help(path, *command);
    return 0;
  }
  if (parsed.has("version")) {
    std::cout << "outpost " << kVersion << "\n";
    return 0;
  }
  Context context = make_context(parsed);
  const size_t count = parsed.positionals.size();
  if (count < command->min_args) {
    throw UsageError("'" + path + "' needs more arguments: " + path + " " +
                     std::string(command->usage));
  }
  if (count > command->max_args) {
    throw UsageError("'" + path + "' got an unexpected argument '" +
                     parsed.positionals[command->max_args] + "'");
  }
  return command->run(context, parsed);
}

std::string top_level_help(std::span<const CommandGroup> groups) {
  std::string text = "outpost " + std::string(kVersion) +
                     " - an offline-first replicating record engine\n\n"
                     "usage: outpost [--db URL] [--json] <command> [<args>]\n\ncommands:\n";
  size_t width = 0;
  for (const CommandGroup& group : groups) width = std::max(width, group.name.size());
  for (const CommandGroup& group : groups) {
    text += "  " + std::string(group.name) + std::string(width - group.name.size() + 3, ' ') +
            std::string(group.summary) + "\n";
  }
  text += "\nglobal options (accepted before or after the command):\n" +
          format_options({global_options()}) +
          "\nrun 'outpost <command> --help' for the usage of a command.\n"
          "errors print 'error: <code>: <message>' on stderr and exit 1; usage mistakes exit 2.\n";
  return text;
}

}  // namespace outpost::cli
