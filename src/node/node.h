// node: the composition root. Owns the node home on disk (config.toml, keystore/), unlocks the
// node's identity, and runs the node's main job. Later issues grow this into the daemon.
// Thread-safety: a Node is thread-compatible; one thread at a time.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>
#include <string>
#include <string_view>

#include "base/base.h"
#include "cap/cap.h"
#include "identity/identity.h"
#include "sandbox/sandbox.h"
#include "store/store.h"

namespace aether::node {

// The environment variables the node reads, captured once by main() and passed down
// (nothing below main() calls getenv).
struct Environment {
  std::optional<std::string> aether_home;  // AETHER_HOME
  std::optional<std::string> home;         // HOME
  std::optional<std::string> passphrase;   // AETHER_PASSPHRASE
};

// --home flag, else $AETHER_HOME, else $HOME/.aether. kInvalidArgument if none is set.
Result<std::filesystem::path> resolveHome(const std::optional<std::string>& flag, const Environment& env);

// How the node key is sealed at init.
enum class KeyProtection {
  kPassphrase,   // Argon2id(passphrase) + XChaCha20-Poly1305
  kInsecureDev,  // sealed with a fixed, published dev passphrase; loudly flagged
};

// Supplies the passphrase when one is needed (prompt, environment...). `confirm` asks twice.
using PassphraseSource = std::function<Result<std::string>(std::string_view prompt, bool confirm)>;

// An app ready to run: its manifest (aether.toml) and its Wasm component.
struct AppPackage {
  cap::Manifest manifest;
  Bytes wasm;
  std::filesystem::path source;  // the directory or file it came from
};

// Loads an app: a directory with aether.toml and the entry it names, or a bare .wasm / .wat
// component (then a manifest named after the file declaring exactly `grants`). Manifest errors
// keep their "line L, column C" prefix.
Result<AppPackage> loadAppPackage(const std::filesystem::path& path, std::span<const cap::Capability> grants);

struct AppRunOptions {
  // What to request; empty = everything the manifest declares.
  std::vector<cap::Capability> requested;
  // The space policy; nullopt = allow exactly what the manifest declares (the user's consent
  // is the decision).
  std::optional<cap::Policy> policy;
  // Shown the consent text when anything is requested; returns true to go ahead. Null: refuse
  // any app that requests a capability.
  std::function<Result<bool>(const std::string& consent_text)> consent;
  std::function<void(std::string_view)> print;
  std::optional<std::uint64_t> fuel;  // overrides the negotiated fuel limit (0: unmetered)
  std::optional<std::uint64_t> time_limit_ms;  // wall-clock limit (default sandbox::Limits's)
  // Run under this UCAN instead of minting one (e.g. a token another party delegated to the
  // app's DID). It must verify against the node's DID as the root and name the app's DID as
  // its audience, else the app does not start (kPermissionDenied / the verifier's code, with
  // the TokenFault word first: "expired: ...", "attenuation: ...", "wrong-audience: ...").
  std::optional<std::string> token;
};

struct AppRunReport {
  sandbox::RunResult result;
  std::string app_did;
  std::vector<cap::Capability> granted;  // what the run's token grants (minted, or --token's)
  std::vector<sandbox::AuditEvent> denials;  // refused host calls (also in <home>/audit.log)
  // The UCAN the run used (minted for it, or --token's); empty when it was granted nothing. Its
  // audience is the app's DID and its root this node's: it is accepted for nothing else.
  std::string token;
};

// The DID the node gives app `name` (did:key of HKDF-SHA256(node seed, "aether app key v1" || name)).
Result<std::string> appDid(const crypto::Ed25519KeyPair& node_key, std::string_view name);

// True once `home` holds a keystore.
bool isInitialized(const std::filesystem::path& home);

class Node {
 public:
  // Creates a node home: directory (0700), config.toml and a new sealed Ed25519 key.
  // kAlreadyExists if `home` is already initialized (its key is never overwritten).
  static Result<Node> init(const std::filesystem::path& home, KeyProtection protection,
                           const PassphraseSource& passphrase);
  // The node's public identity from the keystore header alone: no passphrase needed.
  static Result<identity::KeystoreInfo> describe(const std::filesystem::path& home);
  // Opens an initialized home and unlocks the node key (asks `passphrase` unless the keystore
  // is a dev one). kNotFound if the home is not initialized, kAuthFailed on a wrong passphrase.
  static Result<Node> open(const std::filesystem::path& home, const PassphraseSource& passphrase);

  Node(Node&&) noexcept;
  Node& operator=(Node&&) noexcept;
  ~Node();

  const std::filesystem::path& home() const;
  const std::string& did() const;
  const crypto::Ed25519KeyPair& key() const;
  bool insecureDev() const;

  // The node's vault (<home>/vault), keyed by vaultKeyFromSeed(node key seed). kIo when another
  // process has it open.
  Result<std::unique_ptr<store::Vault>> openVault(const store::VaultOptions& options = {}) const;

  // Runs an app component: negotiates its capabilities (manifest x request x policy), asks for
  // consent, derives the app's key and DID (HKDF of the node seed and the app name), mints a
  // UCAN from the node key to the app DID for what was approved, and runs the component with a
  // gate that checks every host call against that token (TokenVerifier, cached) and services
  // backed by the vault (kv, blocks), an HTTP client and <home>/audit.log. A refusal by
  // negotiation or consent is kPermissionDenied and nothing runs.
  Result<AppRunReport> runApp(const AppPackage& app, const AppRunOptions& options) const;

  // The node's main job for now: run the bundled hello guest in the sandbox; its output goes
  // to `print`. Returns what the guest's run() returned.
  Result<sandbox::RunResult> runHello(const std::function<void(std::string_view)>& print) const;

 private:
  struct State;
  explicit Node(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace aether::node
