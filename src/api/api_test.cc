#include <sys/stat.h>

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <filesystem>

#include "api/api.h"
#include "api/internal.h"
#include "codec/codec.h"
#include "identity/identity.h"

namespace aether::api {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class FakeClock final : public Clock {
 public:
  std::int64_t nowMs() override { return now; }
  std::int64_t now = 1'800'000'000'000;  // 2027-01-15
};

fs::path makeTempDir() {
  std::string tmpl = (fs::temp_directory_path() / "aether-api-test-XXXXXX").string();
  char* p = ::mkdtemp(tmpl.data());
  EXPECT_NE(p, nullptr);
  return fs::path(tmpl);
}

crypto::Ed25519KeyPair keyFrom(std::uint64_t seed) {
  crypto::SeededRng rng(seed);
  return *crypto::Ed25519KeyPair::generate(rng);
}

// A did:example document whose authentication lists the given keys as #k<index>.
json docWith(const std::string& did, const std::vector<const crypto::Ed25519KeyPair*>& keys,
             const std::vector<int>& ids) {
  json vms = json::array();
  json auth = json::array();
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::string id = did + "#k" + std::to_string(ids[i]);
    vms.push_back({{"id", id}, {"type", "Multikey"}, {"controller", did},
                   {"publicKeyMultibase", identity::ed25519Multikey(keys[i]->publicKey())}});
    auth.push_back("#k" + std::to_string(ids[i]));
  }
  return {{"@context", json::array({"https://www.w3.org/ns/did/v1"})},
          {"id", did},
          {"verificationMethod", vms},
          {"authentication", auth}};
}

std::string proofFor(const json& doc, const crypto::Ed25519KeyPair& key, const std::string& kid, int ver) {
  return *identity::jwsSign(key, json{{"kid", kid}, {"ver", ver}}, asBytes(doc.dump()));
}

std::string sign(const crypto::Ed25519KeyPair& key, const std::string& message) {
  const auto sig = key.sign(asBytes(message));
  return codec::base64urlEncode(sig);
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = makeTempDir();
    nodeDid_ = identity::didKeyFromEd25519(nodeKey_.publicKey());
    service_ = make();
  }
  void TearDown() override { fs::remove_all(home_); }

  std::unique_ptr<IdentityService> make(std::size_t maxNonces = 100) {
    ServiceOptions o;
    o.home = home_;
    o.nodeDid = nodeDid_;
    o.publicUrl = "https://127.0.0.1:9999";
    o.tlsFingerprint = "sha256:" + std::string(64, 'a');
    o.nonceTtlMs = 60'000;
    o.maxNonces = maxNonces;
    auto s = IdentityService::create(o, nodeKey_, clock_, rng_);
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().toString());
    return std::move(*s);
  }

  // Requests carry a Bearer token of a client did:key (register needs one) unless told otherwise.
  HttpResponse post(const std::string& path, const json& body) { return postAs(path, body, bearer()); }
  HttpResponse postAs(const std::string& path, const json& body, const std::string& authorization) {
    return service_->handle(HttpRequest{"POST", path, "application/json", body.dump(), authorization});
  }
  // challenge -> attest for `key`'s did:key; returns the token ("" on failure).
  std::string tokenFor(const crypto::Ed25519KeyPair& key, const std::string& audience = "", json credentials = nullptr) {
    const std::string did = identity::didKeyFromEd25519(key.publicKey());
    json ch{{"did", did}};
    if (!audience.empty()) ch["audience"] = audience;
    auto c = service_->handle(HttpRequest{"POST", "/v1/identity/challenge", "application/json", ch.dump()});
    if (c.status != 200) return "";
    const std::string nonce = json::parse(c.body)["nonce"];
    const std::string msg = "aether-attest-v1\n" + nonce + "\n" + did + "\n" + (audience.empty() ? nodeDid_ : audience);
    json at{{"did", did}, {"nonce", nonce}, {"signature", sign(key, msg)}};
    if (!credentials.is_null()) at["credentials"] = credentials;
    auto a = service_->handle(HttpRequest{"POST", "/v1/identity/attest", "application/json", at.dump()});
    lastAttest_ = a;
    if (a.status != 200) return "";
    return json::parse(a.body)["token"];
  }
  std::string bearer() {
    if (bearer_.empty()) bearer_ = "Bearer " + tokenFor(client_);
    return bearer_;
  }
  HttpResponse get(const std::string& path) { return service_->handle(HttpRequest{"GET", path, "", ""}); }

  fs::path home_;
  FakeClock clock_;
  crypto::SeededRng rng_{42};
  crypto::Ed25519KeyPair nodeKey_ = keyFrom(1);
  crypto::Ed25519KeyPair alice1_ = keyFrom(2);
  crypto::Ed25519KeyPair alice2_ = keyFrom(3);
  crypto::Ed25519KeyPair mallory_ = keyFrom(4);
  std::string nodeDid_;
  std::unique_ptr<IdentityService> service_;
  const std::string alice_ = "did:example:alice";
  crypto::Ed25519KeyPair client_ = keyFrom(5);
  std::string bearer_;
  HttpResponse lastAttest_;
};

json bodyOf(const HttpResponse& r) { return json::parse(r.body); }

TEST(AttestMessage, IsTheDocumentedBytes) {
  EXPECT_EQ(attestMessage("N0nce", "did:example:a", "aud"), "aether-attest-v1\nN0nce\ndid:example:a\naud");
}

TEST(DidSyntax, AcceptsAndRefuses) {
  EXPECT_TRUE(checkDidSyntax("did:example:alice"));
  EXPECT_TRUE(checkDidSyntax("did:web:example.com:user:alice"));
  EXPECT_TRUE(checkDidSyntax("did:example:a%20b"));
  for (const char* bad : {"", "did:", "did:example", "did::x", "did:Ex:x", "did:example:", "did:example:a#frag",
                          "did:example:a?q", "did:example:a/b", "did:example:a%2", "did:example:a b", "xdid:a:b"}) {
    EXPECT_FALSE(checkDidSyntax(bad)) << bad;
  }
  EXPECT_EQ(checkDidSyntax("did:example:" + std::string(300, 'a')).error().code, Errc::kLimitExceeded);
}

TEST(AuthenticationKeys, MultikeyJwkEmbeddedAndErrors) {
  const auto k = keyFrom(7);
  const std::string x = codec::base64urlEncode(k.publicKey());
  json doc = {{"id", "did:example:z"},
              {"verificationMethod",
               json::array({{{"id", "#jwk"}, {"type", "JsonWebKey2020"},
                             {"publicKeyJwk", {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", x}}}},
                            {{"id", "did:example:z#p256"}, {"type", "JsonWebKey2020"},
                             {"publicKeyJwk", {{"kty", "EC"}, {"crv", "P-256"}, {"x", "AA"}, {"y", "AA"}}}}})},
              {"authentication",
               json::array({"did:example:z#jwk", "#p256",
                            {{"id", "#emb"}, {"type", "Multikey"},
                             {"publicKeyMultibase", identity::ed25519Multikey(k.publicKey())}}})}};
  auto keys = authenticationKeys(doc);
  ASSERT_TRUE(keys) << keys.error().toString();
  ASSERT_EQ(keys->size(), 2u);  // the P-256 key is skipped
  EXPECT_EQ((*keys)[0].id, "did:example:z#jwk");
  EXPECT_EQ((*keys)[0].publicKey, k.publicKey());
  EXPECT_EQ((*keys)[1].id, "did:example:z#emb");

  json dangling = doc;
  dangling["authentication"] = json::array({"#nope"});
  EXPECT_EQ(authenticationKeys(dangling).error().code, Errc::kMalformed);
  json onlyP256 = doc;
  onlyP256["authentication"] = json::array({"#p256"});
  EXPECT_EQ(authenticationKeys(onlyP256).error().code, Errc::kNotFound);
  json noAuth = doc;
  noAuth.erase("authentication");
  EXPECT_EQ(authenticationKeys(noAuth).error().code, Errc::kNotFound);
  json badKey = doc;
  badKey["verificationMethod"][0]["publicKeyJwk"]["x"] = codec::base64urlEncode(Bytes(31, 1));
  EXPECT_FALSE(authenticationKeys(badKey));
  EXPECT_EQ(authenticationKeys(json::array()).error().code, Errc::kMalformed);
}

TEST(RateLimiter, TokenBucket) {
  RateLimiter limiter(1.0, 2.0);
  EXPECT_TRUE(limiter.allow("a", 0));
  EXPECT_TRUE(limiter.allow("a", 0));
  EXPECT_FALSE(limiter.allow("a", 0));
  EXPECT_TRUE(limiter.allow("b", 0));  // per address
  EXPECT_FALSE(limiter.allow("a", 500));
  EXPECT_TRUE(limiter.allow("a", 1000));
  RateLimiter off(0, 0);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(off.allow("a", 0));
}

TEST(RateLimiter, BoundedAddressTable) {
  RateLimiter limiter(1.0, 1.0, 2);
  EXPECT_TRUE(limiter.allow("a", 0));
  EXPECT_TRUE(limiter.allow("b", 0));
  EXPECT_FALSE(limiter.allow("c", 0));    // full, nobody refilled
  EXPECT_TRUE(limiter.allow("c", 5000));  // refilled buckets are forgotten
  EXPECT_LE(limiter.size(), 2u);
}

TEST_F(ServiceTest, RegisterResolveAndPersist) {
  const json doc = docWith(alice_, {&alice1_}, {1});
  auto r = post("/v1/identity/register", {{"did_document", doc}, {"proof", proofFor(doc, alice1_, alice_ + "#k1", 1)}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(bodyOf(r), (json{{"did", alice_}, {"version", "1"}}));
  auto g = get("/v1/identity/did%3Aexample%3Aalice");
  ASSERT_EQ(g.status, 200) << g.body;
  EXPECT_EQ(g.contentType, "application/did+json");
  EXPECT_EQ(bodyOf(g), doc);
  // A new service on the same home reads the registry from disk.
  service_ = make();
  EXPECT_EQ(bodyOf(get("/v1/identity/" + alice_)), doc);
  struct stat st {};
  ASSERT_EQ(::stat((home_ / "registry").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(ServiceTest, RegistrationWithoutProofIsRefused) {
  const json doc = docWith(alice_, {&alice1_}, {1});
  auto r = post("/v1/identity/register", {{"did_document", doc}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.contentType, "application/problem+json");
  auto p = bodyOf(r);
  EXPECT_EQ(p["status"], 401);
  EXPECT_EQ(p["title"], "Unauthorized");
  EXPECT_NE(p["detail"].get<std::string>().find("proof is required"), std::string::npos);
  EXPECT_EQ(get("/v1/identity/" + alice_).status, 404);
}

TEST_F(ServiceTest, ProofMustCoverTheDocumentAndComeFromItsKey) {
  const json doc = docWith(alice_, {&alice1_}, {1});
  json other = doc;
  other["extra"] = 1;
  auto r = post("/v1/identity/register", {{"did_document", doc}, {"proof", proofFor(other, alice1_, alice_ + "#k1", 1)}});
  EXPECT_EQ(r.status, 400) << r.body;
  // Mallory signs with her key but names alice's kid: the signature does not verify.
  r = post("/v1/identity/register", {{"did_document", doc}, {"proof", proofFor(doc, mallory_, alice_ + "#k1", 1)}});
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(bodyOf(r)["type"], "urn:aether:problem:bad-signature");
  // A kid the document does not list.
  r = post("/v1/identity/register", {{"did_document", doc}, {"proof", proofFor(doc, mallory_, "did:example:m#k1", 1)}});
  EXPECT_EQ(r.status, 401) << r.body;
  // Wrong version in the header.
  r = post("/v1/identity/register", {{"did_document", doc}, {"proof", proofFor(doc, alice1_, alice_ + "#k1", 2)}});
  EXPECT_EQ(r.status, 409) << r.body;
  // Garbage proof.
  r = post("/v1/identity/register", {{"did_document", doc}, {"proof", "a.b.c"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(get("/v1/identity/" + alice_).status, 404);
  // did:key cannot be registered.
  json dk = doc;
  dk["id"] = identity::didKeyFromEd25519(alice1_.publicKey());
  r = post("/v1/identity/register", {{"did_document", dk}, {"proof", proofFor(dk, alice1_, "x", 1)}});
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(ServiceTest, KeyRotation) {
  const json v1 = docWith(alice_, {&alice1_}, {1});
  ASSERT_EQ(post("/v1/identity/register", {{"did_document", v1}, {"proof", proofFor(v1, alice1_, alice_ + "#k1", 1)}}).status, 201);
  // v2 replaces k1 by k2, signed by the current key k1.
  const json v2 = docWith(alice_, {&alice2_}, {2});
  // Signed by the new key alone: k2 is not in the stored document yet.
  EXPECT_EQ(post("/v1/identity/register", {{"did_document", v2}, {"proof", proofFor(v2, alice2_, alice_ + "#k2", 2)}}).status, 401);
  auto r = post("/v1/identity/register", {{"did_document", v2}, {"proof", proofFor(v2, alice1_, alice_ + "#k1", 2)}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(bodyOf(r)["version"], "2");
  // The rotated-out key can no longer update.
  const json v3 = docWith(alice_, {&alice1_}, {1});
  r = post("/v1/identity/register", {{"did_document", v3}, {"proof", proofFor(v3, alice1_, alice_ + "#k1", 3)}});
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(bodyOf(r)["detail"].get<std::string>().find("not an authentication key of the currently registered"),
            std::string::npos);
  // Replaying the v2 request is refused (its "ver" is stale).
  EXPECT_EQ(post("/v1/identity/register", {{"did_document", v2}, {"proof", proofFor(v2, alice1_, alice_ + "#k1", 2)}}).status, 409);
  EXPECT_EQ(bodyOf(get("/v1/identity/" + alice_)), v2);
}

TEST_F(ServiceTest, ResolveDidKeyAndNodeDocument) {
  const std::string dk = identity::didKeyFromEd25519(alice1_.publicKey());
  auto r = get("/v1/identity/" + dk);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(bodyOf(r), *identity::didDocument(dk));
  auto n = bodyOf(get("/v1/identity/" + nodeDid_));
  EXPECT_EQ(n["id"], nodeDid_);
  ASSERT_TRUE(n["service"].is_array());
  EXPECT_EQ(n["service"][0], (json{{"id", nodeDid_ + "#tls"},
                                   {"type", "TlsCertificateFingerprint"},
                                   {"serviceEndpoint", "https://127.0.0.1:9999"},
                                   {"fingerprint", "sha256:" + std::string(64, 'a')}}));
  EXPECT_EQ(get("/v1/identity/did:example:nobody").status, 404);
  EXPECT_EQ(get("/v1/identity/not-a-did").status, 400);
  EXPECT_EQ(get("/v1/identity/did%3").status, 400);
}

class AttestTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    const json doc = docWith(alice_, {&alice1_}, {1});
    ASSERT_EQ(post("/v1/identity/register", {{"did_document", doc}, {"proof", proofFor(doc, alice1_, alice_ + "#k1", 1)}}).status, 201);
  }
  std::string challenge(const std::string& did, const std::string& audience = "") {
    json body = {{"did", did}};
    if (!audience.empty()) body["audience"] = audience;
    auto r = post("/v1/identity/challenge", body);
    EXPECT_EQ(r.status, 200) << r.body;
    return bodyOf(r)["nonce"].get<std::string>();
  }
};

TEST_F(AttestTest, ChallengeAttestIssuesAVerifiableJwt) {
  auto c = post("/v1/identity/challenge", {{"did", alice_}});
  ASSERT_EQ(c.status, 200) << c.body;
  const json cj = bodyOf(c);
  const std::string nonce = cj["nonce"];
  EXPECT_EQ(codec::base64urlDecode(nonce)->size(), 32u);
  EXPECT_EQ(cj["audience"], nodeDid_);
  EXPECT_EQ(cj["expires_at"], "2027-01-15T08:01:00.000Z");  // 1.8e12 ms + 60 s
  const std::string msg = "aether-attest-v1\n" + nonce + "\n" + alice_ + "\n" + nodeDid_;
  auto a = post("/v1/identity/attest", {{"did", alice_}, {"nonce", nonce}, {"signature", sign(alice1_, msg)}});
  ASSERT_EQ(a.status, 200) << a.body;
  const json aj = bodyOf(a);
  EXPECT_EQ(aj["token_type"], "JWT");
  auto jws = identity::jwsParse(aj["token"].get<std::string>());
  ASSERT_TRUE(jws);
  EXPECT_TRUE(identity::jwsVerify(*jws, nodeKey_.publicKey()));
  EXPECT_EQ(jws->header["typ"], "JWT");
  EXPECT_EQ(jws->header["kid"], identity::didKeyFor(nodeKey_.publicKey()).keyId());
  const json claims = json::parse(asChars(jws->payload));
  EXPECT_EQ(claims["iss"], nodeDid_);
  EXPECT_EQ(claims["sub"], alice_);
  EXPECT_EQ(claims["aud"], nodeDid_);
  EXPECT_EQ(claims["iat"], 1'800'000'000);
  EXPECT_EQ(claims["exp"], 1'800'000'300);
  EXPECT_TRUE(claims["jti"].is_string());
  // Replay: the nonce was consumed.
  auto again = post("/v1/identity/attest", {{"did", alice_}, {"nonce", nonce}, {"signature", sign(alice1_, msg)}});
  EXPECT_EQ(again.status, 401);
  EXPECT_NE(bodyOf(again)["detail"].get<std::string>().find("unknown nonce"), std::string::npos);
  EXPECT_EQ(service_->nonceCacheSize(), 0u);
}

TEST_F(AttestTest, AudienceIsBoundIntoTheSignature) {
  const std::string nonce = challenge(alice_, "https://app.example");
  // Signed for the default audience: refused.
  const std::string wrong = "aether-attest-v1\n" + nonce + "\n" + alice_ + "\n" + nodeDid_;
  EXPECT_EQ(post("/v1/identity/attest", {{"did", alice_}, {"nonce", nonce}, {"signature", sign(alice1_, wrong)}}).status, 401);
  const std::string nonce2 = challenge(alice_, "https://app.example");
  const std::string right = "aether-attest-v1\n" + nonce2 + "\n" + alice_ + "\nhttps://app.example";
  auto a = post("/v1/identity/attest", {{"did", alice_}, {"nonce", nonce2}, {"signature", sign(alice1_, right)}});
  ASSERT_EQ(a.status, 200) << a.body;
  auto jws = identity::jwsParse(bodyOf(a)["token"].get<std::string>());
  EXPECT_EQ(json::parse(asChars(jws->payload))["aud"], "https://app.example");
  EXPECT_EQ(post("/v1/identity/challenge", {{"did", alice_}, {"audience", "a b"}}).status, 400);
}

TEST_F(AttestTest, ExpiredNonce) {
  const std::string nonce = challenge(alice_);
  clock_.now += 60'001;
  const std::string msg = "aether-attest-v1\n" + nonce + "\n" + alice_ + "\n" + nodeDid_;
  auto r = post("/v1/identity/attest", {{"did", alice_}, {"nonce", nonce}, {"signature", sign(alice1_, msg)}});
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(bodyOf(r)["detail"].get<std::string>().find("expired"), std::string::npos) << r.body;
}

TEST_F(AttestTest, NonceForAnotherDid) {
  const std::string bob = identity::didKeyFromEd25519(mallory_.publicKey());
  const std::string nonce = challenge(alice_);
  const std::string msg = "aether-attest-v1\n" + nonce + "\n" + bob + "\n" + nodeDid_;
  auto r = post("/v1/identity/attest", {{"did", bob}, {"nonce", nonce}, {"signature", sign(mallory_, msg)}});
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(bodyOf(r)["detail"].get<std::string>().find("another DID"), std::string::npos) << r.body;
}

TEST_F(AttestTest, KeyNotInTheDocument) {
  const std::string nonce = challenge(alice_);
  const std::string msg = "aether-attest-v1\n" + nonce + "\n" + alice_ + "\n" + nodeDid_;
  auto r = post("/v1/identity/attest", {{"did", alice_}, {"nonce", nonce}, {"signature", sign(mallory_, msg)}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(bodyOf(r)["type"], "urn:aether:problem:bad-signature");
  // The failed attempt consumed the nonce.
  r = post("/v1/identity/attest", {{"did", alice_}, {"nonce", nonce}, {"signature", sign(alice1_, msg)}});
  EXPECT_EQ(r.status, 401);
  // A signature that is not 64 bytes.
  const std::string n2 = challenge(alice_);
  EXPECT_EQ(post("/v1/identity/attest", {{"did", alice_}, {"nonce", n2}, {"signature", "AAAA"}}).status, 400);
}

TEST_F(AttestTest, DidKeyClientsNeedNoRegistration) {
  const std::string dk = identity::didKeyFromEd25519(alice2_.publicKey());
  const std::string nonce = challenge(dk);
  const std::string msg = "aether-attest-v1\n" + nonce + "\n" + dk + "\n" + nodeDid_;
  EXPECT_EQ(post("/v1/identity/attest", {{"did", dk}, {"nonce", nonce}, {"signature", sign(alice2_, msg)}}).status, 200);
  EXPECT_EQ(post("/v1/identity/challenge", {{"did", "did:example:unknown"}}).status, 404);
}

TEST_F(AttestTest, NonceCacheIsBounded) {
  service_ = make(/*maxNonces=*/3);
  for (int i = 0; i < 3; ++i) challenge(alice_);
  auto r = post("/v1/identity/challenge", {{"did", alice_}});
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(service_->nonceCacheSize(), 3u);
  clock_.now += 2 * 60'000 + 1;  // expired for a full TTL: swept on the next challenge
  challenge(alice_);
  EXPECT_EQ(service_->nonceCacheSize(), 1u);
  // A consumed nonce frees its slot at once (regression: a sweep queue that outlived its map
  // entries could evict live nonces under load).
  for (int round = 0; round < 10; ++round) {
    const std::string n = challenge(alice_);
    const std::string msg = "aether-attest-v1\n" + n + "\n" + alice_ + "\n" + nodeDid_;
    EXPECT_EQ(post("/v1/identity/attest", {{"did", alice_}, {"nonce", n}, {"signature", sign(alice1_, msg)}}).status, 200);
  }
  EXPECT_EQ(service_->nonceCacheSize(), 1u);
}

TEST_F(ServiceTest, BadRequestsGetProblems) {
  auto r = service_->handle(HttpRequest{"POST", "/v1/identity/challenge", "application/json", "{\"did\": "});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.contentType, "application/problem+json");
  auto p = bodyOf(r);
  EXPECT_TRUE(p.contains("type") && p.contains("title") && p.contains("detail"));
  EXPECT_EQ(service_->handle(HttpRequest{"POST", "/v1/identity/challenge", "application/json",
                                         R"({"did":"a","did":"b"})"}).status, 400);
  EXPECT_EQ(service_->handle(HttpRequest{"POST", "/v1/identity/challenge", "text/plain", "{}"}).status, 415);
  EXPECT_EQ(service_->handle(HttpRequest{"POST", "/v1/identity/challenge", "application/json; charset=utf-8",
                                         R"({"did":5})"}).status, 400);
  EXPECT_EQ(service_->handle(HttpRequest{"POST", "/v1/identity/challenge", "application/json", "[]"}).status, 400);
  EXPECT_EQ(get("/v1/identity/register").status, 405);
  EXPECT_EQ(service_->handle(HttpRequest{"DELETE", "/v1/identity/did:example:a", "", ""}).status, 405);
  EXPECT_EQ(get("/nope").status, 404);
  // Raw non-UTF-8 bytes in the path still give valid JSON back.
  auto weird = get("/\xff\xfe");
  EXPECT_EQ(weird.status, 404);
  EXPECT_TRUE(json::accept(weird.body));
  std::string deep(100, '[');
  EXPECT_EQ(service_->handle(HttpRequest{"POST", "/v1/identity/attest", "application/json", deep}).status, 400);
}

TEST_F(ServiceTest, OpenApiDocumentIsServed) {
  auto r = get("/openapi.json");
  ASSERT_EQ(r.status, 200);
  auto doc = bodyOf(r);
  EXPECT_EQ(doc["openapi"], "3.0.3");
  for (const char* path : {"/v1/identity/register", "/v1/identity/{did}", "/v1/identity/challenge", "/v1/identity/attest"}) {
    EXPECT_TRUE(doc["paths"].contains(path)) << path;
  }
}

TEST_F(ServiceTest, RegisterNeedsAValidBearerToken) {
  json doc = {{"id", alice_},
              {"verificationMethod", json::array({{{"id", alice_ + "#k1"}, {"type", "Multikey"}, {"controller", alice_},
                                                   {"publicKeyMultibase", identity::didKeyFromEd25519(alice1_.publicKey()).substr(8)}}})},
              {"authentication", json::array({"#k1"})}};
  const json body = {{"did_document", doc}, {"proof", proofFor(doc, alice1_, alice_ + "#k1", 1)}};
  auto r = postAs("/v1/identity/register", body, "");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(bodyOf(r)["detail"].get<std::string>().find("Bearer"), std::string::npos) << r.body;
  EXPECT_EQ(postAs("/v1/identity/register", body, "Basic abc").status, 401);
  EXPECT_EQ(postAs("/v1/identity/register", body, "Bearer not.a.jwt").status, 401);
  // A token for another audience.
  const std::string other = tokenFor(client_, "https://app.example");
  ASSERT_FALSE(other.empty());
  r = postAs("/v1/identity/register", body, "Bearer " + other);
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(bodyOf(r)["detail"].get<std::string>().find("wrong audience"), std::string::npos) << r.body;
  // A token signed by another key (same claims).
  auto parts = identity::jwsParse(bearer().substr(7));
  ASSERT_TRUE(parts);
  const std::string forged = *identity::jwsSign(mallory_, parts->header, parts->payload);
  r = postAs("/v1/identity/register", body, "Bearer " + forged);
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(bodyOf(r)["detail"].get<std::string>().find("not signed by this node"), std::string::npos) << r.body;
  // Expired: the token lives 300 s.
  const std::string token = bearer();
  clock_.now += 301'000;
  r = postAs("/v1/identity/register", body, token);
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(bodyOf(r)["detail"].get<std::string>().find("expired"), std::string::npos) << r.body;
  bearer_.clear();
  EXPECT_EQ(post("/v1/identity/register", body).status, 201) << "a fresh token works";
}

TEST_F(ServiceTest, CredentialsIssueVerifyAndScopes) {
  const std::string clientDid = identity::didKeyFromEd25519(client_.publicKey());
  // The default token may verify but not issue.
  auto r = post("/v1/credentials/issue", {{"subject", clientDid}, {"type", "MemberCredential"}, {"claims", {{"role", "member"}}}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(bodyOf(r)["detail"].get<std::string>().find("cred.issue MemberCredential"), std::string::npos) << r.body;
  // The node operator gives the client an issuer role (a VC the node signs, e.g. `aether cred issue`).
  CredentialRequest role;
  role.subject = clientDid;
  role.claims = {{"role", "issuer"}, {"scopes", json::array({"cred.issue MemberCredential"})}};
  auto roleVc = service_->issueCredential(role);
  ASSERT_TRUE(roleVc) << roleVc.error().toString();
  const std::string issuerToken = tokenFor(client_, "", json::array({*roleVc}));
  ASSERT_FALSE(issuerToken.empty()) << lastAttest_.body;
  r = postAs("/v1/credentials/issue", {{"subject", alice_}, {"type", "MemberCredential"}, {"claims", {{"role", "member"}}}},
             "Bearer " + issuerToken);
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string vc = bodyOf(r)["credential"];
  // ... but only for that type.
  EXPECT_EQ(postAs("/v1/credentials/issue", {{"subject", alice_}, {"type", "AdminCredential"}}, "Bearer " + issuerToken).status, 403);
  // Verify: claims come back.
  r = post("/v1/credentials/verify", {{"credential", vc}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = bodyOf(r);
  EXPECT_EQ(v["issuer"], nodeDid_);
  EXPECT_EQ(v["subject"], alice_);
  EXPECT_EQ(v["claims"]["role"], "member");
  EXPECT_EQ(v["type"], json::array({"VerifiableCredential", "MemberCredential"}));
  // Tampered payload: signature fails.
  auto jws = identity::jwsParse(vc);
  ASSERT_TRUE(jws);
  std::string tampered = vc;
  tampered[tampered.find('.') + 5] ^= 1;
  EXPECT_EQ(post("/v1/credentials/verify", {{"credential", tampered}}).status / 100, 4);
  // A role credential for someone else, or not issued by the node, does not grant scopes.
  CredentialRequest forAlice = role;
  forAlice.subject = alice_;
  EXPECT_TRUE(tokenFor(client_, "", json::array({*service_->issueCredential(forAlice)})).empty());
  EXPECT_EQ(lastAttest_.status, 401);
  const std::string selfIssued = *issueVcJwt(client_, role, clock_.now / 1000, Bytes(16, 1));
  EXPECT_TRUE(tokenFor(client_, "", json::array({selfIssued})).empty());
  EXPECT_NE(lastAttest_.body.find("not issued by this node"), std::string::npos) << lastAttest_.body;
  // Expiry.
  clock_.now += std::int64_t{31} * 24 * 3600 * 1000;
  bearer_.clear();
  r = post("/v1/credentials/verify", {{"credential", vc}});
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(r.body.find("expired"), std::string::npos) << r.body;
}

TEST(Tls, CertificateIsCreatedOnceWithAPrivateKey) {
  const fs::path home = makeTempDir();
  auto a = ensureTlsCertificate(home);
  ASSERT_TRUE(a) << a.error().toString();
  struct stat st {};
  ASSERT_EQ(::stat((home / "tls" / "key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto b = ensureTlsCertificate(home);
  ASSERT_TRUE(b);
  EXPECT_EQ(a->fingerprint, b->fingerprint);
  EXPECT_EQ(a->certPem, b->certPem);
  // The fingerprint, recomputed with OpenSSL directly: SHA-256 of the DER certificate.
  BIO* bio = BIO_new_mem_buf(a->certPem.data(), static_cast<int>(a->certPem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  ASSERT_NE(cert, nullptr);
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert, &der);
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<std::size_t>(n), md);
  EXPECT_EQ(a->fingerprint, "sha256:" + hexEncode(ByteView(md, sizeof md)));
  EXPECT_EQ(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
  OPENSSL_free(der);
  X509_free(cert);
  BIO_free(bio);
  // Half a pair is reported, never silently replaced.
  fs::remove(home / "tls" / "cert.pem");
  auto c = ensureTlsCertificate(home);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::kMalformed);
  fs::remove_all(home);
}

TEST(DaemonLock, SecondAcquireOnTheSameHomeFails) {
  const fs::path home = makeTempDir();
  {
    auto first = DaemonLock::acquire(home);
    ASSERT_TRUE(first) << first.error().toString();
    auto second = DaemonLock::acquire(home);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, Errc::kAlreadyExists);
    EXPECT_NE(second.error().message.find("another aether daemon"), std::string::npos);
  }
  EXPECT_TRUE(DaemonLock::acquire(home));  // released with the first
  fs::remove_all(home);
}

}  // namespace
}  // namespace aether::api
