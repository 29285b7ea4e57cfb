// Regression: a device restored from a backup of its SQLite file hands out
// its old feed positions again for new edits. Replication must still push
// those edits, although the target's checkpoint is ahead of the restored feed.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>

#include "engine/backends.h"
#include "engine/open.h"
#include "reconciler/peers.h"
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

// Copies the SQLite database `from` (closed) over `to`, WAL files included.
void copy_database(const fs::path& from, const fs::path& to) {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    fs::remove(to.string() + suffix);
    if (fs::exists(from.string() + suffix))
      fs::copy_file(from.string() + suffix, to.string() + suffix);
  }
}

std::unique_ptr<Engine> open_sqlite(const fs::path& file) {
  OpenOptions options;
  options.durability = Durability::normal;
  return open_engine("sqlite:" + file.string(), options);
}

// Everything both sides must agree on after a sync.
std::string state_of(Engine& engine) {
  std::string out;
  for (const Change& c : all_changes(engine)) {
    out += c.table + "/" + c.id + " " + c.revision.str() + (c.deleted ? " deleted" : "") + " [";
    for (const std::string& l : sorted_strs(c.leaves)) out += l + " ";
    out += "]\n";
  }
  std::vector<std::string> lines;
  size_t at = 0;
  while (at < out.size()) {
    size_t nl = out.find('\n', at);
    lines.push_back(out.substr(at, nl - at));
    at = nl + 1;
  }
  std::string sorted_out;
  for (const std::string& l : sorted(lines)) sorted_out += l + "\n";
  return sorted_out;
}

TEST_CASE("replication: a backup restored at any point of a history loses no edit made after it") {
  std::string pattern = (fs::temp_directory_path() / "outpost-restore-XXXXXX").string();
  REQUIRE(mkdtemp(pattern.data()) != nullptr);
  const fs::path dir = pattern;
  const fs::path a_file = dir / "a.db";
  const fs::path b_file = dir / "b.db";
  auto a = open_sqlite(a_file);
  auto b = open_sqlite(b_file);
  create_table(*a, items_table());

  // The scripted history; a backup of both sides after every step.
  auto tip = [](Engine& e, const char* id) { return must_get(e, "items", id).revision; };
  const std::vector<std::function<void()>> steps = {
      [&] { create_all(*a, "r", 3); },
      [&] { require_ok(sync(*a, *b, test_options()).combined()); },
      [&] { create_all(*a, "s", 3); },
      [&] { update(*b, "items", "r1", tip(*b, "r1"), item("on b")); },
      [&] { require_ok(sync(*a, *b, test_options()).combined()); },
      [&] {
        remove(*a, "items", "r2", tip(*a, "r2"));
        create(*a, "items", "t0", item("t"));
      },
      [&] { require_ok(replicate(*a, *b, test_options())); },
      [&] {
        create(*b, "items", "u0", item("u"));
        update(*a, "items", "r1", tip(*a, "r1"), item("on a, concurrently"));
        require_ok(replicate(*b, *a, test_options()));
      },
      [&] { require_ok(sync(*a, *b, test_options(2)).combined()); },
  };
  auto backup = [&](size_t k) {
    a.reset();
    b.reset();
    copy_database(a_file, dir / ("a." + std::to_string(k)));
    copy_database(b_file, dir / ("b." + std::to_string(k)));
    a = open_sqlite(a_file);
    b = open_sqlite(b_file);
  };
  backup(0);
  for (size_t k = 0; k < steps.size(); ++k) {
    steps[k]();
    backup(k + 1);
  }
  a.reset();
  b.reset();
  const size_t last = steps.size();

  for (size_t k = 0; k <= last; ++k) {
    for (const char* restored : {"a", "b"}) {
      CAPTURE(k);
      CAPTURE(restored);
      // One side is put back to its backup k, the other is as the history
      // left it; work goes on on the restored side, then two syncs.
      const bool restore_a = std::string(restored) == "a";
      copy_database(dir / ("a." + std::to_string(restore_a ? k : last)), dir / "ra.db");
      copy_database(dir / ("b." + std::to_string(restore_a ? last : k)), dir / "rb.db");
      auto ra = open_sqlite(dir / "ra.db");
      auto rb = open_sqlite(dir / "rb.db");
      Engine& edited = restore_a ? *ra : *rb;
      create_table(edited, items_table());
      create_all(edited, "x", 3);
      if (edited.get("items", "r0"))
        update(edited, "items", "r0", tip(edited, "r0"), item("after"));

      for (int round = 0; round < 2; ++round) {
        SyncReport report = sync(*ra, *rb, test_options(round == 0 ? 2 : 1000));
        require_ok(report.combined());
        CHECK(report.combined().errors.empty());
      }
      for (int i = 0; i < 3; ++i) {
        CHECK(ra->get("items", "x" + std::to_string(i)).has_value());
        CHECK(rb->get("items", "x" + std::to_string(i)).has_value());
      }
      CHECK(state_of(*ra) == state_of(*rb));
      CHECK(ra->check().empty());
      CHECK(rb->check().empty());
    }
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace outpost::test
