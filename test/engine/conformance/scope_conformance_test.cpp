// Engine conformance suite: scopes (DESIGN.md section 14). The scoped feed
// (a first pass over the records in scope, then the ordinary feed with
// `removed` entries), reads under a scope answering out-of-scope records as
// absent ones, purge and its log, the database's own scope, record_ids.
#include <doctest/doctest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "api/scope.h"
#include "engine/backends.h"

namespace outpost::test {
namespace {

Table households_table() {
  return Table{"households",
               {col("district", ValueType::string), col("name", ValueType::string),
                col("status", ValueType::string), col("size", ValueType::int_)}};
}

Attributes hh(std::string_view district, std::string_view name = "n") {
  return Attributes{{"district", str(district)}, {"name", str(name)}};
}

std::shared_ptr<const Scope> scope_of(Engine& engine, std::string_view text) {
  return std::make_shared<const Scope>(parse_scope(text, engine.list_tables()));
}

ChangesPage scoped_page(Engine& engine, const std::shared_ptr<const Scope>& scope,
                        const std::string& since, size_t limit = 10000) {
  ChangesRequest req;
  req.since = since;
  req.limit = limit;
  req.scope = scope;
  return engine.changes(req);
}

struct ScopedRead {
  std::vector<Change> changes;
  std::string last_seq;
  std::vector<std::string> cursors;  // every last_seq handed out, in order
};

// Reads the scoped feed from `since` until a page comes back empty.
ScopedRead scoped_all(Engine& engine, const std::shared_ptr<const Scope>& scope,
                      std::string since = "", size_t limit = 10000) {
  ScopedRead out;
  for (int guard = 0; guard < 100000; ++guard) {
    ChangesPage page = scoped_page(engine, scope, since, limit);
    out.cursors.push_back(page.last_seq);
    if (page.results.empty()) {
      out.last_seq = page.last_seq.empty() ? since : page.last_seq;
      return out;
    }
    for (auto& c : page.results) out.changes.push_back(std::move(c));
    REQUIRE(page.last_seq != since);
    since = page.last_seq;
  }
  FAIL("the scoped feed never ends");
  return out;
}

std::set<std::string> ids_in(const std::vector<Change>& changes, bool removed) {
  std::set<std::string> out;
  for (const Change& c : changes) {
    if (c.removed == removed) out.insert(c.table + "/" + c.id);
  }
  return out;
}

const Change* find_change(const std::vector<Change>& changes, const std::string& id) {
  const Change* found = nullptr;
  for (const Change& c : changes) {
    if (c.id == id) found = &c;  // the latest entry
  }
  return found;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  size_t pos = 0;
  while ((pos = text.find(from, pos)) != std::string::npos) {
    text.replace(pos, from.size(), to);
    pos += to.size();
  }
  return text;
}

// What a call answered, with the record's id and revisions replaced by
// placeholders, so that the answers about two records can be compared.
std::string answer_shape(const std::function<std::string()>& fn, const std::string& id,
                         const std::vector<std::string>& revs) {
  std::string out;
  try {
    out = "ok: " + fn();
  } catch (const Error& e) {
    out = "error " + std::string(error_code_name(e.code())) + ": " + e.what();
  }
  for (size_t i = 0; i < revs.size(); ++i)
    out = replace_all(out, revs[i], "<rev" + std::to_string(i) + ">");
  return replace_all(out, id, "<id>");
}

std::vector<std::string> all_ids(Engine& engine, const std::string& table,
                                 const RecordSelection& selection, size_t page = 7) {
  std::vector<std::string> out;
  std::string after;
  for (int guard = 0; guard < 100000; ++guard) {
    IdPage p = engine.record_ids(table, selection, after, page);
    for (auto& id : p.ids) out.push_back(id);
    if (p.next.empty()) return out;
    after = p.next;
  }
  FAIL("record_ids never ends");
  return out;
}

TEST_CASE("conformance: scope: a scoped feed from the beginning lists the records in scope") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, households_table());
    create_table(engine, items_table());
    Revision a = create(engine, "households", "a", hh("d1"));
    create(engine, "households", "b", hh("d2"));
    Revision c = create(engine, "households", "c", hh("d1"));
    Revision c2 = remove(engine, "households", "c", c);  // tombstone of an in-scope record
    Revision e = create(engine, "households", "e", hh("d2"));
    Revision e2 = update(engine, "households", "e", e, hh("d1", "moved in"));
    Revision f = create(engine, "households", "f", hh("d2"));
    remove(engine, "households", "f", f);  // tombstone of an out-of-scope record
    create(engine, "items", "i", item("x"));
    Revision g = create(engine, "households", "g", hh("d1"));

    auto scope = scope_of(engine, "households: district = 'd1'");
    // Small pages: first-pass cursors are "scan/...", the end a normal cursor.
    for (size_t limit : {size_t{1}, size_t{2}, size_t{10000}}) {
      CAPTURE(limit);
      ScopedRead read = scoped_all(engine, scope, "", limit);
      CHECK(ids_in(read.changes, false) ==
            std::set<std::string>{"households/a", "households/c", "households/e", "households/g"});
      CHECK(read.changes.size() == 4);
      CHECK(ids_in(read.changes, true).empty());  // no removed entries from the beginning
      const Change* ca = find_change(read.changes, "a");
      REQUIRE(ca != nullptr);
      CHECK(ca->revision == a);
      CHECK_FALSE(ca->deleted);
      const Change* cc = find_change(read.changes, "c");
      REQUIRE(cc != nullptr);
      CHECK(cc->revision == c2);
      CHECK(cc->deleted);
      const Change* ce = find_change(read.changes, "e");
      const Change* cg = find_change(read.changes, "g");
      REQUIRE(ce != nullptr);
      REQUIRE(cg != nullptr);
      CHECK(ce->revision == e2);
      CHECK(cg->revision == g);
      if (limit < 4) {
        CHECK(read.changes.front().seq.starts_with("scan/"));
        CHECK(read.cursors.front().starts_with("scan/"));
      }
      CHECK_FALSE(read.last_seq.starts_with("scan/"));
      // The final cursor is an ordinary one: nothing has changed since.
      CHECK(scoped_page(engine, scope, read.last_seq).results.empty());
      // ... and it follows new changes.
      if (limit == 10000) {
        Revision h = create(engine, "households", "h", hh("d1"));
        create(engine, "households", "k", hh("d3"));
        ChangesPage next = scoped_page(engine, scope, read.last_seq);
        REQUIRE(next.results.size() == 1);
        CHECK(next.results[0].id == "h");
        CHECK(next.results[0].revision == h);
        CHECK_FALSE(next.results[0].removed);
        CHECK_FALSE(next.last_seq.starts_with("scan/"));
      }
    }
    // A scope with two tables and `*`.
    auto both = scope_of(engine, "households: district IN ('d2'); items: *");
    ScopedRead read = scoped_all(engine, both, "", 3);
    CHECK(ids_in(read.changes, false) ==
          std::set<std::string>{"households/b", "households/f", "items/i"});
  });
}

TEST_CASE("conformance: scope: incremental scoped reads report records that moved out") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, households_table());
    Revision a = create(engine, "households", "a", hh("d1"));
    Revision b = create(engine, "households", "b", hh("d1"));
    Revision n = create(engine, "households", "n", hh("d2"));
    auto scope = scope_of(engine, "households: district = 'd1'");
    ScopedRead first = scoped_all(engine, scope);
    CHECK(ids_in(first.changes, false) == std::set<std::string>{"households/a", "households/b"});

    Revision a2 = update(engine, "households", "a", a, hh("d2", "moved out"));
    Revision n2 = update(engine, "households", "n", n, hh("d3", "never in"));
    Revision b2 = update(engine, "households", "b", b, hh("d1", "edited"));
    create(engine, "households", "z", hh("d9"));

    ScopedRead next = scoped_all(engine, scope, first.last_seq);
    CHECK(ids_in(next.changes, true) == std::set<std::string>{"households/a"});
    CHECK(ids_in(next.changes, false) == std::set<std::string>{"households/b"});
    const Change* ra = find_change(next.changes, "a");
    REQUIRE(ra != nullptr);
    CHECK(ra->removed);
    CHECK(ra->revision.empty());
    CHECK(ra->leaves.empty());
    REQUIRE(find_change(next.changes, "b") != nullptr);
    CHECK(find_change(next.changes, "b")->revision == b2);
    CHECK(find_change(next.changes, "n") == nullptr);  // never in scope: nothing
    CHECK(find_change(next.changes, "z") == nullptr);

    // Moving back in: an ordinary entry again.
    Revision a3 = update(engine, "households", "a", a2, hh("d1", "back"));
    ScopedRead again = scoped_all(engine, scope, next.last_seq);
    REQUIRE(again.changes.size() == 1);
    CHECK(again.changes[0].id == "a");
    CHECK_FALSE(again.changes[0].removed);
    CHECK(again.changes[0].revision == a3);
    // From the beginning, a moved-out record is simply absent.
    update(engine, "households", "b", b2, hh("d4"));
    ScopedRead fresh = scoped_all(engine, scope);
    CHECK(ids_in(fresh.changes, false) == std::set<std::string>{"households/a"});
    CHECK(ids_in(fresh.changes, true).empty());
    (void)n2;
  });
}

TEST_CASE("conformance: scope: a deletion reaches a scoped reader") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, households_table());
    Revision a = create(engine, "households", "a", hh("d1"));
    Revision o = create(engine, "households", "o", hh("d2"));
    auto scope = scope_of(engine, "households: district = 'd1'");
    ScopedRead first = scoped_all(engine, scope);
    Revision a2 = remove(engine, "households", "a", a);
    remove(engine, "households", "o", o);
    ScopedRead next = scoped_all(engine, scope, first.last_seq);
    REQUIRE(next.changes.size() == 1);
    CHECK(next.changes[0].id == "a");
    CHECK(next.changes[0].deleted);
    CHECK_FALSE(next.changes[0].removed);
    CHECK(next.changes[0].revision == a2);
    // get of a deleted record in scope answers like the unscoped get.
    GetOptions opts;
    opts.scope = scope;
    auto scoped = engine.get("households", "a", opts);
    auto plain = engine.get("households", "a");
    CHECK(scoped.has_value() == plain.has_value());
    if (scoped && plain) {
      CHECK(scoped->revision == plain->revision);
      CHECK(scoped->deleted == plain->deleted);
    }
    // revs_diff under the scope knows the tombstone.
    auto diff = engine.revs_diff({{"households", "a", {a2}}}, scope.get());
    REQUIRE(diff.size() == 1);
    CHECK(diff[0].missing.empty());
    CHECK(strs(diff[0].leaves) == std::vector<std::string>{a2.str()});
  });
}

TEST_CASE("conformance: scope: reads answer an out-of-scope record exactly as an absent one") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, households_table());
    Revision in1 = create(engine, "households", "in", hh("d1"));
    Revision out1 = create(engine, "households", "out", hh("d2"));
    Revision out2 = update(engine, "households", "out", out1, hh("d2", "mine"));
    // A conflict on the out-of-scope record and on the in-scope one.
    auto theirs = offline_chain("households", "out", out1, 1, "theirs");
    REQUIRE(write_one_replicated(engine, remote_of("households", "out", theirs, 0, {out1})).ok());
    // "in" wins with a gen-3 body in d1 and keeps a conflict.
    Revision in2 = update(engine, "households", "in", in1, hh("d1", "in2"));
    update(engine, "households", "in", in2, hh("d1", "in3"));
    auto theirs_in = offline_chain("households", "in", in1, 1, "theirs");
    REQUIRE(write_one_replicated(engine, remote_of("households", "in", theirs_in, 0, {in1})).ok());
    // "nodist" is in d1 at first, but its winner has no district at all.
    Revision nd1 = create(engine, "households", "nodist", hh("d1"));
    auto theirs_nd = offline_chain("households", "nodist", nd1, 1, "theirs");
    REQUIRE(
        write_one_replicated(engine, remote_of("households", "nodist", theirs_nd, 0, {nd1})).ok());
    // A deleted out-of-scope record.
    Revision del1 = create(engine, "households", "del", hh("d2"));
    Revision del2 = remove(engine, "households", "del", del1);
    // A truly absent id, asked about with the same revisions.
    const std::string absent = "zz-absent";

    auto scope = scope_of(engine, "households: district = 'd1'");
    auto compare = [&](const std::string& id, const std::vector<Revision>& revs) {
      CAPTURE(id);
      std::vector<std::string> rs = strs(revs);
      auto shape = [&](const std::string& which,
                       const std::function<std::string(const std::string&)>& fn) {
        return answer_shape([&] { return fn(which); }, which, rs);
      };
      // get: winner, a given revision, with conflicts and ancestry.
      auto get_fn = [&](const GetOptions& base) {
        return [&, base](const std::string& which) {
          GetOptions o = base;
          o.scope = scope;
          auto r = engine.get("households", which, o);
          return r ? "record " + r->revision.str() : std::string("nullopt");
        };
      };
      GetOptions winner;
      GetOptions full;
      full.conflicts = true;
      full.ancestry = true;
      CHECK(shape(id, get_fn(winner)) == shape(absent, get_fn(winner)));
      CHECK(shape(id, get_fn(full)) == shape(absent, get_fn(full)));
      for (const Revision& r : revs) {
        GetOptions at;
        at.revision = r;
        CHECK(shape(id, get_fn(at)) == shape(absent, get_fn(at)));
      }
      // revs_diff
      auto diff_fn = [&](const std::string& which) {
        auto d = engine.revs_diff({{"households", which, revs}}, scope.get());
        std::string s = "missing";
        for (auto& m : d.at(0).missing) s += " " + m.str();
        s += " leaves";
        for (auto& l : d.at(0).leaves) s += " " + l.str();
        return s;
      };
      CHECK(shape(id, diff_fn) == shape(absent, diff_fn));
      // bulk_get
      for (const Revision& r : revs) {
        auto bulk_fn = [&](const std::string& which) {
          auto b = engine.bulk_get({{"households", which, r, {}}}, scope.get());
          if (b.at(0).revision) return "revision " + b.at(0).revision->revision.str();
          if (b.at(0).error) {
            return "error " + std::string(error_code_name(b.at(0).error->code())) + ": " +
                   b.at(0).error->what();
          }
          return std::string("nothing");
        };
        CHECK(shape(id, bulk_fn) == shape(absent, bulk_fn));
      }
    };
    compare("out", {out2, theirs[0].revision, out1});
    compare("del", {del2, del1});

    // Lists leave the out-of-scope records out, as if they did not exist.
    RecordPage page = engine.list_records("households", "", 100, scope.get());
    std::vector<std::string> listed;
    for (auto& r : page.records) listed.push_back(r.id);
    CHECK(listed == std::vector<std::string>{"in"});
    ConflictPage conflicts = engine.list_conflicts("households", "", 100, scope.get());
    REQUIRE(conflicts.entries.size() == 1);
    CHECK(conflicts.entries[0].id == "in");
    // Unscoped, both conflicts are listed.
    CHECK(engine.list_conflicts("households", "", 100).entries.size() == 2);
    GetOptions nd;
    nd.scope = scope;
    CHECK_FALSE(engine.get("households", "nodist", nd).has_value());
    // In-scope records read normally under the scope.
    GetOptions o;
    o.scope = scope;
    o.conflicts = true;
    auto rin = engine.get("households", "in", o);
    REQUIRE(rin.has_value());
    REQUIRE(rin->conflicts.has_value());
    CHECK(rin->conflicts->size() == 1);
    // A table outside the scope answers as an empty one.
    create_table(engine, items_table());
    create(engine, "items", "i", item("x"));
    CHECK(engine.list_records("items", "", 100, scope.get()).records.empty());
    CHECK_FALSE(engine.get("items", "i", o).has_value());
  });
}

TEST_CASE("conformance: scope: purge removes records with their history and logs them") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    create_table(engine, households_table());
    std::vector<Revision> a = {create(engine, "households", "a", hh("d1", "a1"))};
    Revision a2 = update(engine, "households", "a", a[0], hh("d1", "a2"));
    Revision b = create(engine, "households", "b", hh("d1"));
    Revision c1 = create(engine, "households", "c", hh("d1"));
    Revision c2 = remove(engine, "households", "c", c1);
    auto theirs = offline_chain("households", "b", b, 1, "theirs");
    REQUIRE(write_one_replicated(engine, remote_of("households", "b", theirs, 0, {b})).ok());

    PurgeRequest req;
    req.table = "households";
    req.ids = {"a", "c", "nope", "b"};
    req.reason = "test purge";
    PurgeResult res = engine.purge(req);
    CHECK(sorted(res.purged) == std::vector<std::string>{"a", "b", "c"});
    CHECK(res.absent == std::vector<std::string>{"nope"});
    CHECK(res.kept.empty());

    for (const std::string id : {"a", "b", "c"}) {
      CAPTURE(id);
      CHECK_FALSE(engine.get("households", id).has_value());
    }
    CHECK(engine.list_records("households", "", 100).records.empty());
    CHECK(engine.list_conflicts("households", "", 100).entries.empty());
    CHECK(all_changes(engine).empty());  // not in the feed
    auto diff = engine.revs_diff({{"households", "a", {a[0], a2}}, {"households", "c", {c2}}});
    CHECK(diff[0].missing.size() == 2);
    CHECK(diff[0].leaves.empty());
    CHECK(diff[1].missing.size() == 1);
    CHECK(all_ids(engine, "households", {}).empty());
    // Gone from T and T_history too.
    CHECK(db.raw_query("SELECT count(*) FROM households").at(0).at(0) ==
          std::optional<std::string>("0"));
    CHECK(db.raw_query("SELECT count(*) FROM households_history").at(0).at(0) ==
          std::optional<std::string>("0"));

    auto log = engine.purge_log(0, 100);
    REQUIRE(log.size() == 3);
    std::vector<std::string> logged;
    for (auto& e : log) {
      CHECK(e.table == "households");
      CHECK(e.reason == "test purge");
      CHECK_FALSE(e.at.empty());
      logged.push_back(e.id);
    }
    CHECK(sorted(logged) == std::vector<std::string>{"a", "b", "c"});
    CHECK(engine.purge_log(2, 100).size() == 1);
    CHECK(engine.purge_log(0, 1).size() == 1);

    // The record can come back by replication (and by a new create).
    REQUIRE(write_one_replicated(engine, remote_of("households", "b", theirs, 0, {b})).ok());
    CHECK(must_get(engine, "households", "b").revision == theirs[0].revision);
    create(engine, "households", "a", hh("d1", "again"));
    CHECK(engine.check().empty());
  });
}

TEST_CASE("conformance: scope: purge with changed_at_or_before keeps records changed later") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, households_table());
    Revision a = create(engine, "households", "a", hh("d1"));
    Revision b = create(engine, "households", "b", hh("d1"));
    create(engine, "households", "c", hh("d1"));
    std::string mark = engine.update_seq();
    Revision b2 = update(engine, "households", "b", b, hh("d1", "later"));
    create(engine, "households", "d", hh("d1"));
    std::string mark2 = engine.update_seq();
    PurgeRequest req;
    req.table = "households";
    req.ids = {"a", "b", "d", "x"};
    req.reason = "acknowledged";
    req.changed_at_or_before = {mark};
    PurgeResult res = engine.purge(req);
    CHECK(res.purged == std::vector<std::string>{"a"});
    CHECK(sorted(res.kept) == std::vector<std::string>{"b", "d"});
    CHECK(res.absent == std::vector<std::string>{"x"});
    CHECK_FALSE(engine.get("households", "a").has_value());
    CHECK(must_get(engine, "households", "b").revision == b2);
    CHECK(must_get(engine, "households", "d").attributes.size() > 0);
    REQUIRE(engine.purge_log(0, 100).size() == 1);
    // Every cursor must cover the change.
    req.ids = {"b", "c"};
    req.changed_at_or_before = {mark2, mark};
    res = engine.purge(req);
    CHECK(res.purged == std::vector<std::string>{"c"});
    CHECK(res.kept == std::vector<std::string>{"b"});
    req.changed_at_or_before = {mark2};
    req.ids = {"b"};
    res = engine.purge(req);
    CHECK(res.purged == std::vector<std::string>{"b"});
    (void)a;
  });
}

TEST_CASE("conformance: scope: a database's scope round-trips and record_ids selects by it") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    create_table(engine, households_table());
    CHECK_FALSE(engine.scope().has_value());
    Scope s = parse_scope("households: district IN ('d3', 'd1', 'd1')", engine.list_tables());
    engine.set_scope(s);
    REQUIRE(engine.scope().has_value());
    CHECK(*engine.scope() == s);
    CHECK(scope_fingerprint(*engine.scope()) == scope_fingerprint(s));
    db.reopen();
    Engine& e = db.engine();
    REQUIRE(e.scope().has_value());
    CHECK(*e.scope() == s);
    auto idx = e.scope_indexes("households");
    CHECK(std::find(idx.begin(), idx.end(), "district") != idx.end());
    e.set_scope(std::nullopt);
    CHECK_FALSE(e.scope().has_value());

    // record_ids: all, matching, not_matching, IS NULL on absent attributes.
    create(e, "households", "a", hh("d1"));
    create(e, "households", "b", hh("d2"));
    Revision c = create(e, "households", "c", hh("d1"));
    remove(e, "households", "c", c);  // deleted, judged by its last body
    create(e, "households", "d", Attributes{{"name", str("no district")}});
    Revision f = create(e, "households", "f", hh("d2"));
    remove(e, "households", "f", f);
    Scope d1 = parse_scope("households: district = 'd1'", e.list_tables());
    Scope null = parse_scope("households: district IS NULL", e.list_tables());
    Scope both = parse_scope("households: district = 'd1' AND name = 'n'", e.list_tables());
    RecordSelection all;
    CHECK(all_ids(e, "households", all) == std::vector<std::string>{"a", "b", "c", "d", "f"});
    RecordSelection m{RecordSelection::Kind::matching, d1.find("households")};
    CHECK(all_ids(e, "households", m) == std::vector<std::string>{"a", "c"});
    RecordSelection nm{RecordSelection::Kind::not_matching, d1.find("households")};
    CHECK(all_ids(e, "households", nm) == std::vector<std::string>{"b", "d", "f"});
    RecordSelection isnull{RecordSelection::Kind::matching, null.find("households")};
    CHECK(all_ids(e, "households", isnull) == std::vector<std::string>{"d"});
    RecordSelection notnull{RecordSelection::Kind::not_matching, null.find("households")};
    CHECK(all_ids(e, "households", notnull) == std::vector<std::string>{"a", "b", "c", "f"});
    RecordSelection and_m{RecordSelection::Kind::matching, both.find("households")};
    CHECK(all_ids(e, "households", and_m) == std::vector<std::string>{"a", "c"});
    CHECK(all_ids(e, "households", m, 1) == std::vector<std::string>{"a", "c"});
    // The scoped feed agrees on IS NULL.
    auto sn = std::make_shared<const Scope>(null);
    CHECK(ids_in(scoped_all(e, sn).changes, false) == std::set<std::string>{"households/d"});
  });
}

TEST_CASE("conformance: scope: a first scoped pass reads the records in scope, not the table") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    create_table(engine, households_table());
    std::vector<Edit> edits;
    for (int i = 0; i < 2000; ++i) {
      edits.push_back(
          Edit{Edit::Kind::put, "households", "x" + std::to_string(10000 + i), {}, hh("x")});
      if (i % 100 == 50) {
        edits.push_back(
            Edit{Edit::Kind::put, "households", "y" + std::to_string(100 + i / 100), {}, hh("y")});
      }
      if (edits.size() >= 500) {
        for (auto& r : engine.write(edits)) REQUIRE(r.ok());
        edits.clear();
      }
    }
    for (auto& r : engine.write(edits)) REQUIRE(r.ok());
    std::string seq = engine.update_seq();
    auto scope = scope_of(engine, "households: district = 'y'");
    engine.prepare_scope(*scope);
    ChangesPage page = scoped_page(engine, scope, "");
    CHECK(page.results.size() == 20);
    for (auto& c : page.results) CHECK(c.id.starts_with("y"));
    // One page holds them all and ends at the feed's position.
    ChangesPage rest = scoped_page(engine, scope, page.last_seq);
    CHECK(rest.results.empty());
    std::string last = rest.last_seq.empty() ? page.last_seq : rest.last_seq;
    CHECK_FALSE(last.starts_with("scan/"));
    // An unscoped read from that cursor sees nothing newer.
    ChangesRequest req;
    req.since = last;
    CHECK(engine.changes(req).results.empty());
    (void)seq;
  });
}

TEST_CASE("conformance: scope: bulk_get of a deletion carries the last body to the receiver") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    create_table(engine, households_table());
    Revision a1 = create(engine, "households", "a", hh("d1"));
    Revision a2 = remove(engine, "households", "a", a1);
    auto got = engine.bulk_get({{"households", "a", a2, {}}});
    REQUIRE(got.size() == 1);
    REQUIRE(got[0].revision.has_value());
    const RemoteRevision& rr = *got[0].revision;
    CHECK(rr.deleted);
    REQUIRE(rr.parent_attributes.has_value());
    CHECK(*rr.parent_attributes == hh("d1"));
    REQUIRE(rr.ancestry.size() == 1);
    CHECK(rr.ancestry[0] == a1);

    // A fresh database on the same backend receives only the tombstone.
    std::unique_ptr<TestDatabase> fresh;
    for (const TestBackend& b : test_backends()) {
      if (b.name == db.backend()) fresh = b.create();
    }
    REQUIRE(fresh);
    Engine& other = fresh->engine();
    create_table(other, households_table());
    REQUIRE(write_one_replicated(other, rr).ok());
    auto scope = scope_of(other, "households: district = 'd1'");
    ScopedRead read = scoped_all(other, scope);
    REQUIRE(read.changes.size() == 1);
    CHECK(read.changes[0].id == "a");
    CHECK(read.changes[0].deleted);
    CHECK(read.changes[0].revision == a2);
    Scope d1 = parse_scope("households: district = 'd1'", other.list_tables());
    RecordSelection m{RecordSelection::Kind::matching, d1.find("households")};
    CHECK(all_ids(other, "households", m) == std::vector<std::string>{"a"});
    auto wrong = scope_of(other, "households: district = 'd2'");
    CHECK(scoped_all(other, wrong).changes.empty());

    // A forged parent body (not matching the parent's hash) is not stored.
    Revision b1 = create(engine, "households", "b", hh("d1"));
    Revision b2 = remove(engine, "households", "b", b1);
    auto gb = engine.bulk_get({{"households", "b", b2, {}}});
    REQUIRE(gb[0].revision.has_value());
    RemoteRevision forged = *gb[0].revision;
    forged.parent_attributes = hh("d2");
    write_one_replicated(other, forged);
    CHECK(scoped_all(other, wrong).changes.empty());
  });
}

}  // namespace
}  // namespace outpost::test
