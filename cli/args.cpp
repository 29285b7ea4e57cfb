#include "cli/args.h"

#include <algorithm>
#include <charconv>

namespace outpost::cli {

namespace {

const OptionSpec* find_spec(std::initializer_list<std::span<const OptionSpec>> specs,
                            std::string_view name) {
  for (auto list : specs) {
    for (const OptionSpec& spec : list) {
      if (spec.name == name) return &spec;
    }
  }
  return nullptr;
}

}  // namespace

bool ParsedArgs::has(std::string_view name) const { return options_.find(name) != options_.end(); }

std::optional<std::string> ParsedArgs::get(std::string_view name) const {
  auto it = options_.find(name);
  if (it == options_.end()) return std::nullopt;
  return it->second;
}

std::string ParsedArgs::get_or(std::string_view name, std::string_view fallback) const {
  auto it = options_.find(name);
  return it == options_.end() ? std::string(fallback) : it->second;
}

int64_t ParsedArgs::get_int(std::string_view name, int64_t fallback, int64_t min,
                            int64_t max) const {
  auto it = options_.find(name);
  if (it == options_.end()) return fallback;
  return parse_int_arg(it->second, "--" + std::string(name), min, max);
}

int64_t parse_int_arg(std::string_view text, std::string_view what, int64_t min, int64_t max) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min ||
      value > max) {
    std::string range = "a whole number of at least " + std::to_string(min);
    if (max != INT64_MAX) range += " and at most " + std::to_string(max);
    throw UsageError(std::string(what) + " takes " + range + ", not '" + std::string(text) + "'");
  }
  return value;
}

ParseResult parse_args(std::span<const std::string> argv,
                       std::initializer_list<std::span<const OptionSpec>> specs, ParseMode mode) {
  ParseResult result;
  bool options_ended = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    const bool is_option = !options_ended && arg.size() > 1 && arg[0] == '-';
    if (!is_option) {
      if (mode.stop_at_positional) {
        result.rest.assign(argv.begin() + static_cast<std::ptrdiff_t>(i), argv.end());
        return result;
      }
      result.args.positionals.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    if (arg == "-h") {
      result.args.set("help", "");
      continue;
    }
    if (arg.size() < 3 || arg[1] != '-') {
      throw UsageError("unknown option '" + arg + "' (options are long: --name)");
    }
    std::string_view body = std::string_view(arg).substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = body.find('='); eq != std::string_view::npos) {
      inline_value = std::string(body.substr(eq + 1));
      body = body.substr(0, eq);
    }
    const OptionSpec* spec = find_spec(specs, body);
    if (spec == nullptr) throw UsageError("unknown option '--" + std::string(body) + "'");
    if (!spec->takes_value()) {
      if (inline_value) throw UsageError("option '--" + std::string(body) + "' takes no value");
      result.args.set(std::string(body), "");
      continue;
    }
    if (inline_value) {
      result.args.set(std::string(body), *inline_value);
    } else if (i + 1 < argv.size()) {
      result.args.set(std::string(body), argv[++i]);
    } else {
      throw UsageError("option '--" + std::string(body) + "' needs a value (" +
                       std::string(spec->value_name) + ")");
    }
  }
  return result;
}

std::string format_options(std::initializer_list<std::span<const OptionSpec>> specs) {
  std::vector<std::pair<std::string, std::string_view>> rows;
  size_t width = 0;
  for (auto list : specs) {
    for (const OptionSpec& spec : list) {
      std::string left = "--" + std::string(spec.name);
      if (spec.takes_value()) left += " " + std::string(spec.value_name);
      width = std::max(width, left.size());
      rows.emplace_back(std::move(left), spec.help);
    }
  }
  std::string out;
  for (const auto& [left, help] : rows) {
    out += "  " + left + std::string(width - left.size() + 3, ' ') + std::string(help) + "\n";
  }
  return out;
}

}  // namespace outpost::cli
