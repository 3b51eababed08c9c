// Hashes and key derivation: SHA-256, SHA-512, BLAKE2b-256, HKDF-SHA256, Argon2id.
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <sodium.h>

#include <string>
#include <utility>

#include "crypto/crypto.h"
#include "crypto/internal.h"

namespace aether::crypto {
namespace {

// Below these sizes libsodium's portable code beats OpenSSL, whose one-shot EVP_Digest pays
// an algorithm lookup per call (measured, bench/crypto_bench.cc and README.md): SHA-256 at
// 64 B is 2.0 vs 1.5 M hashes/s, even at 128 B, OpenSSL (SHA-NI) ahead from 192 B on;
// SHA-512 crosses over between 512 B and 1 KiB.
constexpr std::size_t kSha256SodiumMax = 128;
constexpr std::size_t kSha512SodiumMax = 1023;

}  // namespace

Sha256Digest sha256(ByteView data) {
  Sha256Digest out;
  if (data.size() <= kSha256SodiumMax) {
    crypto_hash_sha256(out.data(), data.data(), data.size());
    return out;
  }
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    internal::fatal("EVP_Digest(SHA-256) failed");
  }
  return out;
}

Sha512Digest sha512(ByteView data) {
  Sha512Digest out;
  if (data.size() <= kSha512SodiumMax) {
    crypto_hash_sha512(out.data(), data.data(), data.size());
    return out;
  }
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha512(), nullptr) != 1 ||
      len != out.size()) {
    internal::fatal("EVP_Digest(SHA-512) failed");
  }
  return out;
}

Blake2b256Digest blake2b256(ByteView data) {
  internal::ensureInit();  // selects the AVX2 implementation
  Blake2b256Digest out;
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), nullptr, 0);
  return out;
}

Result<Blake2b256Digest> blake2b256Keyed(ByteView key, ByteView data) {
  if (key.size() < crypto_generichash_KEYBYTES_MIN || key.size() > crypto_generichash_KEYBYTES_MAX) {
    return fail(Errc::kInvalidArgument, "blake2b256Keyed: key must be 16..64 bytes");
  }
  internal::ensureInit();
  Blake2b256Digest out;
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), key.data(), key.size());
  return out;
}

// ---- Sha256 ----

Sha256::Sha256() {
  md_ = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  ctx_ = EVP_MD_CTX_new();
  if (md_ == nullptr || ctx_ == nullptr || EVP_DigestInit_ex2(ctx_, md_, nullptr) != 1) {
    internal::fatal("OpenSSL SHA-256 context setup failed");
  }
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(ctx_);
  EVP_MD_free(md_);
}

Sha256::Sha256(Sha256&& other) noexcept
    : md_(std::exchange(other.md_, nullptr)), ctx_(std::exchange(other.ctx_, nullptr)) {}

Sha256& Sha256::operator=(Sha256&& other) noexcept {
  if (this != &other) {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
    md_ = std::exchange(other.md_, nullptr);
    ctx_ = std::exchange(other.ctx_, nullptr);
  }
  return *this;
}

void Sha256::update(ByteView data) {
  if (data.empty()) return;
  if (EVP_DigestUpdate(ctx_, data.data(), data.size()) != 1) {
    internal::fatal("EVP_DigestUpdate(SHA-256) failed");
  }
}

Sha256Digest Sha256::finish() {
  Sha256Digest out;
  unsigned int len = 0;
  // Re-initializing with a null type keeps the fetched algorithm and its provider context.
  if (EVP_DigestFinal_ex(ctx_, out.data(), &len) != 1 || len != out.size() ||
      EVP_DigestInit_ex2(ctx_, nullptr, nullptr) != 1) {
    internal::fatal("EVP_DigestFinal_ex(SHA-256) failed");
  }
  return out;
}

Sha256Digest Sha256::digest(ByteView data) {
  update(data);
  return finish();
}

// ---- HKDF ----

Status hkdfSha256Into(ByteView ikm, ByteView salt, ByteView info, std::span<std::uint8_t> out) {
  if (out.empty() || out.size() > 255 * kSha256Size) {
    return fail(Errc::kInvalidArgument,
                "hkdf-sha256: output length must be 1.." + std::to_string(255 * kSha256Size) +
                    ", got " + std::to_string(out.size()));
  }
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) return fail(Errc::kCrypto, "hkdf-sha256: OpenSSL has no HKDF");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr) return fail(Errc::kCrypto, "hkdf-sha256: EVP_KDF_CTX_new failed");

  // OpenSSL wants non-null pointers even for empty strings.
  static const unsigned char kEmpty[1] = {0};
  auto ptr = [](ByteView b) {
    return const_cast<void*>(static_cast<const void*>(b.empty() ? kEmpty : b.data()));
  };
  char digest[] = "SHA256";
  OSSL_PARAM params[5];
  int n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ptr(ikm), ikm.size());
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, ptr(salt), salt.size());
  }
  if (!info.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, ptr(info), info.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  int rc = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);  // cleanses the key material OpenSSL copied
  if (rc != 1) return fail(Errc::kCrypto, "hkdf-sha256: EVP_KDF_derive failed");
  return {};
}

Result<SecretBytes> hkdfSha256(ByteView ikm, ByteView salt, ByteView info, std::size_t length) {
  if (length == 0 || length > 255 * kSha256Size) {
    return fail(Errc::kInvalidArgument,
                "hkdf-sha256: output length must be 1.." + std::to_string(255 * kSha256Size) +
                    ", got " + std::to_string(length));
  }
  AE_ASSIGN_OR_RETURN(SecretBytes out, SecretBytes::allocate(length));
  AE_TRY(hkdfSha256Into(ikm, salt, info, out.mutableView()));
  return out;
}

// ---- Argon2id ----

static_assert(kArgon2SaltSize == crypto_pwhash_SALTBYTES);
static_assert(kArgon2OpsInteractive == crypto_pwhash_OPSLIMIT_INTERACTIVE);
static_assert(kArgon2MemInteractive == crypto_pwhash_MEMLIMIT_INTERACTIVE);
static_assert(kArgon2OpsModerate == crypto_pwhash_OPSLIMIT_MODERATE);
static_assert(kArgon2MemModerate == crypto_pwhash_MEMLIMIT_MODERATE);
static_assert(kArgon2OpsSensitive == crypto_pwhash_OPSLIMIT_SENSITIVE);
static_assert(kArgon2MemSensitive == crypto_pwhash_MEMLIMIT_SENSITIVE);
static_assert(kArgon2OpsMin == crypto_pwhash_argon2id_OPSLIMIT_MIN);
static_assert(kArgon2MemMin == crypto_pwhash_argon2id_MEMLIMIT_MIN);

Result<SecretBytes> argon2id(ByteView passphrase, ByteView salt, std::uint64_t opslimit,
                             std::size_t memlimit, std::size_t outputLength) {
  if (salt.size() != kArgon2SaltSize) {
    return fail(Errc::kInvalidArgument,
                "argon2id: salt must be 16 bytes, got " + std::to_string(salt.size()));
  }
  if (opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
      opslimit > crypto_pwhash_argon2id_OPSLIMIT_MAX) {
    return fail(Errc::kInvalidArgument, "argon2id: opslimit out of range: " +
                                            std::to_string(opslimit));
  }
  if (memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
      memlimit > crypto_pwhash_argon2id_MEMLIMIT_MAX) {
    return fail(Errc::kInvalidArgument, "argon2id: memlimit out of range: " +
                                            std::to_string(memlimit));
  }
  if (outputLength < crypto_pwhash_argon2id_BYTES_MIN ||
      outputLength > 1024) {
    return fail(Errc::kInvalidArgument, "argon2id: output length must be 16..1024");
  }
  if (passphrase.size() > crypto_pwhash_argon2id_PASSWD_MAX) {
    return fail(Errc::kInvalidArgument, "argon2id: passphrase too long");
  }
  AE_ASSIGN_OR_RETURN(SecretBytes out, SecretBytes::allocate(outputLength));
  static const char kEmpty[1] = {0};
  const char* pw =
      passphrase.empty() ? kEmpty : reinterpret_cast<const char*>(passphrase.data());
  if (crypto_pwhash(out.data(), out.size(), pw, passphrase.size(), salt.data(), opslimit,
                    memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return fail(Errc::kCrypto, "argon2id: crypto_pwhash failed (could not allocate " +
                                   std::to_string(memlimit >> 20) + " MiB?)");
  }
  return out;
}

}  // namespace aether::crypto
