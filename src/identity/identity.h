// identity: who a node is — its Ed25519 key, did:key identifiers and DID documents, the sealed
// keystore that keeps the key at rest, and compact JWS (RFC 7515) signatures with EdDSA
// (RFC 8037). Thread-safety: free functions are thread-safe; a Keystore is immutable after
// unlock and may be shared read-only between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/base.h"
#include "crypto/crypto.h"

namespace aether::identity {

// ---- did:key (w3c-ccg did-method-key, Ed25519 only) --------------------------------------------

inline constexpr std::string_view kDidKeyPrefix = "did:key:";
// Longer inputs are refused before decoding (an Ed25519 did:key is 56 characters).
inline constexpr std::size_t kMaxDidKeyLength = 256;

struct DidKey {
  crypto::Ed25519PublicKey publicKey{};
  std::string did;  // "did:key:z6Mk..."

  // The multibase multikey "z6Mk...": the method-specific id and the key's fragment.
  std::string_view fingerprint() const {
    return std::string_view(did).substr(kDidKeyPrefix.size());
  }
  // The verification method id "did:key:z6Mk...#z6Mk...", used as a JWS "kid".
  std::string keyId() const;

  friend bool operator==(const DidKey&, const DidKey&) = default;
};

// "z" + base58btc(varint(0xed) || publicKey): the Ed25519 Multikey / publicKeyMultibase value.
std::string ed25519Multikey(const crypto::Ed25519PublicKey& publicKey);
// "z" + base58btc(varint(0xec) || publicKey) for an X25519 key.
std::string x25519Multikey(const crypto::X25519PublicKey& publicKey);

// "did:key:" + ed25519Multikey(publicKey).
std::string didKeyFromEd25519(const crypto::Ed25519PublicKey& publicKey);
DidKey didKeyFor(const crypto::Ed25519PublicKey& publicKey);

// Parses exactly "did:key:z<base58btc>" naming an Ed25519 key. Errors: kLimitExceeded (too
// long), kMalformed (not did:key, not 'z' base58btc, bad base58 characters, a DID URL part such
// as '#', '?' or '/', or a key that is not a valid Ed25519 point), kNonCanonical (non-minimal
// multicodec varint), kUnsupported (another multicodec: X25519, secp256k1, P-256 ...),
// kWrongLength (an Ed25519 multicodec with other than 32 key bytes).
[[nodiscard]] Result<DidKey> parseDidKey(std::string_view did);
// "did:key:z...#z..." where the fragment is the key's own fingerprint (a verification method
// id, as in a JWS "kid"). Other fragments are kMalformed.
[[nodiscard]] Result<DidKey> parseDidKeyUrl(std::string_view url);

enum class DidDocumentFormat {
  // Ed25519VerificationKey2020 + derived X25519KeyAgreementKey2020 keyAgreement, with the
  // ed25519-2020 and x25519-2020 contexts: the example document of the did:key spec and of
  // @digitalbazaar/did-method-key (5.x, driven by Ed25519VerificationKey2020).
  kEd25519VerificationKey2020,
  // type "Multikey" with the multikey/v1 context and no keyAgreement: what
  // @digitalbazaar/did-method-key 5.x emits when driven by @digitalbazaar/ed25519-multikey.
  kMultikey,
};

// The DID document a did:key resolves to. kMalformed etc. as parseDidKey.
inline constexpr DidDocumentFormat kDefaultDidDocumentFormat =
    DidDocumentFormat::kEd25519VerificationKey2020;
[[nodiscard]] Result<nlohmann::json> didDocument(
    std::string_view did, DidDocumentFormat format = kDefaultDidDocumentFormat);
[[nodiscard]] Result<nlohmann::json> didDocument(
    const DidKey& key, DidDocumentFormat format = kDefaultDidDocumentFormat);

// ---- strict JSON --------------------------------------------------------------------------------

// Parses `text` as one JSON object, refusing what two JSON parsers could read differently:
// duplicate member names at any depth (kMalformed), nesting deeper than `maxDepth` (checked
// before parsing, reported with `tooDeep`), anything that is not an object (kMalformed).
// `what` starts every error message ("jws: protected header").
[[nodiscard]] Result<nlohmann::json> parseStrictJson(std::string_view text, std::size_t maxDepth,
                                                     Errc tooDeep, std::string_view what);

// ---- JWS compact serialization, alg EdDSA (RFC 7515, RFC 8037) ---------------------------------

// Compact JWS inputs above this size are refused (kLimitExceeded), and jwsSign never produces one.
inline constexpr std::size_t kMaxJwsBytes = 1 << 20;
// Nesting depth allowed inside a protected header.
inline constexpr std::size_t kMaxJwsHeaderDepth = 16;

struct Jws {
  nlohmann::json header;  // the protected header, a JSON object with "alg":"EdDSA"
  Bytes payload;
  crypto::Ed25519Signature signature{};
  // ASCII(BASE64URL(header) || '.' || BASE64URL(payload)) exactly as received: what is signed.
  std::string signingInput;

  // The compact serialization; for a parsed Jws it is the exact input string.
  std::string compact() const;
  // The header's "kid" if it is a string, else empty.
  std::string_view kid() const;
};

// Signs `payload` with header {"alg":"EdDSA"} merged with `protectedHeaderExtra` (null or an
// object, e.g. {"kid": didKey.keyId(), "typ": "JWT"}). The header is serialized compactly with
// keys in sorted order. kInvalidArgument if the extras are not an object, set "alg" to
// anything but "EdDSA", set "crit" or "b64", or hold invalid UTF-8; kLimitExceeded if the
// result would exceed kMaxJwsBytes.
[[nodiscard]] Result<std::string> jwsSign(const crypto::Ed25519KeyPair& key,
                                          const nlohmann::json& protectedHeaderExtra,
                                          ByteView payload);

// Strict parse: exactly three '.'-separated parts, canonical unpadded base64url, a 64-byte
// signature (kWrongLength), a header that is a JSON object without duplicate keys and at most
// kMaxJwsHeaderDepth deep (kMalformed), a string "alg" (kMalformed if missing) equal to "EdDSA"
// ("none" and every other alg: kUnsupported), no "crit" and no "b64" (kUnsupported: we
// understand no extensions). Does not verify the signature.
[[nodiscard]] Result<Jws> jwsParse(std::string_view compact);

// kBadSignature unless the signature verifies under `publicKey` (kInvalidArgument for a
// public key that is not 32 bytes).
[[nodiscard]] Status jwsVerify(const Jws& jws, ByteView publicKey);

// Verifies against the key named by the header's "kid", which must be a did:key verification
// method id ("did:key:z...#z..."); returns that key. kMalformed if kid is absent or not one.
[[nodiscard]] Result<DidKey> jwsVerifyWithKid(const Jws& jws);

// ---- sealed keystore ---------------------------------------------------------------------------
//
// One file, <home>/keystore/node.key, holding the node's Ed25519 seed sealed with
// XChaCha20-Poly1305 under a key derived from a passphrase with Argon2id. Format:
// docs/formats/keystore.md. Files are written atomically (temp file, fsync, rename, fsync of
// the directory) with mode 0600; a directory it creates gets 0700. It never reads the terminal or
// the environment: callers pass the passphrase in.

// Argon2id cost, stored in the file. Files asking for more than the k*Max values are refused
// (kLimitExceeded) so a hostile file cannot make unlock allocate unbounded memory.
struct KdfParams {
  std::uint32_t opslimit = static_cast<std::uint32_t>(crypto::kArgon2OpsModerate);
  std::uint32_t memlimitKiB = static_cast<std::uint32_t>(crypto::kArgon2MemModerate >> 10);

  static constexpr std::uint32_t kMaxOpslimit = 32;
  static constexpr std::uint32_t kMaxMemlimitKiB = 4u << 20;  // 4 GiB

  // libsodium's INTERACTIVE (2 passes, 64 MiB) and MODERATE (3 passes, 256 MiB) presets.
  static KdfParams interactive();
  static KdfParams moderate();
  friend bool operator==(const KdfParams&, const KdfParams&) = default;
};

enum class KeystoreProtection : std::uint8_t {
  kSealed = 1,       // passphrase-derived key
  kInsecureDev = 2,  // sealed under the public kInsecureDevPassphrase: NOT a secret
};

// What the file says about itself, readable without the passphrase.
struct KeystoreInfo {
  std::filesystem::path path;
  KeystoreProtection protection = KeystoreProtection::kSealed;
  KdfParams kdf;
  crypto::Ed25519PublicKey publicKey{};
  std::string did;
  // The file is readable or writable by group or others (the CLI should warn or refuse).
  bool looseFilePermissions = false;

  bool isInsecure() const { return protection == KeystoreProtection::kInsecureDev; }
};

// An unlocked keystore: the node's key pair plus the file's description.
class Keystore {
 public:
  static constexpr std::string_view kFileName = "node.key";
  // The documented passphrase of insecure dev keystores. Knowing it unlocks any such file.
  static constexpr std::string_view kInsecureDevPassphrase = "aether-insecure-dev-keystore";

  // Generates a new key and writes <dir>/node.key. kAlreadyExists if the file exists (never
  // overwritten), kInvalidArgument for an empty passphrase or KDF params outside the limits,
  // kIo / kPermissionDenied for filesystem failures.
  [[nodiscard]] static Result<Keystore> create(const std::filesystem::path& dir,
                                               ByteView passphrase, const KdfParams& kdf,
                                               crypto::Rng& rng);
  // Like create() but stores the given 32-byte seed.
  [[nodiscard]] static Result<Keystore> importSeed(const std::filesystem::path& dir,
                                                   ByteView seed, ByteView passphrase,
                                                   const KdfParams& kdf, crypto::Rng& rng);
  // A keystore explicitly marked insecure (see KeystoreProtection::kInsecureDev), for local
  // development only; isInsecure() reports it after every unlock.
  [[nodiscard]] static Result<Keystore> createInsecureDev(const std::filesystem::path& dir,
                                                          crypto::Rng& rng);

  // Reads and checks the header only: no passphrase, no KDF. kNotFound if there is no file;
  // kTruncated / kTrailingData / kMalformed / kUnsupported / kLimitExceeded for bad files.
  [[nodiscard]] static Result<KeystoreInfo> inspect(const std::filesystem::path& dir);

  // Decrypts the key. A wrong passphrase (or a modified file) is kAuthFailed; the file is only
  // read, never changed. For an insecure dev keystore `passphrase` is ignored.
  [[nodiscard]] static Result<Keystore> unlock(const std::filesystem::path& dir,
                                               ByteView passphrase);

  // Re-seals the same key under a new passphrase / cost, replacing the file atomically.
  [[nodiscard]] static Status changePassphrase(const std::filesystem::path& dir,
                                               ByteView oldPassphrase, ByteView newPassphrase,
                                               const KdfParams& kdf, crypto::Rng& rng);

  const crypto::Ed25519KeyPair& keyPair() const { return keyPair_; }
  const crypto::Ed25519PublicKey& publicKey() const { return keyPair_.publicKey(); }
  const std::string& did() const { return info_.did; }
  const KeystoreInfo& info() const { return info_; }
  bool isInsecure() const { return info_.isInsecure(); }

 private:
  static Result<Keystore> createFile(const std::filesystem::path& dir, ByteView seed,
                                     ByteView passphrase, const KdfParams& kdf,
                                     KeystoreProtection protection, crypto::Rng& rng);
  Keystore(KeystoreInfo info, crypto::Ed25519KeyPair keyPair)
      : info_(std::move(info)), keyPair_(std::move(keyPair)) {}

  KeystoreInfo info_;
  crypto::Ed25519KeyPair keyPair_;
};

}  // namespace aether::identity
