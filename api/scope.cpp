// Scopes (DESIGN.md section 14): the text form's parser and printer,
// fingerprints, matching and intersection. The parser is a single pass over
// each clause with one token of lookahead and no recursion, so hostile text
// costs time linear in its length (plus sorting IN lists).
#include "api/scope.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "api/error.h"
#include "utils/sha256.h"
#include "utils/utf8.h"

namespace outpost {
namespace {

constexpr std::string_view kIdColumn = "_id";
constexpr size_t kEchoBytes = 80;   // clause text echoed in messages
constexpr size_t kTokenBytes = 40;  // a token echoed in messages

[[noreturn]] void invalid_scope(std::string message) {
  throw Error(ErrorCode::invalid_scope, std::move(message));
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}
// Words (names and keywords) also take non-ASCII bytes, so that a mistyped
// name like "náme" is reported whole.
bool is_word_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         u >= 0x80;
}
bool is_word_start(char c) { return is_word_char(c) && !(c >= '0' && c <= '9'); }
bool is_number_start(char c) { return c == '-' || (c >= '0' && c <= '9'); }
// A number token runs over everything a JSON number may contain (and
// letters, so that "12abc" is one bad literal); Value::parse validates it.
bool is_number_char(char c) { return is_word_char(c) || c == '.' || c == '+' || c == '-'; }

// Whether `word` is `keyword` (given in upper case), ignoring ASCII case.
bool is_keyword(std::string_view word, std::string_view keyword) {
  if (word.size() != keyword.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    char c = word[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != keyword[i]) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Types whose literals are written in single quotes.
bool is_quoted_type(ValueType type) {
  return type == ValueType::string || type == ValueType::timestamp || type == ValueType::bytes;
}

std::string_view example_literal(ValueType type) {
  switch (type) {
    case ValueType::string:
      return "'text'";
    case ValueType::int_:
      return "42";
    case ValueType::float_:
      return "0.5";
    case ValueType::bool_:
      return "true";
    case ValueType::bytes:
      return "'AAEC/w=='";
    case ValueType::timestamp:
      return "'2026-11-22T10:00:00Z'";
  }
  return "";
}

// Orders values by canonical text (bytewise), then type.
bool value_less(const Value& a, const Value& b) {
  if (a.text() != b.text()) return a.text() < b.text();
  return a.type() < b.type();
}

// "a, b, c", cut short after about kEchoBytes.
std::string name_list(const std::vector<std::string_view>& names) {
  std::string out;
  for (const std::string_view name : names) {
    if (out.size() > kEchoBytes) return out + ", ...";
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

enum class TokenKind { end, word, number, string, symbol };

struct Token {
  TokenKind kind = TokenKind::end;
  std::string_view raw;  // as written (a string with its quotes)
  std::string text;      // a string's content, quotes unescaped
};

struct ColumnRef {
  std::string_view name;
  ValueType type;
  bool is_id;
};

// Parses one clause (the text between two ';').
class ClauseParser {
 public:
  ClauseParser(std::string_view scope_text, size_t begin, size_t end, size_t number,
               const ScopeLimits& limits)
      : text_(scope_text), pos_(begin), end_(end), number_(number), limits_(limits) {
    clause_ = trim(text_.substr(begin, end - begin));
  }

  ScopeClause parse(const std::vector<Table>& tables) {
    advance();
    if (token_.kind != TokenKind::word) fail("expected a table name, got " + describe(token_));
    const Table* table = find_table(tables, token_.raw);
    advance();
    if (!is_symbol(':')) {
      fail("expected ':' after the table name " + quote_for_message(table->name) + ", got " +
           describe(token_));
    }
    advance();
    ScopeClause clause{table->name, {}};
    if (is_symbol('*')) {
      advance();
      if (is_word("AND")) fail_star();
      if (token_.kind != TokenKind::end) {
        fail("expected ';' or the end of the scope after '*', got " + describe(token_));
      }
      return clause;
    }
    std::set<std::string> columns;
    while (true) {
      ScopePredicate predicate = parse_predicate(*table);
      if (!columns.insert(predicate.column).second) {
        fail("column " + quote_for_message(predicate.column) +
             " is named twice; put its values in one IN list");
      }
      clause.predicates.push_back(std::move(predicate));
      if (token_.kind == TokenKind::end) break;
      if (!is_word("AND")) {
        fail("expected AND, ';' or the end of the scope after the predicate on " +
             quote_for_message(clause.predicates.back().column) + ", got " + describe(token_));
      }
      advance();
    }
    std::sort(clause.predicates.begin(), clause.predicates.end(),
              [](const ScopePredicate& a, const ScopePredicate& b) { return a.column < b.column; });
    return clause;
  }

  [[noreturn]] void fail(const std::string& reason) const {
    invalid_scope("scope clause " + std::to_string(number_) + " (" +
                  quote_for_message(clause_, kEchoBytes) + "): " + reason);
  }

 private:
  const Table* find_table(const std::vector<Table>& tables, std::string_view name) const {
    for (const Table& t : tables) {
      if (t.name == name) return &t;
    }
    std::vector<std::string_view> names;
    for (const Table& t : tables) names.push_back(t.name);
    std::sort(names.begin(), names.end());
    fail("unknown table " + quote_for_message(name, kTokenBytes) +
         (names.empty() ? std::string("; the database has no tables")
                        : "; the tables are " + name_list(names)));
  }

  ColumnRef find_column(const Table& table, std::string_view name) const {
    if (name == kIdColumn) return {kIdColumn, ValueType::string, true};
    if (const Column* c = table.find_column(name)) return {c->name, c->type, false};
    std::vector<std::string_view> names{kIdColumn};
    for (const Column& c : table.columns) names.push_back(c.name);
    fail("unknown column " + quote_for_message(name, kTokenBytes) + " in table " +
         quote_for_message(table.name) + "; its columns are " + name_list(names));
  }

  ScopePredicate parse_predicate(const Table& table) {
    if (is_symbol('*')) fail_star();
    if (token_.kind != TokenKind::word) fail("expected a column name, got " + describe(token_));
    const ColumnRef column = find_column(table, token_.raw);
    advance();
    ScopePredicate predicate{std::string(column.name), {}};
    if (is_symbol('=')) {
      advance();
      predicate.values.push_back(parse_literal(column));
    } else if (is_word("IN")) {
      advance();
      if (!is_symbol('(')) fail("expected '(' after IN, got " + describe(token_));
      advance();
      if (is_symbol(')')) {
        fail("empty IN list for column " + quote_for_message(column.name) +
             "; name at least one value");
      }
      while (true) {
        if (predicate.values.size() == limits_.max_in_values) {
          fail("the IN list for column " + quote_for_message(column.name) + " has more than " +
               std::to_string(limits_.max_in_values) + " values");
        }
        predicate.values.push_back(parse_literal(column));
        if (is_symbol(')')) break;
        if (!is_symbol(',')) {
          fail("expected ',' or ')' in the IN list for column " + quote_for_message(column.name) +
               ", got " + describe(token_));
        }
        advance();
      }
      advance();
    } else if (is_word("IS")) {
      advance();
      if (!is_word("NULL")) fail("expected NULL after IS, got " + describe(token_));
      advance();
      if (column.is_id) fail("_id IS NULL matches no record: every record has an id");
    } else {
      fail("expected =, IN or IS NULL after column " + quote_for_message(column.name) + ", got " +
           describe(token_));
    }
    std::vector<Value>& values = predicate.values;
    std::sort(values.begin(), values.end(), value_less);
    values.erase(std::unique(values.begin(), values.end()), values.end());
    return predicate;
  }

  // One literal of `column`'s type; consumes its token.
  Value parse_literal(const ColumnRef& column) {
    const std::string type_name(value_type_name(column.type));
    if (is_word("NULL")) {
      fail("NULL is not a value: write " + std::string(column.name) +
           " IS NULL (on its own, not in an IN list)");
    }
    const std::string wrong = "column " + quote_for_message(column.name) + " is " + type_name;
    std::string input;
    if (is_quoted_type(column.type)) {
      if (token_.kind != TokenKind::string) {
        fail(wrong + ": write the value in single quotes, like " +
             std::string(example_literal(column.type)) + ", got " + describe(token_));
      }
      input = std::move(token_.text);
    } else if (column.type == ValueType::bool_) {
      if (!is_word("TRUE") && !is_word("FALSE")) {
        fail(wrong + ": write true or false without quotes, got " + describe(token_));
      }
      input = is_word("TRUE") ? "true" : "false";
    } else {
      if (token_.kind != TokenKind::number) {
        fail(wrong + ": write the number without quotes, like " +
             std::string(example_literal(column.type)) + ", got " + describe(token_));
      }
      input = std::string(token_.raw);
    }
    advance();
    try {
      if (column.is_id) validate_record_id(input);
      return Value::parse(column.type, input);
    } catch (const Error& e) {
      fail("bad value for column " + quote_for_message(column.name) + ": " + e.message());
    }
  }

  [[noreturn]] void fail_star() const {
    fail("'*' (every record) cannot be combined with predicates");
  }

  bool is_symbol(char c) const { return token_.kind == TokenKind::symbol && token_.raw[0] == c; }
  bool is_word(std::string_view keyword) const {
    return token_.kind == TokenKind::word && is_keyword(token_.raw, keyword);
  }

  static std::string describe(const Token& token) {
    if (token.kind == TokenKind::end) return "the end of the clause";
    return quote_for_message(token.raw, kTokenBytes);
  }

  // Reads the next token into token_.
  void advance() {
    while (pos_ < end_ && is_space(text_[pos_])) ++pos_;
    token_ = Token{};
    if (pos_ == end_) return;
    const size_t start = pos_;
    const char c = text_[pos_];
    if (c == '\'') {
      read_string();
      return;
    }
    if (is_word_start(c) || is_number_start(c)) {
      const bool word = is_word_start(c);
      token_.kind = word ? TokenKind::word : TokenKind::number;
      ++pos_;
      while (pos_ < end_ && (word ? is_word_char(text_[pos_]) : is_number_char(text_[pos_]))) {
        ++pos_;
      }
    } else if (c == ':' || c == '*' || c == '=' || c == '(' || c == ')' || c == ',') {
      token_.kind = TokenKind::symbol;
      ++pos_;
    } else if (is_control(c)) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      const auto u = static_cast<unsigned char>(c);
      fail(std::string("control character U+00") + kHex[u >> 4] + kHex[u & 15] + " at byte " +
           std::to_string(start) + " of the scope (allowed only inside quoted strings)");
    } else {
      fail("unexpected character " + quote_for_message(text_.substr(start, 1)) + " at byte " +
           std::to_string(start) + " of the scope");
    }
    token_.raw = text_.substr(start, pos_ - start);
  }

  // A single-quoted string, '' standing for one quote.
  void read_string() {
    const size_t start = pos_;
    size_t i = pos_ + 1;
    token_.kind = TokenKind::string;
    while (true) {
      const size_t quote = text_.substr(0, end_).find('\'', i);
      if (quote == std::string_view::npos) {
        fail("unterminated string starting at byte " + std::to_string(start) +
             " of the scope: " + quote_for_message(text_.substr(start, end_ - start), kTokenBytes));
      }
      token_.text.append(text_.substr(i, quote - i));
      if (quote + 1 < end_ && text_[quote + 1] == '\'') {
        token_.text += '\'';
        i = quote + 2;
        continue;
      }
      pos_ = quote + 1;
      break;
    }
    token_.raw = text_.substr(start, pos_ - start);
  }

  std::string_view text_;    // the whole scope text
  size_t pos_;               // next byte to read
  size_t end_;               // end of this clause
  size_t number_;            // 1-based
  std::string_view clause_;  // trimmed, for messages
  const ScopeLimits& limits_;
  Token token_;
};

// Whether sorted `values` hold the value of this type and canonical text.
bool contains(const std::vector<Value>& values, ValueType type, std::string_view text) {
  auto it = std::lower_bound(values.begin(), values.end(), text,
                             [](const Value& v, std::string_view t) { return v.text() < t; });
  for (; it != values.end() && it->text() == text; ++it) {
    if (it->type() == type) return true;
  }
  return false;
}

// Appends `value` as a literal of the text form.
void append_literal(std::string& out, const Value& value) {
  if (!is_quoted_type(value.type())) {
    out += value.text();
    return;
  }
  out += '\'';
  for (const char c : value.text()) {
    if (c == '\'') out += '\'';
    out += c;
  }
  out += '\'';
}

// The common values of two sorted lists.
std::vector<Value> common_values(const std::vector<Value>& a, const std::vector<Value>& b) {
  std::vector<Value> out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out),
                        value_less);
  return out;
}

// Both predicates on one column; nullopt when no record can match both.
std::optional<ScopePredicate> intersect_predicates(const ScopePredicate& a,
                                                   const ScopePredicate& b) {
  if (a.is_null() && b.is_null()) return a;
  if (a.is_null() || b.is_null()) return std::nullopt;
  ScopePredicate out{a.column, common_values(a.values, b.values)};
  if (out.values.empty()) return std::nullopt;
  return out;
}

// Both clauses of one table; nullopt when no record can match both.
std::optional<ScopeClause> intersect_clauses(const ScopeClause& a, const ScopeClause& b) {
  ScopeClause out{a.table, {}};
  auto i = a.predicates.begin();
  auto j = b.predicates.begin();
  while (i != a.predicates.end() || j != b.predicates.end()) {
    if (j == b.predicates.end() || (i != a.predicates.end() && i->column < j->column)) {
      out.predicates.push_back(*i++);
    } else if (i == a.predicates.end() || j->column < i->column) {
      out.predicates.push_back(*j++);
    } else {
      std::optional<ScopePredicate> both = intersect_predicates(*i++, *j++);
      if (!both) return std::nullopt;
      out.predicates.push_back(std::move(*both));
    }
  }
  return out;
}

}  // namespace

const ScopeClause* Scope::find(std::string_view table) const {
  const auto it =
      std::lower_bound(clauses.begin(), clauses.end(), table,
                       [](const ScopeClause& c, std::string_view name) { return c.table < name; });
  return it != clauses.end() && it->table == table ? &*it : nullptr;
}

Scope parse_where(std::string_view table, std::string_view clause, const std::vector<Table>& tables,
                  const ScopeLimits& limits) {
  const bool known =
      std::any_of(tables.begin(), tables.end(), [&](const Table& t) { return t.name == table; });
  if (!known) {
    throw Error(ErrorCode::unknown_table, "there is no table '" + std::string(table) + "'");
  }
  std::string trimmed(clause);
  while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == ';')) trimmed.pop_back();
  if (trimmed.find(';') != std::string::npos) {
    invalid_scope("a where clause is the clause of one table (no ';'): '" + std::string(clause) +
                  "'");
  }
  return parse_scope(std::string(table) + ": " + trimmed, tables, limits);
}

Scope parse_scope(std::string_view text, const std::vector<Table>& tables,
                  const ScopeLimits& limits) {
  if (text.size() > limits.max_text_bytes) {
    invalid_scope("scope text is " + std::to_string(text.size()) + " bytes; at most " +
                  std::to_string(limits.max_text_bytes) + " are accepted");
  }
  if (const size_t bad = utf8_invalid_offset(text); bad != std::string_view::npos) {
    invalid_scope("scope text is not valid UTF-8 (invalid byte at offset " + std::to_string(bad) +
                  ")");
  }
  if (trim(text).empty()) {
    invalid_scope("empty scope: name at least one table, like \"households: *\"");
  }
  // Clause boundaries: the ';' outside quotes. A quote left open runs to the
  // end, and its clause's parser reports it.
  std::vector<std::pair<size_t, size_t>> spans;
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\'') {
      quoted = !quoted;
    } else if (text[i] == ';' && !quoted) {
      spans.emplace_back(start, i);
      start = i + 1;
    }
  }
  spans.emplace_back(start, text.size());

  Scope scope;
  std::map<std::string, size_t, std::less<>> clause_of_table;
  for (size_t k = 0; k < spans.size(); ++k) {
    const auto [begin, end] = spans[k];
    ClauseParser parser(text, begin, end, k + 1, limits);
    if (trim(text.substr(begin, end - begin)).empty()) {
      if (k > 0 && k + 1 == spans.size()) break;  // a trailing ';'
      parser.fail("empty clause: each ';' separates two clauses \"table: ...\"");
    }
    ScopeClause clause = parser.parse(tables);
    const auto [it, added] = clause_of_table.emplace(clause.table, k + 1);
    if (!added) {
      parser.fail("table " + quote_for_message(clause.table) + " already has clause " +
                  std::to_string(it->second) + "; write one clause per table");
    }
    scope.clauses.push_back(std::move(clause));
  }
  std::sort(scope.clauses.begin(), scope.clauses.end(),
            [](const ScopeClause& a, const ScopeClause& b) { return a.table < b.table; });
  return scope;
}

std::string scope_text(const Scope& scope) {
  std::string out;
  for (const ScopeClause& clause : scope.clauses) {
    if (!out.empty()) out += "; ";
    out += clause.table;
    out += ": ";
    if (clause.everything()) out += '*';
    for (size_t i = 0; i < clause.predicates.size(); ++i) {
      const ScopePredicate& p = clause.predicates[i];
      if (i > 0) out += " AND ";
      out += p.column;
      if (p.is_null()) {
        out += " IS NULL";
      } else if (p.values.size() == 1) {
        out += " = ";
        append_literal(out, p.values[0]);
      } else {
        out += " IN (";
        for (size_t j = 0; j < p.values.size(); ++j) {
          if (j > 0) out += ", ";
          append_literal(out, p.values[j]);
        }
        out += ')';
      }
    }
  }
  return out;
}

std::string scope_fingerprint(const Scope& scope) { return sha256_hex(scope_text(scope)); }

bool scope_matches(const ScopeClause& clause, std::string_view id, const Attributes& attributes) {
  for (const ScopePredicate& p : clause.predicates) {
    if (p.column == kIdColumn) {
      if (!contains(p.values, ValueType::string, id)) return false;
      continue;
    }
    const auto it = attributes.find(p.column);
    if (it == attributes.end()) {
      if (!p.is_null()) return false;
    } else if (!contains(p.values, it->second.type(), it->second.text())) {
      return false;  // also when p is IS NULL: values is empty
    }
  }
  return true;
}

Scope intersect_scopes(const Scope& a, const Scope& b) {
  Scope out;
  auto i = a.clauses.begin();
  auto j = b.clauses.begin();
  while (i != a.clauses.end() && j != b.clauses.end()) {
    if (i->table < j->table) {
      ++i;
    } else if (j->table < i->table) {
      ++j;
    } else {
      if (std::optional<ScopeClause> both = intersect_clauses(*i, *j)) {
        out.clauses.push_back(std::move(*both));
      }
      ++i;
      ++j;
    }
  }
  return out;
}

}  // namespace outpost
