// Internal to the C ABI (bindings/c) and its tests: the handle behind
// outpost_db*, and a way to wrap any Engine in one, so that a test can put
// an engine that throws anything at all behind every entry point. Not
// installed, not exported (the library exports only outpost_*).
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>

#include "api/engine.h"
#include "engine/open.h"
#include "outpost.h"

struct outpost_db {
  std::unique_ptr<outpost::Engine> engine;
  // What outpost_sync opens a database URL with (the handle's own options).
  outpost::Durability durability = outpost::Durability::full;
  int busy_timeout_ms = 10000;

  // The stops of the syncs and long-polls running now (outpost_cancel).
  std::mutex running_mu;
  std::set<std::stop_source*> running;
};

namespace outpost::capi {

// A handle over `engine`, as outpost_open returns one; free it with
// outpost_close().
outpost_db* wrap_engine(std::unique_ptr<Engine> engine);

}  // namespace outpost::capi
