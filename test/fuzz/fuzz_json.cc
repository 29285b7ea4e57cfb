// libFuzzer target: the JSON codec (api/json.h, api/checkpoint.h,
// api/refusals.h). The first input byte picks a decoder, the rest is the
// text. Property: what a decoder accepts re-encodes to a text that decodes
// again to the same value, compared through the encoder:
// encode(decode(encode(decode(x)))) == encode(decode(x)). Decoders throw only
// outpost::Error; anything else escapes and counts as a crash.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/checkpoint.h"
#include "api/error.h"
#include "api/json.h"
#include "api/json_builder.h"
#include "api/refusals.h"
#include "test/fuzz/fuzz_support.h"

namespace outpost::fuzz {
namespace {

// decode1 may accept more than decode2 (a request shape and the stored
// shape it becomes); encode(decode1(x)) must be decode2's input.
template <class Decode1, class Decode2, class Encode>
void fixed_point(std::string_view name, std::string_view text, Decode1 decode1, Decode2 decode2,
                 Encode encode) {
  using T = decltype(decode1(text));
  std::optional<T> first;
  try {
    first.emplace(decode1(text));
  } catch (const Error&) {
    return;  // refused: fine, as long as it is an Error
  }
  std::string once = encode(*first);
  std::optional<T> second;
  try {
    second.emplace(decode2(std::string_view(once)));
  } catch (const Error& e) {
    fail(std::string(name) + ": its own encoding is refused: " + e.what(), text, once);
  }
  check_equal(std::string(name) + ": encode(decode(encode(decode(x)))) != encode(decode(x))", once,
              encode(*second));
}

template <class Decode, class Encode>
void fixed_point(std::string_view name, std::string_view text, Decode decode, Encode encode) {
  fixed_point(name, text, decode, decode, encode);
}

// An optional-returning decoder as a throwing one.
template <class T>
T or_refuse(std::optional<T> value) {
  if (!value) throw Error(ErrorCode::invalid_json, "not accepted");
  return std::move(*value);
}

// The client's PUT /v1/tokens/{name} body (client/http_tokens.cpp).
std::string token_update_to_json(const TokenUpdate& update) {
  JsonBuilder w;
  w.start_object();
  if (update.scope) w.field("scope", *update.scope);
  if (update.write_scope) w.field("write_scope", *update.write_scope);
  w.field_count("grace_seconds",
                static_cast<uint64_t>(std::max<int64_t>(0, update.grace_micros) / 1000000));
  w.end_object();
  return w.str();
}

std::string bulk_docs_to_json(const BulkDocsRequest& r) {
  EncodedDocs docs = r.new_edits ? encode_bulk_docs(r.edits) : encode_bulk_docs(r.revisions);
  return bulk_docs_request_from_parts(r.new_edits, docs, 0, docs.ends.size(), r.local_id,
                                      r.local_doc);
}

// The queries a bulk_get answer names, as far as its results tell.
std::string bulk_get_results_to_json(const std::vector<BulkGetResult>& results) {
  std::vector<BulkGetQuery> queries(results.size());
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].revision) {
      queries[i].table = results[i].revision->table;
      queries[i].id = results[i].revision->id;
      queries[i].revision = results[i].revision->revision;
    }
  }
  return bulk_get_response_to_json(queries, results);
}

constexpr int kDecoders = 28;

void run(uint8_t selector, uint8_t variant, std::string_view text) {
  using sv = std::string_view;
  switch (selector % kDecoders) {
    case 0:
      fixed_point(
          "attributes", text, [](sv t) { return attributes_from_json(t); },
          [](const Attributes& a) { return attributes_to_json(a); });
      break;
    case 1:
      fixed_point(
          "error", text, [](sv t) { return error_from_json(t); },
          [](const Error& e) { return error_to_json(e); });
      break;
    case 2:
      fixed_point(
          "info", text, [](sv t) { return info_from_json(t); },
          [](const ServerInfo& i) { return info_to_json(i); });
      break;
    case 3:
      fixed_point(
          "token_request", text, [](sv t) { return token_request_from_json(t); },
          [](sv t) { return token_from_json(t); }, [](const Token& t) { return token_to_json(t); });
      break;
    case 4:
      fixed_point(
          "token_update", text, [](sv t) { return token_update_from_json(t); },
          [](const TokenUpdate& u) { return token_update_to_json(u); });
      break;
    case 5:
      fixed_point(
          "token", text, [](sv t) { return token_from_json(t); },
          [](const Token& t) { return token_to_json(t); });
      break;
    case 6: {
      // A creation's answer: the token and its secret.
      auto decode = [](sv t) {
        std::string secret;
        Token token = token_from_json(t, {}, &secret);
        return std::pair<Token, std::string>(std::move(token), std::move(secret));
      };
      fixed_point("created_token", text, decode, [](const std::pair<Token, std::string>& p) {
        return created_token_to_json(p.first, p.second);
      });
      break;
    }
    case 7:
      fixed_point(
          "tokens", text, [](sv t) { return tokens_from_json(t); },
          [](const std::vector<Token>& t) { return tokens_to_json(t); });
      break;
    case 8: {
      // A full definition, or a PUT /v1/tables/{name} body.
      std::string name = variant & 1 ? "items" : "";
      fixed_point(
          "table", text, [&](sv t) { return table_from_json(t, name); },
          [](const Table& t) { return table_to_json(t); });
      break;
    }
    case 9:
      fixed_point(
          "tables", text, [](sv t) { return tables_from_json(t); },
          [](const std::vector<Table>& t) { return tables_to_json(t); });
      break;
    case 10:
      fixed_point(
          "record", text, [](sv t) { return record_from_json(t); },
          [](const Record& r) { return record_to_json(r); });
      break;
    case 11:
      fixed_point(
          "record_page", text, [](sv t) { return record_page_from_json(t); },
          [](const RecordPage& p) { return record_page_to_json(p); });
      break;
    case 12:
      fixed_point(
          "conflict_page", text, [](sv t) { return conflict_page_from_json(t); },
          [](const ConflictPage& p) { return conflict_page_to_json(p); });
      break;
    case 13: {
      // The body of a single-record route: kind, and create or not, from
      // the variant byte.
      Edit::Kind kind = static_cast<Edit::Kind>(variant % 3);
      std::string id = variant & 4 ? "r1" : "";
      fixed_point(
          "edit", text, [&](sv t) { return edit_from_json(t, kind, "items", id); },
          [](const Edit& e) { return edit_to_json(e); });
      break;
    }
    case 14:
      fixed_point(
          "write_result", text, [](sv t) { return write_result_from_json(t); },
          [](const WriteResult& r) { return write_result_to_json(r); });
      break;
    case 15:
      fixed_point(
          "write_results", text, [](sv t) { return write_results_from_json(t); },
          [](const std::vector<WriteResult>& r) { return write_results_to_json(r); });
      break;
    case 16:
      fixed_point(
          "changes", text, [](sv t) { return changes_from_json(t); },
          [](const ChangesPage& p) { return changes_to_json(p); });
      break;
    case 17:
      fixed_point(
          "revs_diff_request", text, [](sv t) { return revs_diff_request_from_json(t); },
          [](const std::vector<RevsDiffQuery>& q) { return revs_diff_request_to_json(q); });
      break;
    case 18:
      fixed_point(
          "revs_diff_response", text, [](sv t) { return revs_diff_response_from_json(t); },
          [](const std::vector<RevsDiffResult>& r) { return revs_diff_response_to_json(r); });
      break;
    case 19:
      fixed_point(
          "bulk_get_request", text, [](sv t) { return bulk_get_request_from_json(t); },
          [](const std::vector<BulkGetQuery>& q) { return bulk_get_request_to_json(q); });
      break;
    case 20:
      fixed_point(
          "bulk_get_response", text, [](sv t) { return bulk_get_response_from_json(t); },
          bulk_get_results_to_json);
      break;
    case 21: {
      auto decode = [](sv t) {
        bool saved = false;
        std::vector<WriteResult> results = write_results_saved_from_json(t, saved);
        return std::pair<std::vector<WriteResult>, bool>(std::move(results), saved);
      };
      fixed_point("write_results_saved", text, decode,
                  [](const std::pair<std::vector<WriteResult>, bool>& p) {
                    return write_results_saved_to_json(p.first, p.second);
                  });
      break;
    }
    case 22: {
      // Per-document refusals are fine the first time; a re-encoded
      // request must decode without any.
      auto decode = [](sv t) { return bulk_docs_request_from_json(t); };
      auto decode_again = [](sv t) {
        BulkDocsRequest r = bulk_docs_request_from_json(t);
        if (!r.rejected.empty()) {
          fail("bulk_docs: a re-encoded document is rejected: " +
                   r.rejected.front().result.error->message(),
               t);
        }
        return r;
      };
      fixed_point("bulk_docs_request", text, decode, decode_again, bulk_docs_to_json);
      break;
    }
    case 23:
      fixed_point(
          "checkpoint", text, [](sv t) { return or_refuse(checkpoint_from_json(t)); },
          [](const Checkpoint& c) { return checkpoint_to_json(c); });
      break;
    case 24:
      fixed_point(
          "refusals", text, [](sv t) { return or_refuse(refusals_from_json(t)); },
          [](const std::vector<Refusal>& r) { return refusals_to_json(r); });
      break;
    case 25:
      // No encoder of its own (peers_report_to_json builds it from other
      // values): decoding must just not crash.
      (void)token_peers_from_json(text);
      break;
    case 26:
      try {
        check_json(text);
      } catch (const Error&) {
      }
      break;
    case 27: {
      // The results of a bulk_docs request put back in order.
      std::optional<BulkDocsRequest> request;
      try {
        request.emplace(bulk_docs_request_from_json(text));
      } catch (const Error&) {
        return;
      }
      size_t decoded = request->new_edits ? request->edits.size() : request->revisions.size();
      std::vector<WriteResult> written(decoded);
      std::vector<WriteResult> all = bulk_docs_results(*request, written);
      if (all.size() != decoded + request->rejected.size()) {
        fail("bulk_docs_results: wrong number of results", text);
      }
      break;
    }
  }
}

}  // namespace
}  // namespace outpost::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  outpost::fuzz::Input input(data, size);
  uint8_t selector = input.byte();
  uint8_t variant = selector / outpost::fuzz::kDecoders;
  outpost::fuzz::run(selector, variant, input.rest());
  return 0;
}
