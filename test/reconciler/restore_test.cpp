// Regression: a device restored from a backup of its SQLite file hands out
// its old feed positions again for new edits. Replication must still push
// those edits, although the target's checkpoint is ahead of the restored feed.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>

#include "engine/backends.h"
#include "engine/open.h"
#include "reconciler/replicator.h"

namespace outpost::test {
namespace {

namespace fs = std::filesystem;

void create_all(Engine& engine, const std::string& prefix, int n) {
  for (int i = 0; i < n; ++i) create(engine, "items", prefix + std::to_string(i), item(prefix));
}

TEST_CASE("replication: edits made after restoring a backup of the source are still pushed") {
  std::string pattern = (fs::temp_directory_path() / "outpost-restore-XXXXXX").string();
  REQUIRE(mkdtemp(pattern.data()) != nullptr);
  fs::path dir = pattern;
  fs::path device = dir / "device.db";
  fs::path backup = dir / "backup.db";
  auto hub = open_engine("sqlite:" + (dir / "hub.db").string());

  {
    auto d = open_engine("sqlite:" + device.string());
    create_table(*d, items_table());
    create_all(*d, "before-", 5);
    CHECK(replicate(*d, *hub, {}).revisions_written == 5);
  }  // closing checkpoints the WAL into the file
  fs::copy_file(device, backup);
  {
    auto d = open_engine("sqlite:" + device.string());
    create_all(*d, "lost-", 5);
    CHECK(replicate(*d, *hub, {}).revisions_written == 5);
  }
  // The device fails; its backup is put back and work goes on.
  fs::remove(device.string() + "-wal");
  fs::remove(device.string() + "-shm");
  fs::copy_file(backup, device, fs::copy_options::overwrite_existing);
  auto d = open_engine("sqlite:" + device.string());
  CHECK(all_records(*d, "items").size() == 5);
  create_all(*d, "after-", 5);  // these reuse the feed positions of "lost-"

  ReplicationReport push = replicate(*d, *hub, {});
  CHECK(push.errors.empty());
  CHECK(push.revisions_written == 5);
  // Resumed from the device's own (restored) copy of the checkpoint, which
  // comes before the reused positions, not from the beginning.
  CHECK_FALSE(push.start_seq.empty());
  CHECK(push.changes_read == 5);
  for (int i = 0; i < 5; ++i) {
    CAPTURE(i);
    CHECK(hub->get("items", "after-" + std::to_string(i)).has_value());
  }
  // And the device gets back what it lost from the hub.
  replicate(*hub, *d, {});
  CHECK(all_records(*d, "items").size() == 15);
  CHECK(all_records(*hub, "items").size() == 15);

  d.reset();
  hub.reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace outpost::test
