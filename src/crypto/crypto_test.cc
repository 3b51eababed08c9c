#include "crypto/crypto.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>

namespace aether::crypto {
namespace {

// Expected values below are typed from the standards (FIPS 180-4 examples, RFC 5869, 7748,
// 8032, 8439, the BLAKE2 reference), never computed with this code.

Bytes h(std::string_view hex) {
  auto b = hexDecode(hex);
  EXPECT_TRUE(b.has_value()) << hex;
  return b.value_or(Bytes{});
}

template <class T>
std::string hx(const T& bytes) {
  return hexEncode(ByteView(bytes.data(), bytes.size()));
}

// Randomized tests print their seed so a failure can be replayed.
std::mt19937_64 seededEngine(const char* test) {
  std::uint64_t seed = std::random_device{}();
  if (const char* env = std::getenv("AETHER_TEST_SEED")) seed = std::stoull(env);
  std::printf("[%s] seed %llu (replay with AETHER_TEST_SEED)\n", test,
              static_cast<unsigned long long>(seed));
  return std::mt19937_64(seed);
}

Bytes randomBuf(std::mt19937_64& rng, std::size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  return b;
}

TEST(Crypto, InitIsIdempotent) {
  ASSERT_TRUE(init().has_value());
  ASSERT_TRUE(init().has_value());
}

// ---- secrets / randomness ----

TEST(SecretBytes, AllocateCopyCloneMove) {
  auto a = SecretBytes::allocate(40);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->size(), 40u);
  for (std::size_t i = 0; i < a->size(); ++i) EXPECT_EQ(a->data()[i], 0);

  auto b = SecretBytes::copyOf(asBytes("secret"));
  ASSERT_TRUE(b.has_value());
  EXPECT_TRUE(b->equals(asBytes("secret")));
  EXPECT_FALSE(b->equals(asBytes("secreT")));
  auto c = b->clone();
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->equals(asBytes("secret")));
  EXPECT_NE(c->data(), b->data());

  SecretBytes moved = std::move(*b);
  EXPECT_TRUE(moved.equals(asBytes("secret")));
  EXPECT_TRUE(b->empty());  // NOLINT(bugprone-use-after-move): moved-from is documented empty
  moved = std::move(*c);
  EXPECT_TRUE(moved.equals(asBytes("secret")));

  auto empty = SecretBytes::allocate(0);
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
}

TEST(Rng, SeededIsReproducibleAndSystemIsNot) {
  SeededRng a(42), b(42), c(43);
  Bytes x(64), y(64), z(64);
  a.fill(x);
  b.fill(y);
  c.fill(z);
  EXPECT_EQ(x, y);
  EXPECT_NE(x, z);
  a.fill(x);
  EXPECT_NE(x, y);  // the stream advances

  Bytes r1 = randomBytes(32), r2 = randomBytes(32);
  EXPECT_NE(r1, r2);
  SystemRng sys;
  Bytes s(32);
  sys.fill(s);
  EXPECT_NE(s, Bytes(32, 0));
}

// ---- hashes ----

TEST(Sha256, Fips180Vectors) {
  EXPECT_EQ(hx(sha256(asBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hx(sha256({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hx(sha256(asBytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // Long input: the OpenSSL path.
  std::string million(1000000, 'a');
  EXPECT_EQ(hx(sha256(asBytes(million))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalMatchesAndResets) {
  Sha256 hasher;
  hasher.update(asBytes("a"));
  hasher.update(asBytes(""));
  hasher.update(asBytes("bc"));
  EXPECT_EQ(hx(hasher.finish()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // finish() starts over.
  EXPECT_EQ(hx(hasher.finish()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) hasher.update(asBytes(chunk));
  EXPECT_EQ(hx(hasher.finish()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(hx(hasher.digest(asBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

  Sha256 moved = std::move(hasher);
  EXPECT_EQ(hx(moved.digest(asBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, OneShotAgreesWithIncrementalAcrossTheBackendSwitch) {
  auto rng = seededEngine("Sha256.OneShotAgrees");
  Sha256 hasher;
  for (std::size_t n : {0, 1, 55, 56, 64, 127, 128, 129, 200, 1000, 5000}) {
    Bytes data = randomBuf(rng, n);
    EXPECT_EQ(sha256(data), hasher.digest(data)) << n;
  }
}

TEST(Sha512, Fips180Vectors) {
  EXPECT_EQ(hx(sha512(asBytes("abc"))),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  EXPECT_EQ(hx(sha512({})),
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
            "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
  std::string million(1000000, 'a');
  EXPECT_EQ(hx(sha512(asBytes(million))),
            "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
            "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
}

TEST(Blake2b256, ReferenceVectors) {
  EXPECT_EQ(hx(blake2b256({})),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  EXPECT_EQ(hx(blake2b256(asBytes("abc"))),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

// Expected values from Python's hashlib.blake2b(data, digest_size=32, key=key).
TEST(Blake2b256, KeyedReferenceVectors) {
  Bytes key32(32), key16(16);
  for (std::size_t i = 0; i < 32; ++i) key32[i] = static_cast<std::uint8_t>(i);
  for (std::size_t i = 0; i < 16; ++i) key16[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(hx(*blake2b256Keyed(key32, asBytes("abc"))),
            "d63a32d3e44738d7907f964316c241adaba0abfeabc32349677578a15a203f7f");
  EXPECT_EQ(hx(*blake2b256Keyed(key16, {})),
            "037c7d740ea795902b5aebe210fafffff1f627f74010f8dc79c0d5b8a9fb5847");
  EXPECT_EQ(blake2b256Keyed(Bytes(15), asBytes("x")).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(blake2b256Keyed(Bytes(65), asBytes("x")).error().code, Errc::kInvalidArgument);
}

// ---- HKDF ----

TEST(Hkdf, Rfc5869TestCase1) {
  Bytes ikm(22, 0x0b);
  auto okm = hkdfSha256(ikm, h("000102030405060708090a0b0c"), h("f0f1f2f3f4f5f6f7f8f9"), 42);
  ASSERT_TRUE(okm.has_value()) << okm.error().toString();
  EXPECT_EQ(hexEncode(okm->view()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(Hkdf, Rfc5869TestCase3EmptySaltAndInfo) {
  Bytes ikm(22, 0x0b);
  auto okm = hkdfSha256(ikm, {}, {}, 42);
  ASSERT_TRUE(okm.has_value()) << okm.error().toString();
  EXPECT_EQ(hexEncode(okm->view()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

// Noise's Split() runs HKDF over an empty IKM; check it against HMAC-SHA256 from libsodium
// (an independent implementation): PRK = HMAC(salt, ""), T1 = HMAC(PRK, 0x01),
// T2 = HMAC(PRK, T1 || 0x02).
TEST(Hkdf, EmptyIkmMatchesHmacConstruction) {
  Bytes salt = h("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
  auto okm = hkdfSha256({}, salt, {}, 64);
  ASSERT_TRUE(okm.has_value()) << okm.error().toString();

  std::uint8_t prk[32], t1[32], t2[32];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, salt.data(), salt.size());
  crypto_auth_hmacsha256_final(&st, prk);
  const std::uint8_t one = 1, two = 2;
  crypto_auth_hmacsha256_init(&st, prk, 32);
  crypto_auth_hmacsha256_update(&st, &one, 1);
  crypto_auth_hmacsha256_final(&st, t1);
  crypto_auth_hmacsha256_init(&st, prk, 32);
  crypto_auth_hmacsha256_update(&st, t1, 32);
  crypto_auth_hmacsha256_update(&st, &two, 1);
  crypto_auth_hmacsha256_final(&st, t2);
  EXPECT_EQ(hexEncode(okm->view().first(32)), hexEncode(ByteView(t1, 32)));
  EXPECT_EQ(hexEncode(okm->view().subspan(32)), hexEncode(ByteView(t2, 32)));
}

TEST(Hkdf, IntoCallerBuffer) {
  Bytes ikm(22, 0x0b);
  Bytes out(42);
  ASSERT_TRUE(hkdfSha256Into(ikm, h("000102030405060708090a0b0c"), h("f0f1f2f3f4f5f6f7f8f9"), out));
  EXPECT_EQ(hexEncode(out),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  Bytes none;
  EXPECT_EQ(hkdfSha256Into(ikm, {}, {}, none).error().code, Errc::kInvalidArgument);
}

TEST(Hkdf, RejectsBadLengths) {
  EXPECT_EQ(hkdfSha256(asBytes("k"), {}, {}, 0).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(hkdfSha256(asBytes("k"), {}, {}, 255 * 32 + 1).error().code, Errc::kInvalidArgument);
  EXPECT_TRUE(hkdfSha256(asBytes("k"), {}, {}, 255 * 32).has_value());
}

// ---- Argon2id ----

TEST(Argon2id, DeterministicAndSaltSensitive) {
  Bytes salt1(16, 1), salt2(16, 2);
  auto a = argon2id(asBytes("correct horse"), salt1, kArgon2OpsMin, kArgon2MemMin * 8);
  auto b = argon2id(asBytes("correct horse"), salt1, kArgon2OpsMin, kArgon2MemMin * 8);
  auto c = argon2id(asBytes("correct horse"), salt2, kArgon2OpsMin, kArgon2MemMin * 8);
  auto d = argon2id(asBytes("correct horsf"), salt1, kArgon2OpsMin, kArgon2MemMin * 8);
  ASSERT_TRUE(a && b && c && d);
  EXPECT_EQ(a->size(), 32u);
  EXPECT_TRUE(a->equals(b->view()));
  EXPECT_FALSE(a->equals(c->view()));
  EXPECT_FALSE(a->equals(d->view()));
}

TEST(Argon2id, RejectsBadParameters) {
  Bytes salt(16, 1);
  EXPECT_EQ(argon2id(asBytes("pw"), Bytes(15, 1), 2, kArgon2MemMin).error().code,
            Errc::kInvalidArgument);
  EXPECT_EQ(argon2id(asBytes("pw"), salt, 0, kArgon2MemMin).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(argon2id(asBytes("pw"), salt, 2, 1024).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(argon2id(asBytes("pw"), salt, 2, kArgon2MemMin, 8).error().code,
            Errc::kInvalidArgument);
}

// ---- ChaCha20-Poly1305 ----

const char kSunscreen[] =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
    "future, sunscreen would be it.";

TEST(ChaCha20Poly1305, Rfc8439Section282) {
  Bytes key = h("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  Bytes nonce = h("070000004041424344454647");
  Bytes aad = h("50515253c0c1c2c3c4c5c6c7");
  std::string expected =
      "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
      "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
      "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
      "3ff4def08e4b7a9de576d26586cec64b6116"
      "1ae10b594f09e26a7e902ecbd0600691";
  auto sealed = chacha20poly1305Seal(key, nonce, aad, asBytes(kSunscreen));
  ASSERT_TRUE(sealed.has_value()) << sealed.error().toString();
  EXPECT_EQ(hexEncode(*sealed), expected);
  auto opened = chacha20poly1305Open(key, nonce, aad, *sealed);
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(asChars(*opened), kSunscreen);

  // The same vector through the reusable object (libsodium below 1 KiB).
  auto ctx = ChaCha20Poly1305::create(key);
  ASSERT_TRUE(ctx.has_value());
  Bytes out(sizeof(kSunscreen) - 1 + kAeadTagSize);
  ASSERT_TRUE(ctx->sealInto(nonce, aad, asBytes(kSunscreen), out).has_value());
  EXPECT_EQ(hexEncode(out), expected);
}

// Every size class (libsodium and OpenSSL paths, one-shot and reusable) must give exactly
// libsodium's bytes.
TEST(ChaCha20Poly1305, AllPathsMatchLibsodium) {
  auto rng = seededEngine("ChaCha20Poly1305.AllPathsMatchLibsodium");
  Bytes key = randomBuf(rng, 32);
  auto ctx = ChaCha20Poly1305::create(key);
  ASSERT_TRUE(ctx.has_value());
  for (std::size_t n : {0, 1, 63, 64, 1023, 1024, 1025, 4095, 4096, 4097, 65539, 1 << 20}) {
    Bytes nonce = randomBuf(rng, 12), aad = randomBuf(rng, n % 37), pt = randomBuf(rng, n);
    Bytes want(n + 16);
    unsigned long long wantLen = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(want.data(), &wantLen, pt.data(), pt.size(),
                                              aad.data(), aad.size(), nullptr, nonce.data(),
                                              key.data());
    auto sealed = chacha20poly1305Seal(key, nonce, aad, pt);
    ASSERT_TRUE(sealed.has_value());
    EXPECT_EQ(*sealed, want) << n;
    Bytes viaCtx(n + 16);
    ASSERT_TRUE(ctx->sealInto(nonce, aad, pt, viaCtx).has_value());
    EXPECT_EQ(viaCtx, want) << n;

    auto opened = chacha20poly1305Open(key, nonce, aad, want);
    ASSERT_TRUE(opened.has_value()) << n;
    EXPECT_EQ(*opened, pt);
    Bytes back(n);
    ASSERT_TRUE(ctx->openInto(nonce, aad, want, back).has_value()) << n;
    EXPECT_EQ(back, pt);
  }
}

TEST(XChaCha20Poly1305, MatchesLibsodiumOnRandomInputs) {
  auto rng = seededEngine("XChaCha20Poly1305.MatchesLibsodium");
  for (int round = 0; round < 40; ++round) {
    std::size_t n = (round < 20) ? rng() % 9000 : rng() % (3 << 20);
    if (round == 0) n = 0;
    if (round == 1) n = 4096;
    Bytes key = randomBuf(rng, 32), nonce = randomBuf(rng, 24), aad = randomBuf(rng, rng() % 100);
    Bytes pt = randomBuf(rng, n);
    Bytes want(n + 16);
    unsigned long long wantLen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(want.data(), &wantLen, pt.data(), pt.size(),
                                               aad.data(), aad.size(), nullptr, nonce.data(),
                                               key.data());
    auto sealed = xchacha20poly1305Seal(key, nonce, aad, pt);
    ASSERT_TRUE(sealed.has_value());
    ASSERT_EQ(*sealed, want) << "size " << n;

    auto opened = xchacha20poly1305Open(key, nonce, aad, want);
    ASSERT_TRUE(opened.has_value()) << "size " << n;
    EXPECT_EQ(*opened, pt);
    // And libsodium opens ours.
    Bytes back(n);
    unsigned long long backLen = 0;
    ASSERT_EQ(crypto_aead_xchacha20poly1305_ietf_decrypt(back.data(), &backLen, nullptr,
                                                         sealed->data(), sealed->size(),
                                                         aad.data(), aad.size(), nonce.data(),
                                                         key.data()),
              0);
    EXPECT_EQ(back, pt);
  }
}

using SealFn = Result<Bytes> (*)(ByteView, ByteView, ByteView, ByteView);

struct AeadCase {
  const char* name;
  SealFn seal;
  SealFn open;
  std::size_t nonceSize;
};

const AeadCase kAeads[] = {
    {"chacha", chacha20poly1305Seal, chacha20poly1305Open, 12},
    {"xchacha", xchacha20poly1305Seal, xchacha20poly1305Open, 24},
};

TEST(Aead, TamperingFailsWithAuthFailed) {
  for (const AeadCase& a : kAeads) {
    for (std::size_t n : {0, 100, 10000}) {  // libsodium and OpenSSL paths
      Bytes key(32, 7), nonce(a.nonceSize, 9), aad = toBytes("header"), pt(n, 0x42);
      auto sealed = a.seal(key, nonce, aad, pt);
      ASSERT_TRUE(sealed.has_value());
      ASSERT_TRUE(a.open(key, nonce, aad, *sealed).has_value());

      for (std::size_t pos : {std::size_t{0}, sealed->size() / 2, sealed->size() - 1}) {
        Bytes bad = *sealed;
        bad[pos] ^= 0x01;
        auto r = a.open(key, nonce, aad, bad);
        ASSERT_FALSE(r.has_value()) << a.name << " " << n << " " << pos;
        EXPECT_EQ(r.error().code, Errc::kAuthFailed);
      }
      Bytes otherKey = key;
      otherKey[0] ^= 1;
      EXPECT_EQ(a.open(otherKey, nonce, aad, *sealed).error().code, Errc::kAuthFailed);
      Bytes otherNonce = nonce;
      otherNonce[a.nonceSize - 1] ^= 1;
      EXPECT_EQ(a.open(key, otherNonce, aad, *sealed).error().code, Errc::kAuthFailed);
      EXPECT_EQ(a.open(key, nonce, asBytes("headeR"), *sealed).error().code, Errc::kAuthFailed);
      EXPECT_EQ(a.open(key, nonce, {}, *sealed).error().code, Errc::kAuthFailed);
    }
  }
}

TEST(Aead, FailedOpenZeroesOutput) {
  Bytes key(32, 7), nonce(12, 9), pt(10000, 0x42);
  auto sealed = chacha20poly1305Seal(key, nonce, {}, pt);
  ASSERT_TRUE(sealed.has_value());
  (*sealed)[sealed->size() - 1] ^= 1;
  Bytes out(pt.size(), 0xee);
  EXPECT_EQ(chacha20poly1305OpenInto(key, nonce, {}, *sealed, out).error().code,
            Errc::kAuthFailed);
  EXPECT_EQ(out, Bytes(pt.size(), 0));
}

TEST(Aead, WrongLengthsAreInvalidArgument) {
  for (const AeadCase& a : kAeads) {
    Bytes pt = toBytes("x");
    EXPECT_EQ(a.seal(Bytes(31), Bytes(a.nonceSize), {}, pt).error().code,
              Errc::kInvalidArgument);
    EXPECT_EQ(a.seal(Bytes(33), Bytes(a.nonceSize), {}, pt).error().code,
              Errc::kInvalidArgument);
    EXPECT_EQ(a.seal(Bytes(32), Bytes(a.nonceSize - 1), {}, pt).error().code,
              Errc::kInvalidArgument);
    EXPECT_EQ(a.seal(Bytes(32), Bytes(a.nonceSize + 1), {}, pt).error().code,
              Errc::kInvalidArgument);
    EXPECT_EQ(a.open(Bytes(16), Bytes(a.nonceSize), {}, Bytes(20)).error().code,
              Errc::kInvalidArgument);
    EXPECT_EQ(a.open(Bytes(32), Bytes(a.nonceSize), {}, Bytes(15)).error().code,
              Errc::kTruncated);
  }
  EXPECT_EQ(ChaCha20Poly1305::create(Bytes(16)).error().code, Errc::kInvalidArgument);
  Bytes out(10);
  EXPECT_EQ(chacha20poly1305SealInto(Bytes(32), Bytes(12), {}, Bytes(5), out).error().code,
            Errc::kInvalidArgument);
  EXPECT_EQ(chacha20poly1305OpenInto(Bytes(32), Bytes(12), {}, Bytes(20), out).error().code,
            Errc::kInvalidArgument);
}

TEST(Aead, InPlaceWorksAndPartialOverlapIsRejected) {
  for (std::size_t n : {50, 20000}) {
    Bytes key(32, 3), nonce(24, 4);
    Bytes pt(n);
    for (std::size_t i = 0; i < n; ++i) pt[i] = static_cast<std::uint8_t>(i);
    auto want = xchacha20poly1305Seal(key, nonce, {}, pt);
    ASSERT_TRUE(want.has_value());

    Bytes buf(n + 16);
    std::memcpy(buf.data(), pt.data(), n);
    ASSERT_TRUE(xchacha20poly1305SealInto(key, nonce, {}, ByteView(buf).first(n), buf));
    EXPECT_EQ(buf, *want);
    ASSERT_TRUE(xchacha20poly1305OpenInto(key, nonce, {}, buf, std::span(buf).first(n)));
    EXPECT_EQ(Bytes(buf.begin(), buf.begin() + n), pt);

    Bytes big(n + 40);
    EXPECT_EQ(xchacha20poly1305SealInto(key, nonce, {}, ByteView(big).first(n),
                                        std::span(big).subspan(8, n + 16))
                  .error()
                  .code,
              Errc::kInvalidArgument);
  }
}

// ---- X25519 ----

TEST(X25519, Rfc7748Section52) {
  auto out = x25519(h("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
                    h("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"));
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(hexEncode(out->view()),
            "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
  // The u-coordinate's top bit is set here; RFC 7748 says implementations must mask it.
  out = x25519(h("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"),
               h("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"));
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(hexEncode(out->view()),
            "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

TEST(X25519, Rfc7748Section61DiffieHellman) {
  auto alice =
      X25519KeyPair::fromSecret(h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  auto bob =
      X25519KeyPair::fromSecret(h("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  ASSERT_TRUE(alice && bob);
  EXPECT_EQ(hx(alice->publicKey()),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(hx(bob->publicKey()),
            "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  auto k1 = alice->sharedSecret(bob->publicKey());
  auto k2 = bob->sharedSecret(alice->publicKey());
  ASSERT_TRUE(k1 && k2);
  EXPECT_EQ(hexEncode(k1->view()),
            "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  EXPECT_TRUE(k1->equals(k2->view()));
}

TEST(X25519, IntoCallerBuffer) {
  auto out = SecretBytes::allocate(32);
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE(x25519Into(h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"),
                         h("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"),
                         out->mutableView()));
  EXPECT_EQ(hexEncode(out->view()),
            "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  // A low-order peer leaves zeros, not the previous secret.
  EXPECT_EQ(x25519Into(Bytes(32, 1), Bytes(32, 0), out->mutableView()).error().code,
            Errc::kInvalidArgument);
  EXPECT_TRUE(out->equals(Bytes(32, 0)));
  Bytes small(31);
  EXPECT_EQ(x25519Into(Bytes(32, 1), Bytes(32, 9), small).error().code, Errc::kInvalidArgument);
}

TEST(X25519, RejectsLowOrderPointsAndBadLengths) {
  auto kp = X25519KeyPair::generate();
  ASSERT_TRUE(kp.has_value());
  // u = 0 and u = 1 are of low order (RFC 7748 §6.1): the shared secret would be all zero.
  Bytes zero(32, 0), one(32, 0);
  one[0] = 1;
  EXPECT_EQ(kp->sharedSecret(zero).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(kp->sharedSecret(one).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(kp->sharedSecret(Bytes(31, 5)).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(X25519KeyPair::fromSecret(Bytes(33)).error().code, Errc::kInvalidArgument);
}

// ---- Ed25519 ----

struct Rfc8032Vector {
  const char* seed;
  const char* pub;
  const char* msg;
  const char* sig;
};

const Rfc8032Vector kRfc8032[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
     "d25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c"
     "387b2eaeb4302aeeb00d291612bb0c00"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc659"
     "4a7c15e9716ed28dc027beceea1ec40a"},
};

TEST(Ed25519, Rfc8032Section71Tests1To3) {
  for (const auto& v : kRfc8032) {
    auto kp = Ed25519KeyPair::fromSeed(h(v.seed));
    ASSERT_TRUE(kp.has_value());
    EXPECT_EQ(hx(kp->publicKey()), v.pub);
    Bytes msg = h(v.msg);
    auto sig = kp->sign(msg);
    EXPECT_EQ(hx(sig), v.sig);
    EXPECT_TRUE(ed25519Verify(h(v.pub), msg, h(v.sig)).has_value());

    auto seed = kp->seed();
    ASSERT_TRUE(seed.has_value());
    EXPECT_EQ(hexEncode(seed->view()), v.seed);

    Bytes otherMsg = msg;
    otherMsg.push_back(0);
    EXPECT_EQ(ed25519Verify(h(v.pub), otherMsg, h(v.sig)).error().code, Errc::kBadSignature);
    Bytes badSig = h(v.sig);
    badSig[10] ^= 0x20;
    EXPECT_EQ(ed25519Verify(h(v.pub), msg, badSig).error().code, Errc::kBadSignature);
  }
}

TEST(Ed25519, RejectsBadLengthsAndNonCanonicalS) {
  const auto& v = kRfc8032[0];
  EXPECT_EQ(ed25519Verify(Bytes(31), {}, h(v.sig)).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(ed25519Verify(h(v.pub), {}, Bytes(63)).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(Ed25519KeyPair::fromSeed(Bytes(31)).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(Ed25519KeyPair::fromSeed(Bytes(64)).error().code, Errc::kInvalidArgument);
  // S + L (the group order) verifies in lax implementations; libsodium must refuse it.
  Bytes sig = h(v.sig);
  static const std::uint8_t kL[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                      0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                      0,    0,    0,    0,    0,    0,    0,    0,
                                      0,    0,    0,    0,    0,    0,    0,    0x10};
  unsigned carry = 0;
  for (int i = 0; i < 32; ++i) {
    unsigned s = sig[32 + i] + kL[i] + carry;
    sig[32 + i] = static_cast<std::uint8_t>(s);
    carry = s >> 8;
  }
  EXPECT_EQ(ed25519Verify(h(v.pub), {}, sig).error().code, Errc::kBadSignature);
}

TEST(Ed25519, GenerateWithRngIsDeterministicPerSeed) {
  SeededRng r1(7), r2(7);
  auto a = Ed25519KeyPair::generate(r1);
  auto b = Ed25519KeyPair::generate(r2);
  auto c = Ed25519KeyPair::generate();
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->publicKey(), b->publicKey());
  EXPECT_NE(a->publicKey(), c->publicKey());
  auto sig = c->sign(asBytes("hello"));
  EXPECT_TRUE(ed25519Verify(c->publicKey(), asBytes("hello"), sig).has_value());
}

TEST(Ed25519, PublicKeyValidationAndX25519Conversion) {
  const auto& v = kRfc8032[0];
  EXPECT_TRUE(ed25519ValidatePublicKey(h(v.pub)).has_value());
  Bytes identity(32, 0);
  identity[0] = 1;  // the neutral element: small order
  EXPECT_EQ(ed25519ValidatePublicKey(identity).error().code, Errc::kMalformed);
  EXPECT_EQ(ed25519ValidatePublicKey(Bytes(32, 0)).error().code, Errc::kMalformed);
  EXPECT_EQ(ed25519ValidatePublicKey(Bytes(32, 0xff)).error().code, Errc::kMalformed);
  EXPECT_EQ(ed25519ValidatePublicKey(Bytes(31, 1)).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(ed25519PublicToX25519(identity).error().code, Errc::kMalformed);
  EXPECT_EQ(ed25519PublicToX25519(Bytes(33)).error().code, Errc::kInvalidArgument);

  // The converted secret and the converted public key describe the same X25519 key.
  for (const auto& vec : kRfc8032) {
    auto kp = Ed25519KeyPair::fromSeed(h(vec.seed));
    ASSERT_TRUE(kp.has_value());
    auto xpub = ed25519PublicToX25519(kp->publicKey());
    auto xkp = kp->toX25519();
    ASSERT_TRUE(xpub && xkp);
    EXPECT_EQ(*xpub, xkp->publicKey());
  }
  // And a DH between two converted keys agrees.
  auto a = Ed25519KeyPair::generate();
  auto b = Ed25519KeyPair::generate();
  ASSERT_TRUE(a && b);
  auto ax = a->toX25519();
  auto bx = b->toX25519();
  auto bxPub = ed25519PublicToX25519(b->publicKey());
  auto axPub = ed25519PublicToX25519(a->publicKey());
  ASSERT_TRUE(ax && bx && axPub && bxPub);
  auto s1 = ax->sharedSecret(*bxPub);
  auto s2 = bx->sharedSecret(*axPub);
  ASSERT_TRUE(s1 && s2);
  EXPECT_TRUE(s1->equals(s2->view()));
}

}  // namespace
}  // namespace aether::crypto
