#include "engine/sqlite/sqlite_checkpointer.h"

#include <sqlite3.h>

#include "engine/sqlite/sqlite_db.h"
#include "utils/log.h"

namespace outpost {
namespace {

constexpr const char* kLog = "sqlite";

void checkpoint(sqlite3* db, const char* who) {
  int wal_pages = 0;
  int copied = 0;
  const int rc = sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, &wal_pages,
                                           &copied);
  // SQLITE_BUSY: another checkpoint is running, which does the same work.
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
    log_warn(kLog, "WAL checkpoint failed; the next commit tries again",
             {{"by", who}, {"error", sqlite3_errstr(rc)}});
  }
}

}  // namespace

SqliteCheckpointer::SqliteCheckpointer(sqlite3* writer, std::unique_ptr<SqliteConnection> own)
    : writer_(writer), own_(std::move(own)) {
  thread_ = std::thread([this] { run(); });
  sqlite3_wal_hook(writer_, &SqliteCheckpointer::on_commit, this);
}

SqliteCheckpointer::~SqliteCheckpointer() {
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

int SqliteCheckpointer::on_commit(void* self, sqlite3* db, const char* /*schema*/, int pages) {
  auto* me = static_cast<SqliteCheckpointer*>(self);
  if (pages >= kHardLimit) {
    checkpoint(db, "writer");
  } else if (pages >= kStartPages) {
    {
      std::lock_guard lock(me->mu_);
      me->wanted_ = true;
    }
    me->cv_.notify_one();
  }
  return SQLITE_OK;  // the commit itself succeeded either way
}

void SqliteCheckpointer::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return wanted_ || stopping_; });
    if (stopping_) return;
    wanted_ = false;
    lock.unlock();
    checkpoint(own_->handle(), "checkpointer");
    lock.lock();
  }
}

}  // namespace outpost
