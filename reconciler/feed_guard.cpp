#include "reconciler/feed_guard.h"

#include "api/error.h"
#include "utils/sha256.h"

namespace outpost {

namespace {

// 64 bits of SHA-256 over the entry's parts: a collision between two
// different entries would need 2^32 of them.
uint64_t fingerprint_of(const Change& c) {
  std::string text = c.table;
  text += '\0';
  text += c.id;
  text += '\0';
  text += c.revision.str();
  text += '\0';
  text += c.deleted ? 'd' : 'l';
  for (const Revision& leaf : c.leaves) {
    text += '\0';
    text += leaf.str();
  }
  const Sha256Digest digest = sha256(text);
  uint64_t f = 0;
  for (size_t i = 0; i < 8; ++i) f = (f << 8) | digest[i];
  return f;
}

}  // namespace

void FeedGuard::check(const std::string& since, const ChangesPage& page, const std::string& what) {
  if (page.results.empty()) return;
  const std::string next = page.last_seq.empty() ? page.results.back().seq : page.last_seq;
  if (next == since) {
    throw Error(ErrorCode::internal,
                what + " listed " + std::to_string(page.results.size()) +
                    " changes after cursor '" + since.substr(0, 100) +
                    "' and ended at the same cursor: it would be read forever (a faulty or "
                    "hostile source)");
  }
  bool all_seen = true;
  for (const Change& c : page.results) {
    // A record out of the scope is listed as removed (no revision, no
    // leaves) at each of its later changes: the same entry again is no
    // repeat.
    if (c.removed) {
      all_seen = false;
      continue;
    }
    const uint64_t f = fingerprint_of(c);
    if (seen_.count(f) == 0) {
      all_seen = false;
      remember(f);
    }
  }
  repeating_pages_ = all_seen ? repeating_pages_ + 1 : 0;
  if (repeating_pages_ >= kRepeatingPagesAllowed) {
    throw Error(ErrorCode::internal,
                what + " repeated changes it had already listed in this run, " +
                    std::to_string(repeating_pages_) + " pages in a row (last cursor '" +
                    next.substr(0, 100) +
                    "'): a feed lists each record once, so it would be read forever (a faulty "
                    "or hostile source)");
  }
}

void FeedGuard::remember(uint64_t fingerprint) {
  seen_.insert(fingerprint);
  order_.push_back(fingerprint);
  if (order_.size() > kRemembered) {
    seen_.erase(order_.front());
    order_.pop_front();
  }
}

}  // namespace outpost
