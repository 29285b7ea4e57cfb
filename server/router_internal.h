// What the router's source files share (router.cpp, router_console.cpp):
// the per-request context and the answer builders. Not a public header.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/error.h"
#include "api/scope.h"
#include "api/tokens.h"
#include "server/http_message.h"
#include "server/query.h"
#include "server/router.h"
#include "utils/utf8.h"

namespace outpost::server {

inline HttpResponse json_response(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

// An error answer; the code travels with it for the metrics.
inline HttpResponse error_response(const Error& error, int status = 0) {
  HttpResponse response =
      json_response(status != 0 ? status : http_status(error.code()), error_to_json(error));
  response.error = error.code();
  response.error_message = error.message();
  return response;
}

struct Router::Context {
  const HttpRequest& request;
  std::vector<std::string> segments;  // decoded path segments
  Query query;
  Token token;  // admin when auth is off
  bool may_wait = true;
  // The token's record-level scopes (DESIGN.md section 14), parsed for this
  // request only: a scope costs nothing between requests. Null / nullopt:
  // the token's table lists alone.
  std::shared_ptr<const Scope> read_scope;
  std::optional<WriteScope> write_scope;

  void require_read(const std::string& table) const {
    if (!token.can_read(table)) {
      throw Error(ErrorCode::forbidden,
                  "this token may not read table " + quote_for_message(table));
    }
  }
  void require_write(const std::string& table) const {
    if (!token.can_write(table)) {
      throw Error(ErrorCode::forbidden,
                  "this token may not write table " + quote_for_message(table));
    }
  }
  void require_admin() const {
    if (!token.admin) throw Error(ErrorCode::forbidden, "this needs an admin token");
  }
};

}  // namespace outpost::server
