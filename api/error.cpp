// Wire names and HTTP statuses of error codes (DESIGN.md section 8).
#include "api/error.h"

#include <array>
#include <utility>

namespace outpost {
namespace {

struct CodeInfo {
  ErrorCode code;
  std::string_view name;
  int status;
};

constexpr std::array<CodeInfo, 19> kCodes{{
    {ErrorCode::invalid_json, "invalid_json", 400},
    {ErrorCode::invalid_value, "invalid_value", 400},
    {ErrorCode::invalid_name, "invalid_name", 400},
    {ErrorCode::unknown_column, "unknown_column", 400},
    {ErrorCode::missing_required, "missing_required", 400},
    {ErrorCode::invalid_revision, "invalid_revision", 400},
    {ErrorCode::invalid_scope, "invalid_scope", 400},
    {ErrorCode::unauthorized, "unauthorized", 401},
    {ErrorCode::forbidden, "forbidden", 403},
    {ErrorCode::not_found, "not_found", 404},
    {ErrorCode::method_not_allowed, "method_not_allowed", 405},
    {ErrorCode::unknown_table, "unknown_table", 404},
    {ErrorCode::conflict, "conflict", 409},
    {ErrorCode::schema_conflict, "schema_conflict", 409},
    {ErrorCode::too_large, "too_large", 413},
    {ErrorCode::unsupported_media_type, "unsupported_media_type", 415},
    {ErrorCode::unavailable, "unavailable", 503},
    {ErrorCode::internal, "internal", 500},
    {ErrorCode::disk_full, "disk_full", 507},
}};

// One entry per code: disk_full is the last enumerator.
static_assert(kCodes.size() == static_cast<size_t>(ErrorCode::disk_full) + 1);

constexpr CodeInfo kInternal{ErrorCode::internal, "internal", 500};

const CodeInfo& info(ErrorCode code) {
  for (const CodeInfo& i : kCodes) {
    if (i.code == code) return i;
  }
  return kInternal;
}

}  // namespace

std::string_view error_code_name(ErrorCode code) { return info(code).name; }

ErrorCode error_code_from_name(std::string_view name) {
  for (const CodeInfo& i : kCodes) {
    if (i.name == name) return i.code;
  }
  return ErrorCode::internal;
}

int http_status(ErrorCode code) { return info(code).status; }

}  // namespace outpost
