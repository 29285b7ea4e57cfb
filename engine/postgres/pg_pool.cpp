#include "engine/postgres/pg_pool.h"

#include "api/error.h"
#include "engine/storage.h"

namespace outpost {

PgPool::PgPool(std::string conninfo, size_t max_size)
    : conninfo_(std::move(conninfo)), max_size_(max_size == 0 ? 1 : max_size) {}

PgPool::~PgPool() = default;

PgPool::Lease::~Lease() {
  if (pool_ && conn_) pool_->release(std::move(conn_), discard_);
}

PgPool::Lease PgPool::acquire() {
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !idle_.empty() || open_ < max_size_; });
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(conn));
    }
    ++open_;
  }
  try {
    return Lease(*this, std::make_unique<PgConnection>(conninfo_));
  } catch (const Error& e) {
    {
      std::lock_guard lock(mu_);
      --open_;
    }
    cv_.notify_one();
    // The server was reachable when the storage opened: a failure now is
    // most likely transient (restart, failover), so let the caller retry.
    throw RetryableError(e.what());
  }
}

void PgPool::release(std::unique_ptr<PgConnection> conn, bool discard) {
  {
    std::lock_guard lock(mu_);
    // A connection still inside a transaction (one that failed before its
    // owner could end it) would fail every later statement: drop it.
    if (discard || !conn->ok() || conn->in_transaction()) {
      conn.reset();
      --open_;
    } else {
      idle_.push_back(std::move(conn));
    }
  }
  cv_.notify_one();
}

}  // namespace outpost
