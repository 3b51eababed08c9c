// crypto/ wrappers side by side with the raw libraries they call, in one binary and one run:
// BM_<primitive>/aether is our API, BM_<primitive>/openssl_raw and /libsodium_raw are direct
// library calls doing the same work. Our wrapper should stay within 5% of the fastest raw one.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <sodium.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "crypto/crypto.h"

namespace {

using aether::Bytes;
namespace crypto = aether::crypto;

constexpr std::int64_t kMiB = 1 << 20;

Bytes filled(std::size_t n, std::uint8_t seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 131 + seed);
  return b;
}

void bulkArgs(benchmark::internal::Benchmark* b) {
  b->Arg(kMiB)->Arg(64 * kMiB)->Unit(benchmark::kMillisecond);
}

void smallArgs(benchmark::internal::Benchmark* b) { b->Arg(64)->Arg(1024); }

// ---- SHA-256 ----

void BM_Sha256_aether(benchmark::State& state) {
  Bytes data = filled(state.range(0), 1);
  for (auto _ : state) benchmark::DoNotOptimize(crypto::sha256(data));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Sha256_aether)->Name("BM_Sha256/aether")->Apply(bulkArgs);

void BM_Sha256_openssl(benchmark::State& state) {
  Bytes data = filled(state.range(0), 1);
  unsigned char out[32];
  for (auto _ : state) {
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Sha256_openssl)->Name("BM_Sha256/openssl_raw")->Apply(bulkArgs);

void BM_Sha256_sodium(benchmark::State& state) {
  Bytes data = filled(state.range(0), 1);
  unsigned char out[32];
  for (auto _ : state) {
    crypto_hash_sha256(out, data.data(), data.size());
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Sha256_sodium)->Name("BM_Sha256/libsodium_raw")->Apply(bulkArgs);

// Short messages (Merkle leaves and nodes, Noise transcript hashes).
void BM_Sha256Small_aether(benchmark::State& state) {
  Bytes data = filled(state.range(0), 2);
  for (auto _ : state) benchmark::DoNotOptimize(crypto::sha256(data));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Sha256Small_aether)->Name("BM_Sha256Small/aether")->Apply(smallArgs);

void BM_Sha256Small_aetherReused(benchmark::State& state) {
  Bytes data = filled(state.range(0), 2);
  crypto::Sha256 hasher;
  for (auto _ : state) benchmark::DoNotOptimize(hasher.digest(data));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Sha256Small_aetherReused)->Name("BM_Sha256Small/aether_reused")->Apply(smallArgs);

void BM_Sha256Small_openssl(benchmark::State& state) {
  Bytes data = filled(state.range(0), 2);
  unsigned char out[32];
  for (auto _ : state) {
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Sha256Small_openssl)->Name("BM_Sha256Small/openssl_raw")->Apply(smallArgs);

void BM_Sha256Small_opensslReused(benchmark::State& state) {
  Bytes data = filled(state.range(0), 2);
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex2(ctx, md, nullptr);
  unsigned char out[32];
  for (auto _ : state) {
    unsigned int len = 0;
    EVP_DigestInit_ex2(ctx, nullptr, nullptr);
    EVP_DigestUpdate(ctx, data.data(), data.size());
    EVP_DigestFinal_ex(ctx, out, &len);
    benchmark::DoNotOptimize(out);
  }
  EVP_MD_CTX_free(ctx);
  EVP_MD_free(md);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Sha256Small_opensslReused)
    ->Name("BM_Sha256Small/openssl_raw_reused")
    ->Apply(smallArgs);

void BM_Sha256Small_sodium(benchmark::State& state) {
  Bytes data = filled(state.range(0), 2);
  unsigned char out[32];
  for (auto _ : state) {
    crypto_hash_sha256(out, data.data(), data.size());
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Sha256Small_sodium)->Name("BM_Sha256Small/libsodium_raw")->Apply(smallArgs);

// ---- SHA-512 and BLAKE2b (1 MiB only; the choice of backend is the point) ----

void BM_Sha512_aether(benchmark::State& state) {
  Bytes data = filled(state.range(0), 3);
  for (auto _ : state) benchmark::DoNotOptimize(crypto::sha512(data));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Sha512_aether)->Name("BM_Sha512/aether")->Arg(kMiB);

void BM_Sha512_openssl(benchmark::State& state) {
  Bytes data = filled(state.range(0), 3);
  unsigned char out[64];
  for (auto _ : state) {
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), out, &len, EVP_sha512(), nullptr);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Sha512_openssl)->Name("BM_Sha512/openssl_raw")->Arg(kMiB);

void BM_Sha512_sodium(benchmark::State& state) {
  Bytes data = filled(state.range(0), 3);
  unsigned char out[64];
  for (auto _ : state) {
    crypto_hash_sha512(out, data.data(), data.size());
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Sha512_sodium)->Name("BM_Sha512/libsodium_raw")->Arg(kMiB);

void BM_Blake2b256_aether(benchmark::State& state) {
  Bytes data = filled(state.range(0), 4);
  for (auto _ : state) benchmark::DoNotOptimize(crypto::blake2b256(data));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Blake2b256_aether)->Name("BM_Blake2b/aether_256")->Arg(kMiB);

void BM_Blake2b256_sodium(benchmark::State& state) {
  Bytes data = filled(state.range(0), 4);
  unsigned char out[32];
  for (auto _ : state) {
    crypto_generichash(out, 32, data.data(), data.size(), nullptr, 0);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Blake2b256_sodium)->Name("BM_Blake2b/libsodium_raw_256")->Arg(kMiB);

// OpenSSL 3.0 only offers the fixed-length BLAKE2b-512, shown for the speed comparison.
void BM_Blake2b512_openssl(benchmark::State& state) {
  Bytes data = filled(state.range(0), 4);
  unsigned char out[64];
  for (auto _ : state) {
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), out, &len, EVP_blake2b512(), nullptr);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Blake2b512_openssl)->Name("BM_Blake2b/openssl_raw_512")->Arg(kMiB);

// ---- ChaCha20-Poly1305 (seal) ----

struct AeadBuffers {
  explicit AeadBuffers(std::size_t n)
      : key(filled(32, 5)), nonce(filled(24, 6)), aad(filled(16, 7)), pt(filled(n, 8)),
        out(n + 16) {}
  Bytes key, nonce, aad, pt, out;
};

void BM_ChaCha_aether(benchmark::State& state) {
  AeadBuffers b(state.range(0));
  aether::ByteView nonce(b.nonce.data(), 12);
  for (auto _ : state) {
    auto ok = crypto::chacha20poly1305SealInto(b.key, nonce, b.aad, b.pt, b.out);
    benchmark::DoNotOptimize(ok);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ChaCha_aether)->Name("BM_ChaCha20Poly1305/aether")->Apply(bulkArgs);

void BM_ChaCha_aetherCtx(benchmark::State& state) {
  AeadBuffers b(state.range(0));
  aether::ByteView nonce(b.nonce.data(), 12);
  auto ctx = crypto::ChaCha20Poly1305::create(b.key);
  for (auto _ : state) {
    auto ok = ctx->sealInto(nonce, b.aad, b.pt, b.out);
    benchmark::DoNotOptimize(ok);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ChaCha_aetherCtx)->Name("BM_ChaCha20Poly1305/aether_reused")->Apply(bulkArgs);

// The same EVP calls our wrapper makes, without the wrapper.
void opensslChaChaSeal(const std::uint8_t* key, const std::uint8_t* nonce12, const Bytes& aad,
                       const Bytes& pt, Bytes& out) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(), nullptr, key, nonce12);
  EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size()));
  EVP_EncryptUpdate(ctx, out.data(), &len, pt.data(), static_cast<int>(pt.size()));
  EVP_EncryptFinal_ex(ctx, out.data() + pt.size(), &len);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out.data() + pt.size());
  EVP_CIPHER_CTX_free(ctx);
}

void BM_ChaCha_openssl(benchmark::State& state) {
  AeadBuffers b(state.range(0));
  for (auto _ : state) {
    opensslChaChaSeal(b.key.data(), b.nonce.data(), b.aad, b.pt, b.out);
    benchmark::DoNotOptimize(b.out.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ChaCha_openssl)->Name("BM_ChaCha20Poly1305/openssl_raw")->Apply(bulkArgs);

void BM_ChaCha_sodium(benchmark::State& state) {
  AeadBuffers b(state.range(0));
  for (auto _ : state) {
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(
        b.out.data(), b.out.data() + b.pt.size(), nullptr, b.pt.data(), b.pt.size(), b.aad.data(),
        b.aad.size(), nullptr, b.nonce.data(), b.key.data());
    benchmark::DoNotOptimize(b.out.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ChaCha_sodium)->Name("BM_ChaCha20Poly1305/libsodium_raw")->Apply(bulkArgs);

// ---- XChaCha20-Poly1305 (seal) ----

void BM_XChaCha_aether(benchmark::State& state) {
  AeadBuffers b(state.range(0));
  for (auto _ : state) {
    auto ok = crypto::xchacha20poly1305SealInto(b.key, b.nonce, b.aad, b.pt, b.out);
    benchmark::DoNotOptimize(ok);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_XChaCha_aether)->Name("BM_XChaCha20Poly1305/aether")->Apply(bulkArgs);

void BM_XChaCha_aetherAlloc(benchmark::State& state) {
  AeadBuffers b(state.range(0));
  for (auto _ : state) {
    auto sealed = crypto::xchacha20poly1305Seal(b.key, b.nonce, b.aad, b.pt);
    benchmark::DoNotOptimize(sealed);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_XChaCha_aetherAlloc)->Name("BM_XChaCha20Poly1305/aether_alloc")->Apply(bulkArgs);

// The fastest raw composition: libsodium's HChaCha20 + OpenSSL's ChaCha20-Poly1305.
void BM_XChaCha_opensslHChaCha(benchmark::State& state) {
  AeadBuffers b(state.range(0));
  for (auto _ : state) {
    std::uint8_t subkey[32], nonce12[12] = {0};
    crypto_core_hchacha20(subkey, b.nonce.data(), b.key.data(), nullptr);
    std::memcpy(nonce12 + 4, b.nonce.data() + 16, 8);
    opensslChaChaSeal(subkey, nonce12, b.aad, b.pt, b.out);
    benchmark::DoNotOptimize(b.out.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_XChaCha_opensslHChaCha)
    ->Name("BM_XChaCha20Poly1305/openssl_raw_hchacha")
    ->Apply(bulkArgs);

void BM_XChaCha_sodium(benchmark::State& state) {
  AeadBuffers b(state.range(0));
  for (auto _ : state) {
    crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
        b.out.data(), b.out.data() + b.pt.size(), nullptr, b.pt.data(), b.pt.size(), b.aad.data(),
        b.aad.size(), nullptr, b.nonce.data(), b.key.data());
    benchmark::DoNotOptimize(b.out.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_XChaCha_sodium)->Name("BM_XChaCha20Poly1305/libsodium_raw")->Apply(bulkArgs);

// ---- Ed25519 ----

const Bytes kMessage = filled(64, 9);

void BM_Ed25519Sign_aether(benchmark::State& state) {
  auto kp = crypto::Ed25519KeyPair::fromSeed(filled(32, 10));
  for (auto _ : state) benchmark::DoNotOptimize(kp->sign(kMessage));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ed25519Sign_aether)->Name("BM_Ed25519Sign/aether");

void BM_Ed25519Sign_sodium(benchmark::State& state) {
  unsigned char pk[32], sk[64], sig[64];
  Bytes seed = filled(32, 10);
  crypto_sign_seed_keypair(pk, sk, seed.data());
  for (auto _ : state) {
    crypto_sign_detached(sig, nullptr, kMessage.data(), kMessage.size(), sk);
    benchmark::DoNotOptimize(sig);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ed25519Sign_sodium)->Name("BM_Ed25519Sign/libsodium_raw");

void BM_Ed25519Sign_openssl(benchmark::State& state) {
  Bytes seed = filled(32, 10);
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), 32);
  unsigned char sig[64];
  for (auto _ : state) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t len = sizeof(sig);
    EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key);
    EVP_DigestSign(ctx, sig, &len, kMessage.data(), kMessage.size());
    EVP_MD_CTX_free(ctx);
    benchmark::DoNotOptimize(sig);
  }
  EVP_PKEY_free(key);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ed25519Sign_openssl)->Name("BM_Ed25519Sign/openssl_raw");

void BM_Ed25519Verify_aether(benchmark::State& state) {
  auto kp = crypto::Ed25519KeyPair::fromSeed(filled(32, 10));
  auto sig = kp->sign(kMessage);
  for (auto _ : state) {
    benchmark::DoNotOptimize(crypto::ed25519Verify(kp->publicKey(), kMessage, sig));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ed25519Verify_aether)->Name("BM_Ed25519Verify/aether");

void BM_Ed25519Verify_sodium(benchmark::State& state) {
  unsigned char pk[32], sk[64], sig[64];
  Bytes seed = filled(32, 10);
  crypto_sign_seed_keypair(pk, sk, seed.data());
  crypto_sign_detached(sig, nullptr, kMessage.data(), kMessage.size(), sk);
  for (auto _ : state) {
    int rc = crypto_sign_verify_detached(sig, kMessage.data(), kMessage.size(), pk);
    benchmark::DoNotOptimize(rc);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ed25519Verify_sodium)->Name("BM_Ed25519Verify/libsodium_raw");

void BM_Ed25519Verify_openssl(benchmark::State& state) {
  unsigned char pk[32], sk[64], sig[64];
  Bytes seed = filled(32, 10);
  crypto_sign_seed_keypair(pk, sk, seed.data());
  crypto_sign_detached(sig, nullptr, kMessage.data(), kMessage.size(), sk);
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pk, 32);
  for (auto _ : state) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key);
    benchmark::DoNotOptimize(EVP_DigestVerify(ctx, sig, 64, kMessage.data(), kMessage.size()));
    EVP_MD_CTX_free(ctx);
  }
  EVP_PKEY_free(key);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ed25519Verify_openssl)->Name("BM_Ed25519Verify/openssl_raw");

// ---- X25519 ----

// Into a SecretBytes the caller keeps (the hot-path API).
void BM_X25519_aether(benchmark::State& state) {
  auto a = crypto::X25519KeyPair::fromSecret(filled(32, 11));
  auto b = crypto::X25519KeyPair::fromSecret(filled(32, 12));
  auto out = crypto::SecretBytes::allocate(32);
  for (auto _ : state) {
    benchmark::DoNotOptimize(a->sharedSecretInto(b->publicKey(), out->mutableView()));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_X25519_aether)->Name("BM_X25519/aether");

// Returning a fresh SecretBytes: pays sodium_malloc + sodium_free (~19 us) per call.
void BM_X25519_aetherAlloc(benchmark::State& state) {
  auto a = crypto::X25519KeyPair::fromSecret(filled(32, 11));
  auto b = crypto::X25519KeyPair::fromSecret(filled(32, 12));
  for (auto _ : state) benchmark::DoNotOptimize(a->sharedSecret(b->publicKey()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_X25519_aetherAlloc)->Name("BM_X25519/aether_alloc");

void BM_X25519_sodium(benchmark::State& state) {
  Bytes sk = filled(32, 11), skb = filled(32, 12);
  unsigned char pk[32], out[32];
  crypto_scalarmult_base(pk, skb.data());
  for (auto _ : state) {
    benchmark::DoNotOptimize(crypto_scalarmult(out, sk.data(), pk));
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_X25519_sodium)->Name("BM_X25519/libsodium_raw");

// OpenSSL from raw bytes, as x25519(secret, peer) receives them (importing the private key
// recomputes its public key, which is why this loses).
void BM_X25519_openssl(benchmark::State& state) {
  Bytes sk = filled(32, 11), skb = filled(32, 12);
  unsigned char pk[32], out[32];
  crypto_scalarmult_base(pk, skb.data());
  for (auto _ : state) {
    EVP_PKEY* priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, sk.data(), 32);
    EVP_PKEY* peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, pk, 32);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(priv, nullptr);
    std::size_t len = 32;
    EVP_PKEY_derive_init(ctx);
    EVP_PKEY_derive_set_peer(ctx, peer);
    EVP_PKEY_derive(ctx, out, &len);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(priv);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_X25519_openssl)->Name("BM_X25519/openssl_raw");

// OpenSSL with the private key imported once (what a long-lived key object could cache).
void BM_X25519_opensslCachedKey(benchmark::State& state) {
  Bytes sk = filled(32, 11), skb = filled(32, 12);
  unsigned char pk[32], out[32];
  crypto_scalarmult_base(pk, skb.data());
  EVP_PKEY* priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, sk.data(), 32);
  for (auto _ : state) {
    EVP_PKEY* peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, pk, 32);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(priv, nullptr);
    std::size_t len = 32;
    EVP_PKEY_derive_init(ctx);
    EVP_PKEY_derive_set_peer(ctx, peer);
    EVP_PKEY_derive(ctx, out, &len);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    benchmark::DoNotOptimize(out);
  }
  EVP_PKEY_free(priv);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_X25519_opensslCachedKey)->Name("BM_X25519/openssl_raw_cached_key");

// ---- HKDF-SHA256 (Noise-style: 64 bytes out, empty info) ----

void BM_Hkdf_aether(benchmark::State& state) {
  Bytes ikm = filled(32, 13), salt = filled(32, 14);
  auto out = crypto::SecretBytes::allocate(64);
  for (auto _ : state) {
    benchmark::DoNotOptimize(crypto::hkdfSha256Into(ikm, salt, {}, out->mutableView()));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Hkdf_aether)->Name("BM_HkdfSha256/aether");

void BM_Hkdf_openssl(benchmark::State& state) {
  Bytes ikm = filled(32, 13), salt = filled(32, 14);
  unsigned char out[64];
  char digest[] = "SHA256";
  for (auto _ : state) {
    EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
    EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string("digest", digest, 0),
        OSSL_PARAM_construct_octet_string("key", ikm.data(), ikm.size()),
        OSSL_PARAM_construct_octet_string("salt", salt.data(), salt.size()),
        OSSL_PARAM_construct_end()};
    benchmark::DoNotOptimize(EVP_KDF_derive(ctx, out, sizeof(out), params));
    EVP_KDF_CTX_free(ctx);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Hkdf_openssl)->Name("BM_HkdfSha256/openssl_raw");

}  // namespace
