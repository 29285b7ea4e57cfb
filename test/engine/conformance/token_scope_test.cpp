// Engine conformance suite: tokens with scopes (DESIGN.md section 14) —
// canonical scope texts, the tables they name, re-scoping with earlier write
// scopes, and the schema migration that added them, on every backend.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <random>

#include "api/scope.h"
#include "engine/backends.h"
#include "utils/time.h"

namespace outpost::test {
namespace {

constexpr int64_t kDay = int64_t{86400} * 1000000;

Table households() {
  return Table{"households",
               {col("name", ValueType::string), col("district", ValueType::string),
                col("size", ValueType::int_)}};
}
Table visits() {
  return Table{"visits", {col("district", ValueType::string), col("note", ValueType::string)}};
}

void make_tables(Engine& engine) {
  create_table(engine, households());
  create_table(engine, visits());
}

std::string district(std::string_view name) {
  return "households: district = '" + std::string(name) + "'";
}

Token scoped(const std::string& name, const std::string& scope, const std::string& write_scope) {
  Token t;
  t.name = name;
  t.scope = scope;
  t.write_scope = write_scope;
  return t;
}

Token find(TokenStore& store, const std::string& name) {
  for (Token& t : store.list_tokens()) {
    if (t.name == name) return t;
  }
  FAIL("no token named " << name);
  return {};
}

TEST_CASE("token scope: a created scope is stored canonically and names the readable tables") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    make_tables(engine);
    TokenStore& store = *engine.tokens();
    const std::string given =
        "visits: district = 'north';  households: size IN (3, 1, 3) AND district = 'north'";
    const std::string canonical =
        "households: district = 'north' AND size IN (1, 3); visits: district = 'north'";
    std::string secret = store.create_token(scoped("worker", given, ""));
    Token t = find(store, "worker");
    CHECK(t.scope == canonical);
    CHECK(t.read == std::vector<std::string>{"households", "visits"});
    CHECK(t.write_scope.empty());
    CHECK(t.write.empty());
    CHECK(t.earlier_write_scopes.empty());
    CHECK(t.rescoped_at_micros == 0);
    auto authed = store.authenticate(secret);
    REQUIRE(authed);
    CHECK(authed->scope == canonical);
    CHECK(authed->can_read("visits"));
    CHECK_FALSE(authed->can_write("visits"));

    // A write scope of its own; `*` clauses alone are a scope too.
    store.create_token(scoped("both", district("north"), "visits: *; households: *"));
    Token both = find(store, "both");
    CHECK(both.scope == district("north"));
    CHECK(both.read == std::vector<std::string>{"households"});
    CHECK(both.write_scope == "households: *; visits: *");
    CHECK(both.write == std::vector<std::string>{"households", "visits"});

    // The same meaning, the same text: a fingerprint identifies it.
    CHECK(parse_scope(t.scope, {households(), visits()}) ==
          parse_scope(given, {households(), visits()}));

    // The index the feed wants under this scope was made.
    CHECK(engine.scope_indexes("households") == std::vector<std::string>{"district", "size"});

    // Survives a reopen.
    db.reopen();
    TokenStore& again = *db.engine().tokens();
    Token reopened = find(again, "both");
    CHECK(reopened.scope == both.scope);
    CHECK(reopened.write_scope == both.write_scope);
    CHECK(reopened.read == both.read);
    CHECK(reopened.write == both.write);
    CHECK(again.authenticate(secret)->scope == canonical);
  });
}

TEST_CASE("token scope: bad scopes and bad combinations are refused when creating") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    make_tables(engine);
    TokenStore& store = *engine.tokens();
    CHECK(error_of([&] { store.create_token(scoped("a", "households: nope = 'x'", "")); }) ==
          ErrorCode::invalid_scope);
    CHECK(error_of([&] { store.create_token(scoped("b", "ghosts: *", "")); }) ==
          ErrorCode::invalid_scope);
    CHECK(error_of([&] { store.create_token(scoped("c", "households: size = 'many'", "")); }) ==
          ErrorCode::invalid_scope);
    CHECK(error_of([&] { store.create_token(scoped("d", "", "households: district = ")); }) ==
          ErrorCode::invalid_scope);
    try {
      store.create_token(scoped("e", "households: nope = 'x'", ""));
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("nope") != std::string::npos);
    }

    Token admin = scoped("f", district("north"), "");
    admin.admin = true;
    CHECK(error_of([&] { store.create_token(admin); }) == ErrorCode::invalid_value);
    Token list_and_scope = scoped("g", district("north"), "");
    list_and_scope.read = {"households"};
    CHECK(error_of([&] { store.create_token(list_and_scope); }) == ErrorCode::invalid_value);
    Token write_both = scoped("h", "", district("north"));
    write_both.write = {"households"};
    CHECK(error_of([&] { store.create_token(write_both); }) == ErrorCode::invalid_value);
    // A read scope with a list of writable tables it names: it could write
    // records it cannot read.
    Token scope_and_list = scoped("i", district("north"), "");
    scope_and_list.write = {"households"};
    CHECK(error_of([&] { store.create_token(scope_and_list); }) == ErrorCode::invalid_value);
    CHECK(store.list_tokens().empty());
    // A table the read scope does not name may be listed (write-only).
    Token write_only = scoped("j", district("north"), "");
    write_only.write = {"visits"};
    store.create_token(write_only);
    CHECK(find(store, "j").write == std::vector<std::string>{"visits"});
    CHECK(store.revoke_token("j"));

    // Table lists alone still work, with empty scopes; re-scoping the read
    // side of a token whose write list differs needs a write scope.
    Token reader;
    reader.name = "reader";
    reader.read = {"households", "visits"};
    reader.write = {"households"};
    store.create_token(reader);
    TokenUpdate narrow;
    narrow.scope = district("north");
    CHECK(error_of([&] { store.update_token("reader", narrow); }) == ErrorCode::invalid_value);
    narrow.write_scope = district("north");
    CHECK(store.update_token("reader", narrow).write_scope == district("north"));
    Token plain;
    plain.name = "plain";
    plain.read = {"households"};
    plain.write = {"households"};
    store.create_token(plain);
    Token p = find(store, "plain");
    CHECK(p.scope.empty());
    CHECK(p.write_scope.empty());
  });
}

TEST_CASE("token scope: a re-scope moves the write scope along and keeps the old one a while") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    make_tables(engine);
    TokenStore& store = *engine.tokens();
    store.create_token(scoped("worker", district("north"), district("north")));
    const int64_t before = now_micros();

    TokenUpdate update;
    update.scope = "households: district='south'";
    update.grace_micros = 10 * kDay;
    Token moved = store.update_token("worker", update);
    CHECK(moved.scope == district("south"));
    CHECK(moved.write_scope == district("south"));
    CHECK(moved.read == std::vector<std::string>{"households"});
    CHECK(moved.write == std::vector<std::string>{"households"});
    REQUIRE(moved.earlier_write_scopes.size() == 1);
    CHECK(moved.earlier_write_scopes[0].scope == district("north"));
    CHECK(moved.earlier_write_scopes[0].until_micros >= before + 10 * kDay);
    CHECK(moved.earlier_write_scopes[0].until_micros <= now_micros() + 10 * kDay);
    CHECK(moved.rescoped_at_micros >= before);
    CHECK(moved.rescoped_at_micros <= now_micros());

    // As stored, and after a reopen.
    db.reopen();
    Token stored = find(*db.engine().tokens(), "worker");
    CHECK(stored.scope == moved.scope);
    CHECK(stored.write_scope == moved.write_scope);
    CHECK(stored.earlier_write_scopes == moved.earlier_write_scopes);
    CHECK(stored.rescoped_at_micros == moved.rescoped_at_micros);
  });
}

TEST_CASE("token scope: a write scope unlike the read scope stays when only the read scope moves") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    make_tables(engine);
    TokenStore& store = *engine.tokens();
    store.create_token(scoped("viewer", district("north"), "visits: district = 'north'"));
    TokenUpdate update;
    update.scope = district("south");
    Token t = store.update_token("viewer", update);
    CHECK(t.scope == district("south"));
    CHECK(t.write_scope == "visits: district = 'north'");
    CHECK(t.write == std::vector<std::string>{"visits"});
    CHECK(t.earlier_write_scopes.empty());
    CHECK(t.rescoped_at_micros > 0);

    // A read-only token stays read-only.
    store.create_token(scoped("reader", district("north"), ""));
    Token r = store.update_token("reader", update);
    CHECK(r.write_scope.empty());
    CHECK(r.write.empty());
    CHECK(r.earlier_write_scopes.empty());

    // Both given: both change.
    TokenUpdate both;
    both.scope = district("east");
    both.write_scope = "visits: district = 'east'";
    Token b = store.update_token("viewer", both);
    CHECK(b.scope == district("east"));
    CHECK(b.write_scope == "visits: district = 'east'");
    REQUIRE(b.earlier_write_scopes.size() == 1);
    CHECK(b.earlier_write_scopes[0].scope == "visits: district = 'north'");
  });
}

TEST_CASE("token scope: a token of table lists gains a scope; its lists become `*` clauses") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    make_tables(engine);
    TokenStore& store = *engine.tokens();
    Token plain;
    plain.name = "tablet";
    // A list may name a table that does not exist (yet); a scope may not.
    plain.read = {"visits", "households", "ghosts"};
    plain.write = {"households", "ghosts", "visits"};
    std::string secret = store.create_token(plain);
    TokenUpdate update;
    update.scope = district("north");
    Token t = store.update_token("tablet", update);
    // The token wrote what it read, so it writes what it reads now.
    CHECK(t.scope == district("north"));
    CHECK(t.write_scope == district("north"));
    CHECK(t.read == std::vector<std::string>{"households"});
    CHECK(t.write == std::vector<std::string>{"households"});
    REQUIRE(t.earlier_write_scopes.size() == 1);
    CHECK(t.earlier_write_scopes[0].scope == "households: *; visits: *");
    CHECK_NOTHROW(parse_scope(t.earlier_write_scopes[0].scope, engine.list_tables()));
    CHECK(store.authenticate(secret)->scope == district("north"));
  });
}

TEST_CASE("token scope: earlier write scopes are capped, expire, and a grace of 0 keeps none") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    make_tables(engine);
    TokenStore& store = *engine.tokens();
    store.create_token(scoped("worker", district("d0"), ""));
    std::mt19937_64 random(test_seed());
    CAPTURE(test_seed());

    // Grace 0: the old write scope ends at once.
    TokenUpdate now;
    now.write_scope = district("d0");
    now.grace_micros = 0;
    Token t = store.update_token("worker", now);
    CHECK(t.write_scope == district("d0"));
    CHECK(t.earlier_write_scopes.empty());  // it had no write scope before either

    // Twelve moves: the newest eight earlier scopes are kept, newest first.
    for (int i = 1; i <= 12; ++i) {
      TokenUpdate move;
      move.scope = district("d" + std::to_string(i));
      move.grace_micros = kDay + static_cast<int64_t>(random() % 1000);
      t = store.update_token("worker", move);
      CHECK(t.write_scope == district("d" + std::to_string(i)));
    }
    REQUIRE(t.earlier_write_scopes.size() == kMaxEarlierWriteScopes);
    for (size_t k = 0; k < kMaxEarlierWriteScopes; ++k) {
      CHECK(t.earlier_write_scopes[k].scope == district("d" + std::to_string(11 - k)));
    }

    // Moving back to a scope it had: that one is no longer "earlier".
    TokenUpdate back;
    back.scope = district("d11");
    t = store.update_token("worker", back);
    CHECK(t.write_scope == district("d11"));
    REQUIRE(t.earlier_write_scopes.size() == kMaxEarlierWriteScopes);
    CHECK(t.earlier_write_scopes[0].scope == district("d12"));
    for (const Token::EarlierScope& e : t.earlier_write_scopes) CHECK(e.scope != district("d11"));

    // Expired entries are dropped at the next re-scope.
    store.create_token(scoped("brief", district("a"), district("a")));
    TokenUpdate quick;
    quick.scope = district("b");
    quick.grace_micros = 1;  // 1 µs: expired by the time of the next update
    Token b = store.update_token("brief", quick);
    REQUIRE(b.earlier_write_scopes.size() == 1);
    CHECK(b.earlier_write_scopes[0].scope == district("a"));
    TokenUpdate again;
    again.scope = district("c");
    again.grace_micros = 0;
    b = store.update_token("brief", again);
    CHECK(b.write_scope == district("c"));
    CHECK(b.earlier_write_scopes.empty());
  });
}

TEST_CASE("token scope: re-scoping refuses missing, revoked and admin tokens and bad scopes") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    make_tables(engine);
    TokenStore& store = *engine.tokens();
    TokenUpdate update;
    update.scope = district("north");
    CHECK(error_of([&] { store.update_token("nobody", update); }) == ErrorCode::not_found);

    store.create_token(scoped("gone", district("south"), ""));
    REQUIRE(store.revoke_token("gone"));
    CHECK(error_of([&] { store.update_token("gone", update); }) == ErrorCode::not_found);

    Token expired = scoped("old", district("south"), "");
    expired.expires_at_micros = now_micros() - 1000;
    store.create_token(expired);
    CHECK(error_of([&] { store.update_token("old", update); }) == ErrorCode::not_found);

    Token admin;
    admin.name = "root";
    admin.admin = true;
    store.create_token(admin);
    CHECK(error_of([&] { store.update_token("root", update); }) == ErrorCode::invalid_value);

    store.create_token(scoped("worker", district("south"), district("south")));
    TokenUpdate bad;
    bad.scope = "households: colour = 'red'";
    CHECK(error_of([&] { store.update_token("worker", bad); }) == ErrorCode::invalid_scope);
    bad.scope = "";
    CHECK(error_of([&] { store.update_token("worker", bad); }) == ErrorCode::invalid_scope);
    bad.scope = "households: district = 'north'";
    bad.write_scope = "nowhere: *";
    CHECK(error_of([&] { store.update_token("worker", bad); }) == ErrorCode::invalid_scope);
    // Nothing changed.
    Token w = find(store, "worker");
    CHECK(w.scope == district("south"));
    CHECK(w.write_scope == district("south"));
    CHECK(w.rescoped_at_micros == 0);
  });
}

TEST_CASE("token scope: a database from before token scopes keeps its tokens working") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    make_tables(engine);
    Token plain;
    plain.name = "tablet";
    plain.read = {"households"};
    plain.write = {"households"};
    std::string secret = engine.tokens()->create_token(plain);
    const bool pg = db.backend() == "postgres";
    const std::string previous = pg ? "2" : "3";
    const std::string current = pg ? "4" : "5";
    CHECK(db.raw_query("SELECT \"value\" FROM \"_meta\" WHERE \"key\"='schema_version'")
              .at(0)
              .at(0) == std::optional<std::string>(current));
    // What the previous schema version had: no scope columns.
    run_raw(db,
            "ALTER TABLE \"_tokens\" DROP COLUMN \"scope\"; "
            "ALTER TABLE \"_tokens\" DROP COLUMN \"write_scope\"; "
            "ALTER TABLE \"_tokens\" DROP COLUMN \"earlier_write_scopes\"; "
            "ALTER TABLE \"_tokens\" DROP COLUMN \"rescoped_at\"; "
            "UPDATE \"_meta\" SET \"value\"='" +
                previous + "' WHERE \"key\"='schema_version'");
    db.reopen();
    CHECK(db.raw_query("SELECT \"value\" FROM \"_meta\" WHERE \"key\"='schema_version'")
              .at(0)
              .at(0) == std::optional<std::string>(current));
    TokenStore& store = *db.engine().tokens();
    auto authed = store.authenticate(secret);
    REQUIRE(authed);
    CHECK(authed->scope.empty());
    CHECK(authed->write_scope.empty());
    CHECK(authed->earlier_write_scopes.empty());
    CHECK(authed->rescoped_at_micros == 0);
    CHECK(authed->can_write("households"));
    TokenUpdate update;
    update.scope = district("north");
    Token t = store.update_token("tablet", update);
    CHECK(t.write_scope == district("north"));
    CHECK(store.authenticate(secret)->scope == district("north"));
  });
}

}  // namespace
}  // namespace outpost::test
