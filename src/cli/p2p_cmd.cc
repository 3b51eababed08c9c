// The peer overlay in the daemon (`aether daemon --p2p-listen ...`) and its CLI clients:
// `aether peer id|addrs|ls|known|dial|ping`, `aether pubsub sub|pub|peers`,
// `aether dht put|get|provide|providers` (docs/networking.md, docs/api.md).
#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

#include "cli/cli.h"

namespace aether::cli {

void addP2PDaemonOptions(CLI::App* daemon, P2PDaemonArgs& args) {
  daemon->add_option("--p2p-listen", args.listen, "Peer overlay listen address (/ip4/ADDR/tcp/PORT; port 0: any)")
      ->capture_default_str();
  daemon->add_option("--bootstrap", args.bootstrap, "Peer to dial at start (/ip4/../tcp/../p2p/ID); repeatable");
  daemon->add_flag("--no-p2p", args.off, "Do not start the peer overlay");
}

Status configureP2P(const node::Node& n, const P2PDaemonArgs& args, api::DaemonOptions& options, P2PRuntime& rt) {
  AE_ASSIGN_OR_RETURN(std::string token, node::ensureAdminToken(n.home()));
  // The peer store lives in the vault; without it (another process holds the vault) the
  // overlay runs without remembering peers.
  if (auto v = n.openVault()) {
    rt.vault = std::move(*v);
  } else {
    std::cerr << "aether: warning: peer store unavailable (" << v.error().toString() << "); peers are not remembered\n";
  }
  node::P2POptions popts;
  popts.listen = args.listen;
  popts.bootstrap = args.bootstrap;
  const crypto::Ed25519KeyPair& key = n.key();
  options.onStart = [&rt, &options, popts, token, &key](boost::asio::io_context& io) -> Status {
    AE_ASSIGN_OR_RETURN(rt.service, node::P2PService::start(io, key, rt.vault.get(), popts));
    // The server reads `options` by reference for every request: the routes exist from now.
    options.extensions = rt.service->routes(token);
    return {};
  };
  options.onStop = [&rt] {
    if (rt.service) rt.service->stop();
  };
  auto listening = options.onListening;
  options.onListening = [&rt, listening](const std::string& url, std::uint16_t port) {
    if (listening) listening(url, port);
    if (rt.service) {
      for (const auto& a : rt.service->addrs()) std::cout << "p2p: " << a << "\n";
      std::cout << std::flush;
    }
  };
  return {};
}

namespace {

// The local admin token the daemon wrote (<home>/api-token); a clear error otherwise.
std::optional<std::string> bearer(const Globals& g) {
  auto home = homeOf(g);
  if (!home) {
    reportError(home.error());
    return std::nullopt;
  }
  auto token = node::loadAdminToken(*home);
  if (!token) {
    reportError(token.error());
    return std::nullopt;
  }
  return "Bearer " + *token;
}

int call(const Globals& g, const ClientArgs& c, std::string method, std::string target, const nlohmann::json& body = {}) {
  auto auth = bearer(g);
  if (!auth) return kExitError;
  api::HttpRequest req;
  req.method = std::move(method);
  req.target = std::move(target);
  if (req.method == "POST") {
    req.contentType = "application/json";
    req.body = body.is_null() ? "{}" : body.dump();
  }
  req.authorization = *auth;
  return callDaemon(g, c, std::move(req));
}

std::string pct(std::string_view s) {
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      out.push_back(static_cast<char>(ch));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", ch);
      out += buf;
    }
  }
  return out;
}

volatile std::sig_atomic_t g_interrupted = 0;

// `aether pubsub sub TOPIC`: subscribe in the daemon, then print messages as they arrive.
int subscribeLoop(const Globals& g, const ClientArgs& c, const std::string& topic, int count, double timeout_s) {
  auto auth = bearer(g);
  if (!auth) return kExitError;
  api::HttpRequest sub{"POST", "/v1/pubsub/subscribe", "application/json", nlohmann::json{{"topic", topic}}.dump(), *auth};
  auto r = requestDaemon(g, c, sub);
  if (!r) return r.error();
  if (!g.json) std::cerr << "subscribed to " << topic << " (Ctrl-C stops)\n";
  std::signal(SIGINT, [](int) { g_interrupted = 1; });
  std::uint64_t after = 0;
  int seen = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (!g_interrupted && (count <= 0 || seen < count)) {
    if (timeout_s > 0 && std::chrono::steady_clock::now() > deadline) {
      std::cerr << "aether: error: timed out after " << timeout_s << " s with " << seen << " message(s)\n";
      return kExitError;
    }
    api::HttpRequest poll{"GET", "/v1/pubsub/messages?topic=" + pct(topic) + "&after=" + std::to_string(after), "", "", *auth};
    auto res = requestDaemon(g, c, poll);
    if (!res) return res.error();
    auto body = nlohmann::json::parse(res->body, nullptr, false);
    if (body.is_discarded() || !body.contains("messages")) {
      return reportError(Error{Errc::kMalformed, "daemon answered without messages"});
    }
    for (const auto& m : body["messages"]) {
      after = std::max<std::uint64_t>(after, m.value("seq", std::uint64_t{0}));
      ++seen;
      if (g.json) {
        std::cout << m.dump() << std::endl;
      } else {
        std::cout << m.value("from", std::string("?")) << ": "
                  << (m.contains("data") ? m["data"].get<std::string>() : "0x" + m.value("data_hex", std::string()))
                  << std::endl;
      }
      if (count > 0 && seen >= count) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return 0;
}

}  // namespace

void addP2PCommands(CLI::App& app, Globals& g, int& rc) {
  static ClientArgs client;
  auto* peer = app.add_subcommand("peer", "The peer overlay of the running daemon (libp2p: TCP, Noise, Yamux)");
  peer->require_subcommand(1);
  auto* id = peer->add_subcommand("id", "This node's peer id, addresses and protocols");
  addClientOptions(id, client);
  id->callback([&g, &rc] { rc = call(g, client, "GET", "/v1/p2p/id"); });
  auto* addrs = peer->add_subcommand("addrs", "This node's listen addresses (with /p2p/)");
  addClientOptions(addrs, client);
  addrs->callback([&g, &rc] { rc = call(g, client, "GET", "/v1/p2p/id"); });
  auto* ls = peer->add_subcommand("ls", "Connected peers");
  addClientOptions(ls, client);
  ls->callback([&g, &rc] { rc = call(g, client, "GET", "/v1/p2p/peers"); });
  auto* known = peer->add_subcommand("known", "Peers remembered in the peer store (addresses, protocols, last seen)");
  addClientOptions(known, client);
  known->callback([&g, &rc] { rc = call(g, client, "GET", "/v1/p2p/known"); });
  static std::string dial_addr;
  auto* dial = peer->add_subcommand("dial", "Connect to a peer: /ip4/ADDR/tcp/PORT/p2p/ID");
  dial->add_option("addr", dial_addr, "Multiaddr with /p2p/")->required();
  addClientOptions(dial, client);
  dial->callback([&g, &rc] { rc = call(g, client, "POST", "/v1/p2p/dial", {{"addr", dial_addr}}); });
  static std::string ping_target;
  static int ping_count = 3;
  auto* ping = peer->add_subcommand("ping", "Ping a peer (/ipfs/ping/1.0.0): a multiaddr with /p2p/, or a known peer id");
  ping->add_option("target", ping_target, "Multiaddr or peer id")->required();
  ping->add_option("-n,--count", ping_count, "Round trips")->capture_default_str();
  addClientOptions(ping, client);
  ping->callback([&g, &rc] {
    nlohmann::json body{{"count", ping_count}};
    body[ping_target.starts_with("/") ? "addr" : "peer"] = ping_target;
    rc = call(g, client, "POST", "/v1/p2p/ping", body);
  });

  auto* pubsub = app.add_subcommand("pubsub", "Publish/subscribe on GossipSub topics through the running daemon");
  pubsub->require_subcommand(1);
  static std::string topic, data;
  static int sub_count = 0;
  static double sub_timeout = 0;
  auto* sub = pubsub->add_subcommand("sub", "Subscribe and print messages as they arrive");
  sub->add_option("topic", topic, "Topic")->required();
  sub->add_option("-n,--count", sub_count, "Exit after this many messages (0: run until Ctrl-C)")->capture_default_str();
  sub->add_option("--timeout", sub_timeout, "Fail after this many seconds (0: no limit)")->capture_default_str();
  addClientOptions(sub, client);
  sub->callback([&g, &rc] { rc = subscribeLoop(g, client, topic, sub_count, sub_timeout); });
  auto* pub = pubsub->add_subcommand("pub", "Publish a message (signed by the node's key)");
  pub->add_option("topic", topic, "Topic")->required();
  pub->add_option("data", data, "Message text")->required();
  addClientOptions(pub, client);
  pub->callback([&g, &rc] { rc = call(g, client, "POST", "/v1/pubsub/publish", {{"topic", topic}, {"data", data}}); });
  static std::string peers_topic;
  auto* peers = pubsub->add_subcommand("peers", "Peers subscribed to a topic (all pubsub peers without one) and our mesh");
  peers->add_option("topic", peers_topic, "Topic");
  addClientOptions(peers, client);
  peers->callback([&g, &rc] {
    rc = call(g, client, "GET", "/v1/pubsub/peers" + (peers_topic.empty() ? std::string() : "?topic=" + pct(peers_topic)));
  });

  auto* dht = app.add_subcommand("dht", "The Kademlia DHT through the running daemon");
  dht->require_subcommand(1);
  static std::string name, value, key, cid;
  auto* put = dht->add_subcommand("put", "Store a signed record /aether/<our peer id>/<name> (on /aether/kad/1.0.0)");
  put->add_option("name", name, "Record name")->required();
  put->add_option("value", value, "Record value (text)")->required();
  addClientOptions(put, client);
  put->callback([&g, &rc] { rc = call(g, client, "POST", "/v1/dht/put", {{"name", name}, {"value", value}}); });
  auto* get = dht->add_subcommand("get", "Find the best record for a key (/aether/<peer id>/<name>)");
  get->add_option("key", key, "Record key")->required();
  addClientOptions(get, client);
  get->callback([&g, &rc] { rc = call(g, client, "GET", "/v1/dht/get?key=" + pct(key)); });
  auto* provide = dht->add_subcommand("provide", "Announce this node as a provider of a CID (on /ipfs/kad/1.0.0)");
  provide->add_option("cid", cid, "CID")->required();
  addClientOptions(provide, client);
  provide->callback([&g, &rc] { rc = call(g, client, "POST", "/v1/dht/provide", {{"cid", cid}}); });
  auto* providers = dht->add_subcommand("providers", "Find providers of a CID");
  providers->add_option("cid", cid, "CID")->required();
  addClientOptions(providers, client);
  providers->callback([&g, &rc] { rc = call(g, client, "GET", "/v1/dht/providers?cid=" + pct(cid)); });
}

}  // namespace aether::cli
