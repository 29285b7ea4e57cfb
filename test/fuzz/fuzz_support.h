// Helpers shared by the libFuzzer targets of test/fuzz (docs/fuzzing.md):
// splitting one input into a selector byte and text parts, and failing a
// property so that libFuzzer keeps the input as a crash.
// Thread-safety: none needed (libFuzzer runs one input at a time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace outpost::fuzz {

// Reads an input front to back: single bytes, then parts separated by a
// byte value chosen by the target (so that a seed file stays readable).
class Input {
 public:
  Input(const uint8_t* data, size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}

  bool empty() const { return rest_.empty(); }
  // The next byte, 0 once the input is used up.
  uint8_t byte() {
    if (rest_.empty()) return 0;
    uint8_t b = static_cast<uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return b;
  }
  // Text up to the next `separator` (dropped) or the end.
  std::string_view part(char separator = '\n') {
    size_t end = rest_.find(separator);
    std::string_view out = rest_.substr(0, end);
    rest_.remove_prefix(end == std::string_view::npos ? rest_.size() : end + 1);
    return out;
  }
  // Everything not read yet.
  std::string_view rest() {
    std::string_view out = rest_;
    rest_ = {};
    return out;
  }

 private:
  std::string_view rest_;
};

// Fails the run: prints what broke and the two texts compared, then aborts
// (libFuzzer saves the input as crash-*).
[[noreturn]] inline void fail(std::string_view what, std::string_view a = {},
                              std::string_view b = {}) {
  std::fprintf(stderr, "PROPERTY FAILED: %.*s\n", static_cast<int>(what.size()), what.data());
  if (!a.empty() || !b.empty()) {
    std::fprintf(stderr, "  first:  %.*s\n  second: %.*s\n", static_cast<int>(a.size()), a.data(),
                 static_cast<int>(b.size()), b.data());
  }
  std::abort();
}

inline void check_equal(std::string_view what, std::string_view a, std::string_view b) {
  if (a != b) fail(what, a, b);
}

}  // namespace outpost::fuzz
