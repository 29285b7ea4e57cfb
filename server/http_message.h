// The request and response values the HTTP router works on (DESIGN.md
// section 8, STYLE.md 4): plain data with no Beast in sight, so routing is a
// function from one value to the other and is tested without sockets.
// Thread-safety: plain value types.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/error.h"
#include "api/tokens.h"

namespace outpost::server {

struct HttpRequest {
  std::string method;  // "GET", "PUT", ...
  std::string target;  // origin-form: "/v1/tables/t/records?after=x"
  std::vector<std::pair<std::string, std::string>> headers;  // names as received
  std::string body;
  std::string remote;  // peer address, for logs and auth throttling
  // Set by Router::check_header() once it has authenticated the header, so
  // that Router::handle() does not look the token up again. Never taken
  // from the client.
  std::optional<Token> token;

  // The first header named `name` (case-insensitive), or empty.
  std::string_view header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (e.g. Allow)
  std::string body;
  // The route template that answered ("/v1/tables/{t}"), for logs and metrics.
  std::string route;
  // The code of an error answer (counted in the metrics); nullopt otherwise.
  std::optional<ErrorCode> error;
  // Its message, for the log of failed answers (server/error_log.h).
  std::string error_message;
  // The session waits this long before writing (slows repeated auth failures).
  int delay_ms = 0;
};

}  // namespace outpost::server
