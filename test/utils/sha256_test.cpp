// SHA-256 against FIPS 180-2 test vectors, across threads.
#include "utils/sha256.h"

#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

namespace outpost {

TEST_CASE("sha256 known answers") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  const Sha256Digest d = sha256("abc");
  CHECK(d[0] == 0xba);
  CHECK(d[31] == 0xad);
  CHECK(hex_encode(std::string("\x00\x0f\xff", 3)) == "000fff");
}

TEST_CASE("sha256 is safe across threads") {
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([t, &ok] {
      int good = 0;
      for (int i = 0; i < 2000; ++i) {
        good +=
            sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
      }
      ok[static_cast<size_t>(t)] = good;
    });
  }
  for (auto& th : threads) th.join();
  for (int good : ok) CHECK(good == 2000);
}

}  // namespace outpost
