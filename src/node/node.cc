#include "node/node.h"

#include <sys/stat.h>

#include <chrono>
#include <ctime>
#include <fstream>

#include "api/api.h"
#include "guests/guests.h"

namespace aether::node {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kConfigFile = "config.toml";
constexpr std::string_view kKeystoreDir = "keystore";

Status writeConfig(const fs::path& home, const std::string& did) {
  const fs::path path = home / kConfigFile;
  const fs::path tmp = home / (std::string(kConfigFile) + ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return fail(Errc::kIo, "cannot write " + tmp.string());
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm utc{};
    gmtime_r(&now, &utc);
    char created[32];
    std::strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &utc);
    out << "# Aether node configuration. Created by `aether init`.\n"
        << "format = 1\n"
        << "created = \"" << created << "\"\n"
        << "\n[node]\n"
        << "# The node's identity; its key is sealed in keystore/node.key.\n"
        << "did = \"" << did << "\"\n";
    if (!out.flush()) return fail(Errc::kIo, "cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return fail(Errc::kIo, "cannot rename " + tmp.string() + ": " + ec.message());
  return {};
}

Status makePrivateDir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(Errc::kIo, "cannot create " + dir.string() + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) return fail(Errc::kIo, "cannot chmod 0700 " + dir.string());
  return {};
}

}  // namespace

Result<fs::path> resolveHome(const std::optional<std::string>& flag, const Environment& env) {
  if (flag && !flag->empty()) return fs::absolute(*flag);
  if (env.aether_home && !env.aether_home->empty()) return fs::absolute(*env.aether_home);
  if (env.home && !env.home->empty()) return fs::path(*env.home) / ".aether";
  return fail(Errc::kInvalidArgument, "cannot find a node home: set AETHER_HOME or HOME, or pass --home");
}

bool isInitialized(const fs::path& home) {
  std::error_code ec;
  return fs::exists(home / kKeystoreDir / identity::Keystore::kFileName, ec);
}

struct Node::State {
  fs::path home;
  identity::Keystore keystore;
};

Node::Node(std::unique_ptr<State> state) : state_(std::move(state)) {}
Node::Node(Node&&) noexcept = default;
Node& Node::operator=(Node&&) noexcept = default;
Node::~Node() = default;

const fs::path& Node::home() const { return state_->home; }
const std::string& Node::did() const { return state_->keystore.did(); }
const crypto::Ed25519KeyPair& Node::key() const { return state_->keystore.keyPair(); }
bool Node::insecureDev() const { return state_->keystore.isInsecure(); }

Result<Node> Node::init(const fs::path& home, KeyProtection protection, const PassphraseSource& passphrase) {
  if (isInitialized(home)) {
    return fail(Errc::kAlreadyExists, home.string() + " already holds a node (keystore/node.key); refusing to replace it");
  }
  AE_TRY(makePrivateDir(home));
  const fs::path keystore_dir = home / kKeystoreDir;
  crypto::SystemRng rng;
  Result<identity::Keystore> ks = fail(Errc::kInternal, "unreachable");
  if (protection == KeyProtection::kInsecureDev) {
    ks = identity::Keystore::createInsecureDev(keystore_dir, rng);
  } else {
    AE_ASSIGN_OR_RETURN(std::string pass, passphrase("New passphrase to seal the node key: ", /*confirm=*/true));
    if (pass.empty()) return fail(Errc::kInvalidArgument, "empty passphrase refused");
    ks = identity::Keystore::create(keystore_dir, asBytes(pass), identity::KdfParams::moderate(), rng);
  }
  if (!ks) return withContext(std::move(ks).error(), "creating the node key");
  AE_TRY(writeConfig(home, ks->did()));
  AE_TRY(api::ensureTlsCertificate(home));  // the daemon's TLS certificate (docs/api.md)
  return Node(std::make_unique<State>(State{home, std::move(*ks)}));
}

Result<identity::KeystoreInfo> Node::describe(const fs::path& home) {
  auto info = identity::Keystore::inspect(home / kKeystoreDir);
  if (!info) return withContext(std::move(info).error(), "reading " + (home / kKeystoreDir).string());
  return info;
}

Result<Node> Node::open(const fs::path& home, const PassphraseSource& passphrase) {
  AE_ASSIGN_OR_RETURN(identity::KeystoreInfo info, describe(home));
  std::string pass;
  if (!info.isInsecure()) {
    AE_ASSIGN_OR_RETURN(pass, passphrase("Passphrase for " + info.did + ": ", /*confirm=*/false));
  }
  auto ks = identity::Keystore::unlock(home / kKeystoreDir, asBytes(pass));
  if (!ks) return withContext(std::move(ks).error(), "unlocking the node key");
  return Node(std::make_unique<State>(State{home, std::move(*ks)}));
}

Result<sandbox::RunResult> Node::runHello(const std::function<void(std::string_view)>& print) const {
  // The bundled hello app: a component built with the SDK (guests/hello-component), run through
  // the same path as any app. It asks for no capability, so there is nothing to consent to.
  AppPackage app;
  app.manifest.name = "hello";
  app.manifest.version = cap::SemVer{0, 1, 0, "", ""};
  app.manifest.entry = "hello.wasm";
  const auto wasm = guests::helloComponent();
  app.wasm.assign(wasm.begin(), wasm.end());
  AppRunOptions options;
  options.print = print;
  AE_ASSIGN_OR_RETURN(AppRunReport report, runApp(app, options));
  return std::move(report.result);
}

}  // namespace aether::node
