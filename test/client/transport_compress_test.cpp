// client/beast_transport and compressed bodies, against a tiny local server
// that says exactly what a test wants: gzip and zstd answers decoded, a zstd
// bomb stopped at max_response_body with bounded memory, and the fall back
// to plain request bodies after a 415.
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "client/tiny_server.h"
#include "client/transport.h"
#include "client/url.h"
#include "utils/compress.h"

namespace outpost::test {
namespace {

constexpr size_t kMiB = 1024 * 1024;

std::string answer(int status, const std::string& body, const std::string& headers) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" +
         headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::unique_ptr<Transport> transport_to(const TinyServer& server, size_t max_response_body) {
  TransportOptions options;
  options.io_timeout = std::chrono::milliseconds(10000);
  options.max_response_body = max_response_body;
  return make_beast_transport(parse_http_url(server.url()), options);
}

// A field of /proc/self/status, in bytes.
size_t status_bytes(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoul(line.substr(field.size() + 1)) * 1024;
  }
  return 0;
}

std::string body_of(const std::string& request) {
  return request.substr(request.find("\r\n\r\n") + 4);
}

}  // namespace

TEST_CASE("transport compression: gzip and zstd answers are decoded for the caller") {
  const std::string json = R"({"tables":[)" + std::string(3000, ' ') + "]}";
  std::string seen;
  for (Codec codec : {Codec::gzip, Codec::zstd}) {
    CAPTURE(codec_name(codec));
    TinyServer server([&](const std::string& request) {
      seen = request;
      return TinyServer::Reply{
          answer(200, compress(codec, json),
                 "Content-Encoding: " + std::string(codec_name(codec)) + "\r\n")};
    });
    auto transport = transport_to(server, kMiB);
    HttpResponse response = transport->send({"GET", "/v1/tables", ""});
    CHECK(response.status == 200);
    CHECK(response.body == json);
    CHECK(seen.find("Accept-Encoding: zstd, gzip\r\n") != std::string::npos);
    CHECK(transport->plain_bytes_moved() > transport->bytes_moved() + 2500);
  }
}

TEST_CASE("transport compression: a zstd bomb fails with too_large and bounded memory") {
  // 1 GiB of zeros in about 32 KiB.
  Encoder encoder(Codec::zstd);
  std::string bomb;
  {
    const std::string zeros(16 * kMiB, '\0');
    for (int i = 0; i < 64; ++i) encoder.write(zeros, bomb);
    encoder.finish(bomb);
  }
  REQUIRE(bomb.size() < kMiB);
  TinyServer server([&](const std::string&) {
    return TinyServer::Reply{answer(200, bomb, "Content-Encoding: zstd\r\n")};
  });
  auto transport = transport_to(server, 16 * kMiB);
  // Reset the peak resident size so that the one this call reaches shows.
  { std::ofstream("/proc/self/clear_refs") << "5"; }
  const size_t before = status_bytes("VmRSS");
  bool too_large = false;
  try {
    transport->send({"GET", "/v1/tables", ""});
  } catch (const TransportFailure& e) {
    too_large = e.code() == ErrorCode::too_large && !e.transient();
    CHECK(std::string(e.what()).find("larger than") != std::string::npos);
  }
  CHECK(too_large);
  const size_t peak = status_bytes("VmHWM");
  MESSAGE("resident before " << before / kMiB << " MiB, peak during the call " << peak / kMiB
                             << " MiB");
  if (peak > 0 && before > 0) CHECK(peak < before + 64 * kMiB);  // 1 GiB would show
}

TEST_CASE("transport compression: request bodies go as zstd once allowed, plain after a 415") {
  const std::string big = R"({"attributes":{"name":")" + std::string(4000, 'a') + "\"}}";
  std::vector<std::string> seen;
  bool refuse_compressed = false;
  TinyServer server([&](const std::string& request) {
    seen.push_back(request);
    const bool compressed = request.find("Content-Encoding: zstd\r\n") != std::string::npos;
    if (compressed && refuse_compressed) {
      return TinyServer::Reply{
          answer(415, R"({"error":"unsupported_media_type","message":"no"})", "")};
    }
    if (compressed) CHECK(decompress(Codec::zstd, body_of(request), kMiB) == big);
    return TinyServer::Reply{answer(200, "{}", "Accept-Encoding: zstd, gzip\r\n")};
  });
  auto transport = transport_to(server, kMiB);
  // Before the server said anything: plain.
  CHECK(transport->send({"PUT", "/x", big}).status == 200);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].find("Content-Encoding") == std::string::npos);
  // It said it reads zstd: compressed (and small bodies stay plain).
  CHECK(transport->send({"PUT", "/x", big}).status == 200);
  CHECK(transport->send({"PUT", "/x", "{}"}).status == 200);
  REQUIRE(seen.size() == 3);
  CHECK(seen[1].find("Content-Encoding: zstd\r\n") != std::string::npos);
  CHECK(body_of(seen[1]).size() < 200);
  CHECK(seen[2].find("Content-Encoding") == std::string::npos);
  CHECK(transport->plain_bytes_moved() > transport->bytes_moved() + 3000);

  // A 415 to a compressed body: sent again plain, and plain from then on.
  refuse_compressed = true;
  CHECK(transport->send({"PUT", "/x", big}).status == 200);
  REQUIRE(seen.size() == 5);
  CHECK(seen[3].find("Content-Encoding: zstd\r\n") != std::string::npos);
  CHECK(seen[4].find("Content-Encoding") == std::string::npos);
  CHECK(body_of(seen[4]) == big);
  CHECK(transport->send({"PUT", "/x", big}).status == 200);
  REQUIRE(seen.size() == 6);
  CHECK(seen[5].find("Content-Encoding") == std::string::npos);
}

TEST_CASE("transport compression: a corrupt or unknown coding in an answer is not retried") {
  for (const std::string& headers :
       {std::string("Content-Encoding: zstd\r\n"), std::string("Content-Encoding: br\r\n")}) {
    CAPTURE(headers);
    TinyServer server([&](const std::string&) {
      return TinyServer::Reply{answer(200, R"({"tables":[]})", headers)};
    });
    auto transport = transport_to(server, kMiB);
    bool failed = false;
    try {
      transport->send({"GET", "/v1/tables", ""});
    } catch (const TransportFailure& e) {
      failed = !e.transient();
    }
    CHECK(failed);
    CHECK(server.requests == 1);
  }
}

}  // namespace outpost::test
