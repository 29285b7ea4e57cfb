#include "engine/postgres/pg_listener.h"

#include <libpq-fe.h>
#include <poll.h>

#include <chrono>
#include <memory>

#include "api/error.h"
#include "engine/postgres/pg_connection.h"
#include "utils/log.h"

namespace outpost {

namespace {

constexpr int kPollMs = 200;
constexpr auto kReconnectMin = std::chrono::milliseconds(100);
constexpr auto kReconnectMax = std::chrono::seconds(5);

}  // namespace

PgListener::PgListener(std::string conninfo, std::function<void()> on_change)
    : conninfo_(std::move(conninfo)), on_change_(std::move(on_change)) {
  // LISTEN before returning when the server allows, so that a commit made
  // right after the storage opened already wakes its readers.
  std::unique_ptr<PgConnection> first;
  try {
    first = std::make_unique<PgConnection>(conninfo_);
    first->exec(std::string("LISTEN ") + kPgChangesChannel);
  } catch (const Error&) {
    first.reset();  // the thread retries
  }
  thread_ = std::thread([this, conn = std::move(first)]() mutable { run(std::move(conn)); });
}

PgListener::~PgListener() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void PgListener::run(std::unique_ptr<PgConnection> conn) {
  auto delay = kReconnectMin;
  bool first = conn != nullptr;
  while (!stop_) {
    try {
      if (!conn) {
        conn = std::make_unique<PgConnection>(conninfo_);
        conn->exec(std::string("LISTEN ") + kPgChangesChannel);
      }
    } catch (const Error& e) {
      conn.reset();
      log_warn("postgres", "change listener cannot connect; retrying", {{"error", e.what()}});
      auto until = std::chrono::steady_clock::now() + delay;
      while (!stop_ && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      delay = std::min<std::chrono::milliseconds>(delay * 2, kReconnectMax);
      continue;
    }
    delay = kReconnectMin;
    // Anything may have committed while we were not listening.
    if (!first) on_change_();
    first = false;
    while (!stop_) {
      pollfd pfd{conn->socket(), POLLIN, 0};
      int n = ::poll(&pfd, 1, kPollMs);
      if (n < 0) continue;  // EINTR
      if (n == 0) continue;
      if (PQconsumeInput(conn->handle()) == 0 || !conn->ok()) {
        log_warn("postgres", "change listener lost its connection; reconnecting",
                 {{"error", pg_one_line(PQerrorMessage(conn->handle()))}});
        break;
      }
      bool changed = false;
      while (PGnotify* note = PQnotifies(conn->handle())) {
        changed = true;
        PQfreemem(note);
      }
      if (changed) on_change_();
    }
    conn.reset();
  }
}

}  // namespace outpost
