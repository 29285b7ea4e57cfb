// Nothing silently lost at the edges (DESIGN.md sections 4 and 7): a record
// edited more often than revs_limit between two syncs, a column added while
// a replication runs, every per-document error path of the replicator (each
// document is written or recorded as refused, never dropped), requests split
// to the server's body limit, and an id generated once per request.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <stop_token>
#include <thread>

#include "api/json.h"
#include "api/refusals.h"
#include "reconciler/checkpoint.h"
#include "reconciler/checkpointer.h"
#include "reconciler/peers.h"
#include "reconciler/served.h"
#include "reconciler/wrappers.h"

namespace outpost::test {

namespace {

// `edits` local updates of `id` in one write call (each on the last), the
// last one a delete when `then_delete`; returns the final revision.
Revision edit_many(Engine& engine, const std::string& id, Revision tip, int edits,
                   bool then_delete) {
  std::vector<Edit> batch;
  for (int i = 1; i <= edits; ++i) {
    Edit e;
    e.table = "items";
    e.id = id;
    e.parent = tip;
    const bool last_delete = then_delete && i == edits;
    e.kind = last_delete ? Edit::Kind::remove : Edit::Kind::put;
    if (!last_delete) e.attributes = item("v" + std::to_string(i), i);
    tip = compute_revision("items", id, tip, last_delete, e.attributes);
    batch.push_back(std::move(e));
  }
  for (const WriteResult& r : engine.write(batch)) REQUIRE(r.ok());
  return tip;
}

// The refusals recorded on `source` for the replication source → target.
std::vector<Refusal> refusals_on(Engine& source, Engine& target,
                                 const std::vector<std::string>& tables = {}) {
  const std::string id = replication_id(source.db_id(), target.db_id(), tables);
  std::optional<std::string> text = source.get_local(refusals_local_id(id));
  if (!text) return {};
  std::optional<std::vector<Refusal>> list = refusals_from_json(*text);
  REQUIRE(list.has_value());
  return *list;
}

// Creates records r0..r{n-1} on `engine`.
void create_records(Engine& engine, int n) {
  for (int i = 0; i < n; ++i) create(engine, "items", "r" + std::to_string(i), item("x", i));
}

// Adds the string column "tag" to "items" on `engine`, then creates records
// t0..t{n-1} that set it.
void add_tag_column(Engine& engine, int n) {
  Table grown = items_table();
  grown.columns.push_back(col("tag", ValueType::string));
  engine.put_table(grown);
  for (int i = 0; i < n; ++i) {
    Attributes attrs = item("tagged");
    attrs.emplace("tag", str("t" + std::to_string(i)));
    create(engine, "items", "t" + std::to_string(i), attrs);
  }
}

// Table definitions as they were before "tag" was added (a stale view).
std::vector<Table> without_tag(std::vector<Table> tables) {
  for (Table& t : tables) {
    std::erase_if(t.columns, [](const Column& c) { return c.name == "tag"; });
  }
  return tables;
}

std::optional<Error> refuse_id(const std::string& wanted, const std::string& id, ErrorCode code) {
  if (id != wanted) return std::nullopt;
  return Error(code, "injected refusal of " + id);
}

}  // namespace

TEST_CASE("replication: more than revs_limit edits between two syncs converge, deletes too") {
  // Both directions between SQLite and PostgreSQL (when configured).
  for (int from = 0; from < 2; ++from) {
    // 1000 updates then a delete: 1001 ancestors, one more than revs_limit.
    for (const auto& [edits, then_delete] : {std::pair{1001, true}, std::pair{1001, false}}) {
      CAPTURE(from);
      CAPTURE(edits);
      auto peers = make_peers(2);
      Engine& a = *peers[from];
      Engine& b = *peers[1 - from];
      create_table(a, items_table());
      const Revision first = create(a, "items", "h", item("first"));
      require_ok(sync(a, b, test_options()).combined());
      const Revision tip = edit_many(a, "h", first, edits, then_delete);

      SyncReport report = sync(a, b, test_options());
      require_ok(report.combined());
      CHECK(report.combined().errors.empty());
      for (Engine* e : {&a, &b}) {
        Record got = must_get(*e, "items", "h");
        CHECK(got.revision == tip);
        CHECK(got.deleted == then_delete);
        CHECK(leaves_of(*e, "items", "h") == std::vector<std::string>{tip.str()});
      }
      CHECK(conflicts_of(a, "items", "h").empty());
      require_converged(peers);
      // And the next sync has nothing left to do.
      SyncReport again = sync(a, b, test_options());
      CHECK(again.combined().revisions_written == 0);
    }
  }
}

TEST_CASE("replication: bulk_get sends the whole path down to the revision the target knows") {
  auto peers = make_peers(1);
  Engine& a = *peers[0];
  create_table(a, items_table());
  const Revision first = create(a, "items", "h", item("first"));
  const Revision tip = edit_many(a, "h", first, 5000, false);
  std::vector<BulkGetResult> got = a.bulk_get({BulkGetQuery{"items", "h", tip, {first}}});
  REQUIRE(got.size() == 1);
  REQUIRE(got[0].revision.has_value());
  CHECK(got[0].revision->ancestry.size() == 5000);
  CHECK(got[0].revision->ancestry.back() == first);
}

TEST_CASE("replication: a column added while a replication runs is copied, its records too") {
  auto peers = make_peers(2);
  Engine& source = *peers[0];
  Engine& target = *peers[1];
  create_table(source, items_table());
  create_records(source, 3);

  SUBCASE("one-shot: the target's definition was read before the column came") {
    // The source's list of tables is read before the column is added; the
    // records that use it then reach a target that lacks it.
    RefusingEngine stale(source);
    stale.view_tables = without_tag;
    add_tag_column(source, 5);
    ReplicationReport report = replicate(stale, target, test_options(2));
    require_ok(report);
    CHECK(report.errors.empty());
    CHECK(report.refused == 0);
    CHECK(report.revisions_written == 8);
    REQUIRE(target.get_table("items")->find_column("tag") != nullptr);
    for (int i = 0; i < 5; ++i) {
      CHECK(must_get(target, "items", "t" + std::to_string(i)).attributes.at("tag").text() ==
            "t" + std::to_string(i));
    }
  }

  SUBCASE("continuous: a column added on the source mid-run") {
    ReplicationOptions options = test_options();
    options.continuous = true;
    options.poll_timeout_ms = 50;
    std::stop_source cancel;
    options.stop = cancel.get_token();
    ReplicationReport report;
    std::thread running([&] { report = replicate(source, target, options); });
    struct Joiner {
      std::stop_source& cancel;
      std::thread& thread;
      ~Joiner() {
        cancel.request_stop();
        if (thread.joinable()) thread.join();
      }
    } joiner{cancel, running};
    // Wait until the first records arrived: the run has read the definitions.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    auto has = [&](const char* id) {
      return target.get_table("items") && target.get("items", id).has_value();
    };
    while (!has("r2") && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(has("r2"));
    add_tag_column(source, 5);
    while (!has("t4") && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    cancel.request_stop();
    running.join();
    CHECK(report.errors.empty());
    CHECK(report.refused == 0);
    for (int i = 0; i < 5; ++i) CHECK(target.get("items", "t" + std::to_string(i)).has_value());
    // A one-shot run afterwards finds nothing missing and nothing refused.
    ReplicationReport after = replicate(source, target, test_options());
    CHECK(after.ok());
    CHECK(after.revisions_written == 0);
  }
}

TEST_CASE("replication: a document refused for good is recorded, retried, and never skipped") {
  auto peers = make_peers(2);
  Engine& source = *peers[0];
  create_table(source, items_table());
  create_records(source, 10);
  RefusingEngine target(*peers[1]);

  SUBCASE("refused by the target (forbidden, invalid_revision)") {
    target.refuse_write = [](const RemoteRevision& r) -> std::optional<Error> {
      if (r.id == "r3") return Error(ErrorCode::forbidden, "not for you");
      if (r.id == "r7") return Error(ErrorCode::invalid_revision, "looks forged");
      return std::nullopt;
    };
    ReplicationReport first = replicate(source, target, test_options(4));
    require_ok(first);
    CHECK(first.revisions_written == 8);
    CHECK(first.errors.size() == 2);
    CHECK(first.refused == 2);
    CHECK_FALSE(first.ok());
    // The checkpoint moved past them, but they are recorded on the source.
    std::vector<Refusal> recorded = refusals_on(source, target);
    REQUIRE(recorded.size() == 2);
    CHECK(recorded[0].id == "r3");
    CHECK(recorded[0].code == ErrorCode::forbidden);
    CHECK(recorded[0].revision == must_get(source, "items", "r3").revision.str());
    CHECK(recorded[0].message.find("not for you") != std::string::npos);
    CHECK_FALSE(recorded[0].at.empty());
    CHECK(recorded[1].id == "r7");
    CHECK(recorded[1].code == ErrorCode::invalid_revision);

    // Still refused: tried again, still listed, still not ok.
    ReplicationReport second = replicate(source, target, test_options(4));
    CHECK(second.changes_read == 0);
    CHECK(second.refused == 2);
    CHECK(second.errors.size() == 2);

    // Accepted now: written by the next run, and the list empties.
    target.refuse_write = nullptr;
    ReplicationReport third = replicate(source, target, test_options(4));
    CHECK(third.ok());
    CHECK(third.revisions_written == 2);
    CHECK(third.refused == 0);
    CHECK(refusals_on(source, target).empty());
    CHECK(peers[1].engine->get("items", "r3").has_value());
    CHECK(peers[1].engine->get("items", "r7").has_value());
  }

  SUBCASE("sync, whose a→b runs twice when b→a wrote, lists a refusal once") {
    target.refuse_write = [](const RemoteRevision& r) {
      return refuse_id("r4", r.id, ErrorCode::forbidden);
    };
    create_table(*peers[1], items_table());
    create(*peers[1], "items", "from-b", item("b"));
    SyncReport report = sync(source, target, test_options());
    require_ok(report.combined());
    CHECK(report.b_to_a.revisions_written == 1);
    CHECK(report.a_to_b.errors.size() == 1);
    CHECK(report.a_to_b.refused == 1);
    CHECK(report.combined().refused == 1);
  }

  SUBCASE("not produced by the source (bulk_get fails for one document)") {
    RefusingEngine faulty_source(source);
    faulty_source.refuse_read = [](const BulkGetQuery& q) {
      return refuse_id("r5", q.id, ErrorCode::not_found);
    };
    ReplicationReport first = replicate(faulty_source, target, test_options());
    require_ok(first);
    CHECK(first.revisions_written == 9);
    CHECK(first.refused == 1);
    std::vector<Refusal> recorded = refusals_on(source, target);
    REQUIRE(recorded.size() == 1);
    CHECK(recorded[0].id == "r5");
    CHECK(recorded[0].message.find("reading from the source") != std::string::npos);
    faulty_source.refuse_read = nullptr;
    ReplicationReport second = replicate(faulty_source, target, test_options());
    CHECK(second.ok());
    CHECK(second.revisions_written == 1);
    CHECK(peers[1].engine->get("items", "r5").has_value());
  }

  SUBCASE("a missing column whose definition the target will not take") {
    add_tag_column(source, 1);
    RefusingEngine stale(source);
    stale.view_tables = without_tag;
    // The target took the old definition earlier; now it refuses changes.
    create_table(*peers[1], items_table());
    target.refuse_put_table = Error(ErrorCode::forbidden, "this token may not change tables");
    ReplicationReport first = replicate(stale, target, test_options());
    require_ok(first);
    CHECK(first.revisions_written == 10);
    REQUIRE(first.refused == 1);
    std::vector<Refusal> recorded = refusals_on(source, target);
    REQUIRE(recorded.size() == 1);
    CHECK(recorded[0].id == "t0");
    CHECK(recorded[0].code == ErrorCode::unknown_column);
    CHECK(recorded[0].message.find("may not change tables") != std::string::npos);
    // Allowed again: the next run copies the definition and the record.
    target.refuse_put_table.reset();
    ReplicationReport second = replicate(stale, target, test_options());
    CHECK(second.ok());
    CHECK(peers[1].engine->get("items", "t0").has_value());
  }

  SUBCASE("a list that cannot be saved stops the run before its checkpoint") {
    RefusingEngine source_refusing_lists(source);
    source_refusing_lists.on_call = [](const std::string& method) {
      if (method == "put_local") throw Error(ErrorCode::forbidden, "no local documents");
    };
    target.refuse_write = [](const RemoteRevision& r) {
      return refuse_id("r1", r.id, ErrorCode::forbidden);
    };
    ReplicationReport report = replicate(source_refusing_lists, target, test_options());
    REQUIRE(report.fatal.has_value());
    CHECK(report.fatal->code() == ErrorCode::forbidden);
    // No checkpoint was saved: the next run starts from the beginning.
    CHECK_FALSE(Checkpointer(source, target, replication_id(source.db_id(), target.db_id(), {}))
                    .load_target()
                    .has_value());
  }
}

TEST_CASE("replication: more refusals than a list holds stop the run before its checkpoint") {
  auto peers = make_peers(2, /*mixed=*/false);
  Engine& source = *peers[0];
  create_table(source, items_table());
  std::vector<Edit> edits;
  for (size_t i = 0; i <= kMaxRefusals; ++i) {
    Edit e;
    e.table = "items";
    e.id = "r" + std::to_string(i);
    e.attributes = item("x");
    edits.push_back(std::move(e));
  }
  for (const WriteResult& r : source.write(edits)) REQUIRE(r.ok());
  RefusingEngine target(*peers[1]);
  target.refuse_write = [](const RemoteRevision&) {
    return std::optional<Error>(Error(ErrorCode::forbidden, "no"));
  };
  ReplicationReport report = replicate(source, target, test_options(kMaxRefusals + 1));
  REQUIRE(report.fatal.has_value());
  CHECK(report.fatal->code() == ErrorCode::too_large);
  CHECK(report.last_seq.empty());  // the checkpoint did not move
}

TEST_CASE("replication over HTTP: requests split to the server's body limit, too large refused") {
  constexpr size_t kLimit = 64 * 1024;
  auto peers = make_peers(2);
  Engine& device = *peers[0];
  ServedEngine hub(*peers[1], kLimit);
  CHECK(hub.client().info().max_body_bytes == kLimit);
  Table blobs{"blobs", {col("data", ValueType::bytes)}};
  create_table(device, blobs);
  // 40 documents of ~20 KB each: no request may take more than three.
  for (int i = 0; i < 40; ++i) {
    put_record(device, "blobs", "b" + std::to_string(i), {},
               Attributes{{"data", Value::from_bytes(std::string(15000, static_cast<char>(i)))}});
  }
  // One that no request can hold.
  put_record(device, "blobs", "huge", {},
             Attributes{{"data", Value::from_bytes(std::string(70000, 'h'))}});

  ReplicationReport push = replicate(device, *hub, test_options());
  require_ok(push);
  CHECK(push.revisions_written == 40);
  REQUIRE(push.errors.size() == 1);
  CHECK(push.errors[0].id == "huge");
  CHECK(push.errors[0].code == ErrorCode::too_large);
  CHECK(push.refused == 1);
  std::vector<Refusal> recorded = refusals_on(device, *hub);
  REQUIRE(recorded.size() == 1);
  CHECK(recorded[0].code == ErrorCode::too_large);
  CHECK(all_records(*peers[1], "blobs").size() == 40);

  // The refusal stays until the document fits: made smaller, it goes.
  const Revision huge = must_get(device, "blobs", "huge").revision;
  put_record(device, "blobs", "huge", huge,
             Attributes{{"data", Value::from_bytes(std::string(1000, 's'))}});
  ReplicationReport again = replicate(device, *hub, test_options());
  CHECK(again.ok());
  CHECK(again.refused == 0);
  CHECK(refusals_on(device, *hub).empty());
  CHECK(must_get(*peers[1], "blobs", "huge").revision ==
        must_get(device, "blobs", "huge").revision);
}

TEST_CASE("replication over HTTP: a deletion reaches a hub too small for the body it deletes") {
  // A tombstone carries its parent's body when the sender holds it; a body
  // the hub never took (too large) must not keep the deletion away, or the
  // peers would differ for good.
  constexpr size_t kLimit = 64 * 1024;
  auto peers = make_peers(2);
  Engine& device = *peers[0];
  Engine& hub_db = *peers[1];
  ServedEngine hub(hub_db, kLimit);
  const Table blobs{"blobs", {col("data", ValueType::bytes)}};
  create_table(device, blobs);
  create_table(hub_db, blobs);
  const Attributes big{{"data", Value::from_bytes(std::string(70000, 'b'))}};
  const Attributes small{{"data", Value::from_bytes(std::string(100, 's'))}};
  // "gone": too large, then deleted. "c": a large branch on the device, a
  // small one on the hub, resolved on the device in favour of the small one.
  const Revision gone = create(device, "blobs", "gone", big);
  create(device, "blobs", "c", big);
  const Revision hub_side = create(hub_db, "blobs", "c", small);
  ReplicationReport first = replicate(device, *hub, test_options());
  require_ok(first);
  CHECK(first.refused == 2);
  require_ok(replicate(*hub, device, test_options()));
  REQUIRE(conflicts_of(device, "blobs", "c").size() == 1);

  remove(device, "blobs", "gone", gone);
  Edit resolve;
  resolve.kind = Edit::Kind::resolve;
  resolve.table = "blobs";
  resolve.id = "c";
  resolve.parent = hub_side;
  resolve.attributes = small;
  REQUIRE(write_one(device, resolve).ok());

  ReplicationReport push = replicate(device, *hub, test_options());
  require_ok(push);
  CHECK(push.errors.empty());
  CHECK(push.refused == 0);
  CHECK(refusals_on(device, *hub).empty());
  for (const char* id : {"gone", "c"}) {
    CAPTURE(id);
    CHECK(leaves_of(hub_db, "blobs", id) == leaves_of(device, "blobs", id));
    CHECK(must_get(hub_db, "blobs", id).revision == must_get(device, "blobs", id).revision);
  }
  CHECK(must_get(hub_db, "blobs", "gone").deleted);
  CHECK(conflicts_of(hub_db, "blobs", "c").empty());
  // The hub never held the deleted bodies: the tombstones' parents are stubs.
  CHECK(snapshot(hub_db) == snapshot(device));
}

TEST_CASE("replication over HTTP: answers larger than the client takes are read in halves") {
  auto peers = make_peers(2);
  Engine& hub_db = *peers[0];
  ServedEngine hub(hub_db);
  create_table(hub_db, Table{"blobs", {col("data", ValueType::bytes)}});
  for (int i = 0; i < 12; ++i) {
    put_record(hub_db, "blobs", "b" + std::to_string(i), {},
               Attributes{{"data", Value::from_bytes(std::string(30000, static_cast<char>(i)))}});
  }
  put_record(hub_db, "blobs", "huge", {},
             Attributes{{"data", Value::from_bytes(std::string(200000, 'h'))}});
  // A device that takes answers of at most 100 KB: three blobs at a time.
  HttpClientOptions options;
  options.max_response_body = 100000;
  std::unique_ptr<HttpEngine> client = open_http_engine(hub.url(), options);
  ReplicationReport pull = replicate(*client, *peers[1], test_options());
  require_ok(pull);
  CHECK(pull.revisions_written == 12);
  REQUIRE(pull.errors.size() == 1);
  CHECK(pull.errors[0].id == "huge");
  CHECK(pull.errors[0].code == ErrorCode::too_large);
  CHECK(pull.refused == 1);
  // Recorded on the source, the hub, where the device's next run finds it.
  std::vector<Refusal> recorded = refusals_on(*client, *peers[1]);
  REQUIRE(recorded.size() == 1);
  CHECK(recorded[0].id == "huge");
  CHECK(all_records(*peers[1], "blobs").size() == 12);
}

TEST_CASE("replication over HTTP: a document larger than the hub's body limit is still read") {
  // Written on the hub directly (not through its HTTP API, which would
  // refuse it): a pull asks for it alone, and a single revision's answer may
  // take all the client accepts, not one body limit.
  auto peers = make_peers(2);
  Engine& hub_db = *peers[0];
  create_table(hub_db, Table{"blobs", {col("data", ValueType::bytes)}});
  put_record(hub_db, "blobs", "big", {},
             Attributes{{"data", Value::from_bytes(std::string(6 << 20, 'b'))}});
  ServedEngine hub(hub_db, 100000);
  HttpClientOptions options;
  options.max_request_body = 100000;
  std::unique_ptr<HttpEngine> client = open_http_engine(hub.url(), options);
  ReplicationReport pull = replicate(*client, *peers[1], test_options());
  require_ok(pull);
  CHECK(pull.revisions_written == 1);
  CHECK(pull.errors.empty());
  CHECK(all_records(*peers[1], "blobs").size() == 1);
}

TEST_CASE("http client: a 413 answered before the body was read reaches the caller as too_large") {
  auto peers = make_peers(1, false);
  // A client that never asked the server's limits (its own idea is 8 MiB)
  // sends a local document, which is never split, of 32 MiB to a server
  // that takes 1 MiB.
  constexpr size_t kLimit = 1 << 20;
  ServedEngine hub(*peers[0], kLimit);
  create_table(*peers[0], Table{"blobs", {col("data", ValueType::bytes)}});
  HttpClientOptions options;
  options.max_request_body = 8 << 20;
  options.max_attempts = 1;
  std::unique_ptr<HttpEngine> naive = open_http_engine(hub.url(), options);
  // A local document is not split: 32 MiB in one PUT, far more than the
  // socket buffers hold, so the server closes while the body is being sent.
  std::string json = "\"" + std::string(32 << 20, 'x') + "\"";
  std::optional<ErrorCode> code = error_of([&] { naive->put_local("big", json); });
  CHECK(code == ErrorCode::too_large);
}

}  // namespace outpost::test
