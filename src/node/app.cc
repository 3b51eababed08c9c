// Node::runApp: an app run end to end — negotiation, consent, the app's key and token, the gate
// that checks every host call against the token, and the services behind the host API.
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <map>

#include "log/log.h"
#include "node/gate.h"
#include "node/http_client.h"
#include "node/node.h"

namespace aether::node {

namespace fs = std::filesystem;

namespace {

class NodeServices final : public sandbox::Services {
 public:
  NodeServices(store::Vault* vault, std::string app_name, std::string app_did, const crypto::Ed25519KeyPair& app_key,
               fs::path audit_path)
      : vault_(vault), app_(std::move(app_name)), app_did_(std::move(app_did)), key_(app_key),
        audit_path_(std::move(audit_path)) {}

  std::vector<sandbox::AuditEvent> denials;

  Result<Bytes> sign(ByteView message) override {
    const auto sig = key_.sign(message);
    return Bytes(sig.begin(), sig.end());
  }

  Result<std::optional<Bytes>> kvGet(std::string_view key) override {
    AE_TRY(needVault());
    return vault_->getMeta(ns(), key);
  }
  Status kvSet(std::string_view key, ByteView value) override {
    AE_TRY(needVault());
    store::VaultBatch b;
    b.putMeta(ns(), key, value);
    return vault_->commit(b, true);
  }
  Status kvDelete(std::string_view key) override {
    AE_TRY(needVault());
    store::VaultBatch b;
    b.deleteMeta(ns(), key);
    return vault_->commit(b, true);
  }
  Result<std::vector<std::string>> kvList(std::string_view prefix) override {
    AE_TRY(needVault());
    return vault_->listMeta(ns(), prefix, 1000);
  }
  Result<std::string> blockPut(ByteView data) override {
    AE_TRY(needVault());
    AE_ASSIGN_OR_RETURN(codec::Cid cid, store::cidForBlock(1, codec::mc::kRaw, data));
    store::VaultBatch b;
    b.putBlock(cid, data);
    AE_TRY(vault_->commit(b, true));
    return cid.toString();
  }
  Result<Bytes> blockGet(std::string_view cid_text) override {
    AE_TRY(needVault());
    AE_ASSIGN_OR_RETURN(codec::Cid cid, codec::Cid::parse(cid_text));
    return vault_->get(cid);
  }
  // The app's own signed stream "<app DID>/<name>" in the node's vault, signed by the app key;
  // one synced vault commit per call (durable when it returns, as `aether log append`).
  Result<std::uint64_t> logAppend(std::string_view name, ByteView payload) override {
    AE_TRY(needVault());
    AE_ASSIGN_OR_RETURN(log::Stream * s, ownStream(name));
    const Bytes one(payload.begin(), payload.end());
    AE_ASSIGN_OR_RETURN(log::AppendResult r, s->append(std::span<const Bytes>(&one, 1)));
    return r.first_seq;
  }
  // Entry `seq` of the app's own stream, or of another author's stream the vault holds
  // (imported with `aether log import`, or another app's on this node). The gate has checked
  // streams.read on it.
  Result<Bytes> logRead(std::string_view author, std::string_view name, std::uint64_t seq) override {
    AE_TRY(needVault());
    log::Stream* s = nullptr;
    std::unique_ptr<log::Stream> other;
    if (author == app_did_) {
      AE_ASSIGN_OR_RETURN(s, ownStream(name));
    } else {
      AE_TRY(log::validateStreamName(name));
      AE_ASSIGN_OR_RETURN(other, log::Stream::openReadOnly(*vault_, std::string(author) + "/" + std::string(name)));
      s = other.get();
    }
    AE_ASSIGN_OR_RETURN(log::Entry e, s->get(seq));
    return s->payload(e);
  }

  // Only reached after the gate allowed the URL; the client dials the origin the gate checked.
  Result<sandbox::HttpResponse> httpFetch(const sandbox::HttpRequest& request) override {
    HttpClientOptions options;
    options.user_agent = "aether-app/" + app_;
    return node::httpFetch(request, options);
  }

  void audit(const sandbox::AuditEvent& e) override {
    if (!e.allowed) denials.push_back(e);
    nlohmann::json line = {{"ts", std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count()},
                           {"app", app_},
                           {"app_did", app_did_},
                           {"function", e.function},
                           {"right", e.right},
                           {"resource", e.resource},
                           {"allowed", e.allowed},
                           {"detail", e.detail}};
    std::ofstream out(audit_path_, std::ios::app);
    out << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }

 private:
  Status needVault() const {
    if (!vault_) return fail(Errc::kIo, "the node's vault is not open for this run");
    return {};
  }
  std::string ns() const { return "kv/" + app_; }
  // Opened once per run and name (loading a stream reads its whole index).
  Result<log::Stream*> ownStream(std::string_view name) {
    auto it = streams_.find(std::string(name));
    if (it != streams_.end()) return it->second.get();
    AE_ASSIGN_OR_RETURN(std::unique_ptr<log::Stream> s, log::Stream::open(*vault_, key_, name, log::systemClock()));
    log::Stream* raw = s.get();
    streams_.emplace(std::string(name), std::move(s));
    return raw;
  }

  store::Vault* vault_;
  std::string app_;
  std::string app_did_;
  const crypto::Ed25519KeyPair& key_;
  fs::path audit_path_;
  std::map<std::string, std::unique_ptr<log::Stream>> streams_;
};

Result<Bytes> readFile(const fs::path& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::kIo, "cannot open " + path.string());
  Bytes out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (out.size() > limit) return fail(Errc::kLimitExceeded, path.string() + " is larger than " + std::to_string(limit) + " bytes");
  return out;
}

// An app name from a file name: lower case, [a-z0-9-], starting with a letter.
std::string nameFromFile(const fs::path& p) {
  std::string out;
  for (char c : p.stem().string()) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out.push_back((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : '-');
  }
  if (out.empty() || !(out[0] >= 'a' && out[0] <= 'z')) out = "app-" + out;
  if (out.size() > 64) out.resize(64);
  return out;
}

Result<crypto::Ed25519KeyPair> appKey(const crypto::Ed25519KeyPair& node_key, std::string_view name) {
  AE_ASSIGN_OR_RETURN(crypto::SecretBytes seed, node_key.seed());
  AE_ASSIGN_OR_RETURN(crypto::SecretBytes app_seed,
                      crypto::hkdfSha256(seed.view(), {}, toBytes("aether app key v1" + std::string(name)), 32));
  return crypto::Ed25519KeyPair::fromSeed(app_seed.view());
}

}  // namespace

Status TokenGate::check(std::string_view right, std::string_view resource) {
  if (token_.empty()) return fail(Errc::kPermissionDenied, "this app was granted no capabilities");
  // A URL's query is not part of the resource: http rights are checked on the URL without it
  // (the HTTP client sends the query along to the origin and path checked here).
  if (right.starts_with("http.")) resource = resource.substr(0, resource.find('?'));
  auto normal = cap::normalizeResource(right, resource);
  if (!normal) return fail(Errc::kPermissionDenied, "not a valid resource: " + normal.error().message);
  auto want = cap::Capability::parse(right, *normal);
  if (!want) return fail(Errc::kPermissionDenied, "not a valid capability: " + want.error().message);
  auto st = verifier_.check(token_, holder_, *want);
  if (!st) return fail(Errc::kPermissionDenied, st.error().message);
  return {};
}

Result<std::string> appDid(const crypto::Ed25519KeyPair& node_key, std::string_view name) {
  AE_ASSIGN_OR_RETURN(crypto::Ed25519KeyPair k, appKey(node_key, name));
  return identity::didKeyFromEd25519(k.publicKey());
}

Result<AppPackage> loadAppPackage(const fs::path& path, std::span<const cap::Capability> grants) {
  constexpr std::size_t kMaxWasm = 64 << 20;
  std::error_code ec;
  AppPackage app;
  app.source = path;
  if (fs::is_directory(path, ec)) {
    const fs::path toml = path / "aether.toml";
    AE_ASSIGN_OR_RETURN(Bytes text, readFile(toml, cap::kMaxManifestBytes));
    auto m = cap::parseManifest(asChars(text));
    if (!m) return fail(m.error().code, toml.string() + ": " + m.error().message);
    app.manifest = std::move(*m);
    const fs::path entry = path / app.manifest.entry;
    auto wasm = readFile(entry, kMaxWasm);
    if (!wasm) {
      return fail(Errc::kNotFound, entry.string() + " (the manifest's entry) is missing: run `aether build` in " +
                                       path.string());
    }
    app.wasm = std::move(*wasm);
    return app;
  }
  AE_ASSIGN_OR_RETURN(app.wasm, readFile(path, kMaxWasm));
  app.manifest.name = nameFromFile(path);
  app.manifest.version = cap::SemVer{0, 0, 0, "", ""};
  app.manifest.entry = path.filename().string();
  for (const auto& g : grants) app.manifest.capabilities.push_back(cap::ManifestCapability{g, "granted on the command line"});
  return app;
}

Result<AppRunReport> Node::runApp(const AppPackage& app, const AppRunOptions& options) const {
  // 1. What the app gets.
  cap::Policy policy;
  if (options.policy) {
    policy = *options.policy;
  } else {
    for (const auto& c : app.manifest.capabilities) policy.allow.push_back(cap::PolicyRule{c.capability, "declared by the app"});
  }
  auto approval = options.requested.empty() ? cap::negotiate(app.manifest, policy)
                                            : cap::negotiate(app.manifest, options.requested, policy);
  if (!approval) return std::unexpected(approval.error().toError());
  std::vector<cap::Capability> granted = approval->capabilities();
  if (!granted.empty()) {
    if (!options.consent) {
      return fail(Errc::kPermissionDenied, "app " + app.manifest.name +
                                               " asks for capabilities and nobody can consent: run with --yes or a --policy file");
    }
    AE_ASSIGN_OR_RETURN(bool yes, options.consent(cap::describeConsent(app.manifest, *approval)));
    if (!yes) return fail(Errc::kPermissionDenied, "consent refused: app " + app.manifest.name + " was not started");
  }

  // 2. The app's identity and its token.
  AE_ASSIGN_OR_RETURN(crypto::Ed25519KeyPair app_key, appKey(key(), app.manifest.name));
  const std::string app_did = identity::didKeyFromEd25519(app_key.publicKey());
  cap::SystemClock clock;
  cap::Ed25519SignatureVerifier signatures;
  cap::TokenVerifier verifier({did()}, clock, signatures);
  std::string token;
  if (options.token) {
    token = *options.token;
    auto verified = verifier.verify(token);
    if (!verified) return fail(verified.error().code, "the app's token is refused: " + verified.error().message);
    if (verified->audience != app_did) {
      return fail(Errc::kPermissionDenied, "the app's token is refused: wrong-audience: it is for " + verified->audience +
                                               ", not for app " + app.manifest.name + " (" + app_did + ")");
    }
    // The token is the app's authority for this run: what it proves is what the services serve.
    granted = verified->capabilities;
  } else if (!granted.empty()) {
    crypto::SystemRng rng;
    const std::int64_t now = clock.now();
    AE_ASSIGN_OR_RETURN(token, cap::mintToken(key(), app_did, granted,
                                              cap::TokenOptions{.expiresAt = now + static_cast<std::int64_t>(approval->limits.capTtl),
                                                                .notBefore = now - 60},
                                              rng));
  }

  // 3. Services: the vault only if the app may use kv, blocks or streams (it is opened exclusively).
  std::unique_ptr<store::Vault> vault;
  for (const auto& c : granted) {
    if (c.rightNamespace() == "kv" || c.rightNamespace() == "blocks" || c.rightNamespace() == "streams") {
      AE_ASSIGN_OR_RETURN(vault, openVault());
      break;
    }
  }
  NodeServices services(vault.get(), app.manifest.name, app_did, app_key, home() / "audit.log");
  TokenGate gate(verifier, token, app_did);

  // Compiled components are cached under the home, authenticated with a key of the node's.
  AE_ASSIGN_OR_RETURN(crypto::SecretBytes seed, key().seed());
  AE_ASSIGN_OR_RETURN(crypto::SecretBytes cache_key,
                      crypto::hkdfSha256(seed.view(), {}, toBytes("aether module cache v1"), 32));
  sandbox::EngineOptions engine_options{home() / "cache" / "components",
                                        Bytes(cache_key.view().begin(), cache_key.view().end())};
  AE_ASSIGN_OR_RETURN(sandbox::Engine engine, sandbox::Engine::create(engine_options));
  sandbox::HostContext host{.node_did = did(), .print = options.print};
  host.app_did = app_did;
  host.gate = &gate;
  host.services = &services;
  // WASI files: granted "fs.* /dir/*" capabilities become mounts inside the app's own directory.
  std::vector<std::pair<std::string, std::string>> fs_grants;
  for (const auto& c : granted) fs_grants.emplace_back(c.right(), c.resource());
  host.fs_mounts = sandbox::fsMountsFor(fs_grants);
  if (!host.fs_mounts.empty()) host.app_data_dir = home() / "apps" / app.manifest.name / "files";
  sandbox::Limits limits;
  limits.fuel = options.fuel.value_or(approval->limits.fuel);
  if (options.time_limit_ms) limits.time_limit_ms = *options.time_limit_ms;
  limits.max_memory_bytes = static_cast<std::int64_t>(std::min<std::uint64_t>(approval->limits.memory, std::uint64_t{4} << 30));
  // The manifest's (or the policy's) fs quota bounds <home>/apps/<name>/files.
  limits.fs_quota_bytes = approval->limits.fsQuota;
  AE_ASSIGN_OR_RETURN(sandbox::RunResult result, engine.runComponent(app.wasm, host, limits));
  return AppRunReport{std::move(result), app_did, granted, std::move(services.denials), token};
}

}  // namespace aether::node
