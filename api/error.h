// The one error type of outpost. Every failure that crosses a public boundary
// is an outpost::Error whose code maps 1:1 to the HTTP error codes of
// DESIGN.md section 8. Thread-safety: plain value type.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace outpost {

enum class ErrorCode {
  invalid_json,
  invalid_value,
  invalid_name,
  unknown_column,
  missing_required,
  invalid_revision,
  invalid_scope,
  unauthorized,
  forbidden,
  not_found,
  method_not_allowed,
  unknown_table,
  conflict,
  schema_conflict,
  too_large,
  unsupported_media_type,
  unavailable,
  internal,
  // Added after the others so that the C ABI numbers (include/outpost.h)
  // stay stable: the disk holding the database is full. Not transient: the
  // same write fails the same way until someone frees space.
  disk_full,
};

// The wire name of a code, e.g. "invalid_value".
std::string_view error_code_name(ErrorCode code);
// Parses a wire name; unknown names map to ErrorCode::internal.
ErrorCode error_code_from_name(std::string_view name);
// The HTTP status a code is reported with (400, 401, 403, 404, 405, 409, 413, 415, 500,
// 503, 507).
int http_status(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, std::string message)
      : std::runtime_error(std::move(message)), code_(code) {}

  ErrorCode code() const { return code_; }
  std::string_view code_name() const { return error_code_name(code_); }
  std::string message() const { return what(); }

 private:
  ErrorCode code_;
};

}  // namespace outpost
