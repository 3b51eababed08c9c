// `aether daemon`: the long-running node serving the HTTPS API (src/api, docs/api.md).
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "api/api.h"
#include "cli/cli.h"
#include "codec/codec.h"
#include "identity/identity.h"

namespace aether::cli {
namespace {

struct DaemonArgs {
  std::string listen;  // empty: config.toml's [api] listen, else 127.0.0.1:8643
  bool insecure_http = false;
  std::int64_t nonce_ttl_ms = 60'000;
  double rate_limit = 50;
  std::int64_t read_timeout_ms = 10'000;
  std::string did_web_ca_file;
  bool did_web_allow_private = false;
  P2PDaemonArgs p2p;
};

// Where the daemon of this home listens: --listen, else config.toml's [api] listen, else
// 127.0.0.1:8643. `flag` is empty when --listen was not given.
Result<api::ListenAddress> listenAddressOf(const Globals& g, const std::string& flag) {
  if (!flag.empty()) {
    auto a = api::parseListenAddress(flag);
    if (!a) return fail(Errc::kInvalidArgument, "--listen: " + a.error().message);
    return a;
  }
  auto home = homeOf(g);
  if (!home) return std::unexpected(home.error());
  AE_ASSIGN_OR_RETURN(api::ApiConfig config, api::readApiConfig(*home));
  return config.listen.value_or(api::ListenAddress{});
}

int cmdDaemon(const Globals& g, const DaemonArgs& args) {
  api::DaemonOptions options;
  auto listen = listenAddressOf(g, args.listen);
  if (!listen) {
    reportError(listen.error());
    return listen.error().code == Errc::kInvalidArgument ? kExitUsage : kExitError;
  }
  options.host = listen->host;
  options.port = listen->port;
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
  auto listen = listenAddressOf(g, args.api);
  if (!listen) {
    reportError(listen.error());
    return std::unexpected(listen.error().code == Errc::kInvalidArgument ? kExitUsage : kExitError);
  }
  ep.host = listen->host;
  ep.port = listen->port;
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
  if (!res) {
    if (res.error().code == Errc::kIo && res.error().message.starts_with("cannot connect")) {
      const std::string where = (ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host) + ":" +
                                std::to_string(ep.port);
      return std::unexpected(reportError(Error{
          Errc::kIo, "no aether daemon is listening on " + where +
                         ": start it with `aether daemon`, or point at it with --listen ADDRESS:PORT (or [api] listen in "
                         "config.toml) (" + res.error().message + ")"}));
    }
    return std::unexpected(reportError(res.error()));
  }
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

namespace {

struct LoginArgs {
  std::string key_dir;                   // a keystore from `aether id new --out DIR`; default: the node key
  std::vector<std::string> credentials;  // VC-JWTs (or @FILE) to present at attest
  std::string audience;                  // default: the node's DID (a Bearer token for its API)
};

Result<std::string> credentialText(const std::string& arg) {
  if (!arg.starts_with("@")) return arg;
  std::ifstream in(arg.substr(1), std::ios::binary);
  if (!in) return fail(Errc::kIo, "cannot read " + arg.substr(1));
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

struct LoginResult {
  std::string did;
  std::string audience;
  std::string token;
  std::int64_t expiresIn = 0;
};

// challenge -> attest with a local key (a keystore directory, else the node key). The error side
// is the exit code, the error already reported.
std::expected<LoginResult, int> login(const Globals& g, const ClientArgs& client, const LoginArgs& a) {
  std::optional<identity::Keystore> keystore;
  std::optional<node::Node> n;
  if (!a.key_dir.empty()) {
    auto info = identity::Keystore::inspect(a.key_dir);
    if (!info) return std::unexpected(reportError(Error{info.error().code, a.key_dir + ": " + info.error().message}));
    std::string passphrase;
    if (!info->isInsecure()) {
      auto p = passphraseSource(g)("Passphrase for " + a.key_dir + ": ", false);
      if (!p) return std::unexpected(reportError(p.error()));
      passphrase = std::move(*p);
    }
    auto ks = identity::Keystore::unlock(a.key_dir, asBytes(passphrase));
    if (!ks) return std::unexpected(reportError(Error{ks.error().code, a.key_dir + ": " + ks.error().message}));
    keystore.emplace(std::move(*ks));
  } else {
    auto opened = openNode(g);
    if (!opened) return std::unexpected(reportError(opened.error()));
    n.emplace(std::move(*opened));
  }
  const crypto::Ed25519KeyPair& key = keystore ? keystore->keyPair() : n->key();
  LoginResult out;
  out.did = keystore ? keystore->did() : n->did();
  nlohmann::json credentials = nlohmann::json::array();
  for (const auto& c : a.credentials) {
    auto text = credentialText(c);
    if (!text) return std::unexpected(reportError(text.error()));
    credentials.push_back(std::move(*text));
  }

  nlohmann::json challengeBody = {{"did", out.did}};
  if (!a.audience.empty()) challengeBody["audience"] = a.audience;
  auto res = requestDaemon(g, client, api::HttpRequest{"POST", "/v1/identity/challenge", "application/json", challengeBody.dump(), ""});
  if (!res) return std::unexpected(res.error());
  const auto challenge = nlohmann::json::parse(res->body, nullptr, false);
  if (!challenge.is_object() || !challenge.contains("nonce") || !challenge["nonce"].is_string() ||
      !challenge.contains("audience") || !challenge["audience"].is_string()) {
    return std::unexpected(reportError(
        Error{Errc::kMalformed, "the daemon's challenge answer has no nonce / audience: " + res->body.substr(0, 300)}));
  }
  const std::string nonce = challenge["nonce"].get<std::string>();
  out.audience = challenge["audience"].get<std::string>();
  const auto signature = key.sign(asBytes(api::attestMessage(nonce, out.did, out.audience)));
  nlohmann::json attestBody = {{"did", out.did}, {"nonce", nonce}, {"signature", codec::base64urlEncode(signature)}};
  if (!credentials.empty()) attestBody["credentials"] = credentials;
  res = requestDaemon(g, client, api::HttpRequest{"POST", "/v1/identity/attest", "application/json", attestBody.dump(), ""});
  if (!res) return std::unexpected(res.error());
  const auto answer = nlohmann::json::parse(res->body, nullptr, false);
  if (!answer.is_object() || !answer.contains("token") || !answer["token"].is_string()) {
    return std::unexpected(
        reportError(Error{Errc::kMalformed, "the daemon's attest answer has no token: " + res->body.substr(0, 300)}));
  }
  out.token = answer["token"].get<std::string>();
  if (answer.contains("expires_in") && answer["expires_in"].is_number_integer()) {
    out.expiresIn = answer["expires_in"].get<std::int64_t>();
  }
  return out;
}

int cmdLogin(const Globals& g, const ClientArgs& client, const LoginArgs& a) {
  auto r = login(g, client, a);
  if (!r) return r.error();
  if (g.json) {
    printJson({{"did", r->did}, {"audience", r->audience}, {"token", r->token}, {"expires_in", r->expiresIn}});
  } else {
    std::cout << r->token << "\n";
  }
  return 0;
}

}  // namespace

std::expected<std::string, int> nodeBearerToken(const Globals& g, const ClientArgs& client) {
  auto r = login(g, client, LoginArgs{});
  if (!r) return std::unexpected(r.error());
  return std::move(r->token);
}

void addClientOptions(CLI::App* cmd, ClientArgs& args) {
  cmd->add_option("--listen,--api", args.api,
                  "Address of the daemon (ADDRESS:PORT); default: [api] listen in <home>/config.toml, else 127.0.0.1:8643");
  cmd->add_option("--fingerprint", args.fingerprint,
                  "Pinned TLS certificate fingerprint (sha256:...); default: this node's own certificate");
  cmd->add_flag("--insecure-http", args.insecure_http, "The daemon runs with --insecure-http");
}

void addDaemonCommands(CLI::App& app, Globals& g, int& rc) {
  static DaemonArgs args;  // bound by CLI11 during parse(), after this function returns
  auto* daemon = app.add_subcommand(
      "daemon", "Run the node in the foreground, serving the HTTPS API (identity service) until SIGTERM/SIGINT");
  daemon->add_option("--listen", args.listen,
                     "Address and port to listen on (port 0: any free port); default: [api] listen in <home>/config.toml, "
                     "else 127.0.0.1:8643");
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
  static LoginArgs login_args;
  auto* loginCmd = id->add_subcommand(
      "login",
      "Prove control of a DID to the running daemon (challenge -> attest) and print the JWT it signs: with the "
      "node's audience, a Bearer token for its API");
  loginCmd->add_option("--key", login_args.key_dir, "Keystore directory from `aether id new --out DIR` (default: the node key)")
      ->check(CLI::ExistingDirectory);
  loginCmd->add_option("--credential", login_args.credentials,
                       "A VC-JWT (or @FILE) to present, e.g. a role credential from `aether cred issue`; repeatable");
  loginCmd->add_option("--audience", login_args.audience, "Who the token is for (default: the node's DID)");
  addClientOptions(loginCmd, client);
  loginCmd->callback([&g, &rc] { rc = cmdLogin(g, client, login_args); });
  static std::string register_file;
  auto* reg = id->add_subcommand(
      "register", "Register a DID document through the running daemon: FILE holds {\"did_document\": ..., \"proof\": JWS}");
  reg->add_option("file", register_file, "Request body (JSON; see docs/identity.md)")->required()->check(CLI::ExistingFile);
  static std::string register_token;
  reg->add_option("--token", register_token,
                  "Bearer token (or @FILE) from `aether id login`; default: log in with the node key first");
  addClientOptions(reg, client);
  reg->callback([&g, &rc] {
    std::string token;
    if (!register_token.empty()) {
      auto t = credentialText(register_token);
      if (!t) {
        rc = reportError(t.error());
        return;
      }
      token = std::move(*t);
    } else {
      auto r = login(g, client, LoginArgs{});
      if (!r) {
        rc = r.error();
        return;
      }
      token = std::move(r->token);
    }
    std::ifstream in(register_file, std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    if (!in && !in.eof()) {
      rc = reportError(Error{Errc::kIo, "cannot read " + register_file});
      return;
    }
    rc = callDaemon(g, client,
                    api::HttpRequest{"POST", "/v1/identity/register", "application/json", body.str(), "Bearer " + token});
  });
}

}  // namespace aether::cli
