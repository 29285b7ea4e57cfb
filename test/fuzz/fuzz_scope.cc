// libFuzzer target: the scope parser (api/scope.h). The first input byte
// picks parse_scope or parse_where (a clause of one table); the rest is the
// text, parsed against fixed table definitions with a column of every
// type. Properties: an accepted scope's canonical text parses to the same
// scope and is a fixed point (parse(text(parse(x))) == parse(x), compared by
// text); intersecting a scope with itself gives it back; refusals are
// invalid_scope (or unknown_table from parse_where).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/error.h"
#include "api/scope.h"
#include "api/table.h"
#include "api/value.h"
#include "test/fuzz/fuzz_support.h"

namespace outpost::fuzz {
namespace {

const std::vector<Table>& tables() {
  static const std::vector<Table> kTables = {
      {"households",
       {{"district", ValueType::string, true},
        {"status", ValueType::string, false},
        {"size", ValueType::int_, false},
        {"lat", ValueType::float_, false},
        {"active", ValueType::bool_, false},
        {"photo", ValueType::bytes, false},
        {"visited", ValueType::timestamp, false}}},
      {"visits", {{"district", ValueType::string, false}, {"when", ValueType::timestamp, false}}},
      {"clinics", {{"name", ValueType::string, false}}},
  };
  return kTables;
}

// Small limits, so that the limits' edges are reachable.
constexpr ScopeLimits kLimits{4096, 64};

void run(uint8_t selector, std::string_view text) {
  std::optional<Scope> scope;
  try {
    if (selector % 2 == 0) {
      scope = parse_scope(text, tables(), kLimits);
    } else {
      static const char* const kNames[] = {"households", "visits", "clinics", "nowhere"};
      scope = parse_where(kNames[(selector / 2) % 4], text, tables(), kLimits);
    }
  } catch (const Error& e) {
    if (e.code() != ErrorCode::invalid_scope && e.code() != ErrorCode::unknown_table) {
      fail(std::string("a scope refused with ") + std::string(e.code_name()), text);
    }
    return;
  }
  if (scope->clauses.empty()) fail("an accepted scope covers nothing", text);
  std::string canonical = scope_text(*scope);
  std::optional<Scope> again;
  try {
    again = parse_scope(canonical, tables(), kStoredScopeLimits);
  } catch (const Error& e) {
    fail(std::string("the canonical text is refused: ") + e.what(), text, canonical);
  }
  check_equal("scope_text(parse(scope_text(parse(x)))) != scope_text(parse(x))", canonical,
              scope_text(*again));
  if (!(*again == *scope)) fail("parse(text(parse(x))) != parse(x)", text, canonical);
  check_equal("fingerprint", scope_fingerprint(*scope), scope_fingerprint(*again));
  Scope self = intersect_scopes(*scope, *scope);
  check_equal("intersect_scopes(s, s) != s", canonical, scope_text(self));
  for (const ScopeClause& clause : scope->clauses) {
    if (scope->find(clause.table) != &clause) fail("Scope::find", clause.table);
    (void)scope_matches(clause, "r1", {});
  }
}

}  // namespace
}  // namespace outpost::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  outpost::fuzz::Input in(data, size);
  uint8_t selector = in.byte();
  outpost::fuzz::run(selector, in.rest());
  return 0;
}
