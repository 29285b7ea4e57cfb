// HTTP body compression against a real `outpost serve` on loopback: zstd
// and gzip request bodies decoded before routing, responses compressed for
// the codings a request accepts, the body limit applied to the decoded size
// (a small compressed body that expands past it is 413 and the server goes
// on serving), an unknown coding 415, a corrupt body 400, and the client
// transport compressing once the server said it reads zstd.
#include <doctest/doctest.h>

#include <string>

#include "api/json.h"
#include "client/transport.h"
#include "client/url.h"
#include "server/http_helpers.h"
#include "utils/compress.h"

namespace outpost::test {
namespace {

using http::Connection;
using http::request_text;

constexpr size_t kMaxBody = 1024 * 1024;

const std::string kItemsDef =
    R"({"columns":[{"name":"name","type":"string"},{"name":"size","type":"int"}]})";

// `outpost serve --no-auth` on a fresh SQLite file with a 1 MiB body limit.
struct Served {
  Served() {
    process = std::make_unique<http::Process>(
        dir,
        std::vector<std::string>{"serve", "--db=sqlite:" + (dir.path() / "hub.db").string(),
                                 "--no-auth", "--listen", "127.0.0.1:0", "--max-body",
                                 std::to_string(kMaxBody)},
        "serve");
    auto served = http::wait_served(*process, false);
    REQUIRE_MESSAGE(served, process->err());
    port = served->port;
  }

  std::optional<http::Response> send(const std::string& method, const std::string& target,
                                     const std::string& body,
                                     const std::vector<std::string>& headers = {}) {
    Connection c(port);
    REQUIRE(c.ok());
    return c.roundtrip(request_text(method, target, body, "", headers));
  }

  http::TempDir dir;
  std::unique_ptr<http::Process> process;
  int port = 0;
};

std::string record_body(int i) {
  return R"({"attributes":{"name":{"string":"visit )" + std::to_string(i) +
         R"( of the northern district"},"size":{"int":")" + std::to_string(i * 7) + "\"}}}";
}

}  // namespace

TEST_CASE("compression: zstd and gzip request bodies are decoded before routing") {
  Served hub;
  auto table = hub.send("PUT", "/v1/tables/items", compress(Codec::zstd, kItemsDef),
                        {"Content-Encoding: zstd"});
  REQUIRE(table);
  CHECK(table->status == 200);
  CHECK(table->header("accept-encoding") == "zstd, gzip");  // RFC 7694

  auto put = hub.send("PUT", "/v1/tables/items/records/r1", compress(Codec::gzip, record_body(1)),
                      {"Content-Encoding: gzip"});
  REQUIRE(put);
  CHECK(put->status == 200);
  auto got = hub.send("GET", "/v1/tables/items/records/r1", "");
  REQUIRE(got);
  CHECK(got->status == 200);
  CHECK(got->body.find("visit 1 of the northern district") != std::string::npos);

  // An identity Content-Encoding is no coding at all.
  auto plain = hub.send("PUT", "/v1/tables/items/records/r2", record_body(2),
                        {"Content-Encoding: identity"});
  REQUIRE(plain);
  CHECK(plain->status == 200);
}

TEST_CASE("compression: responses are compressed for the coding the request accepts") {
  Served hub;
  REQUIRE(hub.send("PUT", "/v1/tables/items", kItemsDef)->status == 200);
  for (int i = 0; i < 40; ++i) {
    REQUIRE(
        hub.send("PUT", "/v1/tables/items/records/r" + std::to_string(i), record_body(i))->status ==
        200);
  }
  const std::string target = "/v1/tables/items/records?limit=100";
  auto plain = hub.send("GET", target, "");
  REQUIRE(plain);
  REQUIRE(plain->status == 200);
  CHECK(plain->header("content-encoding").empty());
  REQUIRE(plain->body.size() >= kMinCompressBytes);

  auto gzipped = hub.send("GET", target, "", {"Accept-Encoding: gzip"});
  REQUIRE(gzipped);
  CHECK(gzipped->status == 200);
  CHECK(gzipped->header("content-encoding") == "gzip");
  CHECK(gzipped->header("vary") == "Accept-Encoding");
  CHECK(gzipped->body.size() < plain->body.size() / 2);
  CHECK(decompress(Codec::gzip, gzipped->body, kMaxBody) == plain->body);

  auto zstd = hub.send("GET", target, "", {"Accept-Encoding: gzip;q=0.5, zstd"});
  REQUIRE(zstd);
  CHECK(zstd->header("content-encoding") == "zstd");
  CHECK(decompress(Codec::zstd, zstd->body, kMaxBody) == plain->body);

  // Small answers go as they are.
  auto small = hub.send("GET", "/v1/health", "", {"Accept-Encoding: zstd"});
  REQUIRE(small);
  CHECK(small->header("content-encoding").empty());
  CHECK(small->header("accept-encoding") == "zstd, gzip");

  // /metrics counts the body bytes both ways.
  auto metrics = hub.send("GET", "/metrics", "");
  REQUIRE(metrics);
  CHECK(metrics->body.find("outpost_http_body_bytes_total{direction=\"out\",form=\"wire\"}") !=
        std::string::npos);
}

TEST_CASE("compression: a body that expands past the limit is 413 and the server serves on") {
  Served hub;
  REQUIRE(hub.send("PUT", "/v1/tables/items", kItemsDef)->status == 200);
  // 8 MiB of JSON whitespace: a few hundred bytes compressed, eight times
  // the body limit decoded.
  std::string huge =
      "{\"attributes\":{\"name\":{\"string\":\"x\"}}" + std::string(8 * kMaxBody, ' ') + "}";
  for (Codec codec : {Codec::zstd, Codec::gzip}) {
    CAPTURE(codec_name(codec));
    const std::string bomb = compress(codec, huge);
    REQUIRE(bomb.size() < kMaxBody / 20);
    auto refused = hub.send("PUT", "/v1/tables/items/records/big", bomb,
                            {"Content-Encoding: " + std::string(codec_name(codec))});
    REQUIRE(refused);
    CHECK(refused->status == 413);
    CHECK(refused->code() == "too_large");
    CHECK(refused->body.find("once decoded") != std::string::npos);
  }
  // Nothing was written, and the server answers the next request.
  auto missing = hub.send("GET", "/v1/tables/items/records/big", "");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  auto put = hub.send("PUT", "/v1/tables/items/records/ok", compress(Codec::zstd, record_body(3)),
                      {"Content-Encoding: zstd"});
  REQUIRE(put);
  CHECK(put->status == 200);
}

TEST_CASE("compression: an unknown coding is 415, a corrupt body 400, and neither is stored") {
  Served hub;
  REQUIRE(hub.send("PUT", "/v1/tables/items", kItemsDef)->status == 200);
  for (const std::string coding : {"br", "gzip, zstd", "deflate"}) {
    CAPTURE(coding);
    auto refused = hub.send("PUT", "/v1/tables/items/records/r1", record_body(1),
                            {"Content-Encoding: " + coding});
    REQUIRE(refused);
    CHECK(refused->status == 415);
    CHECK(refused->code() == "unsupported_media_type");
    CHECK(refused->body.find("zstd, gzip") != std::string::npos);
  }
  const std::string packed = compress(Codec::zstd, record_body(1));
  for (const std::string& bad : {packed.substr(0, packed.size() - 3), record_body(1)}) {
    auto refused = hub.send("PUT", "/v1/tables/items/records/r1", bad, {"Content-Encoding: zstd"});
    REQUIRE(refused);
    CHECK(refused->status == 400);
    CHECK(refused->code() == "invalid_json");
  }
  auto missing = hub.send("GET", "/v1/tables/items/records/r1", "");
  REQUIRE(missing);
  CHECK(missing->status == 404);
}

TEST_CASE("compression: the client transport compresses once the server reads zstd") {
  Served hub;
  auto transport = make_beast_transport(
      parse_http_url("http://127.0.0.1:" + std::to_string(hub.port)), TransportOptions{});
  // The first request learns Accept-Encoding from the answer.
  REQUIRE(transport->send({"PUT", "/v1/tables/items", kItemsDef}).status == 200);
  const uint64_t wire_before = transport->bytes_moved();
  const uint64_t plain_before = transport->plain_bytes_moved();
  CHECK(wire_before == plain_before);  // nothing was compressed yet

  std::string name;
  for (int i = 0; i < 100; ++i) name += "visit " + std::to_string(i) + " of the district; ";
  const std::string body = R"({"attributes":{"name":{"string":")" + name + R"("}}})";
  REQUIRE(body.size() >= 2000);
  HttpResponse written = transport->send({"PUT", "/v1/tables/items/records/big", body});
  REQUIRE(written.status == 200);
  const uint64_t wire = transport->bytes_moved() - wire_before;
  const uint64_t plain = transport->plain_bytes_moved() - plain_before;
  MESSAGE("a PUT of " << body.size() << " bytes: " << wire << " on the wire, " << plain
                      << " plain");
  CHECK(plain > body.size());
  CHECK(plain - wire > body.size() / 2);  // the body went out as zstd
  for (int i = 0; i < 30; ++i) {
    REQUIRE(
        transport->send({"PUT", "/v1/tables/items/records/r" + std::to_string(i), record_body(i)})
            .status == 200);
  }
  HttpResponse listed = transport->send({"GET", "/v1/tables/items/records?limit=500", ""});
  REQUIRE(listed.status == 200);
  CHECK(listed.body.find("visit 29 of the northern district") != std::string::npos);  // decoded
  CHECK(transport->plain_bytes_moved() > transport->bytes_moved() + listed.body.size() / 2);
}

}  // namespace outpost::test
