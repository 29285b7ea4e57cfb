// Engine conformance suite: API tokens (DESIGN.md section 9) — secrets shown
// once and stored only as hashes, scopes, revocation and expiry.
#include <doctest/doctest.h>

#include "engine/backends.h"
#include "utils/sha256.h"
#include "utils/time.h"

namespace outpost::test {
namespace {

Token reader(const std::string& name) {
  Token t;
  t.name = name;
  t.read = {"items"};
  return t;
}

TEST_CASE("conformance: tokens authenticate by secret and are stored only as hashes") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    TokenStore* store = engine.tokens();
    REQUIRE(store != nullptr);
    CHECK(store->list_tokens().empty());

    Token admin;
    admin.name = "admin";
    admin.admin = true;
    std::string admin_secret = store->create_token(admin);
    std::string reader_secret = store->create_token(reader("field-team.1"));
    CHECK(admin_secret.size() >= 22);  // at least 128 bits of base64
    CHECK(admin_secret != reader_secret);

    auto a = store->authenticate(admin_secret);
    REQUIRE(a);
    CHECK(a->name == "admin");
    CHECK(a->admin);
    CHECK(a->can_write("anything"));
    auto r = store->authenticate(reader_secret);
    REQUIRE(r);
    CHECK(r->name == "field-team.1");
    CHECK_FALSE(r->admin);
    CHECK(r->can_read("items"));
    CHECK_FALSE(r->can_read("other"));
    CHECK_FALSE(r->can_write("items"));
    CHECK(r->created_at_micros > 0);

    CHECK_FALSE(store->authenticate(""));
    CHECK_FALSE(store->authenticate(reader_secret + "x"));
    CHECK_FALSE(store->authenticate(sha256_hex(reader_secret)));  // the hash is not a secret

    // Nothing stored contains a secret; the hashes are there instead.
    std::string stored;
    for (const auto& row : db.raw_query("SELECT * FROM \"_tokens\"")) {
      for (const auto& cell : row) stored += (cell ? *cell : std::string("NULL")) + "|";
    }
    CHECK(stored.find(admin_secret) == std::string::npos);
    CHECK(stored.find(reader_secret) == std::string::npos);
    CHECK(stored.find(sha256_hex(reader_secret)) != std::string::npos);

    auto listed = store->list_tokens();
    REQUIRE(listed.size() == 2);
    CHECK(listed[0].name == "admin");
    CHECK(listed[1].name == "field-team.1");
    CHECK(listed[1].read == std::vector<std::string>{"items"});
    CHECK(listed[1].write.empty());
  });
}

TEST_CASE("conformance: token names are unique and checked") {
  run_on_backends([](Engine& engine, TestDatabase&) {
    TokenStore& store = *engine.tokens();
    store.create_token(reader("t1"));
    CHECK(error_of([&] { store.create_token(reader("t1")); }) == ErrorCode::conflict);
    CHECK(error_of([&] { store.create_token(reader("")); }) == ErrorCode::invalid_name);
    CHECK(error_of([&] { store.create_token(reader("a b")); }) == ErrorCode::invalid_name);
    // No '/': a token's local documents are kept under "<name>/" (token_local_id).
    CHECK(error_of([&] { store.create_token(reader("a/b")); }) == ErrorCode::invalid_name);
    CHECK(error_of([&] { store.create_token(reader("x\"; DROP TABLE _tokens; --")); }) ==
          ErrorCode::invalid_name);
    Token bad = reader("t2");
    bad.write = {"a\"; DROP TABLE x; --"};
    CHECK(error_of([&] { store.create_token(bad); }) == ErrorCode::invalid_name);
    CHECK(store.list_tokens().size() == 1);
  });
}

TEST_CASE("conformance: revoked and expired tokens no longer authenticate") {
  run_on_backends([](Engine& engine, TestDatabase& db) {
    TokenStore& store = *engine.tokens();
    std::string secret = store.create_token(reader("device-7"));
    REQUIRE(store.authenticate(secret));
    CHECK(store.revoke_token("device-7"));
    CHECK_FALSE(store.revoke_token("no-such-token"));
    CHECK_FALSE(store.authenticate(secret));
    auto listed = store.list_tokens();
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].revoked);

    Token expired = reader("old");
    expired.expires_at_micros = now_micros() - 1000000;
    std::string old_secret = store.create_token(expired);
    CHECK_FALSE(store.authenticate(old_secret));
    Token later = reader("later");
    later.expires_at_micros = now_micros() + 3600LL * 1000000;
    std::string later_secret = store.create_token(later);
    CHECK(store.authenticate(later_secret));

    db.reopen();  // tokens survive a reopen
    CHECK(db.engine().tokens()->authenticate(later_secret));
    CHECK_FALSE(db.engine().tokens()->authenticate(secret));
  });
}

}  // namespace
}  // namespace outpost::test
