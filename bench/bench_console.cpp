#include "bench/bench_console.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "api/checkpoint.h"
#include "api/engine.h"
#include "api/error.h"
#include "api/json.h"
#include "api/json_builder.h"
#include "api/revision.h"
#include "api/tokens.h"
#include "bench/bench_common.h"
#include "client/transport.h"
#include "client/url.h"
#include "reconciler/checkpoint.h"
#include "utils/time.h"

namespace outpost {

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kTable = "households";
constexpr size_t kDistricts = 100;
// Page loads after the first; the best and the median are reported.
constexpr size_t kWarmLoads = 5;
// One record in kConflictEvery gets a conflict (500 of 1 000 000).
constexpr size_t kConflictEvery = 2000;
// The page size of the baseline's count by paging (the server's maximum).
constexpr size_t kCountPage = 10000;
// Tokens whose k % kTokenCycle is the last value never synced.
constexpr size_t kTokenCycle = 20;
constexpr int64_t kMinute = int64_t{60} * 1000000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

std::string ms(double seconds) { return fixed(seconds * 1000.0, 1) + " ms"; }

std::string kib(double bytes) { return fixed(bytes / 1024.0, 1) + " KiB"; }

Table console_table() {
  return Table{kTable,
               {{"district", ValueType::string, true},
                {"size", ValueType::int_, false},
                {"head_name", ValueType::string, false}}};
}

std::string district_name(size_t d) {
  char name[16];
  std::snprintf(name, sizeof name, "d-%03zu", d);
  return name;
}

std::string record_id(size_t i) {
  char id[32];
  std::snprintf(id, sizeof id, "hh%08zu", i);
  return id;
}

Attributes household(size_t i, const std::string& head) {
  Attributes a;
  a.emplace("district", Value::from_string(district_name(i % kDistricts)));
  a.emplace("size", Value::from_int(static_cast<int64_t>((i * 7) % 9 + 1)));
  a.emplace("head_name", Value::from_string(head + "-" + std::to_string(i)));
  return a;
}

size_t conflict_count(size_t records) {
  return std::min(records, std::max<size_t>(1, records / kConflictEvery));
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[(values.size() - 1) / 2];
}

double best(const std::vector<double>& values) {
  return values.empty() ? 0 : *std::min_element(values.begin(), values.end());
}

// --- filling the hub -----------------------------------------------------------

struct Filled {
  double records_seconds = 0;    // the records, in batches
  double conflicts_seconds = 0;  // the sibling revisions
  double tokens_seconds = 0;     // tokens and checkpoints
  size_t conflicts = 0;
  size_t devices = 0;
  std::string admin_secret;
  std::string pending_token;  // the token of the pending=true request
  std::string scoped_secret;  // its secret: a token scoped to one district
};

// Records [0, records) through Engine::write, `batch` per call; returns the
// hub's cursor after the first half, and the revisions of the records that
// get a conflict.
std::string write_records(const BenchOptions& options, Engine& hub, size_t batch,
                          std::map<size_t, Revision>& conflicted) {
  const size_t n = options.records;
  const size_t every = n / conflict_count(n);
  std::string middle;
  std::vector<Edit> edits;
  edits.reserve(batch);
  for (size_t begin = 0; begin < n; begin += batch) {
    const size_t end = std::min(n, begin + batch);
    edits.clear();
    for (size_t i = begin; i < end; ++i) {
      Edit e;
      e.table = kTable;
      e.id = record_id(i);
      e.attributes = household(i, "head");
      edits.push_back(std::move(e));
    }
    const std::vector<WriteResult> results = hub.write(edits);
    for (size_t k = 0; k < results.size(); ++k) {
      if (!results[k].ok()) {
        throw Error(ErrorCode::internal, "bench console: writing " + results[k].id +
                                             " failed: " + results[k].error->what());
      }
      const size_t i = begin + k;
      if (i % every == every - 1 && conflicted.size() < conflict_count(n)) {
        conflicted.emplace(i, results[k].revision);
      }
    }
    if (middle.empty() && end >= n / 2) middle = hub.update_seq();
    options.notify("console: writing records", end, n);
  }
  return middle;
}

// Two sibling revisions on each record of `conflicted`, as two devices'
// offline edits of the same parent arrive by replication.
void write_conflicts(Engine& hub, const std::map<size_t, Revision>& conflicted, size_t batch) {
  std::vector<RemoteRevision> revisions;
  auto flush = [&] {
    if (revisions.empty()) return;
    for (const WriteResult& r : hub.write_replicated(revisions)) {
      if (!r.ok()) {
        throw Error(ErrorCode::internal,
                    "bench console: a sibling revision of " + r.id + " failed: " + r.error->what());
      }
    }
    revisions.clear();
  };
  for (const auto& [i, parent] : conflicted) {
    for (const char* head : {"field-a", "field-b"}) {
      RemoteRevision r;
      r.table = kTable;
      r.id = record_id(i);
      r.attributes = household(i, head);
      r.revision = compute_revision(r.table, r.id, parent, false, r.attributes);
      r.ancestry = {parent};
      revisions.push_back(std::move(r));
    }
    if (revisions.size() >= batch) flush();
  }
  flush();
}

// The device of token k: a db_id shaped like a UUID.
std::string device_id(size_t k) {
  char id[64];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012zx", k);
  return id;
}

// How long ago token k's device last pulled: healthy (under 24 h), stale
// (2 to 6 days), silent (10 days and more); nullopt: it never synced.
std::optional<int64_t> sync_age(size_t k) {
  const size_t slot = k % kTokenCycle;
  if (slot == kTokenCycle - 1) return std::nullopt;
  if (slot < 10)
    return static_cast<int64_t>(k % 23) * kHour + static_cast<int64_t>(k % 60) * kMinute;
  if (slot < 15) return static_cast<int64_t>(2 + k % 5) * kDay;
  return static_cast<int64_t>(10 + k % 50) * kDay;
}

// Tokens scoped to one district each, and their devices' checkpoints as a
// scoped pull and a push through the server save them on the hub
// (token_local_id, the reconciler's replication ids).
void create_tokens(const BenchOptions& options, Engine& hub, const std::string& caught_up,
                   const std::string& behind, Filled& filled) {
  TokenStore* store = hub.tokens();
  if (store == nullptr)
    throw Error(ErrorCode::unavailable, "bench console: the hub holds no tokens");
  Token admin;
  admin.name = "console-admin";
  admin.admin = true;
  filled.admin_secret = store->create_token(admin);

  const std::string hub_id = hub.db_id();
  const std::vector<Table> tables = hub.list_tables();
  const int64_t now = now_micros();
  for (size_t k = 0; k < options.tokens; ++k) {
    Token t;
    t.name = "district-" + std::to_string(k);
    t.scope = std::string(kTable) + ": district = '" + district_name(k % kDistricts) + "'";
    const std::string secret = store->create_token(t);
    if (k == 0) {
      filled.pending_token = t.name;
      filled.scoped_secret = secret;
    }
    const std::optional<int64_t> age = sync_age(k);
    if (age) {
      const std::string device = device_id(k);
      const std::string fingerprint = scope_fingerprint(parse_scope(t.scope, tables));
      // The pull: the hub is the source, the device (scoped by its token)
      // the target. One device in three is behind, at the hub's middle.
      Checkpoint pull;
      pull.last_seq = k % 3 == 0 ? behind : caught_up;
      pull.updated_at = format_timestamp(now - *age);
      pull.source_db_id = hub_id;
      pull.target_db_id = device;
      pull.target_scoped = true;
      pull.copied_scope_fingerprint = fingerprint;
      hub.put_local(token_local_id(t.name, replication_id(hub_id, device, {}, fingerprint)),
                    checkpoint_to_json(pull));
      // The push just before it: the device is the source.
      Checkpoint push;
      push.last_seq = std::to_string(100 + k);
      push.updated_at = format_timestamp(now - *age - kMinute);
      push.source_db_id = device;
      push.target_db_id = hub_id;
      hub.put_local(token_local_id(t.name, replication_id(device, hub_id, {})),
                    checkpoint_to_json(push));
      ++filled.devices;
    }
    if (k % 50 == 49 || k + 1 == options.tokens) {
      options.notify("console: tokens and checkpoints", k + 1, options.tokens);
    }
  }
}

Filled fill_hub(const BenchOptions& options, const std::string& url) {
  OpenOptions open_options;
  open_options.durability = options.durability;
  std::unique_ptr<Engine> hub = open_engine(url, open_options);
  hub->put_table(console_table());
  Filled filled;
  const size_t batch = std::max<size_t>(1, options.batch);

  std::map<size_t, Revision> conflicted;
  auto start = Clock::now();
  const std::string middle = write_records(options, *hub, batch, conflicted);
  filled.records_seconds = seconds_since(start);

  start = Clock::now();
  write_conflicts(*hub, conflicted, batch);
  filled.conflicts_seconds = seconds_since(start);
  filled.conflicts = conflicted.size();

  start = Clock::now();
  create_tokens(options, *hub, hub->update_seq(), middle, filled);
  filled.tokens_seconds = seconds_since(start);
  return filled;
}

// --- the page ------------------------------------------------------------------

struct Fetched {
  std::string target;
  double seconds = 0;
  uint64_t wire_bytes = 0;   // request and response, as sent (compressed)
  uint64_t plain_bytes = 0;  // the same, bodies uncompressed
  std::string body;
};

// A client of its own: a new connection (a fresh page load, a fresh tab).
std::unique_ptr<Transport> new_client(const std::string& server_url, const std::string& secret) {
  TransportOptions o;
  o.token = secret;
  return make_beast_transport(parse_http_url(server_url), o);
}

Fetched fetch(Transport& client, const std::string& target) {
  Fetched f;
  f.target = target;
  const uint64_t wire = client.bytes_moved();
  const uint64_t plain = client.plain_bytes_moved();
  const auto start = Clock::now();
  HttpRequest request;
  request.method = "GET";
  request.target = target;
  HttpResponse response = client.send(request);
  f.seconds = seconds_since(start);
  f.wire_bytes = client.bytes_moved() - wire;
  f.plain_bytes = client.plain_bytes_moved() - plain;
  if (response.status != 200) {
    throw Error(ErrorCode::internal, "bench console: GET " + target + " answered " +
                                         std::to_string(response.status) + ": " +
                                         response.body.substr(0, 300));
  }
  f.body = std::move(response.body);
  return f;
}

// The URL path of `ref` as the page at /ui/ refers to it; "" for what a
// page load does not fetch (anchors, other sites, data: URLs).
std::string resolve(const std::string& ref) {
  if (ref.empty() || ref[0] == '#' || ref.find("://") != std::string::npos ||
      ref.starts_with("data:") || ref.starts_with("//")) {
    return {};
  }
  std::string path = ref.substr(0, ref.find_first_of("?#"));
  if (path.starts_with("/")) return path;
  if (path.starts_with("./")) path.erase(0, 2);
  return "/ui/" + path;
}

// What index.html loads: <link href>, <script src> and <img src>.
std::vector<std::string> html_refs(const std::string& html) {
  static const std::regex tag(R"(<(link|script|img)\b[^>]*>)", std::regex::icase);
  static const std::regex attr(R"re(\b(href|src)\s*=\s*["']([^"']+)["'])re", std::regex::icase);
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), tag); it != std::sregex_iterator();
       ++it) {
    const std::string text = it->str();
    std::smatch m;
    if (std::regex_search(text, m, attr)) out.push_back(m[2].str());
  }
  return out;
}

// What a module imports (static and dynamic; relative or absolute paths,
// the only specifiers a browser loads without an import map) and a
// stylesheet's url()s.
std::vector<std::string> asset_refs(const std::string& text) {
  static const std::regex imports(
      R"re((?:\bfrom|\bimport)\s*\(?\s*["'](\.{0,2}/[^"'\s]+)["']|url\(\s*["']?([^"')\s]+)["']?\s*\))re");
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), imports);
       it != std::sregex_iterator(); ++it) {
    out.push_back((*it)[1].matched ? (*it)[1].str() : (*it)[2].str());
  }
  return out;
}

// GET /ui/ and every file of the page, breadth first in the order the page
// refers to them: the targets of a page load before its API calls.
std::vector<std::string> discover_assets(Transport& client) {
  std::vector<std::string> order{"/ui/"};
  std::set<std::string> seen{"/ui/", "/ui/index.html"};
  for (size_t at = 0; at < order.size(); ++at) {
    const Fetched f = fetch(client, order[at]);
    const std::vector<std::string> refs = at == 0 ? html_refs(f.body) : asset_refs(f.body);
    for (const std::string& ref : refs) {
      const std::string path = resolve(ref);
      if (!path.empty() && seen.insert(path).second) order.push_back(path);
    }
  }
  return order;
}

// What the overview showed: the households counts and the devices' health.
struct Shown {
  int64_t records = -1;
  int64_t conflicts = -1;
  std::map<std::string, size_t> health;  // healthy, stale, silent, never (as overview.js counts)
  size_t tokens = 0;
};

Shown read_overview(const std::string& tables, const std::string& devices) {
  Shown shown;
  std::optional<JsonDoc> t = JsonDoc::parse(tables);
  std::optional<JsonNode> list = t ? t->root().member("tables") : std::nullopt;
  if (!list) throw Error(ErrorCode::internal, "bench console: GET /v1/tables sent no tables");
  for (const JsonNode& table : list->items()) {
    std::optional<JsonNode> name = table.member("name");
    std::optional<JsonNode> counts = table.member("counts");
    if (!name || name->string() != kTable || !counts) continue;
    if (auto r = counts->member("records")) shown.records = r->integer().value_or(-1);
    if (auto c = counts->member("conflicts")) shown.conflicts = c->integer().value_or(-1);
  }
  for (const char* h : {"healthy", "stale", "silent", "never"}) shown.health[h] = 0;
  std::optional<JsonDoc> d = JsonDoc::parse(devices);
  std::optional<JsonNode> summary = d ? d->root().member("summary") : std::nullopt;
  if (!summary) {
    throw Error(ErrorCode::internal, "bench console: GET /v1/devices?summary=true sent no summary");
  }
  if (auto n = summary->member("tokens"))
    shown.tokens = static_cast<size_t>(n->integer().value_or(0));
  if (auto health = summary->member("health")) {
    for (auto& [name, count] : shown.health) {
      if (auto n = health->member(name)) count = static_cast<size_t>(n->integer().value_or(0));
    }
  }
  return shown;
}

struct Load {
  std::vector<Fetched> requests;
  double seconds = 0;
  uint64_t wire_bytes = 0;
  uint64_t plain_bytes = 0;
};

Load load_page(const std::string& server_url, const std::string& secret,
               const std::vector<std::string>& targets) {
  std::unique_ptr<Transport> client = new_client(server_url, secret);
  Load load;
  const auto start = Clock::now();
  for (const std::string& target : targets) load.requests.push_back(fetch(*client, target));
  load.seconds = seconds_since(start);
  for (const Fetched& f : load.requests) {
    load.wire_bytes += f.wire_bytes;
    load.plain_bytes += f.plain_bytes;
  }
  return load;
}

struct Paged {
  double seconds = 0;
  size_t records = 0;
  size_t pages = 0;
  uint64_t wire_bytes = 0;
};

// The baseline: the records counted by reading them all, a page at a time.
Paged count_by_paging(const BenchOptions& options, const std::string& server_url,
                      const std::string& secret) {
  std::unique_ptr<Transport> client = new_client(server_url, secret);
  Paged p;
  std::string after;
  const std::string base = "/v1/tables/" + std::string(kTable) + "/records";
  const auto start = Clock::now();
  for (;;) {
    const std::string target =
        base + query_string({{"limit", std::to_string(kCountPage)}, {"after", after}});
    const Fetched f = fetch(*client, target);
    const RecordPage page = record_page_from_json(f.body);
    p.records += page.records.size();
    p.wire_bytes += f.wire_bytes;
    ++p.pages;
    options.notify("console: counting by paging", p.records, options.records);
    if (page.next.empty()) break;
    after = page.next;
  }
  p.seconds = seconds_since(start);
  return p;
}

// --- figures -------------------------------------------------------------------

BenchFigure load_figure(const BenchOptions& options, const Filled& filled) {
  BenchFigure f;
  f.name = "load";
  f.rates = false;
  f.records = options.records;
  f.per_transaction = options.batch;
  f.engine_seconds = filled.records_seconds;
  const double rate = filled.records_seconds > 0
                          ? static_cast<double>(options.records) / filled.records_seconds
                          : 0;
  f.label = "hub filled (not a console figure): " + count_text(options.records) + " records in " +
            fixed(filled.records_seconds, 1) + " s (" + count_text(rate) + " rec/s, " +
            count_text(options.batch) + " per write), " + count_text(filled.conflicts) +
            " conflicts in " + fixed(filled.conflicts_seconds, 2) + " s, " +
            count_text(options.tokens) + " tokens with " + count_text(filled.devices) +
            " devices' checkpoints in " + fixed(filled.tokens_seconds, 1) + " s";
  f.values = {{"records_seconds", filled.records_seconds},
              {"records_per_s", rate},
              {"conflicts", static_cast<double>(filled.conflicts)},
              {"conflicts_seconds", filled.conflicts_seconds},
              {"tokens", static_cast<double>(options.tokens)},
              {"devices", static_cast<double>(filled.devices)},
              {"tokens_seconds", filled.tokens_seconds}};
  return f;
}

}  // namespace

BenchReport run_console_bench(const BenchOptions& options) {
  bool postgres = false;
  const std::string url = served_bench_url(options.db_url, options.records, "console", postgres);
  ScratchDir dir(options.dir);
  std::optional<ScratchSchema> pg;
  std::string hub_url = "sqlite:" + (dir.path() / "hub.db").string();
  if (postgres) {
    pg.emplace(url, "console");
    hub_url = pg->engine_url();
  }
  BenchReport report;
  report.scenario = "console";
  report.backend = postgres ? "postgres server" : "sqlite server";
  report.durability = options.durability == Durability::full ? "full" : "normal";
  report.baseline = "count by paging";
  report.location = dir.path().parent_path().string();

  const Filled filled = fill_hub(options, hub_url);
  report.figures.push_back(load_figure(options, filled));

  ServerProcess server(dir.path(), hub_url, options.durability, true, "serve_console");
  std::vector<std::string> targets;
  {
    std::unique_ptr<Transport> client = new_client(server.url(), filled.admin_secret);
    targets = discover_assets(*client);
  }
  const size_t assets = targets.size();
  for (std::string_view api : kOverviewApi) targets.emplace_back(api);

  options.notify("console: page loads", 0, kWarmLoads + 1);
  const Load cold = load_page(server.url(), filled.admin_secret, targets);
  std::vector<Load> warm;
  for (size_t i = 0; i < kWarmLoads; ++i) {
    warm.push_back(load_page(server.url(), filled.admin_secret, targets));
    options.notify("console: page loads", i + 2, kWarmLoads + 1);
  }
  std::vector<double> load_seconds;
  for (const Load& l : warm) load_seconds.push_back(l.seconds);
  const double warm_best = best(load_seconds);
  const double warm_median = median(load_seconds);

  // What the page showed, from the last load.
  const Load& last = warm.back();
  const Shown shown = read_overview(last.requests[assets + 1].body, last.requests[assets + 2].body);
  const int64_t conflicts = static_cast<int64_t>(filled.conflicts);
  if (shown.records != static_cast<int64_t>(options.records) || shown.conflicts != conflicts) {
    throw Error(ErrorCode::internal, "bench console: the overview showed " +
                                         std::to_string(shown.records) + " records and " +
                                         std::to_string(shown.conflicts) + " conflicts; " +
                                         std::to_string(options.records) + " and " +
                                         std::to_string(conflicts) + " were written");
  }

  const Paged paged = count_by_paging(options, server.url(), filled.admin_secret);
  if (paged.records != options.records) {
    throw Error(ErrorCode::internal, "bench console: paging counted " +
                                         std::to_string(paged.records) + " records of " +
                                         std::to_string(options.records));
  }

  // The request list, each with its median over the warm loads.
  BenchFigure list;
  list.name = "requests";
  list.rates = false;
  list.label = "the overview page's requests at load, in page order (" +
               std::to_string(targets.size()) + "; median of " + std::to_string(kWarmLoads) +
               " loads, cold load, bytes on the wire):";
  report.figures.push_back(list);
  for (size_t r = 0; r < targets.size(); ++r) {
    std::vector<double> times;
    for (const Load& l : warm) times.push_back(l.requests[r].seconds);
    BenchFigure f;
    f.name = "GET " + targets[r];
    f.rates = false;
    f.label = "  GET " + targets[r] + "   " + ms(median(times)) + "   (cold " +
              ms(cold.requests[r].seconds) + ", " + kib(last.requests[r].wire_bytes) +
              " on the wire, " + kib(last.requests[r].plain_bytes) + " plain)";
    f.engine_seconds = median(times);
    f.values = {{"median_seconds", median(times)},
                {"best_seconds", best(times)},
                {"cold_seconds", cold.requests[r].seconds},
                {"wire_bytes", static_cast<double>(last.requests[r].wire_bytes)},
                {"plain_bytes", static_cast<double>(last.requests[r].plain_bytes)}};
    report.figures.push_back(f);
  }

  BenchFigure page;
  page.name = "overview_load";
  page.rates = false;
  page.records = options.records;
  page.engine_seconds = warm_median;
  page.baseline_seconds = paged.seconds;
  const double ratio = warm_median > 0 ? paged.seconds / warm_median : 0;
  page.label = "overview page load, " + std::to_string(targets.size()) +
               " requests one after the other on a new connection, " + count_text(options.records) +
               " records, " + count_text(options.tokens) + " tokens: median " + ms(warm_median) +
               ", best " + ms(warm_best) + " of " + std::to_string(kWarmLoads) + ", cold " +
               ms(cold.seconds) + "; " + kib(last.wire_bytes) + " on the wire (" +
               kib(last.plain_bytes) +
               " uncompressed); counts shown: " + count_text(shown.records) + " records, " +
               count_text(shown.conflicts) +
               " conflicts; devices: " + std::to_string(shown.health.at("healthy")) + " healthy, " +
               std::to_string(shown.health.at("stale")) + " stale, " +
               std::to_string(shown.health.at("silent")) + " silent, " +
               std::to_string(shown.health.at("never")) + " tokens never synced";
  page.values = {{"median_seconds", warm_median},
                 {"best_seconds", warm_best},
                 {"cold_seconds", cold.seconds},
                 {"loads", static_cast<double>(kWarmLoads)},
                 {"requests", static_cast<double>(targets.size())},
                 {"wire_bytes", static_cast<double>(last.wire_bytes)},
                 {"plain_bytes", static_cast<double>(last.plain_bytes)},
                 {"records_shown", static_cast<double>(shown.records)},
                 {"conflicts_shown", static_cast<double>(shown.conflicts)},
                 {"tokens_shown", static_cast<double>(shown.tokens)},
                 {"healthy", static_cast<double>(shown.health.at("healthy"))},
                 {"stale", static_cast<double>(shown.health.at("stale"))},
                 {"silent", static_cast<double>(shown.health.at("silent"))},
                 {"never", static_cast<double>(shown.health.at("never"))},
                 {"count_by_paging_seconds", paged.seconds},
                 {"ratio", ratio}};
  report.figures.push_back(page);

  BenchFigure base;
  base.name = "count_by_paging";
  base.rates = false;
  base.records = paged.records;
  base.per_transaction = kCountPage;
  base.engine_seconds = warm_median;
  base.baseline_seconds = paged.seconds;
  base.label = "without maintained counts: counting the records by paging GET /v1/tables/" +
               std::string(kTable) + "/records?limit=" + std::to_string(kCountPage) +
               " to the end took " + fixed(paged.seconds, 2) + " s (" +
               std::to_string(paged.pages) + " pages, " +
               fixed(static_cast<double>(paged.wire_bytes) / (1024.0 * 1024.0), 1) +
               " MiB on the wire); ratio paging / whole overview load (median) " + fixed(ratio, 1);
  base.values = {{"seconds", paged.seconds},
                 {"pages", static_cast<double>(paged.pages)},
                 {"records", static_cast<double>(paged.records)},
                 {"wire_bytes", static_cast<double>(paged.wire_bytes)},
                 {"ratio", ratio}};
  report.figures.push_back(base);

  // A token scoped to one district sees that district's counts, counted at
  // each call (Engine::count_in_scope) in proportion to the district.
  if (!filled.scoped_secret.empty()) {
    const std::string target = "/v1/tables?counts=true";
    std::unique_ptr<Transport> client = new_client(server.url(), filled.scoped_secret);
    std::vector<double> times;
    Fetched first;
    for (size_t i = 0; i <= kWarmLoads; ++i) {
      Fetched f = fetch(*client, target);
      if (i == 0) {
        first = std::move(f);
      } else {
        times.push_back(f.seconds);
      }
    }
    const Shown scoped = read_overview(first.body, R"({"summary":{"tokens":0}})");
    BenchFigure f;
    f.name = "scoped_counts";
    f.rates = false;
    f.engine_seconds = median(times);
    f.label = "GET " + target + " with a token scoped to 1 district (" +
              count_text(scoped.records) + " records counted at each call): median " +
              ms(median(times)) + ", best " + ms(best(times)) + ", first " + ms(first.seconds);
    f.values = {{"median_seconds", median(times)},
                {"best_seconds", best(times)},
                {"first_seconds", first.seconds},
                {"records_shown", static_cast<double>(scoped.records)},
                {"conflicts_shown", static_cast<double>(scoped.conflicts)}};
    report.figures.push_back(f);
  }

  // The devices page asks for one token's pending changes at a time.
  if (!filled.pending_token.empty()) {
    const std::string target = "/v1/devices?pending=true&token=" + filled.pending_token;
    std::unique_ptr<Transport> client = new_client(server.url(), filled.admin_secret);
    std::vector<double> times;
    Fetched first;
    for (size_t i = 0; i <= kWarmLoads; ++i) {
      Fetched f = fetch(*client, target);
      if (i == 0) {
        first = std::move(f);
      } else {
        times.push_back(f.seconds);
      }
    }
    int64_t pending = -1;
    bool more = false;
    if (std::optional<JsonDoc> doc = JsonDoc::parse(first.body)) {
      if (auto tokens = doc->root().member("tokens")) {
        for (const JsonNode& t : tokens->items()) {
          std::optional<JsonNode> devices = t.member("devices");
          if (!devices) continue;
          for (const JsonNode& d : devices->items()) {
            if (auto p = d.member("pending")) pending = p->integer().value_or(-1);
            if (auto m = d.member("pending_more")) more = m->is_true();
          }
        }
      }
    }
    BenchFigure f;
    f.name = "devices_pending_one_token";
    f.rates = false;
    f.engine_seconds = median(times);
    f.label = "GET " + target + " (its device at the hub's middle): median " + ms(median(times)) +
              ", best " + ms(best(times)) + ", first " + ms(first.seconds) + "; pending " +
              (pending < 0 ? std::string("not counted") : count_text(pending)) +
              (more ? " or more" : "");
    f.values = {{"median_seconds", median(times)},
                {"best_seconds", best(times)},
                {"first_seconds", first.seconds},
                {"pending", static_cast<double>(pending)},
                {"pending_more", more ? 1.0 : 0.0}};
    report.figures.push_back(f);
  }
  return report;
}

}  // namespace outpost
