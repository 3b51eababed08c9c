// crypto: thin wrappers over vetted libraries (libsodium, OpenSSL 3) for every primitive Aether
// uses — hashes, AEADs, Ed25519, X25519, HKDF, Argon2id, randomness and locked secret memory.
// No primitive is implemented here; each call goes to whichever library measured fastest on our
// machines (see README.md). Thread-safety: free functions are thread-safe; objects are
// thread-compatible (one thread at a time per object, distinct objects in parallel).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/base.h"

// Opaque OpenSSL handles, so this header does not pull in OpenSSL's.
struct evp_md_ctx_st;
struct evp_md_st;
struct evp_cipher_ctx_st;

namespace aether::crypto {

// Initializes libsodium (CPU feature detection, secure allocator). Idempotent and thread-safe;
// every entry point here that needs it calls it, so callers only use it to fail early.
[[nodiscard]] Status init();

// ---- secret memory ----------------------------------------------------------------------------

// Bytes that hold a secret: allocated with sodium_malloc (guard pages, mlock'ed where the
// system allows, never swapped if the lock succeeds), wiped on destruction, move-only.
// Copy explicitly with clone(). A default-constructed or moved-from SecretBytes is empty.
// An allocation costs ~19 us (mmap, mprotect, mlock): keep SecretBytes for secrets that live a
// while and, on hot paths, reuse one through the *Into functions (x25519Into, hkdfSha256Into).
class SecretBytes {
 public:
  SecretBytes() = default;
  ~SecretBytes();
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  // `size` zero bytes. Fails (kCrypto) only when the secure allocator is out of memory.
  [[nodiscard]] static Result<SecretBytes> allocate(std::size_t size);
  [[nodiscard]] static Result<SecretBytes> copyOf(ByteView data);
  [[nodiscard]] Result<SecretBytes> clone() const;

  std::uint8_t* data() { return data_; }
  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  ByteView view() const { return {data_, size_}; }
  std::span<std::uint8_t> mutableView() { return {data_, size_}; }
  // Constant-time comparison with another byte string (length is not secret).
  bool equals(ByteView other) const;

 private:
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

// ---- randomness -------------------------------------------------------------------------------

// Source of random bytes, passed to whatever needs randomness so tests can substitute one.
class Rng {
 public:
  virtual ~Rng() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;
};

// The operating system CSPRNG via libsodium's randombytes_buf (getrandom on Linux).
class SystemRng final : public Rng {
 public:
  void fill(std::span<std::uint8_t> out) override;
};

// A reproducible stream (ChaCha20 keyed by the seed) for tests and fuzzers. Never for keys
// that protect anything.
class SeededRng final : public Rng {
 public:
  explicit SeededRng(std::uint64_t seed);
  void fill(std::span<std::uint8_t> out) override;

 private:
  std::array<std::uint8_t, 32> key_{};
  std::uint64_t counter_ = 0;
};

// System randomness, for call sites that take no Rng.
void randomFill(std::span<std::uint8_t> out);
Bytes randomBytes(std::size_t size);

// ---- hashes -----------------------------------------------------------------------------------

inline constexpr std::size_t kSha256Size = 32;
inline constexpr std::size_t kSha512Size = 64;
inline constexpr std::size_t kBlake2b256Size = 32;
using Sha256Digest = std::array<std::uint8_t, kSha256Size>;
using Sha512Digest = std::array<std::uint8_t, kSha512Size>;
using Blake2b256Digest = std::array<std::uint8_t, kBlake2b256Size>;

// One-shot digests. sha256 / sha512 pick libsodium for short inputs and OpenSSL (SHA-NI) for
// long ones; blake2b256 is libsodium's crypto_generichash (OpenSSL 3.0 has no unkeyed
// BLAKE2b-256).
Sha256Digest sha256(ByteView data);
Sha512Digest sha512(ByteView data);
Blake2b256Digest blake2b256(ByteView data);
// Keyed BLAKE2b-256 (a MAC / PRF; libsodium crypto_generichash with a key of 16..64 bytes, else
// kInvalidArgument). Used where a hash must not be computable without the key (vault row keys).
[[nodiscard]] Result<Blake2b256Digest> blake2b256Keyed(ByteView key, ByteView data);

// Incremental SHA-256 over OpenSSL EVP, for streaming files and for hot loops that hash many
// short messages: reusing one object avoids OpenSSL's per-call algorithm lookup and context
// allocation (64-byte inputs: 3.6 M/s, against 2.0 M/s for sha256() and 1.0 M/s for a fresh
// EVP_Digest). Allocation failure inside OpenSSL aborts, like new.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&& other) noexcept;
  Sha256& operator=(Sha256&& other) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  // REQUIRES: not moved-from.
  void update(ByteView data);
  // Returns the digest of everything since construction or the last finish(), and starts over.
  Sha256Digest finish();
  // Convenience for the hot-loop case: finish() of exactly `data`.
  Sha256Digest digest(ByteView data);

 private:
  evp_md_st* md_ = nullptr;
  evp_md_ctx_st* ctx_ = nullptr;
};

// ---- key derivation ---------------------------------------------------------------------------

// RFC 5869 HKDF with SHA-256 (OpenSSL EVP_KDF). Empty salt means the RFC's all-zero salt.
// kInvalidArgument when length is 0 or above 255 * 32.
[[nodiscard]] Result<SecretBytes> hkdfSha256(ByteView ikm, ByteView salt, ByteView info,
                                             std::size_t length);
// The same into a caller buffer (length = out.size()), e.g. a SecretBytes reused per session.
[[nodiscard]] Status hkdfSha256Into(ByteView ikm, ByteView salt, ByteView info,
                                    std::span<std::uint8_t> out);

// Argon2id v1.3 (libsodium crypto_pwhash). The presets are libsodium's.
inline constexpr std::size_t kArgon2SaltSize = 16;
inline constexpr std::uint64_t kArgon2OpsInteractive = 2;
inline constexpr std::size_t kArgon2MemInteractive = std::size_t{64} << 20;  // 64 MiB
inline constexpr std::uint64_t kArgon2OpsModerate = 3;
inline constexpr std::size_t kArgon2MemModerate = std::size_t{256} << 20;  // 256 MiB
inline constexpr std::uint64_t kArgon2OpsSensitive = 4;
inline constexpr std::size_t kArgon2MemSensitive = std::size_t{1} << 30;  // 1 GiB
inline constexpr std::uint64_t kArgon2OpsMin = 1;
inline constexpr std::size_t kArgon2MemMin = 8192;

// kInvalidArgument for a salt that is not 16 bytes, limits outside libsodium's bounds or an
// output shorter than 16 bytes; kCrypto when libsodium fails (usually: cannot get the memory).
[[nodiscard]] Result<SecretBytes> argon2id(ByteView passphrase, ByteView salt,
                                           std::uint64_t opslimit, std::size_t memlimit,
                                           std::size_t outputLength = 32);

// ---- AEAD: ChaCha20-Poly1305 (RFC 8439) and XChaCha20-Poly1305 ---------------------------------
//
// Sealed output is ciphertext || 16-byte tag. Keys must be 32 bytes and nonces 12 (IETF) or 24
// (X) bytes, else kInvalidArgument. Open fails with kAuthFailed when the tag does not verify.
// XChaCha20-Poly1305 is libsodium's construction (HChaCha20 subkey from nonce[0..16], then
// ChaCha20-Poly1305 with nonce 0x00000000 || nonce[16..24]); output is identical to
// crypto_aead_xchacha20poly1305_ietf_*. Inputs under a few KiB go through libsodium, larger
// ones through OpenSSL's vectorised ChaCha20-Poly1305 (both give the same bytes).
//
// The *Into variants write into a caller buffer: for seal out.size() must be
// plaintext.size() + 16, for open out.size() must be sealed.size() - 16. `out` may be the
// input buffer itself (exactly, in place) but must not otherwise overlap it. When open fails
// `out` is zeroed.

inline constexpr std::size_t kAeadKeySize = 32;
inline constexpr std::size_t kChaCha20Poly1305NonceSize = 12;
inline constexpr std::size_t kXChaCha20Poly1305NonceSize = 24;
inline constexpr std::size_t kAeadTagSize = 16;

[[nodiscard]] Result<Bytes> chacha20poly1305Seal(ByteView key, ByteView nonce, ByteView aad,
                                                 ByteView plaintext);
[[nodiscard]] Result<Bytes> chacha20poly1305Open(ByteView key, ByteView nonce, ByteView aad,
                                                 ByteView sealed);
[[nodiscard]] Status chacha20poly1305SealInto(ByteView key, ByteView nonce, ByteView aad,
                                              ByteView plaintext, std::span<std::uint8_t> out);
[[nodiscard]] Status chacha20poly1305OpenInto(ByteView key, ByteView nonce, ByteView aad,
                                              ByteView sealed, std::span<std::uint8_t> out);

[[nodiscard]] Result<Bytes> xchacha20poly1305Seal(ByteView key, ByteView nonce, ByteView aad,
                                                  ByteView plaintext);
[[nodiscard]] Result<Bytes> xchacha20poly1305Open(ByteView key, ByteView nonce, ByteView aad,
                                                  ByteView sealed);
[[nodiscard]] Status xchacha20poly1305SealInto(ByteView key, ByteView nonce, ByteView aad,
                                               ByteView plaintext, std::span<std::uint8_t> out);
[[nodiscard]] Status xchacha20poly1305OpenInto(ByteView key, ByteView nonce, ByteView aad,
                                               ByteView sealed, std::span<std::uint8_t> out);

// ChaCha20-Poly1305 under one fixed key, for transport loops (a Noise cipher state seals and
// opens many frames under one key): keeps the key in locked memory and reuses OpenSSL cipher
// contexts, so a frame costs no allocation. Same contracts as the *Into functions above.
class ChaCha20Poly1305 {
 public:
  [[nodiscard]] static Result<ChaCha20Poly1305> create(ByteView key);
  ~ChaCha20Poly1305();
  ChaCha20Poly1305(ChaCha20Poly1305&& other) noexcept;
  ChaCha20Poly1305& operator=(ChaCha20Poly1305&& other) noexcept;
  ChaCha20Poly1305(const ChaCha20Poly1305&) = delete;
  ChaCha20Poly1305& operator=(const ChaCha20Poly1305&) = delete;

  [[nodiscard]] Status sealInto(ByteView nonce, ByteView aad, ByteView plaintext,
                                std::span<std::uint8_t> out);
  [[nodiscard]] Status openInto(ByteView nonce, ByteView aad, ByteView sealed,
                                std::span<std::uint8_t> out);

 private:
  ChaCha20Poly1305() = default;
  SecretBytes key_;
  evp_cipher_ctx_st* encrypt_ = nullptr;
  evp_cipher_ctx_st* decrypt_ = nullptr;
};

// ---- X25519 (RFC 7748) ------------------------------------------------------------------------

inline constexpr std::size_t kX25519KeySize = 32;
using X25519PublicKey = std::array<std::uint8_t, kX25519KeySize>;

// Shared secret X25519(secret, peerPublic) via libsodium. kInvalidArgument for wrong lengths
// or when the result is all zero (the peer sent a low-order point).
[[nodiscard]] Result<SecretBytes> x25519(ByteView secret, ByteView peerPublic);
// The same into a caller buffer of 32 bytes (zeroed on failure).
[[nodiscard]] Status x25519Into(ByteView secret, ByteView peerPublic, std::span<std::uint8_t> out);

class X25519KeyPair {
 public:
  [[nodiscard]] static Result<X25519KeyPair> generate(Rng& rng);
  [[nodiscard]] static Result<X25519KeyPair> generate();
  // Any 32 bytes (clamped by the scalar multiplication, as RFC 7748 specifies).
  [[nodiscard]] static Result<X25519KeyPair> fromSecret(ByteView secret);

  const X25519PublicKey& publicKey() const { return public_; }
  const SecretBytes& secretKey() const { return secret_; }
  [[nodiscard]] Result<SecretBytes> sharedSecret(ByteView peerPublic) const;
  [[nodiscard]] Status sharedSecretInto(ByteView peerPublic, std::span<std::uint8_t> out) const;

 private:
  X25519KeyPair() = default;
  SecretBytes secret_;
  X25519PublicKey public_{};
};

// ---- Ed25519 (RFC 8032) -----------------------------------------------------------------------

inline constexpr std::size_t kEd25519PublicKeySize = 32;
inline constexpr std::size_t kEd25519SeedSize = 32;
inline constexpr std::size_t kEd25519SignatureSize = 64;
using Ed25519PublicKey = std::array<std::uint8_t, kEd25519PublicKeySize>;
using Ed25519Signature = std::array<std::uint8_t, kEd25519SignatureSize>;

// An Ed25519 signing key (libsodium). The 32-byte seed is the private key of RFC 8032.
class Ed25519KeyPair {
 public:
  [[nodiscard]] static Result<Ed25519KeyPair> generate(Rng& rng);
  [[nodiscard]] static Result<Ed25519KeyPair> generate();
  // kInvalidArgument unless seed is 32 bytes.
  [[nodiscard]] static Result<Ed25519KeyPair> fromSeed(ByteView seed);

  const Ed25519PublicKey& publicKey() const { return public_; }
  // A copy of the 32-byte seed, in locked memory.
  [[nodiscard]] Result<SecretBytes> seed() const;
  // REQUIRES: not moved-from.
  Ed25519Signature sign(ByteView message) const;
  // The X25519 key pair birationally equivalent to this key (crypto_sign_ed25519_sk_to_curve25519).
  [[nodiscard]] Result<X25519KeyPair> toX25519() const;

 private:
  Ed25519KeyPair() = default;
  SecretBytes secret_;  // libsodium layout: seed || public key
  Ed25519PublicKey public_{};
};

// kInvalidArgument for wrong lengths, kBadSignature when the signature does not verify.
// libsodium's checks are strict: canonical S, no small-order R or A, canonical A.
[[nodiscard]] Status ed25519Verify(ByteView publicKey, ByteView message, ByteView signature);

// kMalformed unless publicKey encodes a canonical curve point of the prime-order subgroup
// that is not of small order (crypto_core_ed25519_is_valid_point).
[[nodiscard]] Status ed25519ValidatePublicKey(ByteView publicKey);

// The Montgomery form of an Ed25519 public key (crypto_sign_ed25519_pk_to_curve25519).
// kInvalidArgument for a wrong length, kMalformed for a point that is invalid or of small order.
[[nodiscard]] Result<X25519PublicKey> ed25519PublicToX25519(ByteView edPublicKey);

}  // namespace aether::crypto
