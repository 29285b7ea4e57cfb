// Scopes (DESIGN.md section 14): which records of which tables a database,
// a replication or a token covers. A scope is parsed from its text form
// against the table definitions, kept in canonical form (clauses sorted by
// table, predicates by column, IN lists sorted and deduplicated), and
// identified by its fingerprint, the SHA-256 hex of the canonical text.
//
// Errors: parse_scope throws Error(invalid_scope) naming the clause and the
// reason. Thread-safety: plain value types and pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/table.h"
#include "api/value.h"

namespace outpost {

// One predicate of a clause: `column IN (values)` (`=` is an IN of one
// value), or `column IS NULL` when `values` is empty. `column` is a declared
// column or "_id" (a string).
struct ScopePredicate {
  std::string column;
  std::vector<Value> values;  // canonical, sorted by text, no duplicates

  bool is_null() const { return values.empty(); }
  friend bool operator==(const ScopePredicate&, const ScopePredicate&) = default;
};

// The clause of one table: every record (`*`, no predicates) or the records
// matching all predicates (sorted by column, one per column).
struct ScopeClause {
  std::string table;
  std::vector<ScopePredicate> predicates;  // empty: `*`

  bool everything() const { return predicates.empty(); }
  friend bool operator==(const ScopeClause&, const ScopeClause&) = default;
};

struct Scope {
  std::vector<ScopeClause> clauses;  // sorted by table, one per table

  // The clause for `table`, nullptr when the table is outside the scope.
  const ScopeClause* find(std::string_view table) const;
  friend bool operator==(const Scope&, const Scope&) = default;
};

// Limits on a scope's text, so that a client cannot make the hub work on an
// unbounded one. parse_scope refuses longer texts and longer IN lists with
// invalid_scope.
struct ScopeLimits {
  size_t max_text_bytes = 64 * 1024;
  size_t max_in_values = 10000;
};
// The largest limits a server may be configured with. A stored scope (a
// token's) was checked against the configured limits when it was set, and
// is read back with these.
constexpr ScopeLimits kStoredScopeLimits{16 * 1024 * 1024, 1000000};

// Parses and validates `text` against `tables` (the definitions of the
// database it applies to): every named table must exist, every column be
// declared (or be _id), every literal have the column's type (DESIGN.md
// section 3). Throws Error(invalid_scope).
Scope parse_scope(std::string_view text, const std::vector<Table>& tables,
                  const ScopeLimits& limits = {});

// A filter on one table (`records list --where`, outpost_list): `clause`
// is a clause's text without the table ("district = 'x' AND size IN (5,
// 6)"), parsed as the scope "table: clause". Error(unknown_table) when
// `tables` has no `table`; Error(invalid_scope) for a bad clause or one
// holding ';' or beyond `limits`.
Scope parse_where(std::string_view table, std::string_view clause, const std::vector<Table>& tables,
                  const ScopeLimits& limits = {});

// The canonical text: clauses "table: pred AND pred" joined by "; ", with
// string-like literals quoted ('' escaping a quote). parse_scope of this text
// gives the same Scope back, except for a Scope without clauses (covering
// nothing, as intersect_scopes may return), whose text "" parse_scope refuses.
std::string scope_text(const Scope& scope);
// SHA-256 hex of scope_text.
std::string scope_fingerprint(const Scope& scope);

// Whether a record of the clause's table with these attributes (its winning
// body, or for a deleted winner its last body) and id matches.
bool scope_matches(const ScopeClause& clause, std::string_view id, const Attributes& attributes);

// The records both scopes cover: per table present in both, the predicates
// of both (a column named in both keeps the common values; no common value
// leaves the table out).
Scope intersect_scopes(const Scope& a, const Scope& b);

// What a writer may write (DESIGN.md section 14, Engine::write_within): a
// create whose body matches `scope`, or a write that builds on a revision
// whose body matches it. `earlier` (a token's write scopes before a
// re-scope) counts too for replicated revisions, never for local edits.
struct WriteScope {
  Scope scope;
  std::vector<Scope> earlier;
};

}  // namespace outpost
