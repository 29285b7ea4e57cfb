// The `console` scenario (issue 19): how long the web console's overview
// page takes to load on a large hub, and why the table counts it shows must
// be maintained rather than counted at each load.
//
// The hub (a fresh SQLite file, or a fresh schema of the --db postgres:...
// database) gets one table, households (district, size, head_name), with
// BenchOptions::records records in 100 districts written through
// Engine::write, BenchOptions::batch edits per call, a few hundred of them
// given a conflict (two replicated sibling revisions), and
// BenchOptions::tokens tokens, each with a read scope on one district and,
// for 19 tokens of 20, a device's checkpoints saved under the token's name
// as a pull and a push through a server save them (ages spread over the
// healthy, stale and silent buckets; the 20th token never synced). Filling
// it is timed apart (the "load" figure); it is no figure of the console.
//
// Then an `outpost serve` process with authentication (started from this
// binary, on 127.0.0.1) serves it, and one client with an admin token, a
// new connection per page load, makes the requests the overview page makes
// when it loads, one after the other (a browser makes some side by side:
// sequential is the upper bound): GET /ui/, every file of the page's
// module graph (index.html's stylesheet, icon and scripts, and the files
// the scripts import, found in the answers), then the overview's API calls
// (kOverviewApi). Figures: the first (cold) load, the best and the median
// of the next kWarmLoads loads, the bytes on the wire, each request's
// median; against the baseline of a console without counts, which would
// count the records by paging GET /v1/tables/households/records to the
// end. Then GET /v1/tables?counts=true with a token scoped to one district
// (whose counts are counted at each call, in proportion to the district),
// and GET /v1/devices?pending=true for one token (the devices page asks per
// token). What the overview got is checked: its record and
// conflict counts equal the records and conflicts written, and every
// health bucket has devices.
// Thread-safety: see bench.h.
#pragma once

#include <array>
#include <string_view>

#include "bench/bench.h"

namespace outpost {

// The API requests overview.js (with app.js) makes at a page load, in order.
inline constexpr std::array<std::string_view, 3> kOverviewApi = {"/v1", "/v1/tables?counts=true",
                                                                 "/v1/devices?summary=true"};

BenchReport run_console_bench(const BenchOptions& options);

}  // namespace outpost
