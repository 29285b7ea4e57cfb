#include "engine/open.h"

#include <cstdlib>

#include "engine/record_engine.h"
#include "engine/sqlite/sqlite_storage.h"
#if OUTPOST_WITH_POSTGRES
#include "engine/postgres/pg_connection.h"
#include "engine/postgres/pg_storage.h"
#endif

namespace outpost {

std::string default_database_url() {
  const char* env = std::getenv("OUTPOST_DB");
  if (env != nullptr && *env != '\0') return env;
  return "sqlite:outpost.db";
}

bool is_postgres_url(std::string_view url) {
  return url.starts_with("postgres:") || url.starts_with("postgresql:");
}

std::unique_ptr<Engine> open_engine(const std::string& given, const OpenOptions& options) {
  std::string url = given.empty() ? default_database_url() : given;
  if (is_postgres_url(url)) {
#if OUTPOST_WITH_POSTGRES
    // Messages never repeat the URL: it may carry a password.
    std::string conninfo = pg_conninfo_from_url(url);
    return std::make_unique<RecordEngine>(std::make_unique<PgStorage>(conninfo, options), options);
#else
    // A device build (OUTPOST_DEVICE) leaves engine/postgres/ and libpq out.
    throw Error(ErrorCode::unavailable,
                "this build of outpost has no PostgreSQL support (built with OUTPOST_DEVICE)");
#endif
  }
  std::string path = url;
  if (url.starts_with("sqlite:")) {
    path = url.substr(7);
  } else if (url.find("://") != std::string::npos) {
    throw Error(ErrorCode::unavailable,
                "unsupported database URL \"" + url +
                    "\"; use sqlite:PATH, a plain path, postgres://... or postgres:");
  }
  if (path.empty()) throw Error(ErrorCode::unavailable, "database URL \"" + url + "\" has no path");
  return std::make_unique<RecordEngine>(std::make_unique<SqliteStorage>(path, options), options);
}

}  // namespace outpost
