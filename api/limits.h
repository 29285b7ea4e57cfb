// The request limits of DESIGN.md section 9 and their defaults, in one
// place. The server (ServerOptions, RouterOptions), the HTTP client
// (HttpClientOptions) and the codec (JsonLimits) take their defaults from
// kDefaultLimits; each stays configurable where it is used.
// Thread-safety: constants.
#pragma once

#include <cstddef>

namespace outpost {

struct Limits {
  size_t max_body_bytes = size_t{16} << 20;    // one request body
  size_t max_header_bytes = size_t{16} << 10;  // one request header
  size_t max_json_depth = 64;                  // arrays and objects nested in one another
  size_t max_batch_docs = 10000;               // documents per revs_diff, bulk_get, bulk_docs
  size_t max_page = 10000;                     // one page of the feed, records, conflicts
  int max_longpoll_ms = 5 * 60 * 1000;         // one long-poll
  int read_timeout_ms = 30'000;                // one whole request
  int idle_timeout_ms = 60'000;                // an idle kept-alive connection
  size_t max_connections = 1024;               // open at once
  size_t max_connections_per_address = 64;     // from one remote address
};

inline constexpr Limits kDefaultLimits{};

}  // namespace outpost
