#include "engine/sqlite/sqlite_checkpointer.h"

#include <sqlite3.h>

#include "engine/sqlite/sqlite_db.h"
#include "utils/log.h"

namespace outpost {
namespace {

constexpr const char* kLog = "sqlite";

// A PASSIVE checkpoint; the pages of the WAL copied so far, or -1.
int checkpoint(sqlite3* db, const char* who) {
  int wal_pages = 0;
  int copied = 0;
  const int rc =
      sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, &wal_pages, &copied);
  if (rc == SQLITE_OK) return copied;
  // SQLITE_BUSY: another checkpoint is running, which does the same work.
  if (rc != SQLITE_BUSY) {
    log_warn(kLog, "WAL checkpoint failed; a later commit tries again",
             {{"by", who}, {"error", sqlite3_errstr(rc)}});
  }
  return -1;
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
  static_cast<SqliteCheckpointer*>(self)->commit_hook(db, pages);
  return SQLITE_OK;  // the commit itself succeeded either way
}

void SqliteCheckpointer::commit_hook(sqlite3* db, int pages) {
  if (pages < last_pages_) {  // the WAL restarted from its beginning
    appended_ = pages;
    copied_ = 0;
  } else {
    appended_ += pages - last_pages_;
  }
  last_pages_ = pages;
  // (A count from before a restart, stored by the thread just after it,
  // costs no more than one early, small checkpoint.)
  const int copied = copied_;
  if (pages >= kHardLimit || (copied > 0 && !running_ && pages - copied <= kFinishPages)) {
    copied_ = 0;
    checkpoint(db, "writer");
    return;
  }
  // Counting added pages, not the WAL's size, keeps a stream of small
  // commits from asking for a checkpoint each while the WAL waits to restart.
  if (appended_ < kStartPages) return;
  appended_ = 0;
  {
    std::lock_guard lock(mu_);
    wanted_ = true;
  }
  cv_.notify_one();
}

void SqliteCheckpointer::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return wanted_ || stopping_; });
    if (stopping_) return;
    wanted_ = false;
    running_ = true;
    lock.unlock();
    const int copied = checkpoint(own_->handle(), "checkpointer");
    if (copied > 0) copied_ = copied;
    running_ = false;
    lock.lock();
  }
}

}  // namespace outpost
