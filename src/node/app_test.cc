// Node::runApp end to end with a real node home (insecure dev key), the real vault and the probe
// component (guests/probe-component: one call to every gated host function, one line each).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <map>
#include <sstream>

#include "guests/guests.h"
#include "log/log.h"
#include "node/gate.h"
#include "node/node.h"

namespace aether::node {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct TempHome {
  fs::path dir;
  TempHome() {
    std::string tmpl = (fs::temp_directory_path() / "aether-app-XXXXXX").string();
    dir = ::mkdtemp(tmpl.data());
  }
  ~TempHome() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

cap::Capability capOf(std::string_view text) { return *cap::Capability::parse(text); }

class AppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto n = Node::init(home_.dir / "home", KeyProtection::kInsecureDev,
                        [](std::string_view, bool) -> Result<std::string> { return fail(Errc::kInternal, "no"); });
    ASSERT_TRUE(n) << n.error().toString();
    node_ = std::make_unique<Node>(std::move(*n));
    probe_ = home_.dir / "probe.wasm";
    std::ofstream(probe_, std::ios::binary)
        .write(reinterpret_cast<const char*>(guests::probeComponent().data()),
               static_cast<std::streamsize>(guests::probeComponent().size()));
  }

  // Runs the probe with `grants` consented to; returns function -> rest of its line.
  Result<std::map<std::string, std::string>> runProbe(std::vector<cap::Capability> grants,
                                                      std::optional<std::string> token = std::nullopt) {
    AE_ASSIGN_OR_RETURN(AppPackage app, loadAppPackage(probe_, grants));
    std::string out;
    AppRunOptions o;
    o.consent = [](const std::string&) -> Result<bool> { return true; };
    o.print = [&out](std::string_view s) { out += s; };
    o.token = std::move(token);
    AE_ASSIGN_OR_RETURN(AppRunReport r, node_->runApp(app, o));
    std::map<std::string, std::string> lines;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
      auto sp = line.find(' ');
      if (sp != std::string::npos) lines[line.substr(0, sp)] = line.substr(sp + 1);
    }
    return lines;
  }

  std::string probeDid() { return *appDid(node_->key(), "probe"); }

  // Runs a bundled component as app `name` with `grants` consented to; returns its stdout.
  Result<std::string> runGuest(std::span<const std::uint8_t> wasm, const std::string& name,
                               std::vector<cap::Capability> grants) {
    const fs::path file = home_.dir / (name + ".wasm");
    std::ofstream(file, std::ios::binary)
        .write(reinterpret_cast<const char*>(wasm.data()), static_cast<std::streamsize>(wasm.size()));
    AE_ASSIGN_OR_RETURN(AppPackage app, loadAppPackage(file, grants));
    std::string out;
    AppRunOptions o;
    o.consent = [](const std::string&) -> Result<bool> { return true; };
    o.print = [&out](std::string_view s) { out += s; };
    AE_ASSIGN_OR_RETURN(AppRunReport r, node_->runApp(app, o));
    if (r.result.value != 0) return fail(Errc::kInternal, "the guest failed: " + r.result.guest_error);
    return out;
  }

  // The audit log's lines for `function`: allowed, refused.
  std::pair<int, int> audited(std::string_view function) {
    std::ifstream audit(node_->home() / "audit.log");
    int allowed = 0, refused = 0;
    for (std::string line; std::getline(audit, line);) {
      auto j = json::parse(line);
      if (j["function"] == function) (j["allowed"].get<bool>() ? allowed : refused)++;
    }
    return {allowed, refused};
  }

  TempHome home_;
  std::unique_ptr<Node> node_;
  fs::path probe_;
};

TEST_F(AppTest, GrantedCallsActDeniedCallsAreAudited) {
  auto lines = runProbe({capOf("kv.write app/*"), capOf("kv.read app/*"), capOf("blocks.put *")});
  ASSERT_TRUE(lines) << lines.error().toString();
  auto& l = *lines;
  EXPECT_EQ(l["kv.set"], "ok");
  EXPECT_EQ(l["kv.get"], "ok");
  EXPECT_EQ(l["blocks.put"], "ok");
  for (const char* denied : {"identity.sign", "kv.keys", "kv.delete", "blocks.get", "streams.append", "streams.read",
                             "http.fetch", "events.emit"}) {
    EXPECT_EQ(l[denied].rfind("denied ", 0), 0u) << denied << ": " << l[denied];
  }
  // The kv value and the block really are in the vault now.
  auto vault = node_->openVault();
  ASSERT_TRUE(vault) << vault.error().toString();
  auto v = (*vault)->getMeta("kv/probe", "app/probe");
  ASSERT_TRUE(v && *v);
  EXPECT_EQ(**v, (Bytes{1, 2, 3, 4}));
  EXPECT_TRUE(*(*vault)->has(*store::cidForBlock(1, codec::mc::kRaw, Bytes{1, 2, 3, 4})));
  vault->reset();
  // The audit log has one line per gated call: 3 allowed, 8 refused.
  std::ifstream audit(node_->home() / "audit.log");
  int allowed = 0, refused = 0;
  for (std::string line; std::getline(audit, line);) {
    auto j = json::parse(line);
    EXPECT_EQ(j["app"], "probe");
    EXPECT_EQ(j["app_did"], probeDid());
    (j["allowed"].get<bool>() ? allowed : refused)++;
  }
  EXPECT_EQ(allowed, 3);
  EXPECT_EQ(refused, 8);
}

TEST_F(AppTest, ConsentDecides) {
  auto app = loadAppPackage(probe_, std::vector{capOf("kv.read app/*")});
  ASSERT_TRUE(app);
  AppRunOptions o;
  std::string shown;
  o.consent = [&shown](const std::string& text) -> Result<bool> {
    shown = text;
    return false;
  };
  auto r = node_->runApp(*app, o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kPermissionDenied);
  EXPECT_NE(shown.find("app/"), std::string::npos) << shown;
  // Nobody to ask: refused too.
  AppRunOptions none;
  auto r2 = node_->runApp(*app, none);
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().message.find("--yes"), std::string::npos);
  // Asking for more than the manifest declares.
  AppRunOptions more;
  more.consent = [](const std::string&) -> Result<bool> { return true; };
  more.requested = {capOf("kv.write app/*")};
  auto r3 = node_->runApp(*app, more);
  ASSERT_FALSE(r3);
  EXPECT_EQ(r3.error().code, Errc::kPermissionDenied);
}

TEST_F(AppTest, HostileTokensKeepTheAppFromStarting) {
  crypto::SeededRng rng(5);
  const std::int64_t now = cap::SystemClock().now();
  const std::vector<cap::Capability> caps{capOf("kv.read app/*")};
  // Forged: signed by a key that is not the node's, claiming to be a root.
  auto stranger = crypto::Ed25519KeyPair::generate(rng);
  auto forged = cap::mintToken(*stranger, probeDid(), caps, {.expiresAt = now + 600}, rng);
  // Expired: the node's own token, but its time is over.
  auto expired = cap::mintToken(node_->key(), probeDid(), caps, {.expiresAt = now - 10, .notBefore = now - 100}, rng);
  // For another app.
  auto other = cap::mintToken(node_->key(), *appDid(node_->key(), "other"), caps, {.expiresAt = now + 600}, rng);
  // A delegation that widens its parent: the node gives a helper kv.read, the helper hands the
  // app kv.write (signed by the helper, with the node's token as proof).
  auto helper = crypto::Ed25519KeyPair::generate(rng);
  auto parent = cap::mintToken(node_->key(), identity::didKeyFromEd25519(helper->publicKey()), caps,
                               {.expiresAt = now + 600}, rng);
  ASSERT_TRUE(forged && expired && other && parent);
  const json payload = {{"iss", identity::didKeyFromEd25519(helper->publicKey())},
                        {"aud", probeDid()},
                        {"att", json::array({{{"with", "kv:app/*"}, {"can", "kv/write"}}})},
                        {"exp", now + 600},
                        {"prf", json::array({*parent})}};
  auto widened = identity::jwsSign(*helper, {{"typ", "JWT"}, {"ucv", "0.8.1"}}, toBytes(payload.dump()));
  ASSERT_TRUE(widened) << widened.error().toString();

  const std::vector<cap::Capability> none;
  struct Case {
    const char* name;
    std::string token;
    const char* word;
  };
  for (const auto& c : {Case{"forged", *forged, "untrusted-root"}, Case{"expired", *expired, "expired"},
                        Case{"other app", *other, "wrong-audience"}, Case{"widened", *widened, "attenuation"}}) {
    auto r = runProbe(none, c.token);
    ASSERT_FALSE(r) << c.name;
    EXPECT_NE(r.error().message.find(c.word), std::string::npos) << c.name << ": " << r.error().toString();
  }
  // The node's own valid token works, and a delegation that narrows it is accepted.
  auto good = cap::mintToken(node_->key(), probeDid(), caps, {.expiresAt = now + 600}, rng);
  auto lines = runProbe(none, *good);
  ASSERT_TRUE(lines) << lines.error().toString();
  EXPECT_EQ((*lines)["kv.get"], "ok") << (*lines)["kv.get"];  // allowed, and served by the vault
  EXPECT_EQ((*lines)["kv.set"].rfind("denied", 0), 0u);
}

// streams.append lands in the app's own signed stream in the node's vault: author = the app's
// DID, signed by the app key, chained, durable; streams.read reaches the app's own entries and
// another author's stream only as granted.
TEST_F(AppTest, StreamsAppendToTheAppsOwnSignedStream) {
  {
    // The node's own stream "shared", which the app is granted to read.
    auto vault = node_->openVault();
    ASSERT_TRUE(vault) << vault.error().toString();
    auto s = log::Stream::open(**vault, node_->key(), "shared", log::systemClock());
    ASSERT_TRUE(s) << s.error().toString();
    const std::vector<Bytes> one{toBytes("from the node")};
    ASSERT_TRUE((*s)->append(one));
  }
  const std::string app_did = *appDid(node_->key(), "streams");
  const std::string node_id = node_->did().substr(std::string_view("did:key:").size());
  auto out = runGuest(guests::streamsComponent(), "streams",
                      {capOf("streams.append notes"), capOf("streams.read notes"),
                       capOf("streams.read " + node_id + "/shared")});
  ASSERT_TRUE(out) << out.error().toString();
  std::istringstream in(*out);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 9u) << *out;
  EXPECT_EQ(lines[0], "append notes 0");
  EXPECT_EQ(lines[1], "append notes 1");
  EXPECT_EQ(lines[2], "append notes 2");
  EXPECT_EQ(lines[3].rfind("append ../notes invalid ", 0), 0u) << lines[3];
  EXPECT_EQ(lines[4].rfind("append other denied needs streams.append on other", 0), 0u) << lines[4];
  EXPECT_EQ(lines[5], "read own notes 1 entry 1");
  EXPECT_EQ(lines[6], "read own notes 2 (2000 bytes)");
  EXPECT_EQ(lines[7].rfind("read own notes 99 not-found ", 0), 0u) << lines[7];
  EXPECT_EQ(lines[8], "read node shared 0 from the node");
  EXPECT_EQ(audited("streams.append"), std::make_pair(3, 1));

  // What the vault holds, checked as an export: the head's signature against the app's DID,
  // seq 0..2, the prev chain, the payload block and the Merkle root (log::verifyExport).
  auto vault = node_->openVault();
  ASSERT_TRUE(vault) << vault.error().toString();
  auto ids = log::Stream::list(**vault, app_did);
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, std::vector<std::string>{app_did + "/notes"});
  auto s = log::Stream::openReadOnly(**vault, app_did + "/notes");
  ASSERT_TRUE(s) << s.error().toString();
  store::MemoryByteSink car;
  ASSERT_TRUE((*s)->exportCar(car));
  store::MemoryByteSource src(car.bytes());
  auto v = log::verifyExport(src);
  ASSERT_TRUE(v) << v.error().toString();
  EXPECT_EQ(v->head.head.stream, app_did + "/notes");
  EXPECT_EQ(v->head.head.size, 3u);
  // The author is the app's DID (not the node's) and the signature verifies under its key.
  auto id = log::StreamId::parse(v->head.head.stream);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->author, app_did);
  EXPECT_NE(app_did, node_->did());
  EXPECT_TRUE(log::verifySignedHead(v->head));
  ASSERT_EQ(v->entries.size(), 3u);
  EXPECT_FALSE(v->entries[0].prev);
  for (std::size_t i = 1; i < 3; ++i) EXPECT_EQ(v->entries[i].prev, log::blockCid(v->entry_blocks[i - 1]));
  EXPECT_EQ(v->entries[0].data, toBytes("entry 0"));
  EXPECT_EQ(v->entries[1].data, toBytes("entry 1"));
  ASSERT_TRUE(v->entries[2].payload);
  ASSERT_EQ(v->payloads.size(), 1u);
  EXPECT_EQ(v->payloads[0].bytes, Bytes(2000, 'b'));
  // Nothing was written for the refused names.
  auto all = log::Stream::list(**vault);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2u);  // the app's notes and the node's shared
}

TEST_F(AppTest, StreamsWithoutTheGrantWriteNothing) {
  // streams.read only (the vault is open): every append is refused and audited; the node's
  // stream "shared" is not readable without its own grant either.
  auto out = runGuest(guests::streamsComponent(), "streams", {capOf("streams.read notes")});
  ASSERT_TRUE(out) << out.error().toString();
  EXPECT_NE(out->find("append notes denied needs streams.append on notes"), std::string::npos) << *out;
  EXPECT_EQ(out->find("append notes 0"), std::string::npos) << *out;
  EXPECT_NE(out->find("read node shared 0 denied needs streams.read on "), std::string::npos) << *out;
  EXPECT_NE(out->find("read own notes 1 not-found"), std::string::npos) << *out;
  EXPECT_EQ(audited("streams.append"), std::make_pair(0, 4));  // notes x3, other ("../notes" is invalid first)
  // And with no capability at all.
  auto none = runGuest(guests::streamsComponent(), "streams", {});
  ASSERT_TRUE(none) << none.error().toString();
  EXPECT_EQ(none->find(" ok"), std::string::npos);
  EXPECT_EQ(audited("streams.append"), std::make_pair(0, 8));
  auto vault = node_->openVault();
  ASSERT_TRUE(vault) << vault.error().toString();
  auto all = log::Stream::list(**vault);
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty()) << (*all)[0];
}

// The gate alone: what the sandbox passes (right, raw resource) is normalized before the token
// check; an http URL is checked without its query; anything unparseable is refused.
TEST(TokenGateTest, ChecksTheNormalizedResourceAgainstTheToken) {
  crypto::SeededRng rng(11);
  auto node_key = crypto::Ed25519KeyPair::generate(rng);
  ASSERT_TRUE(node_key);
  const std::string node_did = identity::didKeyFromEd25519(node_key->publicKey());
  const std::string app = *appDid(*node_key, "gate");
  cap::SystemClock clock;
  cap::Ed25519SignatureVerifier signatures;
  cap::TokenVerifier verifier({node_did}, clock, signatures);
  const std::vector<cap::Capability> caps{capOf("http.get http://api.example.org/v1/*"), capOf("kv.write app/*")};
  auto token = cap::mintToken(*node_key, app, caps, {.expiresAt = clock.now() + 600}, rng);
  ASSERT_TRUE(token) << token.error().toString();
  TokenGate gate(verifier, *token, app);
  for (const auto& [right, resource] : std::vector<std::pair<std::string, std::string>>{
           {"http.get", "http://api.example.org/v1/items?q=1&next=/admin"},
           {"http.get", "HTTP://API.Example.org:80/v1/./items"},
           {"http.get", "http://api.example.org/v1/%7Eme"},
           {"kv.write", "app/notes"}}) {
    auto st = gate.check(right, resource);
    EXPECT_TRUE(st) << right << " " << resource << ": " << st.error().toString();
  }
  for (const auto& [right, resource] : std::vector<std::pair<std::string, std::string>>{
           {"http.get", "http://api.example.org/v1/../admin"},
           {"http.get", "http://api.example.org/v1/%2e%2e/admin"},
           {"http.get", "http://api.example.org/admin?/v1/x"},
           {"http.get", "http://api.example.org.evil.example/v1/x"},
           {"http.get", "http://user@api.example.org/v1/x"},
           {"http.get", "http://api.example.org/v1/x#frag"},
           {"http.get", "https://api.example.org/v1/x"},
           {"http.get", "http://api.example.org:8080/v1/x"},
           {"http.post", "http://api.example.org/v1/x"},
           {"kv.write", "other/x"},
           {"kv.read", "app/notes"},
           {"kv.write", "app/../other"}}) {
    auto st = gate.check(right, resource);
    ASSERT_FALSE(st) << right << " " << resource;
    EXPECT_EQ(st.error().code, Errc::kPermissionDenied) << right << " " << resource;
  }
  // The same token presented for another app, and no token at all.
  TokenGate other(verifier, *token, *appDid(*node_key, "other"));
  auto st = other.check("kv.write", "app/notes");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("wrong-audience"), std::string::npos) << st.error().message;
  TokenGate none(verifier, "", app);
  EXPECT_FALSE(none.check("kv.write", "app/notes"));
}

// The app key derivation against an independent implementation: the expected DIDs were computed
// with Node.js's node:crypto (hkdfSync('sha256', seed, '', 'aether app key v1' + name, 32), then
// the Ed25519 public key of that seed) and multiformats' base58btc, for the node seed 00 01 .. 1f.
TEST(AppDidTest, MatchesAnIndependentHkdfAndEd25519) {
  Bytes seed(32);
  for (std::size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<std::uint8_t>(i);
  auto node_key = crypto::Ed25519KeyPair::fromSeed(seed);
  ASSERT_TRUE(node_key) << node_key.error().toString();
  EXPECT_EQ(*appDid(*node_key, "hello"), "did:key:z6MktfoZQ8UE5aREfyP7cU4dYfC8HHQCxCykqevREMnGxsxF");
  EXPECT_EQ(*appDid(*node_key, "notes-app"), "did:key:z6MkodS8rca1Zi4KUD3Bmuqnpnv1VaiUw3E7uSysNpUC1Vcg");
}

}  // namespace
}  // namespace aether::node
