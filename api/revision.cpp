// Revision ids and the revision hash of DESIGN.md section 4, as fixed by
// vectors/gen.py.
#include "api/revision.h"

#include <charconv>
#include <limits>

#include "api/error.h"
#include "utils/sha256.h"
#include "utils/utf8.h"

namespace outpost {
namespace {

constexpr size_t kHashDigits = 32;
constexpr std::string_view kAccepted =
    "a revision is \"<generation>-<32 lowercase hex digits>\" with a positive generation "
    "without leading zeros, like \"1-0123456789abcdef0123456789abcdef\"";

// Empty string when `text` is a valid revision, else what is wrong with it.
std::string check_revision(std::string_view text, uint64_t& gen) {
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos) return "no '-' between generation and hash";
  const std::string_view g = text.substr(0, dash);
  const std::string_view h = text.substr(dash + 1);
  if (g.empty() || g[0] == '0')
    return "the generation must be a positive number without leading zeros";
  for (char c : g) {
    if (c < '0' || c > '9') return "the generation must be a decimal number";
  }
  int64_t v = 0;
  const auto r = std::from_chars(g.data(), g.data() + g.size(), v);
  if (r.ec != std::errc() || r.ptr != g.data() + g.size()) {
    return "the generation is larger than 9223372036854775807";
  }
  if (h.size() != kHashDigits) return "the hash must be exactly 32 hex digits";
  for (char c : h) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return "the hash must be lowercase hex digits (0-9, a-f)";
    }
  }
  gen = static_cast<uint64_t>(v);
  return {};
}

void append_netstring(std::string& out, std::string_view s) {
  char len[24];
  const auto r = std::to_chars(len, len + sizeof len, s.size());
  out.append(len, r.ptr);
  out += ':';
  out += s;
  out += ',';
}

}  // namespace

Revision Revision::parse(std::string_view text) {
  Revision rev;
  const std::string why = check_revision(text, rev.gen_);
  if (!why.empty()) {
    throw Error(ErrorCode::invalid_revision, "invalid revision " + quote_for_message(text) + ": " +
                                                 why + "; " + std::string(kAccepted));
  }
  rev.text_ = std::string(text);
  return rev;
}

Revision Revision::try_parse(std::string_view text) noexcept {
  Revision rev;
  try {
    if (check_revision(text, rev.gen_).empty()) {
      rev.text_ = std::string(text);
      return rev;
    }
  } catch (...) {  // std::bad_alloc: report as "not a revision"
  }
  return Revision();
}

std::string_view Revision::hash() const {
  if (text_.empty()) return {};
  return std::string_view(text_).substr(text_.size() - kHashDigits);
}

std::strong_ordering operator<=>(const Revision& a, const Revision& b) {
  if (auto c = a.gen_ <=> b.gen_; c != 0) return c;
  return a.hash().compare(b.hash()) <=> 0;
}

std::string canonical_bytes(std::string_view table, std::string_view id, const Revision& parent,
                            bool deleted, const Attributes& attributes) {
  size_t size = 64 + table.size() + id.size() + parent.str().size();
  for (const auto& [name, value] : attributes) size += 32 + name.size() + value.text().size();
  std::string out;
  out.reserve(size);
  out += "outpost/rev/1\n";
  append_netstring(out, table);
  append_netstring(out, id);
  append_netstring(out, parent.str());
  append_netstring(out, deleted ? "1" : "0");
  for (const auto& [name, value] : attributes) {
    append_netstring(out, name);
    append_netstring(out, value_type_name(value.type()));
    append_netstring(out, value.text());
  }
  return out;
}

Revision compute_revision(std::string_view table, std::string_view id, const Revision& parent,
                          bool deleted, const Attributes& attributes) {
  if (deleted && !attributes.empty()) {
    throw Error(ErrorCode::invalid_value, "record " + quote_for_message(id) + " in table " +
                                              quote_for_message(table) +
                                              ": a deletion (tombstone) carries no attributes");
  }
  uint64_t gen = 1;
  if (!parent.empty()) {
    if (parent.generation() >= kMaxGeneration) {
      throw Error(ErrorCode::invalid_revision,
                  "revision " + quote_for_message(parent.str()) +
                      " is at the largest generation (2^53); it cannot have a child");
    }
    gen = parent.generation() + 1;
  }
  const Sha256Digest digest = sha256(canonical_bytes(table, id, parent, deleted, attributes));
  std::string text = std::to_string(gen);
  text += '-';
  text +=
      hex_encode(std::string_view(reinterpret_cast<const char*>(digest.data()), kHashDigits / 2));
  return Revision::parse(text);
}

}  // namespace outpost
