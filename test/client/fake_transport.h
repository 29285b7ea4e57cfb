// A scripted Transport for the HTTP client's unit tests: records every
// request, answers from a queue (or a default), and can fail like a network.
// Thread-safety: one test thread.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/transport.h"

namespace outpost::test {

class FakeTransport final : public Transport {
 public:
  struct Step {
    HttpResponse response;
    std::optional<TransportFailure> failure;  // thrown instead of answering
  };

  HttpResponse send(const HttpRequest& request) override {
    requests->push_back(request);
    if (steps->empty()) return fallback;
    Step step = std::move(steps->front());
    steps->pop_front();
    if (step.failure) throw *step.failure;
    return step.response;
  }
  uint64_t bytes_moved() const override { return 42; }

  // Shared with the test, which keeps them after the engine took the transport.
  std::shared_ptr<std::vector<HttpRequest>> requests = std::make_shared<std::vector<HttpRequest>>();
  std::shared_ptr<std::deque<Step>> steps = std::make_shared<std::deque<Step>>();
  HttpResponse fallback{200, "{}", "application/json"};
};

}  // namespace outpost::test
