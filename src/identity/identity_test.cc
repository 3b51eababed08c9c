#include "identity/identity.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "codec/codec.h"

namespace aether::identity {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

Bytes h(std::string_view hex) { return hexDecode(hex).value_or(Bytes{}); }

crypto::Ed25519PublicKey pub32(ByteView b) {
  crypto::Ed25519PublicKey k{};
  EXPECT_EQ(b.size(), k.size());
  std::copy_n(b.begin(), std::min(b.size(), k.size()), k.begin());
  return k;
}

// RFC 8032 §7.1 TEST 1.
constexpr std::string_view kRfcSeed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr std::string_view kRfcPub = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
// That key's did:key and derived X25519 key agreement key, as computed by
// @digitalbazaar/did-method-key 5.3.0 (with base58-universal), not by this code.
constexpr std::string_view kRfcDid = "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw";
constexpr std::string_view kRfcX25519 = "z6LSrEnPXPcLyNLKJPhdJ1eWqyYKARWket5BbiN1rjdUsQ9b";

// The example DID document of @digitalbazaar/did-method-key's README (5.3.0), which the
// package reproduces byte for byte when driven by Ed25519VerificationKey2020.
constexpr std::string_view kReadmeDid = "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH";
constexpr std::string_view kReadmeDoc = R"({
  "@context": [
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/security/suites/ed25519-2020/v1",
    "https://w3id.org/security/suites/x25519-2020/v1"
  ],
  "id": "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH",
  "verificationMethod": [
    {
      "id": "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH#z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH",
      "type": "Ed25519VerificationKey2020",
      "controller": "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH",
      "publicKeyMultibase": "z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH"
    }
  ],
  "authentication": [
    "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH#z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH"
  ],
  "assertionMethod": [
    "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH#z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH"
  ],
  "capabilityDelegation": [
    "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH#z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH"
  ],
  "capabilityInvocation": [
    "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH#z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH"
  ],
  "keyAgreement": [
    {
      "id": "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH#z6LSbysY2xFMRpGMhb7tFTLMpeuPRaqaWM1yECx2AtzE3KCc",
      "type": "X25519KeyAgreementKey2020",
      "controller": "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH",
      "publicKeyMultibase": "z6LSbysY2xFMRpGMhb7tFTLMpeuPRaqaWM1yECx2AtzE3KCc"
    }
  ]
})";

// ---- did:key ----

TEST(DidKey, EncodesTheRfc8032KeyAsDigitalBazaarDoes) {
  auto pk = pub32(h(kRfcPub));
  EXPECT_EQ(didKeyFromEd25519(pk), kRfcDid);
  DidKey k = didKeyFor(pk);
  EXPECT_EQ(k.did, kRfcDid);
  EXPECT_EQ(k.fingerprint(), kRfcDid.substr(8));
  EXPECT_EQ(k.keyId(), std::string(kRfcDid) + "#" + std::string(kRfcDid.substr(8)));
  EXPECT_EQ(ed25519Multikey(pk), kRfcDid.substr(8));

  auto parsed = parseDidKey(kRfcDid);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().toString();
  EXPECT_EQ(parsed->publicKey, pk);
  EXPECT_EQ(*parsed, k);
}

TEST(DidKey, DocumentMatchesDidMethodKeyReadme) {
  auto doc = didDocument(kReadmeDid);
  ASSERT_TRUE(doc.has_value()) << doc.error().toString();
  EXPECT_EQ(*doc, json::parse(kReadmeDoc)) << doc->dump(2);
}

TEST(DidKey, KeyAgreementKeyMatchesDidMethodKey) {
  auto doc = didDocument(kRfcDid);
  ASSERT_TRUE(doc.has_value());
  EXPECT_EQ((*doc)["keyAgreement"][0]["publicKeyMultibase"], kRfcX25519);
  EXPECT_EQ((*doc)["keyAgreement"][0]["id"], std::string(kRfcDid) + "#" + std::string(kRfcX25519));
}

TEST(DidKey, MultikeyDocumentMatchesEd25519MultikeyDriver) {
  // @digitalbazaar/did-method-key 5.3.0 driven by @digitalbazaar/ed25519-multikey.
  std::string d(kReadmeDid), id = d + "#" + d.substr(8);
  json want = {{"@context", {"https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"}},
               {"id", d},
               {"verificationMethod", {{{"id", id}, {"type", "Multikey"}, {"controller", d},
                                        {"publicKeyMultibase", d.substr(8)}}}},
               {"authentication", {id}},
               {"assertionMethod", {id}},
               {"capabilityDelegation", {id}},
               {"capabilityInvocation", {id}}};
  auto doc = didDocument(kReadmeDid, DidDocumentFormat::kMultikey);
  ASSERT_TRUE(doc.has_value());
  EXPECT_EQ(*doc, want) << doc->dump(2);
}

TEST(DidKey, RoundTripsRandomKeys) {
  crypto::SeededRng rng(1234);
  for (int i = 0; i < 50; ++i) {
    auto kp = crypto::Ed25519KeyPair::generate(rng);
    ASSERT_TRUE(kp.has_value());
    std::string did = didKeyFromEd25519(kp->publicKey());
    EXPECT_TRUE(did.starts_with("did:key:z6Mk")) << did;
    auto parsed = parseDidKey(did);
    ASSERT_TRUE(parsed.has_value()) << did;
    EXPECT_EQ(parsed->publicKey, kp->publicKey());
    auto url = parseDidKeyUrl(parsed->keyId());
    ASSERT_TRUE(url.has_value());
    EXPECT_EQ(url->publicKey, kp->publicKey());
  }
}

std::string didFromBytes(ByteView multicodecAndKey) {
  return "did:key:" + codec::multibaseEncode(codec::Multibase::kBase58btc, multicodecAndKey);
}

Bytes withHeader(std::initializer_list<std::uint8_t> header, ByteView key) {
  Bytes b(header);
  append(b, key);
  return b;
}

TEST(DidKey, RejectsMalformedInput) {
  const std::string good(kRfcDid);
  const Bytes pk = h(kRfcPub);
  struct Case {
    std::string input;
    Errc code;
  };
  Bytes identityPoint(32, 0);
  identityPoint[0] = 1;
  const Case cases[] = {
      {"", Errc::kMalformed},
      {"did:key:", Errc::kMalformed},
      {"did:web:example.com", Errc::kMalformed},
      {"DID:KEY:" + good.substr(8), Errc::kMalformed},
      {"did:key:1:" + good.substr(8), Errc::kMalformed},  // old versioned form
      // Other multibases of the very same bytes.
      {"did:key:" + codec::multibaseEncode(codec::Multibase::kBase16, withHeader({0xed, 0x01}, pk)),
       Errc::kMalformed},
      {"did:key:" + codec::multibaseEncode(codec::Multibase::kBase64url, withHeader({0xed, 0x01}, pk)),
       Errc::kMalformed},
      {"did:key:" + codec::multibaseEncode(codec::Multibase::kBase32, withHeader({0xed, 0x01}, pk)),
       Errc::kMalformed},
      // Trailing junk and DID URL parts.
      {good + "#" + good.substr(8), Errc::kMalformed},
      {good + "?service=x", Errc::kMalformed},
      {good + "/path", Errc::kMalformed},
      {good + " ", Errc::kMalformed},
      {good + "\n", Errc::kMalformed},
      {good + "0", Errc::kMalformed},  // '0' is not in the base58btc alphabet
      {good.substr(0, 20) + "l" + good.substr(21), Errc::kMalformed},  // nor is 'l'
      // Other key types.
      {didFromBytes(withHeader({0xec, 0x01}, pk)), Errc::kUnsupported},  // x25519-pub
      {didFromBytes(withHeader({0xe7, 0x01}, Bytes(33, 2))), Errc::kUnsupported},  // secp256k1
      {didFromBytes(withHeader({0x80, 0x24}, Bytes(33, 2))), Errc::kUnsupported},  // p256-pub
      {didFromBytes(withHeader({0x00}, pk)), Errc::kUnsupported},  // identity multicodec
      // Ed25519 with the wrong length.
      {didFromBytes(withHeader({0xed, 0x01}, Bytes(31, 9))), Errc::kWrongLength},
      {didFromBytes(withHeader({0xed, 0x01}, Bytes(33, 9))), Errc::kWrongLength},
      {didFromBytes(withHeader({0xed, 0x01}, Bytes())), Errc::kWrongLength},
      // Non-minimal varint for 0xed.
      {didFromBytes(withHeader({0xed, 0x81, 0x00}, pk)), Errc::kNonCanonical},
      // Invalid points: the neutral element (small order) and a non-canonical y.
      {didFromBytes(withHeader({0xed, 0x01}, identityPoint)), Errc::kMalformed},
      {didFromBytes(withHeader({0xed, 0x01}, Bytes(32, 0xff))), Errc::kMalformed},
      {"did:key:z" + std::string(300, '2'), Errc::kLimitExceeded},
  };
  for (const Case& c : cases) {
    auto r = parseDidKey(c.input);
    ASSERT_FALSE(r.has_value()) << "accepted: " << c.input;
    EXPECT_EQ(r.error().code, c.code) << c.input << " -> " << r.error().toString();
  }
  // Extra or missing base58 digits change every byte of the decoded number, so the exact code
  // depends on where the damage lands; what matters is that they are refused.
  for (const std::string& bad : {good + "z", good + "1", good.substr(0, good.size() - 1),
                                 good.substr(0, good.size() - 2), std::string("did:key:z"),
                                 std::string("did:key:z1"), "did:key:z1" + good.substr(9)}) {
    EXPECT_FALSE(parseDidKey(bad).has_value()) << bad;
  }
  EXPECT_FALSE(didDocument("did:key:zzz").has_value());
}

TEST(DidKey, UrlNeedsItsOwnFingerprintAsFragment) {
  const std::string good(kRfcDid);
  EXPECT_TRUE(parseDidKeyUrl(good + "#" + good.substr(8)).has_value());
  EXPECT_EQ(parseDidKeyUrl(good).error().code, Errc::kMalformed);
  EXPECT_EQ(parseDidKeyUrl(good + "#").error().code, Errc::kMalformed);
  EXPECT_EQ(parseDidKeyUrl(good + "#key-1").error().code, Errc::kMalformed);
  EXPECT_EQ(parseDidKeyUrl(good + "#" + std::string(kRfcX25519)).error().code, Errc::kMalformed);
}

// ---- JWS ----

// RFC 8037 Appendix A.1 key and A.4 signature.
constexpr std::string_view kJwkD = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
constexpr std::string_view kJwkX = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
constexpr std::string_view kRfc8037Jws =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

crypto::Ed25519KeyPair rfc8037Key() {
  auto d = codec::base64urlDecode(kJwkD);
  EXPECT_TRUE(d.has_value());
  auto kp = crypto::Ed25519KeyPair::fromSeed(*d);
  EXPECT_TRUE(kp.has_value());
  return std::move(*kp);
}

TEST(Jws, Rfc8037AppendixA4) {
  auto kp = rfc8037Key();
  EXPECT_EQ(codec::base64urlEncode(kp.publicKey()), kJwkX);
  auto signed_ = jwsSign(kp, nullptr, asBytes("Example of Ed25519 signing"));
  ASSERT_TRUE(signed_.has_value()) << signed_.error().toString();
  EXPECT_EQ(*signed_, kRfc8037Jws);
  // An empty object of extras is the same as none.
  EXPECT_EQ(jwsSign(kp, json::object(), asBytes("Example of Ed25519 signing")).value(),
            kRfc8037Jws);

  auto parsed = jwsParse(kRfc8037Jws);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().toString();
  EXPECT_EQ(parsed->header, json({{"alg", "EdDSA"}}));
  EXPECT_EQ(asChars(parsed->payload), "Example of Ed25519 signing");
  EXPECT_EQ(parsed->signingInput, kRfc8037Jws.substr(0, kRfc8037Jws.rfind('.')));
  EXPECT_EQ(parsed->compact(), kRfc8037Jws);
  EXPECT_TRUE(jwsVerify(*parsed, *codec::base64urlDecode(kJwkX)).has_value());
}

TEST(Jws, SignWithDidKeyKidAndVerifyByKid) {
  auto kp = crypto::Ed25519KeyPair::generate();
  ASSERT_TRUE(kp.has_value());
  DidKey me = didKeyFor(kp->publicKey());
  json extra = {{"kid", me.keyId()}, {"typ", "JWT"}};
  Bytes payload = toBytes(R"({"sub":"node","n":1})");
  auto compact = jwsSign(*kp, extra, payload);
  ASSERT_TRUE(compact.has_value());
  auto jws = jwsParse(*compact);
  ASSERT_TRUE(jws.has_value()) << jws.error().toString();
  EXPECT_EQ(jws->header["alg"], "EdDSA");
  EXPECT_EQ(jws->kid(), me.keyId());
  EXPECT_EQ(jws->payload, payload);
  EXPECT_EQ(jws->compact(), *compact);
  auto who = jwsVerifyWithKid(*jws);
  ASSERT_TRUE(who.has_value()) << who.error().toString();
  EXPECT_EQ(*who, me);

  // Another key's signature under this kid does not verify.
  auto other = crypto::Ed25519KeyPair::generate();
  ASSERT_TRUE(other.has_value());
  auto forged = jwsSign(*other, extra, payload);
  ASSERT_TRUE(forged.has_value());
  auto forgedJws = jwsParse(*forged);
  ASSERT_TRUE(forgedJws.has_value());
  EXPECT_EQ(jwsVerifyWithKid(*forgedJws).error().code, Errc::kBadSignature);
  EXPECT_EQ(jwsVerify(*jws, other->publicKey()).error().code, Errc::kBadSignature);
  EXPECT_EQ(jwsVerify(*jws, Bytes(31)).error().code, Errc::kInvalidArgument);

  // No kid.
  auto plain = jwsParse(jwsSign(*kp, nullptr, payload).value());
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(jwsVerifyWithKid(*plain).error().code, Errc::kMalformed);
}

TEST(Jws, TamperedPartsFailVerification) {
  auto kp = rfc8037Key();
  Bytes pub(kp.publicKey().begin(), kp.publicKey().end());
  std::string good(kRfc8037Jws);
  // Payload "Example of Ed25519 signinG".
  std::string otherPayload = "eyJhbGciOiJFZERTQSJ9." +
                             codec::base64urlEncode(asBytes("Example of Ed25519 signinG")) +
                             good.substr(good.rfind('.'));
  auto parsed = jwsParse(otherPayload);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(jwsVerify(*parsed, pub).error().code, Errc::kBadSignature);
  // A semantically equal header with different bytes ({"alg": "EdDSA"} with a space).
  std::string otherHeader = codec::base64urlEncode(asBytes(R"({"alg": "EdDSA"})")) +
                            good.substr(good.find('.'));
  parsed = jwsParse(otherHeader);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(jwsVerify(*parsed, pub).error().code, Errc::kBadSignature);
}

std::string b64(std::string_view s) { return codec::base64urlEncode(asBytes(s)); }

TEST(Jws, RejectsMalformedInput) {
  const std::string good(kRfc8037Jws);
  const std::string hdr = good.substr(0, good.find('.'));
  const std::string payload = "RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
  const std::string sig = good.substr(good.rfind('.') + 1);
  auto withHeader = [&](std::string_view headerJson) {
    return b64(headerJson) + "." + payload + "." + sig;
  };
  struct Case {
    std::string input;
    Errc code;
  };
  std::string deep = R"({"alg":"EdDSA","x":)" + std::string(40, '[') + std::string(40, ']') + "}";
  Case cases[] = {
      {"", Errc::kMalformed},
      {"abc", Errc::kMalformed},
      {hdr + "." + payload, Errc::kMalformed},                      // two parts
      {good + ".", Errc::kMalformed},                               // four parts
      {hdr + ".a.b.c." + sig, Errc::kMalformed},                    // JWE-shaped
      {"." + payload + "." + sig, Errc::kMalformed},                // empty header
      {hdr + "=." + payload + "." + sig, Errc::kMalformed},         // padding
      {hdr + "." + payload + "." + sig.substr(0, 85) + "+", Errc::kMalformed},  // std base64
      {hdr + "." + payload + "." + sig.substr(0, 85) + "h", Errc::kNonCanonical},  // trailing bits
      {hdr + ". " + payload + "." + sig, Errc::kMalformed},         // whitespace
      {hdr + "." + payload + "." + sig.substr(0, 84), Errc::kWrongLength},  // 63-byte signature
      {hdr + "." + payload + ".", Errc::kWrongLength},              // no signature
      {withHeader("not json"), Errc::kMalformed},
      {withHeader(R"(["alg","EdDSA"])"), Errc::kMalformed},
      {withHeader(R"("EdDSA")"), Errc::kMalformed},
      {withHeader(R"({"typ":"JWT"})"), Errc::kMalformed},           // no alg
      {withHeader(R"({"alg":5})"), Errc::kMalformed},
      {withHeader(R"({"alg":"none"})"), Errc::kUnsupported},
      {b64(R"({"alg":"none"})") + "." + payload + ".", Errc::kUnsupported},  // unsecured JWS
      {withHeader(R"({"alg":"HS256"})"), Errc::kUnsupported},
      {withHeader(R"({"alg":"ES256"})"), Errc::kUnsupported},
      {withHeader(R"({"alg":"eddsa"})"), Errc::kUnsupported},
      {withHeader(R"({"alg":"EdDSA","crit":["exp"],"exp":1})"), Errc::kUnsupported},
      {withHeader(R"({"alg":"EdDSA","crit":"exp"})"), Errc::kMalformed},
      {withHeader(R"({"alg":"EdDSA","crit":[]})"), Errc::kMalformed},
      {withHeader(R"({"alg":"EdDSA","b64":false,"crit":["b64"]})"), Errc::kUnsupported},
      {withHeader(R"({"alg":"EdDSA","b64":false})"), Errc::kUnsupported},
      {withHeader(R"({"alg":"EdDSA","alg":"none"})"), Errc::kMalformed},  // duplicate key
      {withHeader(R"({"alg":"none","alg":"EdDSA"})"), Errc::kMalformed},
      {withHeader(R"({"alg":"EdDSA","x":{"a":1,"a":2}})"), Errc::kMalformed},
      {withHeader(R"({"alg":"EdDSA"} trailing)"), Errc::kMalformed},
      {withHeader("{\"alg\":\"EdDSA\",\"x\":\"\xff\"}"), Errc::kMalformed},  // invalid UTF-8
      {withHeader(deep), Errc::kMalformed},
      {std::string(kMaxJwsBytes + 1, 'a'), Errc::kLimitExceeded},
  };
  for (const Case& c : cases) {
    auto r = jwsParse(c.input);
    ASSERT_FALSE(r.has_value()) << "accepted: " << c.input.substr(0, 200);
    EXPECT_EQ(r.error().code, c.code) << c.input.substr(0, 200) << " -> " << r.error().toString();
  }
  // Deep but within the limit, and same-named keys in different objects, are fine.
  EXPECT_TRUE(jwsParse(withHeader(R"({"alg":"EdDSA","x":[[[1]]],"a":{"alg":1}})")).has_value());
}

TEST(Jws, SignRejectsBadHeaders) {
  auto kp = rfc8037Key();
  EXPECT_EQ(jwsSign(kp, json::array(), {}).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(jwsSign(kp, "x", {}).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(jwsSign(kp, {{"alg", "HS256"}}, {}).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(jwsSign(kp, {{"crit", {"exp"}}}, {}).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(jwsSign(kp, {{"kid", "\xff"}}, {}).error().code, Errc::kInvalidArgument);
  EXPECT_TRUE(jwsSign(kp, {{"alg", "EdDSA"}}, {}).has_value());
  Bytes huge(kMaxJwsBytes, 'a');
  EXPECT_EQ(jwsSign(kp, nullptr, huge).error().code, Errc::kLimitExceeded);
  // The largest payload that fits still parses.
  std::size_t fits = (kMaxJwsBytes - 20 - 1 - 1 - 86) / 4 * 3;
  auto big = jwsSign(kp, nullptr, Bytes(fits, 'b'));
  ASSERT_TRUE(big.has_value()) << big.error().toString();
  auto parsed = jwsParse(*big);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().toString();
  EXPECT_EQ(parsed->compact(), *big);
}

// ---- keystore ----

class KeystoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/aether-keystore-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    home_ = tmpl;
    dir_ = home_ / "keystore";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(home_, ec);
  }

  static Bytes readAll(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
  }
  static void writeAll(const fs::path& p, ByteView b) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  }
  fs::path file() const { return dir_ / Keystore::kFileName; }

  // Cheap Argon2id so the suite stays fast; one test uses the real preset.
  static constexpr KdfParams kFast{1, 64};

  fs::path home_;
  fs::path dir_;
  crypto::SeededRng rng_{99};
};

TEST_F(KeystoreTest, CreateInspectUnlock) {
  auto ks = Keystore::create(dir_, asBytes("correct horse battery staple"), kFast, rng_);
  ASSERT_TRUE(ks.has_value()) << ks.error().toString();
  EXPECT_FALSE(ks->isInsecure());
  EXPECT_EQ(ks->did(), didKeyFromEd25519(ks->publicKey()));

  struct stat st;
  ASSERT_EQ(::stat(file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 140);
  ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  auto info = Keystore::inspect(dir_);
  ASSERT_TRUE(info.has_value()) << info.error().toString();
  EXPECT_EQ(info->did, ks->did());
  EXPECT_EQ(info->kdf, kFast);
  EXPECT_FALSE(info->isInsecure());
  EXPECT_FALSE(info->looseFilePermissions);

  auto again = Keystore::unlock(dir_, asBytes("correct horse battery staple"));
  ASSERT_TRUE(again.has_value()) << again.error().toString();
  EXPECT_EQ(again->publicKey(), ks->publicKey());
  EXPECT_FALSE(again->isInsecure());
  auto sig = again->keyPair().sign(asBytes("hello"));
  EXPECT_TRUE(crypto::ed25519Verify(ks->publicKey(), asBytes("hello"), sig).has_value());

  // No temp files left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST_F(KeystoreTest, WrongPassphraseIsAuthFailedAndLeavesFileUntouched) {
  ASSERT_TRUE(Keystore::create(dir_, asBytes("right"), kFast, rng_).has_value());
  Bytes before = readAll(file());
  struct stat st1;
  ASSERT_EQ(::stat(file().c_str(), &st1), 0);

  for (std::string_view wrong : {"wrong", "", "righT", "right "}) {
    auto r = Keystore::unlock(dir_, asBytes(wrong));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, Errc::kAuthFailed);
    EXPECT_NE(r.error().message.find("wrong passphrase"), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(readAll(file()), before);
  struct stat st2;
  ASSERT_EQ(::stat(file().c_str(), &st2), 0);
  EXPECT_EQ(st1.st_mtim.tv_sec, st2.st_mtim.tv_sec);
  EXPECT_EQ(st1.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);
  EXPECT_EQ(st1.st_ino, st2.st_ino);
  EXPECT_TRUE(Keystore::unlock(dir_, asBytes("right")).has_value());
}

TEST_F(KeystoreTest, NeverOverwritesAnExistingKeystore) {
  auto first = Keystore::create(dir_, asBytes("pw"), kFast, rng_);
  ASSERT_TRUE(first.has_value());
  Bytes before = readAll(file());
  auto second = Keystore::create(dir_, asBytes("pw"), kFast, rng_);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, Errc::kAlreadyExists);
  EXPECT_EQ(Keystore::createInsecureDev(dir_, rng_).error().code, Errc::kAlreadyExists);
  EXPECT_EQ(readAll(file()), before);
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST_F(KeystoreTest, MissingKeystoreIsNotFound) {
  EXPECT_EQ(Keystore::inspect(dir_).error().code, Errc::kNotFound);
  EXPECT_EQ(Keystore::unlock(dir_, asBytes("pw")).error().code, Errc::kNotFound);
}

TEST_F(KeystoreTest, CorruptedFilesGetTypedErrors) {
  ASSERT_TRUE(Keystore::create(dir_, asBytes("pw"), kFast, rng_).has_value());
  const Bytes good = readAll(file());
  ASSERT_EQ(good.size(), 140u);

  auto expectCode = [&](const Bytes& contents, Errc code, const char* what) {
    writeAll(file(), contents);
    auto r = Keystore::unlock(dir_, asBytes("pw"));
    ASSERT_FALSE(r.has_value()) << what;
    EXPECT_EQ(r.error().code, code) << what << ": " << r.error().toString();
  };
  auto mutate = [&](std::size_t offset, std::uint8_t value) {
    Bytes b = good;
    b[offset] = value;
    return b;
  };
  auto withU32 = [&](std::size_t offset, std::uint32_t v) {
    Bytes b = good;
    for (int i = 0; i < 4; ++i) b[offset + i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
    return b;
  };
  expectCode(Bytes(), Errc::kTruncated, "empty");
  expectCode(Bytes(good.begin(), good.begin() + 91), Errc::kTruncated, "header only");
  expectCode(Bytes(good.begin(), good.end() - 1), Errc::kTruncated, "one byte short");
  Bytes longer = good;
  longer.push_back(0);
  expectCode(longer, Errc::kTrailingData, "one byte more");
  expectCode(mutate(0, 'X'), Errc::kMalformed, "magic");
  expectCode(mutate(8, 2), Errc::kUnsupported, "version");
  expectCode(mutate(9, 7), Errc::kUnsupported, "protection");
  expectCode(mutate(10, 2), Errc::kUnsupported, "kdf");
  expectCode(mutate(11, 2), Errc::kUnsupported, "aead");
  expectCode(withU32(12, 0), Errc::kMalformed, "opslimit 0");
  expectCode(withU32(12, 1000), Errc::kLimitExceeded, "opslimit huge");
  expectCode(withU32(16, 0xffffffff), Errc::kLimitExceeded, "memlimit huge");
  expectCode(withU32(16, 4), Errc::kMalformed, "memlimit tiny");
  expectCode(mutate(20, good[20] ^ 1), Errc::kAuthFailed, "salt");
  expectCode(mutate(40, good[40] ^ 1), Errc::kAuthFailed, "nonce");
  expectCode(mutate(100, good[100] ^ 1), Errc::kAuthFailed, "ciphertext");
  expectCode(mutate(139, good[139] ^ 1), Errc::kAuthFailed, "tag");
  expectCode(mutate(9, 2), Errc::kAuthFailed, "protection flipped to insecure-dev");
  Bytes badPoint = good;
  std::fill(badPoint.begin() + 60, badPoint.begin() + 92, 0xff);
  expectCode(badPoint, Errc::kMalformed, "public key not a point");
  writeAll(file(), good);
  EXPECT_TRUE(Keystore::unlock(dir_, asBytes("pw")).has_value());
}

// A file whose seal is valid but whose header names another key: re-seal by hand with the
// crypto primitives, the way an attacker who knows the passphrase could.
TEST_F(KeystoreTest, SeedPublicKeyMismatchIsIntegrityError) {
  ASSERT_TRUE(Keystore::create(dir_, asBytes("pw"), kFast, rng_).has_value());
  Bytes file_ = readAll(file());
  auto other = crypto::Ed25519KeyPair::generate();
  ASSERT_TRUE(other.has_value());
  std::copy(other->publicKey().begin(), other->publicKey().end(), file_.begin() + 60);
  auto key = crypto::argon2id(asBytes("pw"), ByteView(file_).subspan(20, 16), 1, 64 * 1024);
  ASSERT_TRUE(key.has_value());
  auto unlocked = Keystore::unlock(dir_, asBytes("pw"));
  ASSERT_TRUE(unlocked.has_value());
  auto seed = unlocked->keyPair().seed();
  ASSERT_TRUE(seed.has_value());
  ASSERT_TRUE(crypto::xchacha20poly1305SealInto(key->view(), ByteView(file_).subspan(36, 24),
                                                ByteView(file_).first(92), seed->view(),
                                                std::span(file_).subspan(92)));
  writeAll(file(), file_);
  EXPECT_EQ(Keystore::unlock(dir_, asBytes("pw")).error().code, Errc::kIntegrity);
}

TEST_F(KeystoreTest, InsecureDevModeIsObservable) {
  auto ks = Keystore::createInsecureDev(dir_, rng_);
  ASSERT_TRUE(ks.has_value()) << ks.error().toString();
  EXPECT_TRUE(ks->isInsecure());
  auto info = Keystore::inspect(dir_);
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->isInsecure());
  EXPECT_EQ(info->protection, KeystoreProtection::kInsecureDev);
  // Any passphrase (it is ignored) unlocks it, and the flag survives the round trip.
  auto unlocked = Keystore::unlock(dir_, asBytes("anything"));
  ASSERT_TRUE(unlocked.has_value()) << unlocked.error().toString();
  EXPECT_TRUE(unlocked->isInsecure());
  EXPECT_EQ(unlocked->publicKey(), ks->publicKey());
  // The documented dev passphrase and parameters really are what seals it.
  Bytes image = readAll(file());
  EXPECT_EQ(image[9], 2);
  auto key = crypto::argon2id(asBytes(Keystore::kInsecureDevPassphrase),
                              ByteView(image).subspan(20, 16), 1, 8192);
  ASSERT_TRUE(key.has_value());
  auto seed = crypto::xchacha20poly1305Open(key->view(), ByteView(image).subspan(36, 24),
                                            ByteView(image).first(92), ByteView(image).subspan(92));
  ASSERT_TRUE(seed.has_value());
  EXPECT_EQ(crypto::Ed25519KeyPair::fromSeed(*seed)->publicKey(), ks->publicKey());

  // Re-sealing with a passphrase turns it into a normal keystore.
  ASSERT_TRUE(Keystore::changePassphrase(dir_, {}, asBytes("now secret"), kFast, rng_));
  auto sealed = Keystore::unlock(dir_, asBytes("now secret"));
  ASSERT_TRUE(sealed.has_value());
  EXPECT_FALSE(sealed->isInsecure());
  EXPECT_EQ(sealed->publicKey(), ks->publicKey());
  EXPECT_EQ(Keystore::unlock(dir_, asBytes("anything")).error().code, Errc::kAuthFailed);
}

TEST_F(KeystoreTest, ChangePassphraseKeepsTheKey) {
  auto ks = Keystore::create(dir_, asBytes("old"), kFast, rng_);
  ASSERT_TRUE(ks.has_value());
  EXPECT_EQ(Keystore::changePassphrase(dir_, asBytes("wrong"), asBytes("new"), kFast, rng_)
                .error()
                .code,
            Errc::kAuthFailed);
  ASSERT_TRUE(Keystore::changePassphrase(dir_, asBytes("old"), asBytes("new"), kFast, rng_));
  EXPECT_EQ(Keystore::unlock(dir_, asBytes("old")).error().code, Errc::kAuthFailed);
  auto now = Keystore::unlock(dir_, asBytes("new"));
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->did(), ks->did());
  struct stat st;
  ASSERT_EQ(::stat(file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(KeystoreTest, ImportSeedAndArgumentChecks) {
  auto ks = Keystore::importSeed(dir_, h(kRfcSeed), asBytes("pw"), kFast, rng_);
  ASSERT_TRUE(ks.has_value());
  EXPECT_EQ(ks->did(), kRfcDid);
  fs::path other = home_ / "other";
  EXPECT_EQ(Keystore::create(other, {}, kFast, rng_).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(Keystore::create(other, asBytes("pw"), KdfParams{0, 64}, rng_).error().code,
            Errc::kInvalidArgument);
  EXPECT_EQ(Keystore::create(other, asBytes("pw"), KdfParams{1, 4}, rng_).error().code,
            Errc::kInvalidArgument);
  EXPECT_EQ(Keystore::create(other, asBytes("pw"), KdfParams{1, KdfParams::kMaxMemlimitKiB + 1},
                             rng_)
                .error()
                .code,
            Errc::kInvalidArgument);
  EXPECT_EQ(Keystore::importSeed(other, Bytes(31), asBytes("pw"), kFast, rng_).error().code,
            Errc::kInvalidArgument);
  EXPECT_FALSE(fs::exists(other / Keystore::kFileName));
}

TEST_F(KeystoreTest, LeftoverTempFileAndLoosePermissions) {
  ASSERT_TRUE(Keystore::create(dir_, asBytes("pw"), kFast, rng_).has_value());
  // What a crash between create-temp and rename leaves behind must not matter.
  writeAll(dir_ / ".node.key.tmp-1-0000000000000000", toBytes("half"));
  EXPECT_TRUE(Keystore::unlock(dir_, asBytes("pw")).has_value());
  ASSERT_EQ(::chmod(file().c_str(), 0644), 0);
  auto info = Keystore::inspect(dir_);
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->looseFilePermissions);
}

TEST_F(KeystoreTest, InteractivePresetRoundTrip) {
  auto ks = Keystore::create(dir_, asBytes("pw"), KdfParams::interactive(), rng_);
  ASSERT_TRUE(ks.has_value()) << ks.error().toString();
  auto info = Keystore::inspect(dir_);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->kdf.opslimit, 2u);
  EXPECT_EQ(info->kdf.memlimitKiB, 65536u);
  EXPECT_TRUE(Keystore::unlock(dir_, asBytes("pw")).has_value());
}

}  // namespace
}  // namespace aether::identity
