// Revision ids "<generation>-<hash>" and the revision hash of DESIGN.md
// section 4. Thread-safety: plain value type and pure functions.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/value.h"

namespace outpost {

// The largest generation a revision may have (DESIGN.md section 4): 2^53,
// which every JSON reader holds exactly. A replicated revision above it is
// refused (invalid_revision), and a local edit cannot go past it.
inline constexpr uint64_t kMaxGeneration = uint64_t{1} << 53;

class Revision {
 public:
  Revision() = default;  // empty: "no revision"
  // Parses "<gen>-<32 lowercase hex>"; gen is a positive decimal without
  // leading zeros. Throws Error(invalid_revision).
  static Revision parse(std::string_view text);
  // Like parse() but returns an empty Revision instead of throwing.
  static Revision try_parse(std::string_view text) noexcept;

  bool empty() const { return text_.empty(); }
  uint64_t generation() const { return gen_; }
  std::string_view hash() const;  // the 32 hex digits
  const std::string& str() const { return text_; }

  friend bool operator==(const Revision& a, const Revision& b) { return a.text_ == b.text_; }
  // Orders by generation, then hash: the order of winner tie-breaks.
  friend std::strong_ordering operator<=>(const Revision& a, const Revision& b);

 private:
  uint64_t gen_ = 0;
  std::string text_;
};

// The canonical bytes of DESIGN.md section 4 for one edit.
std::string canonical_bytes(std::string_view table, std::string_view id, const Revision& parent,
                            bool deleted, const Attributes& attributes);

// The revision an edit produces: generation parent+1 (or 1), hash over
// canonical_bytes(). A deleted edit must have no attributes.
Revision compute_revision(std::string_view table, std::string_view id, const Revision& parent,
                          bool deleted, const Attributes& attributes);

}  // namespace outpost
