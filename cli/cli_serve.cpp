// `outpost serve`: the HTTP server over one database (DESIGN.md sections 8,
// 9 and 11). Prints "admin token: <secret>" once when it creates the first
// token of a fresh database, then exactly one line "listening on
// http(s)://HOST:PORT" (with the real port when --listen asks for port 0),
// and runs until SIGINT or SIGTERM, which stop it gracefully (exit 0).
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "api/error.h"
#include "cli/command.h"
#include "server/router.h"
#include "server/server.h"
#include "utils/log.h"

namespace outpost::cli {

namespace {

struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};

// "HOST:PORT", "[V6]:PORT" or ":PORT" (127.0.0.1).
ListenAddress parse_listen(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    throw UsageError("--listen takes HOST:PORT (e.g. 127.0.0.1:8080), not '" + text + "'");
  }
  ListenAddress out;
  out.host = text.substr(0, colon);
  if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  if (out.host.empty()) out.host = "127.0.0.1";
  out.port =
      static_cast<uint16_t>(parse_int_arg(text.substr(colon + 1), "--listen port", 0, 65535));
  return out;
}

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

int run_serve(Context& context, const ParsedArgs& args) {
  if (!args.has("log-level")) set_log_level(LogLevel::info);  // request lines by default
  ListenAddress listen = parse_listen(args.get_or("listen", "127.0.0.1:8080"));

  server::ServerOptions options;
  options.host = listen.host;
  options.port = listen.port;
  options.tls_cert = args.get_or("tls-cert", "");
  options.tls_key = args.get_or("tls-key", "");
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    throw UsageError("TLS needs both --tls-cert and --tls-key");
  }
  options.io_threads = static_cast<int>(args.get_int("threads", 2, 1, 64));
  options.worker_threads = static_cast<int>(args.get_int("workers", 4, 1, 256));
  options.longpoll_threads = static_cast<int>(args.get_int("max-feed-waiters", 64, 1, 4096));
  options.max_body_bytes =
      static_cast<size_t>(args.get_int("max-body", 16 * 1024 * 1024, 1, int64_t{1} << 32));
  options.max_header_bytes =
      static_cast<size_t>(args.get_int("max-header", 16 * 1024, 256, 1024 * 1024));
  options.read_timeout =
      std::chrono::milliseconds(args.get_int("read-timeout-ms", 30'000, 1, 3'600'000));
  options.idle_timeout =
      std::chrono::milliseconds(args.get_int("idle-timeout-ms", 60'000, 1, 3'600'000));
  options.max_connections =
      static_cast<size_t>(args.get_int("max-connections", 1024, 1, 1'000'000));
  options.max_connections_per_address =
      static_cast<size_t>(args.get_int("max-connections-per-address", 64, 1, 1'000'000));
  options.max_body_memory =
      static_cast<size_t>(args.get_int("max-body-memory", 128 * 1024 * 1024, 1, int64_t{1} << 40));

  server::RouterOptions routing;
  routing.auth = !args.has("no-auth");
  routing.version = std::string(kVersion);
  routing.max_body_bytes = options.max_body_bytes;
  routing.json.max_depth = static_cast<size_t>(args.get_int("max-depth", 64, 2, 10'000));
  routing.max_batch_docs = static_cast<size_t>(args.get_int("max-docs", 10'000, 1, 1'000'000));
  routing.max_page = static_cast<size_t>(args.get_int("max-page", 10'000, 1, 1'000'000));
  routing.max_longpoll_ms =
      static_cast<int>(args.get_int("max-longpoll-ms", 300'000, 0, 3'600'000));
  routing.default_longpoll_ms = std::min(routing.default_longpoll_ms, routing.max_longpoll_ms);
  routing.max_feed_waiters = static_cast<size_t>(options.longpoll_threads);
  routing.scope_limits.max_text_bytes =
      static_cast<size_t>(args.get_int("max-scope-bytes", 64 * 1024, 16, 16 * 1024 * 1024));
  routing.scope_limits.max_in_values =
      static_cast<size_t>(args.get_int("max-scope-values", 10'000, 1, 1'000'000));
  routing.console = !args.has("no-console");
  routing.console_dir = args.get_or("ui-dir", "");
  if (!routing.console_dir.empty() &&
      !std::filesystem::is_regular_file(std::filesystem::path(routing.console_dir) /
                                        "index.html")) {
    throw UsageError("--ui-dir " + routing.console_dir + " holds no index.html");
  }

  // Block the stop signals before any thread starts (opening a SQLite file
  // starts its checkpointer), so that every thread inherits the mask and
  // only the main thread's sigwait takes them: a signal during startup or a
  // second one while stopping never kills the process outright.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::unique_ptr<Engine> engine = context.open();
  if (routing.auth) {
    TokenStore* tokens = engine->tokens();
    if (!tokens) {
      throw Error(ErrorCode::unavailable,
                  "this database cannot hold API tokens; run with --no-auth to serve it "
                  "without authentication");
    }
    if (tokens->list_tokens().empty()) {
      Token admin;
      admin.name = "admin";
      admin.admin = true;
      std::string secret = tokens->create_token(admin);
      std::cout << "admin token: " << secret << std::endl;
    }
  } else {
    log_warn("server", "authentication is off (--no-auth): every client has full access");
  }

  server::Router router(*engine, routing);
  server::Server server(router, options);
  server.start();
  std::cout << "listening on " << (server.tls() ? "https" : "http") << "://"
            << url_host(listen.host) << ":" << server.port() << std::endl;
  log_info("server", "serving",
           {{"db", context.effective_db_url()},
            {"port", server.port()},
            {"tls", server.tls()},
            {"auth", routing.auth}});

  int signal = 0;
  sigwait(&stop_signals, &signal);
  log_info("server", "stopping", {{"signal", signal == SIGINT ? "SIGINT" : "SIGTERM"}});
  server.stop();
  log_info("server", "stopped");
  return 0;
}

constexpr OptionSpec kOptions[] = {
    {"listen", "HOST:PORT", "address to listen on (default 127.0.0.1:8080; port 0: any free port)"},
    {"tls-cert", "FILE", "PEM certificate chain: serve HTTPS (TLS 1.2 or newer)"},
    {"tls-key", "FILE", "PEM private key for --tls-cert"},
    {"no-auth", "", "serve without authentication (every client has full access)"},
    {"threads", "N", "I/O threads (default 2)"},
    {"workers", "N", "threads answering requests (default 4)"},
    {"max-feed-waiters", "N", "long-polls waiting at once (default 64; more answer at once)"},
    {"max-body", "BYTES", "largest request body (default 16777216)"},
    {"max-header", "BYTES", "largest request header (default 16384)"},
    {"max-depth", "N", "deepest JSON nesting in a body (default 64)"},
    {"max-docs", "N", "documents per revs_diff/bulk_get/bulk_docs request (default 10000)"},
    {"max-page", "N", "largest feed/list page (default 10000)"},
    {"max-longpoll-ms", "MS", "longest long-poll (default 300000)"},
    {"max-scope-bytes", "BYTES", "longest scope text, asked or set on a token (default 65536)"},
    {"max-scope-values", "N", "most literals in one IN list of a scope (default 10000)"},
    {"no-console", "", "do not serve the web console at /ui/"},
    {"ui-dir", "DIR",
     "serve the console's files from DIR (development) instead of the built-in ones"},
    {"read-timeout-ms", "MS",
     "time to read one whole request, TLS handshake included (default 30000)"},
    {"idle-timeout-ms", "MS", "idle keep-alive connections are closed after (default 60000)"},
    {"max-connections", "N", "concurrent connections; more are closed at once (default 1024)"},
    {"max-connections-per-address", "N",
     "concurrent connections from one client address; more are closed at once (default 64)"},
    {"max-body-memory", "BYTES",
     "request bodies being read at once, in total; beyond, 503 (default 134217728)"},
};

const Command kCommands[] = {
    {.name = "",
     .usage = "[--listen HOST:PORT] [--tls-cert F --tls-key F] [--no-auth] [--threads N]",
     .summary = "serve the database over HTTP (API version 1, see docs/http-api.md)",
     .details = "Every request but GET /v1/health needs 'Authorization: Bearer <token>'. On the\n"
                "first serve of a database without tokens, an admin token is created and printed\n"
                "once as 'admin token: <secret>'; make more with 'outpost tokens create'.\n"
                "Prints 'listening on http://HOST:PORT' when ready. SIGINT or SIGTERM stop it\n"
                "gracefully: requests in flight finish, long-polls return early, exit 0.\n"
                "Logs one line per request on stderr at --log-level info (the default here).\n"
                "The web console is at http://HOST:PORT/ui/ (sign in with a token; see\n"
                "docs/operations.md#the-web-console).\n",
     .options = kOptions,
     .max_args = 0,
     .run = run_serve},
};

const CommandGroup kGroup{"serve", "serve the database over HTTP", kCommands};

}  // namespace

const CommandGroup& serve_commands() { return kGroup; }

}  // namespace outpost::cli
