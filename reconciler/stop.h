// Stopping a replication run: waits that end early when a stop is requested
// (std::stop_token), with no polling.
// Thread-safety: free functions; any number of threads may wait on one token.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>

namespace outpost {

// Thrown inside a run when a stop request ends a wait or a loop; the run
// then returns with ReplicationReport::cancelled set.
struct RunCancelled {};

// Sleeps for `delay` or until `stop` is requested, whichever comes first.
// True when stopped.
inline bool sleep_unless_stopped(const std::stop_token& stop, std::chrono::milliseconds delay) {
  std::mutex mu;
  std::condition_variable_any woken;
  std::unique_lock lock(mu);
  woken.wait_for(lock, stop, delay, [] { return false; });
  return stop.stop_requested();
}

}  // namespace outpost
