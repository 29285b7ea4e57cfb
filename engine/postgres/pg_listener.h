// The cross-process wake-up of the change feed (DESIGN.md section 6): a
// thread with its own connection that LISTENs on the channel writers NOTIFY
// at commit, and calls a callback whenever a notification arrives. After a
// lost connection it reconnects, LISTENs again and calls the callback once
// (a notification may have been missed; readers re-read from their cursor).
// It is only a wake-up signal: correctness never depends on it.
// Thread-safety: construct and destroy from one thread; the callback runs on
// the listener's thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace outpost {

class PgConnection;

// The channel every write transaction notifies at commit.
inline constexpr const char* kPgChangesChannel = "outpost_changes";

class PgListener {
 public:
  PgListener(std::string conninfo, std::function<void()> on_change);
  ~PgListener();  // stops and joins the thread (within about 200 ms)
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

 private:
  void run(std::unique_ptr<PgConnection> conn);

  std::string conninfo_;
  std::function<void()> on_change_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace outpost
