// `aether daemon`: the long-running node serving the HTTPS API (src/api, docs/api.md).
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "api/api.h"
#include "cli/cli.h"

namespace aether::cli {
namespace {

struct DaemonArgs {
  std::string listen = "127.0.0.1:8643";
  bool insecure_http = false;
  std::int64_t nonce_ttl_ms = 60'000;
  double rate_limit = 50;
  std::int64_t read_timeout_ms = 10'000;
  std::string did_web_ca_file;
  bool did_web_allow_private = false;
  P2PDaemonArgs p2p;
};

// "127.0.0.1:8643", "[::1]:8643".
Status parseListen(const std::string& text, std::string& host, std::uint16_t& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return fail(Errc::kInvalidArgument, "--listen wants ADDRESS:PORT, e.g. 127.0.0.1:8643");
  }
  host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string p = text.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || end != p.data() + p.size() || value > 65535) {
    return fail(Errc::kInvalidArgument, "--listen: \"" + p + "\" is not a port number (0-65535)");
  }
  port = static_cast<std::uint16_t>(value);
  return {};
}

int cmdDaemon(const Globals& g, const DaemonArgs& args) {
  api::DaemonOptions options;
  if (auto s = parseListen(args.listen, options.host, options.port); !s) {
    reportError(s.error());
    return kExitUsage;
  }
  if (args.nonce_ttl_ms <= 0 || args.read_timeout_ms <= 0 || args.rate_limit < 0) {
    reportError(Error{Errc::kInvalidArgument, "--nonce-ttl-ms and --read-timeout-ms must be > 0, --rate-limit >= 0"});
    return kExitUsage;
  }
  auto home = homeOf(g);
  if (!home) return reportError(home.error());
  if (!node::isInitialized(*home)) {
    return reportError(Error{Errc::kNotFound, "no node at " + home->string() + ": run `aether init` first"});
  }
  // The lock first: a second daemon must not even ask for the passphrase.
  auto lock = api::DaemonLock::acquire(*home);
  if (!lock) return reportError(lock.error());
  auto n = node::Node::open(*home, passphraseSource(g));
  if (!n) return reportError(n.error());
  warnInsecure(*n);
  auto tls = api::ensureTlsCertificate(*home);
  if (!tls) return reportError(tls.error());

  options.home = *home;
  options.insecureHttp = args.insecure_http;
  options.nonceTtlMs = args.nonce_ttl_ms;
  options.ratePerSecond = args.rate_limit;
  options.rateBurst = std::max(1.0, args.rate_limit * 2);
  options.readTimeoutMs = args.read_timeout_ms;
  options.didWeb.caFile = args.did_web_ca_file;
  options.didWeb.allowPrivateAddresses = args.did_web_allow_private;
  if (args.insecure_http) {
    std::cerr << "aether: WARNING: --insecure-http: the API is served over plain HTTP, without TLS\n";
  }
  const std::string did = n->did();
  const std::string fingerprint = args.insecure_http ? "" : tls->fingerprint;
  options.onListening = [&g, &did, &fingerprint](const std::string& url, std::uint16_t port) {
    if (g.json) {
      std::cout << nlohmann::json{{"did", did}, {"api", url}, {"port", port}, {"tls_fingerprint", fingerprint}}.dump()
                << std::endl;
    } else {
      std::cout << "did: " << did << "\n"
                << "tls-fingerprint: " << (fingerprint.empty() ? "none (plain HTTP)" : fingerprint) << "\n"
                << "api: " << url << "\n"
                << "listening: port=" << port << "\n"
                << "Serving the Aether API at " << url << " (Ctrl-C or SIGTERM stops it)" << std::endl;
    }
  };
  P2PRuntime p2p;  // outlives runDaemon: its routes and hooks point into it
  if (!args.p2p.off) {
    if (auto st = configureP2P(*n, args.p2p, options, p2p); !st) return reportError(st.error());
  }
  auto run = api::runDaemon(options, n->key(), did, *tls);
  if (!run) return reportError(run.error());
  return 0;
}

}  // namespace

int callDaemon(const Globals& g, const ClientArgs& args, api::HttpRequest request) {
  auto res = requestDaemon(g, args, std::move(request));
  if (!res) return res.error() == kExitUsage ? kExitUsage : kExitError;
  const auto body = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    std::cout << res->body << "\n";
  } else {
    printJson(body);
  }
  return 0;
}

std::expected<api::HttpResponse, int> requestDaemon(const Globals& g, const ClientArgs& args, api::HttpRequest request) {
  api::ApiEndpoint ep;
  if (auto s = parseListen(args.api, ep.host, ep.port); !s) {
    reportError(Error{Errc::kInvalidArgument, "--api wants ADDRESS:PORT, e.g. 127.0.0.1:8643"});
    return std::unexpected(kExitUsage);
  }
  ep.tls = !args.insecure_http;
  ep.fingerprint = args.fingerprint;
  if (ep.tls && ep.fingerprint.empty()) {
    auto home = homeOf(g);
    if (!home) return std::unexpected(reportError(home.error()));
    auto tls = api::loadTlsCertificate(*home);
    if (!tls) {
      return std::unexpected(reportError(Error{tls.error().code, tls.error().message +
                                                     " (pass --fingerprint sha256:... for another node's daemon)"}));
    }
    ep.fingerprint = tls->fingerprint;
  }
  auto res = api::callApi(ep, request);
  if (!res) return std::unexpected(reportError(res.error()));
  const auto body = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (res->status >= 300) {
    std::string detail = body.is_object() && body.contains("detail") && body["detail"].is_string()
                             ? body["detail"].get<std::string>()
                             : res->body.substr(0, 500);
    std::cerr << "aether: error: HTTP " << res->status << ": " << detail << "\n";
    return std::unexpected(kExitError);
  }
  return std::move(*res);
}

namespace {


// Percent-encodes everything but unreserved characters and ':' (a DID in a path segment).
std::string encodePathSegment(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == ':') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace

void addClientOptions(CLI::App* cmd, ClientArgs& args) {
  cmd->add_option("--api", args.api, "Address of the daemon")->capture_default_str();
  cmd->add_option("--fingerprint", args.fingerprint,
                  "Pinned TLS certificate fingerprint (sha256:...); default: this node's own certificate");
  cmd->add_flag("--insecure-http", args.insecure_http, "The daemon runs with --insecure-http");
}

void addDaemonCommands(CLI::App& app, Globals& g, int& rc) {
  static DaemonArgs args;  // bound by CLI11 during parse(), after this function returns
  auto* daemon = app.add_subcommand(
      "daemon", "Run the node in the foreground, serving the HTTPS API (identity service) until SIGTERM/SIGINT");
  daemon->add_option("--listen", args.listen, "Address and port to listen on (port 0: any free port)")
      ->capture_default_str();
  daemon->add_flag("--insecure-http", args.insecure_http, "Serve plain HTTP instead of TLS 1.3 (local testing only)");
  daemon->add_option("--nonce-ttl-ms", args.nonce_ttl_ms, "Lifetime of challenge nonces")->capture_default_str();
  daemon->add_option("--rate-limit", args.rate_limit, "Requests per second per client address (0: no limit)")
      ->capture_default_str();
  daemon->add_option("--read-timeout-ms", args.read_timeout_ms,
                     "Time a client has to send a complete request (and idle keep-alive timeout)")
      ->capture_default_str();
  daemon->add_option("--did-web-ca-file", args.did_web_ca_file,
                      "PEM trust roots for did:web resolution instead of the system's (a private PKI, tests); "
                      "certificates are always verified")
      ->check(CLI::ExistingFile);
  daemon->add_flag("--did-web-allow-private", args.did_web_allow_private,
                   "Let did:web resolution reach loopback and private addresses (refused by default)");
  addP2PDaemonOptions(daemon, args.p2p);
  daemon->callback([&g, &rc] { rc = cmdDaemon(g, args); });

  // API clients under `aether id` (created by addNodeCommands, which runs first).
  CLI::App* id = nullptr;
  try {
    id = app.get_subcommand("id");
  } catch (const CLI::OptionNotFound&) {
    return;
  }
  static ClientArgs client;
  static std::string resolve_did;
  auto* resolve = id->add_subcommand("resolve", "Resolve a DID through the running daemon (GET /v1/identity/{did})");
  resolve->add_option("did", resolve_did, "The DID to resolve")->required();
  addClientOptions(resolve, client);
  resolve->callback([&g, &rc] {
    rc = callDaemon(g, client, api::HttpRequest{"GET", "/v1/identity/" + encodePathSegment(resolve_did), "", ""});
  });
  static std::string register_file;
  auto* reg = id->add_subcommand(
      "register", "Register a DID document through the running daemon: FILE holds {\"did_document\": ..., \"proof\": JWS}");
  reg->add_option("file", register_file, "Request body (JSON; see docs/identity.md)")->required()->check(CLI::ExistingFile);
  addClientOptions(reg, client);
  reg->callback([&g, &rc] {
    std::ifstream in(register_file, std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    if (!in && !in.eof()) {
      rc = reportError(Error{Errc::kIo, "cannot read " + register_file});
      return;
    }
    rc = callDaemon(g, client, api::HttpRequest{"POST", "/v1/identity/register", "application/json", body.str()});
  });
}

}  // namespace aether::cli
