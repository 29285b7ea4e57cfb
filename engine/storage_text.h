// Text encodings that every backend stores the same way, written once: the
// leaf list of a change row ("rev rev ...") and the table lists of a token
// ("a,b"). Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/revision.h"

namespace outpost {

std::string join_revisions(const std::vector<Revision>& revisions);  // space-separated
std::vector<Revision> split_revisions(std::string_view text);        // throws invalid_revision

std::string join_names(const std::vector<std::string>& names);  // comma-separated
std::vector<std::string> split_names(std::string_view text);

}  // namespace outpost
