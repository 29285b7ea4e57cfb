#include "reconciler/table_gate.h"

#include <algorithm>
#include <optional>
#include <unordered_map>

#include "utils/log.h"

namespace outpost {

namespace {
constexpr std::string_view kLog = "replicate";
}  // namespace

TableGate::TableGate(Engine& source, Engine& target, std::vector<std::string> filter, Retry retry,
                     Report report)
    : source_(source),
      target_(target),
      filter_(std::move(filter)),
      retry_(std::move(retry)),
      report_(std::move(report)) {}

void TableGate::ensure(const std::vector<Table>& source_tables, std::vector<Table> target_tables) {
  std::unordered_map<std::string, Table> on_target;
  for (Table& t : target_tables) on_target.emplace(t.name, std::move(t));
  for (const Table& table : source_tables) {
    if (!filter_.empty() && !std::binary_search(filter_.begin(), filter_.end(), table.name)) {
      continue;
    }
    auto it = on_target.find(table.name);
    ensure_table(table, it == on_target.end() ? nullptr : &it->second);
  }
}

void TableGate::ensure_table(const Table& table, const Table* existing) {
  try {
    if (existing != nullptr && merge_tables(*existing, table) == *existing) {
      ready_.insert(table.name);
      return;
    }
    retry_("put_table", [&] { target_.put_table(table); });
    ready_.insert(table.name);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::unavailable) throw;
    if (e.code() == ErrorCode::unauthorized) throw;
    // schema_conflict, forbidden, invalid_name ...: this table only.
    refuse(table.name, e.code(), "table " + table.name + " is not replicated: " + e.message());
    log_warn(kLog, "table skipped", {{"table", table.name}, {"message", e.message()}});
  }
}

bool TableGate::ready(const std::string& name) {
  if (ready_.count(name) != 0) return true;
  if (failed_.count(name) != 0) return false;
  std::optional<Table> table;
  retry_("get_table", [&] { table = source_.get_table(name); });
  if (!table) {
    refuse(name, ErrorCode::unknown_table,
           "the source lists changes of table " + name + " but has no definition for it");
    return false;
  }
  std::optional<Table> existing;
  retry_("get_table", [&] { existing = target_.get_table(name); });
  ensure_table(*table, existing ? &*existing : nullptr);
  return ready_.count(name) != 0;
}

std::vector<std::pair<std::string, std::string>> TableGate::to_catch_up() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [table, from] : skipped_) {
    if (ready_.count(table) != 0)
      out.emplace_back(table, from);  // else still refused (or filtered out)
  }
  return out;
}

void TableGate::refuse(const std::string& table, ErrorCode code, std::string message) {
  failed_.insert(table);
  skipped_.try_emplace(table, cursor_);
  report_({table, "", "", code, std::move(message)});
}

}  // namespace outpost
