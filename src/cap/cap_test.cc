#include "cap/cap.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "codec/codec.h"
#include "crypto/crypto.h"
#include "identity/identity.h"

namespace aether::cap {
namespace {

using nlohmann::json;

Capability cap(std::string_view right, std::string_view resource) {
  auto c = Capability::parse(right, resource);
  EXPECT_TRUE(c.has_value()) << right << " " << resource << ": "
                             << (c ? "" : c.error().toString());
  return c ? *c : *Capability::parse("kv.read", "never");
}

// ---- capability grammar ----------------------------------------------------------------------

TEST(CapabilityGrammar, AcceptsNormalForms) {
  const std::pair<std::string_view, std::string_view> kGood[] = {
      {"kv.write", "app/*"},
      {"kv.read", "app/settings"},
      {"kv.*", "*"},
      {"kv.list", "a.b/c-d/e_f~g"},
      {"fs.read", "/data/*"},
      {"fs.write", "/data/notes.txt"},
      {"fs.list", "/"},
      {"fs.*", "/*"},
      {"http.get", "https://api.example.org/*"},
      {"http.post", "https://api.example.org/v1/items"},
      {"http.get", "http://localhost:8080/"},
      {"http.get", "https://api.example.org/dir/"},
      {"http.get", "https://[2001:db8::1]/x"},
      {"http.get", "https://10.0.0.1/x/*"},
      {"http.*", "https://api.example.org/a%20b/%2A"},
      {"net.dial", "/ipfs/ping/1.0.0"},
      {"net.listen", "/aether/chat/*"},
      {"net.*", "/*"},
      {"pubsub.publish", "aether/chat/lobby"},
      {"pubsub.subscribe", "aether/chat/*"},
  };
  for (const auto& [right, resource] : kGood) {
    auto c = Capability::parse(right, resource);
    ASSERT_TRUE(c.has_value()) << right << " " << resource << ": " << c.error().toString();
    EXPECT_EQ(c->right(), right);
    EXPECT_EQ(c->resource(), resource);
    auto again = Capability::parse(c->toString());
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*again, *c);
  }
  auto c = cap("kv.*", "app/*");
  EXPECT_EQ(c.rightNamespace(), "kv");
  EXPECT_EQ(c.ability(), "*");
  EXPECT_TRUE(c.isRightWildcard());
  EXPECT_TRUE(c.isResourceGlob());
  EXPECT_EQ(c.resourcePrefix(), "app/");
  EXPECT_EQ(c.resourceKind(), ResourceKind::kKey);
  EXPECT_EQ(cap("http.get", "https://a.org/").resourceKind(), ResourceKind::kUrl);
}

TEST(CapabilityGrammar, RejectsBadOnesWithTypedErrors) {
  struct Case {
    std::string_view right, resource;
    Errc code;
  };
  const std::string longResource = "app/" + std::string(kMaxResourceLength, 'a');
  std::string manySegments;
  for (std::size_t i = 0; i <= kMaxResourceSegments; ++i) manySegments += i ? "/a" : "a";
  const Case kBad[] = {
      {"", "app/*", Errc::kMalformed},
      {"kv", "app/*", Errc::kMalformed},                // no ability
      {"KV.write", "app/*", Errc::kMalformed},          // upper case
      {"kv.write.x", "app/*", Errc::kMalformed},
      {"kv.execute", "app/*", Errc::kUnsupported},      // unknown ability
      {"shell.run", "ls", Errc::kUnsupported},          // unknown namespace
      {"*", "app/*", Errc::kMalformed},                 // no global wildcard
      {"kv.write", "", Errc::kMalformed},
      {"kv.write", "app/../x", Errc::kMalformed},
      {"kv.write", "app//x", Errc::kMalformed},
      {"kv.write", "/app/x", Errc::kMalformed},         // keys are relative
      {"kv.write", "app/*/x", Errc::kMalformed},        // glob not last
      {"kv.write", "app*", Errc::kMalformed},           // glob not a whole segment
      {"kv.write", "app/x y", Errc::kMalformed},
      {"kv.write", "app/\xc3\xa9", Errc::kMalformed},   // non-ASCII
      {"fs.read", "data/*", Errc::kMalformed},          // paths are absolute
      {"fs.read", "/data/../etc/passwd", Errc::kMalformed},
      {"fs.read", "/data//x", Errc::kNonCanonical},
      {"fs.read", "/data/./x", Errc::kNonCanonical},
      {"fs.read", "/data/", Errc::kNonCanonical},
      {"http.get", "api.example.org/*", Errc::kMalformed},  // no scheme
      {"http.get", "https:///x", Errc::kMalformed},         // no host
      {"http.get", "ftp://example.org/*", Errc::kUnsupported},
      {"http.get", "https://user@example.org/", Errc::kMalformed},
      {"http.get", "https://example.org/a?b=1", Errc::kMalformed},
      {"http.get", "https://example.org/a#f", Errc::kMalformed},
      {"http.get", "https://example.org/a/../b", Errc::kMalformed},
      {"http.get", "https://example.org/%2e%2e/b", Errc::kMalformed},
      {"http.get", "https://example.org/a*", Errc::kMalformed},
      {"http.get", "https://example.org/a%zz", Errc::kMalformed},
      {"http.get", "https://0x7f.1/", Errc::kMalformed},     // WHATWG would read an IPv4 address
      {"http.get", "https://1.2.3/", Errc::kMalformed},
      {"http.get", "https://example.org:99999/", Errc::kMalformed},
      {"http.get", "https://exa mple.org/", Errc::kMalformed},
      {"http.get", "HTTPS://Example.org/", Errc::kNonCanonical},
      {"http.get", "https://example.org:443/", Errc::kNonCanonical},
      {"http.get", "https://example.org", Errc::kNonCanonical},
      {"http.get", "https://example.org/%7euser", Errc::kNonCanonical},
      {"http.get", "https://[2001:DB8:0::1]/", Errc::kNonCanonical},
      {"net.dial", "ipfs/ping", Errc::kMalformed},
      {"net.dial", "/ipfs/./ping", Errc::kMalformed},
      {"pubsub.publish", "chat/", Errc::kMalformed},
      {"kv.write", longResource, Errc::kLimitExceeded},
      {"kv.write", manySegments, Errc::kLimitExceeded},
      {std::string_view("kv.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), "x",
       Errc::kLimitExceeded},
  };
  for (const Case& c : kBad) {
    auto r = Capability::parse(c.right, c.resource);
    ASSERT_FALSE(r.has_value()) << c.right << " " << c.resource;
    EXPECT_EQ(r.error().code, c.code) << c.right << " " << c.resource << ": " << r.error().toString();
  }
  EXPECT_EQ(Capability::parse("kv.write").error().code, Errc::kMalformed);
}

TEST(CapabilityGrammar, NormalizeResource) {
  const std::tuple<std::string_view, std::string_view, std::string_view> kCases[] = {
      {"fs.read", "/data//x/./y/", "/data/x/y"},
      {"fs.read", "/data/*/", "/data/*"},
      {"fs.read", "//", "/"},
      {"http.get", "HTTPS://Example.ORG:443", "https://example.org/"},
      {"http.get", "http://example.org:80/a/./b/", "http://example.org/a/b/"},
      {"http.get", "https://example.org/%7e%2fx", "https://example.org/~%2Fx"},
      {"http.get", "https://[2001:DB8:0::1]:8443/", "https://[2001:db8::1]:8443/"},
      {"kv.read", "app/x", "app/x"},
  };
  for (const auto& [right, in, out] : kCases) {
    auto n = normalizeResource(right, in);
    ASSERT_TRUE(n.has_value()) << in << ": " << n.error().toString();
    EXPECT_EQ(*n, out);
    EXPECT_TRUE(Capability::parse(right, *n).has_value());
  }
  auto e = Capability::parse("http.get", "HTTPS://Example.org");
  ASSERT_FALSE(e.has_value());
  EXPECT_NE(e.error().message.find("https://example.org/"), std::string::npos) << e.error().message;
}

TEST(CapabilityCovers, TruthTable) {
  struct Row {
    std::string_view granted, requested;
    bool covers;
  };
  const Row kRows[] = {
      {"kv.write app/*", "kv.write app/x", true},
      {"kv.write app/*", "kv.write app/x/y", true},
      {"kv.write app/*", "kv.write app/*", true},
      {"kv.write app/*", "kv.write app/x/*", true},
      {"kv.write app/*", "kv.write app", false},       // the glob is strictly below app/
      {"kv.write app/*", "kv.write apple/x", false},
      {"kv.write app/*", "kv.write *", false},
      {"kv.write app/*", "kv.read app/x", false},
      {"kv.write app/*", "kv.* app/x", false},          // a wildcard request is wider
      {"kv.* app/*", "kv.write app/x", true},
      {"kv.* app/*", "kv.* app/x/*", true},
      {"kv.* *", "kv.delete anything/at/all", true},
      {"kv.* *", "fs.read /x", false},                  // namespaces never mix
      {"kv.write app/x", "kv.write app/x", true},
      {"kv.write app/x", "kv.write app/x/y", false},
      {"kv.write app/x", "kv.write app/*", false},      // a literal never covers a glob
      {"fs.read /data/*", "fs.read /data/a/b", true},
      {"fs.read /data/*", "fs.read /data", false},
      {"fs.read /data/*", "fs.read /database", false},
      {"fs.* /*", "fs.list /", true},
      {"fs.read /", "fs.read /x", false},
      {"http.get https://api.example.org/*", "http.get https://api.example.org/", true},
      {"http.get https://api.example.org/*", "http.get https://api.example.org/v1/x", true},
      {"http.get https://api.example.org/*", "http.get https://api.example.org.evil.com/", false},
      {"http.get https://api.example.org/*", "http.get https://api.example.org:8443/", false},
      {"http.get https://api.example.org/*", "http.get http://api.example.org/", false},
      {"http.get https://api.example.org/v1/*", "http.get https://api.example.org/v1", false},
      {"http.get https://api.example.org/v1/*", "http.get https://api.example.org/v1/", true},
      {"http.* https://api.example.org/*", "http.post https://api.example.org/x", true},
      {"net.dial /ipfs/*", "net.dial /ipfs/ping/1.0.0", true},
      {"net.dial /ipfs/ping/1.0.0", "net.dial /ipfs/ping/1.0.1", false},
      {"net.dial /ipfs/*", "net.listen /ipfs/ping/1.0.0", false},
      {"pubsub.publish aether/chat/*", "pubsub.publish aether/chat/lobby", true},
      {"pubsub.* *", "pubsub.subscribe x", true},
  };
  for (const Row& r : kRows) {
    auto g = Capability::parse(r.granted);
    auto q = Capability::parse(r.requested);
    ASSERT_TRUE(g && q) << r.granted << " / " << r.requested;
    EXPECT_EQ(covers(*g, *q), r.covers) << r.granted << " covers " << r.requested;
    if (r.covers) {
      EXPECT_TRUE(overlaps(*g, *q));
    }
  }
  EXPECT_TRUE(overlaps(cap("kv.write", "app/x/*"), cap("kv.*", "app/*")));
  EXPECT_TRUE(overlaps(cap("kv.*", "app/*"), cap("kv.write", "app/x/*")));
  EXPECT_FALSE(overlaps(cap("kv.write", "a/*"), cap("kv.write", "b/*")));
  EXPECT_FALSE(overlaps(cap("kv.write", "a/*"), cap("kv.read", "a/*")));
  EXPECT_FALSE(overlaps(cap("kv.write", "a/x"), cap("kv.write", "a/y")));
}

TEST(CapabilityUcan, MappingRoundTrips) {
  const std::tuple<std::string_view, std::string_view, std::string_view, std::string_view> kMap[] = {
      {"kv.write", "app/*", "kv:app/*", "kv/write"},
      {"kv.*", "*", "kv:*", "kv/*"},
      {"fs.read", "/data/*", "fs:/data/*", "fs/read"},
      {"http.get", "https://api.example.org/*", "https://api.example.org/*", "http/get"},
      {"net.dial", "/ipfs/ping/1.0.0", "net:/ipfs/ping/1.0.0", "net/dial"},
      {"pubsub.publish", "aether/chat", "pubsub:aether/chat", "pubsub/publish"},
  };
  for (const auto& [right, resource, with, can] : kMap) {
    const Capability c = cap(right, resource);
    const UcanCapability u = toUcan(c);
    EXPECT_EQ(u.with, with);
    EXPECT_EQ(u.can, can);
    auto back = fromUcan(with, can);
    ASSERT_TRUE(back.has_value()) << back.error().toString();
    EXPECT_EQ(*back, c);
  }
  EXPECT_EQ(fromUcan("my:*", "*").error().code, Errc::kUnsupported);
  EXPECT_EQ(fromUcan("prf:0", "ucan/DELEGATE").error().code, Errc::kUnsupported);
  EXPECT_EQ(fromUcan("wnfs://x/", "wnfs/OVERWRITE").error().code, Errc::kUnsupported);
  EXPECT_EQ(fromUcan("fs:/data/*", "kv/write").error().code, Errc::kUnsupported);
  EXPECT_EQ(fromUcan("kv:app/*", "kv.write").error().code, Errc::kMalformed);
  EXPECT_EQ(fromUcan("kv:app/*", "kv/WRITE").error().code, Errc::kMalformed);
  EXPECT_EQ(fromUcan("fs:/data//x", "fs/read").error().code, Errc::kNonCanonical);
  EXPECT_EQ(fromUcan("HTTPS://a.org/", "http/get").error().code, Errc::kNonCanonical);
}

// ---- manifest -----------------------------------------------------------------------------------

constexpr std::string_view kGoodManifest = R"toml(name = "notes"
version = "1.2.0-rc.1+build.5"
entry = "bin/notes.wasm"
license = "MIT OR (Apache-2.0 WITH LLVM-exception)"

[[capabilities]]
right = "kv.write"
resource = "app/notes/*"
reason = "to save your notes ✓"

[[capabilities]]
right = "kv.read"
resource = "app/*"

[[capabilities]]
right = "http.get"
resource = "https://api.example.org/v1/*"
reason = "to sync"

[limits]
memory = "128MiB"
fuel = 5_000_000_000
fs_quota = "1GiB"
cap_ttl = "12h"

[pricing]
model = "subscription"
monthly = { amount = 3.5, currency = "EUR" }
tiers = [ { name = "free", quota = 10 }, { name = "pro", quota = 1000 } ]
"odd key" = true
)toml";

TEST(Manifest, ParsesAndRoundTrips) {
  auto m = parseManifest(kGoodManifest);
  ASSERT_TRUE(m.has_value()) << m.error().toString();
  EXPECT_EQ(m->name, "notes");
  EXPECT_EQ(m->version.major, 1u);
  EXPECT_EQ(m->version.prerelease, "rc.1");
  EXPECT_EQ(m->version.build, "build.5");
  EXPECT_EQ(m->version.toString(), "1.2.0-rc.1+build.5");
  EXPECT_EQ(m->entry, "bin/notes.wasm");
  EXPECT_EQ(m->license, "MIT OR (Apache-2.0 WITH LLVM-exception)");
  ASSERT_EQ(m->capabilities.size(), 3u);
  EXPECT_EQ(m->capabilities[0].capability, cap("kv.write", "app/notes/*"));
  EXPECT_EQ(m->capabilities[0].reason, "to save your notes ✓");
  EXPECT_EQ(m->capabilities[1].reason, "");
  EXPECT_EQ(m->limits.memory, std::uint64_t{128} << 20);
  EXPECT_EQ(m->limits.fuel, 5'000'000'000u);
  EXPECT_EQ(m->limits.fsQuota, std::uint64_t{1} << 30);
  EXPECT_EQ(m->limits.capTtl, 12u * 3600);
  EXPECT_EQ(m->pricing["monthly"]["amount"], 3.5);
  EXPECT_EQ(m->pricing["tiers"][1]["quota"], 1000);
  EXPECT_EQ(m->pricing["odd key"], true);

  const std::string canonical = toToml(*m);
  auto again = parseManifest(canonical);
  ASSERT_TRUE(again.has_value()) << again.error().toString() << "\n" << canonical;
  EXPECT_EQ(*again, *m) << canonical;
  EXPECT_EQ(toToml(*again), canonical);
}

TEST(Manifest, MinimalAndInlineCapabilities) {
  auto m = parseManifest(
      "name = \"a\"\nversion = \"0.0.1\"\nentry = \"a.wasm\"\n"
      "capabilities = [{ right = \"pubsub.publish\", resource = \"chat/*\" }]\n");
  ASSERT_TRUE(m.has_value()) << m.error().toString();
  ASSERT_EQ(m->capabilities.size(), 1u);
  EXPECT_TRUE(m->pricing.is_null());
  EXPECT_EQ(m->limits, Limits{});
  auto again = parseManifest(toToml(*m));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, *m);
}

TEST(Manifest, BadManifestsReportCodeLineAndColumn) {
  struct Case {
    std::string_view name;
    std::string text;
    Errc code;
    std::uint32_t line, column;
  };
  const std::string head = "name = \"notes\"\nversion = \"1.0.0\"\nentry = \"notes.wasm\"\n";  // lines 1-3
  const std::vector<Case> kCases = {
      {"unknown top-level key", head + "descripton = \"x\"\n", Errc::kMalformed, 4, 1},
      {"bad semver", "name = \"notes\"\nversion = \"1.2\"\nentry = \"a.wasm\"\n", Errc::kMalformed, 2, 11},
      {"semver leading zero", "name = \"notes\"\nversion = \"01.2.3\"\nentry = \"a.wasm\"\n", Errc::kMalformed, 2, 11},
      {"name not a string", "name = 5\nversion = \"1.0.0\"\nentry = \"a.wasm\"\n", Errc::kMalformed, 1, 8},
      {"bad name", "name = \"Notes!\"\nversion = \"1.0.0\"\nentry = \"a.wasm\"\n", Errc::kMalformed, 1, 8},
      {"missing entry", "name = \"notes\"\nversion = \"1.0.0\"\n", Errc::kMalformed, 1, 1},
      {"entry escapes package", "name = \"n\"\nversion = \"1.0.0\"\nentry = \"../x.wasm\"\n", Errc::kMalformed, 3, 9},
      {"entry not wasm", "name = \"n\"\nversion = \"1.0.0\"\nentry = \"x.js\"\n", Errc::kMalformed, 3, 9},
      {"dot-dot resource", head + "\n[[capabilities]]\nright = \"kv.write\"\nresource = \"app/../x\"\n",
       Errc::kMalformed, 7, 12},
      {"unknown right", head + "\n[[capabilities]]\nright = \"kv.execute\"\nresource = \"app/*\"\n",
       Errc::kUnsupported, 6, 9},
      {"non-canonical path", head + "[[capabilities]]\nright = \"fs.read\"\nresource = \"/data//x\"\n",
       Errc::kNonCanonical, 6, 12},
      {"URL with query", head + "[[capabilities]]\nright = \"http.get\"\nresource = \"https://x.org/a?b=1\"\n",
       Errc::kMalformed, 6, 12},
      {"duplicate capability",
       head + "[[capabilities]]\nright = \"kv.read\"\nresource = \"a\"\n[[capabilities]]\nright = \"kv.read\"\nresource = \"a\"\n",
       Errc::kAlreadyExists, 7, 1},
      {"unknown key in capability", head + "[[capabilities]]\nright = \"kv.read\"\n  rsource = \"a\"\n",
       Errc::kMalformed, 6, 3},
      {"capability without resource", head + "[[capabilities]]\nright = \"kv.read\"\n", Errc::kMalformed, 4, 1},
      {"capabilities not an array", head + "capabilities = \"kv.read a\"\n", Errc::kMalformed, 4, 16},
      {"reason with bidi override",
       head + "[[capabilities]]\nright = \"kv.read\"\nresource = \"a\"\nreason = \"safe \u202Eexe.txt\"\n",
       Errc::kMalformed, 7, 10},
      {"memory in MB", head + "[limits]\nmemory = \"64MB\"\n", Errc::kMalformed, 5, 10},
      {"memory not page-aligned", head + "[limits]\nmemory = 1000000\n", Errc::kMalformed, 5, 10},
      {"memory above 4GiB", head + "[limits]\nmemory = \"8GiB\"\n", Errc::kOverflow, 5, 10},
      {"negative fuel", head + "[limits]\nfuel = -1\n", Errc::kMalformed, 5, 8},
      {"fuel as string", head + "[limits]\nfuel = \"lots\"\n", Errc::kMalformed, 5, 8},
      {"unknown limit", head + "[limits]\ncpu = 2\n", Errc::kMalformed, 5, 1},
      {"bad ttl unit", head + "[limits]\ncap_ttl = \"1w\"\n", Errc::kMalformed, 5, 11},
      {"huge size", head + "[limits]\nfs_quota = \"99999999999999999999KiB\"\n", Errc::kOverflow, 5, 12},
      {"bad license", head + "license = \"MIT AND\"\n", Errc::kMalformed, 4, 11},
      {"date in pricing", head + "[pricing]\nstart = 1979-05-27\n", Errc::kUnsupported, 5, 9},
      {"TOML syntax", "name = \"notes\nversion = \"1.0.0\"\n", Errc::kMalformed, 1, 14},
      {"duplicate TOML key", "name = \"a\"\nname = \"b\"\n", Errc::kMalformed, 2, 8},
      {"first error wins", head + "zzz = 1\n[limits]\naaa = 2\n", Errc::kMalformed, 4, 1},
      // Regressions for toml++ 3.3.0 undefined behaviour (marzer/tomlplusplus#190, #295): non-ASCII
      // outside strings, and right after a line-ending backslash, is refused before toml++ runs.
      {"non-ASCII bare key", head + "cl\u00e9 = 1\n", Errc::kMalformed, 4, 3},
      {"malformed UTF-8 outside strings", head + "\xcc\xaa", Errc::kMalformed, 4, 1},
      {"non-ASCII escape", head + "license = \"\\\u00e9\"\n", Errc::kMalformed, 4, 13},
      {"non-ASCII escape in multi-line string (fuzz)", "\n\"\"\"\n-v\n\n\\\\$\\\\\\\u00e9", Errc::kMalformed, 5, 7},
  };
  for (const Case& c : kCases) {
    auto m = parseManifest(c.text);
    ASSERT_FALSE(m.has_value()) << c.name;
    EXPECT_EQ(m.error().code, c.code) << c.name << ": " << m.error().toString();
    auto loc = errorLocation(m.error());
    ASSERT_TRUE(loc.has_value()) << c.name << ": " << m.error().message;
    EXPECT_EQ(loc->line, c.line) << c.name << ": " << m.error().message;
    EXPECT_EQ(loc->column, c.column) << c.name << ": " << m.error().message;
  }
  // Non-ASCII inside strings and comments is fine (toml++ sees it as \u escapes, see manifest.cc),
  // also right after a line-ending backslash, and columns after it are the original ones.
  auto ok = parseManifest(head + "# caf\u00e9 \u00a7\n[[capabilities]]\nright = \"kv.read\"\nresource = \"a\"\n"
                                 "reason = '''caf\u00e9 \u00a7 \\ \"\U0001F680\"'''\n"
                                 "[[capabilities]]\nright = 'kv.write'\nresource = \"a\"\nreason = \"\"\"\\\n  \u00a7 x\"\"\"\n");
  ASSERT_TRUE(ok.has_value()) << ok.error().toString();
  EXPECT_EQ(ok->capabilities.at(0).reason, "caf\u00e9 \u00a7 \\ \"\U0001F680\"");
  EXPECT_EQ(ok->capabilities.at(1).reason, "\u00a7 x");
  auto shifted = parseManifest(head + "license = \"\u00e9\u00e9\u00e9\" = 1\n");
  ASSERT_FALSE(shifted.has_value());
  EXPECT_EQ(errorLocation(shifted.error()), (SourceLocation{4, 17})) << shifted.error().message;
  auto big = parseManifest(std::string(kMaxManifestBytes + 1, '#'));
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code, Errc::kLimitExceeded);
  EXPECT_EQ(errorLocation(big.error()), (SourceLocation{1, 1}));
  EXPECT_FALSE(errorLocation(Error{Errc::kMalformed, "no location"}).has_value());
}

TEST(Manifest, SemVer) {
  for (std::string_view good : {"0.0.0", "1.2.3", "10.20.30", "1.0.0-alpha.1", "1.0.0-0.3.7",
                                "1.0.0+20130313144700", "1.0.0-beta+exp.sha.5114f85", "1.0.0-x-y-z.--"}) {
    auto v = SemVer::parse(good);
    ASSERT_TRUE(v.has_value()) << good;
    EXPECT_EQ(v->toString(), good);
  }
  for (std::string_view bad : {"", "1", "1.2", "v1.2.3", "01.2.3", "1.2.3-", "1.2.3+", "1.2.3-01",
                               "1.2.3-a..b", "1.2.3.4", "1.2.-3", "99999999999999999999.0.0", "1.2.3 "}) {
    EXPECT_FALSE(SemVer::parse(bad).has_value()) << bad;
  }
}

// ---- policy and negotiation --------------------------------------------------------------------

constexpr std::string_view kPolicy = R"(
[limits]
memory = "256MiB"
cap_ttl = "7d"

[defaults]
memory = "32MiB"
fuel = 1000000

[[allow]]
right = "kv.*"
resource = "*"

[[allow]]
right = "http.get"
resource = "https://api.example.org/*"

[[allow]]
right = "fs.*"
resource = "/data/*"

[[deny]]
right = "fs.read"
resource = "/data/secret/*"
reason = "secrets stay on the device"
)";

Manifest manifestWith(std::vector<std::pair<std::string_view, std::string_view>> caps) {
  Manifest m;
  m.name = "notes";
  m.version = *SemVer::parse("1.0.0");
  m.entry = "notes.wasm";
  for (const auto& [r, res] : caps) m.capabilities.push_back({cap(r, res), "because " + std::string(r)});
  return m;
}

TEST(Policy, ParsesAndRoundTrips) {
  auto p = parsePolicy(kPolicy);
  ASSERT_TRUE(p.has_value()) << p.error().toString();
  EXPECT_EQ(p->allow.size(), 3u);
  ASSERT_EQ(p->deny.size(), 1u);
  EXPECT_EQ(p->deny[0].reason, "secrets stay on the device");
  EXPECT_EQ(p->ceilings.memory, std::uint64_t{256} << 20);
  EXPECT_EQ(p->ceilings.capTtl, 7u * 86400);
  EXPECT_EQ(p->defaults.fuel, 1'000'000u);
  auto again = parsePolicy(toToml(*p));
  ASSERT_TRUE(again.has_value()) << again.error().toString();
  EXPECT_EQ(*again, *p);
}

TEST(Policy, BadPoliciesReportLines) {
  struct Case {
    std::string text;
    Errc code;
    std::uint32_t line, column;
  };
  const Case kCases[] = {
      {"[[allow]]\nright = \"kv.*\"\nresource = \"*\"\n[[permit]]\n", Errc::kMalformed, 4, 3},
      {"[[deny]]\nright = \"kv.write\"\nresource = \"a//b\"\n", Errc::kMalformed, 3, 12},
      {"[limits]\nmemory = \"64MiB\"\n[defaults]\nmemory = \"128MiB\"\n", Errc::kInvalidArgument, 4, 10},
      {"allow = 3\n", Errc::kMalformed, 1, 9},
      {"[defaults]\nttl = 5\n", Errc::kMalformed, 2, 1},
  };
  for (const Case& c : kCases) {
    auto p = parsePolicy(c.text);
    ASSERT_FALSE(p.has_value()) << c.text;
    EXPECT_EQ(p.error().code, c.code) << p.error().toString();
    auto loc = errorLocation(p.error());
    ASSERT_TRUE(loc.has_value()) << p.error().message;
    EXPECT_EQ(*loc, (SourceLocation{c.line, c.column})) << p.error().message;
  }
}

TEST(Negotiate, ApprovesWhatPolicyAllows) {
  const Policy policy = *parsePolicy(kPolicy);
  Manifest m = manifestWith({{"kv.write", "app/*"}, {"http.get", "https://api.example.org/v1/*"},
                             {"fs.read", "/data/public/*"}});
  m.limits.memory = std::uint64_t{128} << 20;
  auto a = negotiate(m, policy);
  ASSERT_TRUE(a.has_value()) << a.error().describe();
  ASSERT_EQ(a->grants.size(), 3u);
  // Sorted by (right, resource).
  EXPECT_EQ(a->grants[0].capability, cap("fs.read", "/data/public/*"));
  EXPECT_EQ(a->grants[0].reason, "because fs.read");
  EXPECT_EQ(a->grants[2].capability, cap("kv.write", "app/*"));
  EXPECT_EQ(a->limits.memory, std::uint64_t{128} << 20);  // the manifest's, under the ceiling
  EXPECT_EQ(a->limits.fuel, 1'000'000u);                  // the policy default
  EXPECT_EQ(a->limits.fsQuota, kDefaultLimits.fsQuota);   // built-in default
  EXPECT_EQ(a->limits.capTtl, kDefaultLimits.capTtl);
  EXPECT_EQ(a->capabilities().size(), 3u);

  // A narrower request than declared gets exactly what it asked for.
  const Capability narrow = cap("kv.write", "app/drafts/*");
  auto b = negotiate(m, std::span<const Capability>(&narrow, 1), policy);
  ASSERT_TRUE(b.has_value());
  ASSERT_EQ(b->grants.size(), 1u);
  EXPECT_EQ(b->grants[0].capability, narrow);
  EXPECT_EQ(b->grants[0].reason, "because kv.write");
}

TEST(Negotiate, PartialDenyRefusesEverythingAndSaysWhy) {
  const Policy policy = *parsePolicy(kPolicy);
  const Manifest m = manifestWith({{"kv.write", "app/*"},
                                   {"fs.read", "/data/*"},          // overlaps the deny rule
                                   {"net.dial", "/ipfs/ping/1.0.0"}});  // no allow rule
  std::vector<Capability> requested = {cap("kv.write", "app/x"), cap("fs.read", "/data/*"),
                                       cap("net.dial", "/ipfs/ping/1.0.0"),
                                       cap("pubsub.publish", "chat")};  // not declared
  auto r = negotiate(m, requested, policy);
  ASSERT_FALSE(r.has_value());
  const auto& refusals = r.error().refusals;
  ASSERT_EQ(refusals.size(), 3u) << r.error().describe();
  EXPECT_EQ(refusals[0].kind, Refusal::Kind::kDenied);
  EXPECT_EQ(refusals[0].capability, cap("fs.read", "/data/*"));
  EXPECT_NE(refusals[0].why.find("secrets stay on the device"), std::string::npos);
  EXPECT_EQ(refusals[1].kind, Refusal::Kind::kNotAllowed);
  EXPECT_EQ(refusals[2].kind, Refusal::Kind::kNotDeclared);
  EXPECT_EQ(r.error().toError().code, Errc::kPermissionDenied);
  const std::string described = r.error().describe();
  EXPECT_EQ(std::count(described.begin(), described.end(), '\n'), 2) << described;
}

TEST(Negotiate, LimitCeilings) {
  const Policy policy = *parsePolicy(kPolicy);
  Manifest m = manifestWith({{"kv.read", "app/*"}});
  m.limits.memory = std::uint64_t{512} << 20;  // ceiling 256MiB
  m.limits.capTtl = 30 * 86400;               // ceiling 7d
  auto r = negotiate(m, policy);
  ASSERT_FALSE(r.has_value());
  ASSERT_EQ(r.error().refusals.size(), 2u);
  EXPECT_EQ(r.error().refusals[0].kind, Refusal::Kind::kLimitAboveCeiling);
  EXPECT_EQ(r.error().refusals[0].limit, "memory");
  EXPECT_NE(r.error().refusals[0].why.find("256MiB"), std::string::npos) << r.error().refusals[0].why;
  EXPECT_EQ(r.error().refusals[1].limit, "cap_ttl");

  // A built-in default above a policy ceiling is clamped, not refused.
  Policy tight;
  tight.allow.push_back({cap("kv.*", "*"), ""});
  tight.ceilings.memory = std::uint64_t{16} << 20;
  m.limits = {};
  auto a = negotiate(m, tight);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->limits.memory, std::uint64_t{16} << 20);
}

TEST(Negotiate, ConsentTextDescribesAndEscapes) {
  Policy policy;
  policy.allow.push_back({cap("kv.*", "*"), ""});
  policy.allow.push_back({cap("http.*", "https://api.example.org/*"), ""});
  Manifest m = manifestWith({{"kv.write", "app/*"}, {"http.get", "https://api.example.org/v1/*"}});
  m.capabilities[0].reason = "to save\x1b[2J your notes \u202Egnp.exe";
  m.name = "notes\x1b]0;pwned\x07";
  auto a = negotiate(m, policy);
  ASSERT_TRUE(a.has_value());
  const std::string text = describeConsent(m, *a);
  EXPECT_NE(text.find("create and change its keys under app/"), std::string::npos) << text;
  EXPECT_NE(text.find("send HTTP GET requests to any URL under https://api.example.org/v1/"),
            std::string::npos) << text;
  EXPECT_NE(text.find("[kv.write app/*]"), std::string::npos);
  EXPECT_NE(text.find("Limits: memory 64MiB"), std::string::npos) << text;
  EXPECT_NE(text.find("\\u{1b}"), std::string::npos);
  EXPECT_NE(text.find("\\u{202e}"), std::string::npos);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(text.find('\x07'), std::string::npos);
  EXPECT_EQ(text.find("\u202E"), std::string::npos);

  auto none = negotiate(manifestWith({}), policy);
  ASSERT_TRUE(none.has_value());
  EXPECT_NE(describeConsent(manifestWith({}), *none).find("no capabilities"), std::string::npos);
}

// ---- tokens ------------------------------------------------------------------------------------

class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::int64_t t) : t_(t) {}
  std::int64_t now() const override { return t_; }
  void set(std::int64_t t) { t_ = t; }

 private:
  std::int64_t t_;
};

class CountingVerifier final : public SignatureVerifier {
 public:
  Status verify(const identity::Jws& jws, const crypto::Ed25519PublicKey& key) const override {
    ++count_;
    return inner_.verify(jws, key);
  }
  int count() const { return count_; }

 private:
  Ed25519SignatureVerifier inner_;
  mutable int count_ = 0;
};

crypto::Ed25519KeyPair keyFromByte(std::uint8_t b) {
  return *crypto::Ed25519KeyPair::fromSeed(Bytes(32, b));
}

std::string did(const crypto::Ed25519KeyPair& k) { return identity::didKeyFromEd25519(k.publicKey()); }

// Signs an arbitrary payload as a UCAN (for tokens our API refuses to make).
std::string signRaw(const crypto::Ed25519KeyPair& key, const json& payload,
                    json header = {{"typ", "JWT"}, {"ucv", "0.8.1"}}) {
  return *identity::jwsSign(key, header, asBytes(payload.dump()));
}

json ucanAtt(std::initializer_list<std::pair<std::string_view, std::string_view>> caps) {
  json att = json::array();
  for (const auto& [r, res] : caps) {
    const UcanCapability u = toUcan(cap(r, res));
    att.push_back({{"with", u.with}, {"can", u.can}});
  }
  return att;
}

class TokenTest : public ::testing::Test {
 protected:
  crypto::Ed25519KeyPair node_ = keyFromByte(1);
  crypto::Ed25519KeyPair app1_ = keyFromByte(2);
  crypto::Ed25519KeyPair app2_ = keyFromByte(3);
  crypto::Ed25519KeyPair app3_ = keyFromByte(4);
  crypto::SeededRng rng_{42};
  FakeClock clock_{1000};
  CountingVerifier sigs_;
  TokenVerifier verifier_{{did(node_)}, clock_, sigs_};

  std::string root(std::int64_t exp = 2000) {
    const std::vector<Capability> caps = {cap("kv.write", "app/*"),
                                          cap("http.get", "https://api.example.org/*")};
    auto t = mintToken(node_, did(app1_), caps, {.expiresAt = exp}, rng_);
    EXPECT_TRUE(t.has_value()) << t.error().toString();
    return *t;
  }
  std::string delegate(std::string_view parent, const crypto::Ed25519KeyPair& holder,
                       const crypto::Ed25519KeyPair& to, std::vector<Capability> subset,
                       std::int64_t exp) {
    auto t = delegateToken(parent, holder, did(to), subset, {.expiresAt = exp}, rng_);
    EXPECT_TRUE(t.has_value()) << t.error().toString();
    return t.value_or("");
  }
};

TEST_F(TokenTest, MintParseAndFormat) {
  const std::string t = root();
  auto u = parseUcan(t);
  ASSERT_TRUE(u.has_value()) << u.error().toString();
  EXPECT_EQ(u->issuer.did, did(node_));
  EXPECT_EQ(u->audience, did(app1_));
  EXPECT_EQ(u->version, "0.8.1");
  EXPECT_EQ(u->expiresAt, 2000);
  EXPECT_FALSE(u->notBefore.has_value());
  ASSERT_TRUE(u->nonce.has_value());
  EXPECT_EQ(u->nonce->size(), 16u);
  EXPECT_TRUE(u->proofs.empty());
  EXPECT_EQ(u->capabilities.size(), 2u);
  EXPECT_EQ(u->encoded(), t);
  // The exact header @ucans/ucans writes, and the payload members it reads.
  EXPECT_EQ(u->jws.header.dump(), R"({"alg":"EdDSA","typ":"JWT","ucv":"0.8.1"})");
  const json payload = json::parse(asChars(u->jws.payload));
  EXPECT_EQ(payload["att"][0], (json{{"with", "kv:app/*"}, {"can", "kv/write"}}));
  EXPECT_EQ(payload["prf"], json::array());
  // CIDv1, raw, sha2-256 of the token's bytes.
  const codec::Cid cid = u->cid();
  EXPECT_EQ(cid.codec(), codec::mc::kRaw);
  const crypto::Sha256Digest digest = crypto::sha256(asBytes(t));
  EXPECT_EQ(cid.hash().digest, Bytes(digest.begin(), digest.end()));
  EXPECT_TRUE(cid.toString().starts_with("bafkrei"));
  EXPECT_EQ(ucanCid(t), cid);

  // Options: nbf, facts, no nonce.
  auto withNbf = mintToken(node_, did(app1_), std::vector{cap("kv.read", "a")},
                           {.expiresAt = 50, .notBefore = 10, .facts = json::array({{{"k", "v"}}}), .addNonce = false},
                           rng_);
  ASSERT_TRUE(withNbf.has_value()) << withNbf.error().toString();
  auto w = parseUcan(*withNbf);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->notBefore, 10);
  EXPECT_FALSE(w->nonce.has_value());
  EXPECT_EQ(w->facts[0]["k"], "v");

  // Bad mint arguments.
  const std::vector<Capability> one = {cap("kv.read", "a")};
  EXPECT_EQ(mintToken(node_, did(app1_), {}, {.expiresAt = 10}, rng_).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(mintToken(node_, "did:web:x", one, {.expiresAt = 10}, rng_).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(mintToken(node_, did(app1_), one, {.expiresAt = 0}, rng_).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(mintToken(node_, did(app1_), one, {.expiresAt = 10, .notBefore = 10}, rng_).error().code,
            Errc::kInvalidArgument);
  EXPECT_EQ(mintToken(node_, did(app1_), one, {.expiresAt = 10, .facts = json{{"not", "array"}}}, rng_).error().code,
            Errc::kInvalidArgument);
  EXPECT_EQ(mintToken(node_, did(app1_), one, {.expiresAt = 10, .facts = json::array({{{"k", "\xff"}}})}, rng_)
                .error().code,
            Errc::kInvalidArgument);
}

TEST_F(TokenTest, ParseErrorsAreTyped) {
  const json good = {{"iss", did(node_)}, {"aud", did(app1_)}, {"att", ucanAtt({{"kv.read", "a"}})},
                     {"exp", 2000}, {"prf", json::array()}};
  ASSERT_TRUE(parseUcan(signRaw(node_, good)).has_value());
  const auto with = [&good](std::string_view key, json value) {
    json p = good;
    if (value.is_discarded()) {
      p.erase(std::string(key));
    } else {
      p[std::string(key)] = std::move(value);
    }
    return p;
  };
  const json kRemove = json(json::value_t::discarded);
  struct Case {
    std::string name;
    std::string token;
    Errc code;
  };
  std::string deep = "[";
  for (int i = 0; i < 20; ++i) deep += "[";
  const std::vector<Case> kCases = {
      {"no prf", signRaw(node_, with("prf", kRemove)), Errc::kMalformed},
      {"no exp", signRaw(node_, with("exp", kRemove)), Errc::kMalformed},
      {"float exp", signRaw(node_, with("exp", 1.5)), Errc::kMalformed},
      {"exp beyond 2^53", signRaw(node_, with("exp", std::uint64_t{1} << 60)), Errc::kOverflow},
      {"negative nbf", signRaw(node_, with("nbf", -1)), Errc::kOverflow},
      {"nbf null", signRaw(node_, with("nbf", nullptr)), Errc::kMalformed},
      {"unknown member", signRaw(node_, with("jti", "x")), Errc::kMalformed},
      {"iss not did:key", signRaw(node_, with("iss", "did:web:example.org")), Errc::kMalformed},
      {"aud not a string", signRaw(node_, with("aud", 5)), Errc::kMalformed},
      {"att superuser", signRaw(node_, with("att", json::array({{{"with", "my:*"}, {"can", "*"}}}))),
       Errc::kUnsupported},
      {"att non-canonical", signRaw(node_, with("att", json::array({{{"with", "fs:/a//b"}, {"can", "fs/read"}}}))),
       Errc::kNonCanonical},
      {"att with caveats", signRaw(node_, with("att", json::array({{{"with", "kv:a"}, {"can", "kv/read"}, {"nb", 1}}}))),
       Errc::kMalformed},
      {"prf not strings", signRaw(node_, with("prf", json::array({1}))), Errc::kMalformed},
      {"fct not objects", signRaw(node_, with("fct", json::array({1}))), Errc::kMalformed},
      {"too many proofs", signRaw(node_, with("prf", json(std::vector<std::string>(9, "x")))), Errc::kLimitExceeded},
      {"ucv 0.10", signRaw(node_, good, {{"typ", "JWT"}, {"ucv", "0.10.0"}}), Errc::kUnsupported},
      {"ucv missing", signRaw(node_, good, {{"typ", "JWT"}}), Errc::kMalformed},
      {"uav 1.0.0", signRaw(node_, good, {{"typ", "JWT"}, {"uav", "1.0.0"}}), Errc::kUnsupported},
      {"typ missing", signRaw(node_, good, {{"ucv", "0.8.1"}}), Errc::kMalformed},
      {"extra header", signRaw(node_, good, {{"typ", "JWT"}, {"ucv", "0.8.1"}, {"kid", "x"}}), Errc::kMalformed},
      {"duplicate member",
       *identity::jwsSign(node_, {{"typ", "JWT"}, {"ucv", "0.8.1"}},
                          asBytes(R"({"exp":1,"exp":2,"iss":")" + did(node_) + "\"}")),
       Errc::kMalformed},
      {"deep payload", *identity::jwsSign(node_, {{"typ", "JWT"}, {"ucv", "0.8.1"}}, asBytes(deep)),
       Errc::kLimitExceeded},
      {"payload not JSON", *identity::jwsSign(node_, {{"typ", "JWT"}, {"ucv", "0.8.1"}}, asBytes("{")),
       Errc::kMalformed},
      {"payload an array", *identity::jwsSign(node_, {{"typ", "JWT"}, {"ucv", "0.8.1"}}, asBytes("[]")),
       Errc::kMalformed},
      {"not a JWS", "hello", Errc::kMalformed},
      {"too large", std::string(kMaxUcanBytes + 1, 'a'), Errc::kLimitExceeded},
  };
  for (const Case& c : kCases) {
    auto u = parseUcan(c.token);
    ASSERT_FALSE(u.has_value()) << c.name;
    EXPECT_EQ(u.error().code, c.code) << c.name << ": " << u.error().toString();
    EXPECT_EQ(tokenFault(u.error()), TokenFault::kInvalid) << c.name;
  }
}

TEST_F(TokenTest, VerifyRootAndCacheSkipsSignatures) {
  const std::string t = root();
  EXPECT_TRUE(verifier_.check(t, did(app1_), cap("kv.write", "app/notes/x")).has_value());
  EXPECT_EQ(sigs_.count(), 1);
  EXPECT_EQ(verifier_.cacheSize(), 1u);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(verifier_.check(t, did(app1_), cap("kv.write", "app/" + std::to_string(i))).has_value());
  }
  EXPECT_EQ(sigs_.count(), 1);  // answered from the cache: no more signature checks

  auto notGranted = verifier_.check(t, did(app1_), cap("kv.read", "app/x"));
  ASSERT_FALSE(notGranted.has_value());
  EXPECT_EQ(tokenFault(notGranted.error()), TokenFault::kNotGranted);
  auto wrongAud = verifier_.check(t, did(app2_), cap("kv.write", "app/x"));
  ASSERT_FALSE(wrongAud.has_value());
  EXPECT_EQ(tokenFault(wrongAud.error()), TokenFault::kWrongAudience);
  EXPECT_EQ(sigs_.count(), 1);

  auto v = verifier_.verify(t);  // a full verification, never from the cache
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(sigs_.count(), 2);
  EXPECT_EQ(v->rootIssuer, did(node_));
  EXPECT_EQ(v->audience, did(app1_));
  EXPECT_EQ(v->expiresAt, 2000);
  ASSERT_EQ(v->chain.size(), 1u);
  EXPECT_EQ(v->chain[0], ucanCid(t).toString());

  // Expiry through the cache, with the fake clock.
  clock_.set(1999);
  EXPECT_TRUE(verifier_.check(t, did(app1_), cap("kv.write", "app/x")).has_value());
  clock_.set(2000);
  auto expired = verifier_.check(t, did(app1_), cap("kv.write", "app/x"));
  ASSERT_FALSE(expired.has_value());
  EXPECT_EQ(tokenFault(expired.error()), TokenFault::kExpired);
  EXPECT_EQ(verifier_.cacheSize(), 0u);
  auto expiredFull = verifier_.verify(t);
  ASSERT_FALSE(expiredFull.has_value());
  EXPECT_EQ(tokenFault(expiredFull.error()), TokenFault::kExpired);
}

TEST_F(TokenTest, NotBefore) {
  auto t = mintToken(node_, did(app1_), std::vector{cap("kv.read", "a/*")},
                     {.expiresAt = 2000, .notBefore = 1500}, rng_);
  ASSERT_TRUE(t.has_value());
  auto early = verifier_.check(*t, did(app1_), cap("kv.read", "a/b"));
  ASSERT_FALSE(early.has_value());
  EXPECT_EQ(tokenFault(early.error()), TokenFault::kNotYetValid);
  clock_.set(1500);
  EXPECT_TRUE(verifier_.check(*t, did(app1_), cap("kv.read", "a/b")).has_value());
  // A delegation inherits the parent's nbf and may not start earlier.
  auto child = delegateToken(*t, app1_, did(app2_), std::vector{cap("kv.read", "a/b")}, {.expiresAt = 1900}, rng_);
  ASSERT_TRUE(child.has_value());
  EXPECT_EQ(parseUcan(*child)->notBefore, 1500);
  auto earlier = delegateToken(*t, app1_, did(app2_), std::vector{cap("kv.read", "a/b")},
                               {.expiresAt = 1900, .notBefore = 1400}, rng_);
  ASSERT_FALSE(earlier.has_value());
  EXPECT_EQ(earlier.error().code, Errc::kPermissionDenied);
}

TEST_F(TokenTest, DelegationChainVerifies) {
  const std::string r = root();
  const std::string d1 = delegate(r, app1_, app2_, {cap("kv.write", "app/notes/*")}, 1500);
  const std::string d2 = delegate(d1, app2_, app3_, {cap("kv.write", "app/notes/today")}, 1400);
  auto u2 = parseUcan(d2);
  ASSERT_TRUE(u2.has_value());
  ASSERT_EQ(u2->proofs.size(), 1u);
  EXPECT_EQ(u2->proofs[0], d1);

  EXPECT_TRUE(verifier_.check(d2, did(app3_), cap("kv.write", "app/notes/today")).has_value());
  EXPECT_EQ(sigs_.count(), 3);  // one per link
  EXPECT_TRUE(verifier_.check(d2, did(app3_), cap("kv.write", "app/notes/today")).has_value());
  EXPECT_EQ(sigs_.count(), 3);
  auto wider = verifier_.check(d2, did(app3_), cap("kv.write", "app/notes/tomorrow"));
  ASSERT_FALSE(wider.has_value());
  EXPECT_EQ(tokenFault(wider.error()), TokenFault::kNotGranted);

  auto v = verifier_.verify(d2);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->rootIssuer, did(node_));
  EXPECT_EQ(v->chain.size(), 3u);
  EXPECT_EQ(v->expiresAt, 1400);

  // Delegating a namespace wildcard down is attenuation too.
  const std::string w = delegate(r, app1_, app2_, {cap("http.get", "https://api.example.org/v1/x")}, 1500);
  EXPECT_TRUE(verifier_.check(w, did(app2_), cap("http.get", "https://api.example.org/v1/x")).has_value());
}

TEST_F(TokenTest, DelegateOnlyAttenuates) {
  const std::string r = root();
  const auto refused = [&](std::vector<Capability> subset, std::int64_t exp,
                           const crypto::Ed25519KeyPair& holder) {
    auto t = delegateToken(r, holder, did(app2_), subset, {.expiresAt = exp}, rng_);
    return t.has_value() ? Errc{} : t.error().code;
  };
  EXPECT_EQ(refused({cap("kv.*", "app/*")}, 1500, app1_), Errc::kPermissionDenied);        // wider right
  EXPECT_EQ(refused({cap("kv.write", "*")}, 1500, app1_), Errc::kPermissionDenied);        // wider resource
  EXPECT_EQ(refused({cap("kv.write", "app/x"), cap("fs.read", "/x")}, 1500, app1_), Errc::kPermissionDenied);
  EXPECT_EQ(refused({cap("kv.write", "app/x")}, 2001, app1_), Errc::kPermissionDenied);    // outlives parent
  EXPECT_EQ(refused({cap("kv.write", "app/x")}, 1500, app2_), Errc::kPermissionDenied);    // not the holder
  EXPECT_EQ(refused({}, 1500, app1_), Errc::kInvalidArgument);

  // Chains are bounded.
  std::string t = r;
  std::vector<crypto::Ed25519KeyPair> keys;
  for (int i = 0; i < 10; ++i) keys.push_back(keyFromByte(static_cast<std::uint8_t>(10 + i)));
  const crypto::Ed25519KeyPair* holder = &app1_;
  std::size_t made = 1;
  for (auto& next : keys) {
    auto d = delegateToken(t, *holder, did(next), std::vector{cap("kv.write", "app/x")}, {.expiresAt = 1500}, rng_);
    if (!d) {
      EXPECT_EQ(d.error().code, Errc::kLimitExceeded);
      break;
    }
    t = *d;
    holder = &next;
    ++made;
  }
  EXPECT_EQ(made, kMaxProofDepth);
  EXPECT_TRUE(verifier_.verify(t).has_value());
}

TEST_F(TokenTest, ForgedChainsAreRejected) {
  const std::string r = root();
  // app1 claims more than its proof gives it.
  const std::string widened =
      signRaw(app1_, {{"iss", did(app1_)}, {"aud", did(app2_)}, {"att", ucanAtt({{"kv.*", "app/*"}})},
                      {"exp", 1500}, {"prf", {r}}});
  auto a = verifier_.verify(widened);
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(tokenFault(a.error()), TokenFault::kAttenuation) << a.error().message;

  // app2 uses a proof addressed to app1.
  const std::string stolen =
      signRaw(app2_, {{"iss", did(app2_)}, {"aud", did(app3_)}, {"att", ucanAtt({{"kv.write", "app/x"}})},
                      {"exp", 1500}, {"prf", {r}}});
  auto b = verifier_.verify(stolen);
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(tokenFault(b.error()), TokenFault::kBrokenChain) << b.error().message;

  // A child that outlives its proof.
  const std::string longer =
      signRaw(app1_, {{"iss", did(app1_)}, {"aud", did(app2_)}, {"att", ucanAtt({{"kv.write", "app/x"}})},
                      {"exp", 2500}, {"prf", {r}}});
  auto c = verifier_.verify(longer);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(tokenFault(c.error()), TokenFault::kBrokenChain);

  // A self-issued root that is not trusted.
  auto self = mintToken(app1_, did(app2_), std::vector{cap("kv.write", "app/x")}, {.expiresAt = 1500}, rng_);
  auto d = verifier_.verify(*self);
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(tokenFault(d.error()), TokenFault::kUntrustedRoot);

  // A tampered signature, payload and proof.
  std::string badSig = r;
  badSig[badSig.size() - 5] = badSig[badSig.size() - 5] == 'A' ? 'B' : 'A';
  auto e = verifier_.verify(badSig);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code, Errc::kBadSignature);
  const std::string d1 = delegate(r, app1_, app2_, {cap("kv.write", "app/x")}, 1500);
  json tamperedPayload = json::parse(asChars(parseUcan(d1)->jws.payload));
  tamperedPayload["att"] = ucanAtt({{"kv.write", "app/*"}});
  const std::string header = d1.substr(0, d1.find('.'));
  const std::string forged = header + "." + codec::base64urlEncode(asBytes(tamperedPayload.dump())) +
                             d1.substr(d1.rfind('.'));
  auto f = verifier_.verify(forged);
  ASSERT_FALSE(f.has_value());
  EXPECT_EQ(f.error().code, Errc::kBadSignature);
  const std::string badProof =
      signRaw(app1_, {{"iss", did(app1_)}, {"aud", did(app2_)}, {"att", ucanAtt({{"kv.write", "app/x"}})},
                      {"exp", 1500}, {"prf", {badSig}}});
  auto g = verifier_.verify(badProof);
  ASSERT_FALSE(g.has_value());
  EXPECT_EQ(g.error().code, Errc::kBadSignature);
  EXPECT_EQ(verifier_.cacheSize(), 0u);  // failures are never cached
}

TEST_F(TokenTest, RevocationByCidInvalidatesEverythingBelow) {
  const std::string r = root();
  const std::string d1 = delegate(r, app1_, app2_, {cap("kv.write", "app/notes/*")}, 1500);
  const std::string d2 = delegate(d1, app2_, app3_, {cap("kv.write", "app/notes/today")}, 1400);
  const Capability want = cap("kv.write", "app/notes/today");
  ASSERT_TRUE(verifier_.check(d2, did(app3_), want).has_value());
  ASSERT_TRUE(verifier_.check(d1, did(app2_), want).has_value());
  ASSERT_TRUE(verifier_.check(r, did(app1_), want).has_value());
  EXPECT_EQ(verifier_.cacheSize(), 3u);
  const int before = sigs_.count();

  verifier_.revokeCid(ucanCid(d1));
  EXPECT_EQ(verifier_.cacheSize(), 1u);  // d1 and d2 (which has d1 as proof) are dropped
  auto a = verifier_.check(d2, did(app3_), want);
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(tokenFault(a.error()), TokenFault::kRevoked) << a.error().message;
  EXPECT_GT(sigs_.count(), before);  // the cache no longer answered
  auto b = verifier_.check(d1, did(app2_), want);
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(tokenFault(b.error()), TokenFault::kRevoked);
  const int afterRevoked = sigs_.count();
  EXPECT_TRUE(verifier_.check(r, did(app1_), want).has_value());  // above the revoked link: fine
  EXPECT_EQ(sigs_.count(), afterRevoked);                          // and still cached
  EXPECT_TRUE(verifier_.revocations().isRevokedCid(ucanCid(d1)));
  EXPECT_EQ(verifier_.revocations().size(), 1u);
}

TEST_F(TokenTest, RevocationByIssuerAndNonce) {
  const std::string r = root();
  const std::string d1 = delegate(r, app1_, app2_, {cap("kv.write", "app/notes/*")}, 1500);
  const std::string d2 = delegate(d1, app2_, app3_, {cap("kv.write", "app/notes/today")}, 1400);
  const Capability want = cap("kv.write", "app/notes/today");
  ASSERT_TRUE(verifier_.check(d2, did(app3_), want).has_value());
  const auto u1 = parseUcan(d1);
  ASSERT_TRUE(u1 && u1->nonce);

  verifier_.revokeNonce(did(app2_), *u1->nonce);  // wrong issuer: nothing happens
  EXPECT_EQ(verifier_.cacheSize(), 1u);
  EXPECT_TRUE(verifier_.check(d2, did(app3_), want).has_value());

  verifier_.revokeNonce(did(app1_), *u1->nonce);
  EXPECT_EQ(verifier_.cacheSize(), 0u);
  auto a = verifier_.check(d2, did(app3_), want);
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(tokenFault(a.error()), TokenFault::kRevoked);

  RevocationList list;
  list.revokeNonce(did(app1_), *u1->nonce);
  EXPECT_TRUE(list.isRevoked(*u1));
  EXPECT_FALSE(list.isRevoked(*parseUcan(d2)));
}

TEST_F(TokenTest, CacheIsBounded) {
  TokenVerifier small({did(node_)}, clock_, sigs_, TokenVerifier::Options{.maxCacheEntries = 4});
  std::vector<std::string> tokens;
  for (int i = 0; i < 10; ++i) tokens.push_back(root(1100 + i));
  for (const std::string& t : tokens) ASSERT_TRUE(small.check(t, did(app1_), cap("kv.write", "app/x")).has_value());
  EXPECT_LE(small.cacheSize(), 4u);
  clock_.set(1105);  // the expired entries go first
  ASSERT_TRUE(small.check(tokens[9], did(app1_), cap("kv.write", "app/x")).has_value());
  EXPECT_LE(small.cacheSize(), 4u);
}

}  // namespace
}  // namespace aether::cap
