// The bad-input cases of the issue and DESIGN.md section 13, shared by the
// router test (in process) and the server test (a real `outpost serve` over
// a socket): each request with the status and error code it must get. They
// assume table items (kItemsDef: name, size, note) holding record "a" at
// revision `a1`, and a body limit of 64 KiB.
// Thread-safety: plain values and pure functions.
#pragma once

#include <string>
#include <vector>

#include "api/revision.h"

namespace outpost::test {

struct BadInputCase {
  std::string name, method, target, body, content_type;
  int status;
  std::string code;  // empty: see check_bad_input_answer
};

std::vector<BadInputCase> bad_input_cases(const Revision& a1);

// Checks an answer to `c` (doctest CHECKs): its status and error code; the
// per-document invalid_revision of a forged bulk_docs.
void check_bad_input_answer(const BadInputCase& c, int status, const std::string& body);

}  // namespace outpost::test
