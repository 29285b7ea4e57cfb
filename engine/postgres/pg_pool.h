// A bounded pool of PostgreSQL connections shared by the threads of one
// PgStorage. acquire() hands out an idle connection, opens a new one while
// fewer than `max_size` are open, or waits for one to be returned. A
// connection that lost its server, or that is still inside a transaction,
// is dropped on return instead of being reused, so the next acquire()
// reconnects.
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/postgres/pg_connection.h"

namespace outpost {

class PgPool {
 public:
  PgPool(std::string conninfo, size_t max_size);
  ~PgPool();

  // A connection lent to one user; returned to the pool when destroyed.
  class Lease {
   public:
    Lease(PgPool& pool, std::unique_ptr<PgConnection> conn)
        : pool_(&pool), conn_(std::move(conn)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    PgConnection& operator*() const { return *conn_; }
    PgConnection* operator->() const { return conn_.get(); }
    // Drops the connection instead of returning it (its state is unknown).
    void discard() { discard_ = true; }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConnection> conn_;
    bool discard_ = false;
  };

  // Throws Error(unavailable) when a new connection cannot be opened, or
  // RetryableError when the server went away since the pool was created.
  Lease acquire();
  const std::string& conninfo() const { return conninfo_; }

 private:
  void release(std::unique_ptr<PgConnection> conn, bool discard);

  std::string conninfo_;
  size_t max_size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
  size_t open_ = 0;
};

}  // namespace outpost
