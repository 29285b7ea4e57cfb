// A small command-line parser for the `outpost` command: long options
// ("--name value", "--name=value", flags), "-h" for "--help", "--" to end
// options, everything else positional. Options may appear anywhere among the
// positionals, git-style. Mistakes throw UsageError, which main turns into
// exit status 2 with a hint to --help.
// Thread-safety: plain value types and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "utils/text.h"

namespace outpost::cli {

// A mistake in how the command was called (not in the data it names).
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message) : std::runtime_error(message) {}
};

struct OptionSpec {
  std::string_view name;        // "records" for --records
  std::string_view value_name;  // empty: a flag; otherwise shown in help ("N")
  std::string_view help;

  bool takes_value() const { return !value_name.empty(); }
};

class ParsedArgs {
 public:
  std::vector<std::string> positionals;

  bool has(std::string_view name) const;
  // The last value given for an option, if any.
  std::optional<std::string> get(std::string_view name) const;
  std::string get_or(std::string_view name, std::string_view fallback) const;
  // A whole number in [min, max]; UsageError naming the option otherwise.
  int64_t get_int(std::string_view name, int64_t fallback, int64_t min = 0,
                  int64_t max = INT64_MAX) const;

  void set(std::string name, std::string value) { options_[std::move(name)] = std::move(value); }

 private:
  std::map<std::string, std::string, std::less<>> options_;
};

struct ParseMode {
  // Stop at the first positional and leave it and everything after it
  // unparsed in `rest` (for the global options before a command name).
  bool stop_at_positional = false;
};

struct ParseResult {
  ParsedArgs args;
  std::vector<std::string> rest;  // only with stop_at_positional
};

// Parses `argv` against the union of the given option lists. An option
// not in them, a missing value, or a value given to a flag is a UsageError.
ParseResult parse_args(std::span<const std::string> argv,
                       std::initializer_list<std::span<const OptionSpec>> specs,
                       ParseMode mode = {});

// "  --records N      how many records (default 100000)" lines, aligned.
std::string format_options(std::initializer_list<std::span<const OptionSpec>> specs);

// Lists such as --tables a,b are split with outpost::split_list (utils/text.h).

// A whole number in [min, max] from `text`, for option `what`; UsageError otherwise.
int64_t parse_int_arg(std::string_view text, std::string_view what, int64_t min = 0,
                      int64_t max = INT64_MAX);

}  // namespace outpost::cli
