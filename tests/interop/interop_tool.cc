// aether_interop_tool: a thin line-protocol driver that exposes Aether's codec, crypto and
// identity primitives to the Node interop scripts in this folder. It never decides whether a
// result is right — the scripts compare it against independent npm implementations.
//
// Every subcommand that reads stdin handles one input line at a time and prints exactly one
// output line per input line (empty lines included), so the scripts can pair them up. A
// failure of ours on an input prints "ERR <errc-name> <message>" on that line; the exit status
// is non-zero only for misuse (unknown subcommand, bad arguments).
//
//   cbor-gen N SEED         N random values encoded by encodeDagCbor, one hex line each
//   cbor-roundtrip          hex -> decodeDagCbor -> encodeDagCbor -> hex
//   multibase-encode BASE   hex -> multibase text (BASE: base58btc base32 base64url base16)
//   multibase-decode        multibase text -> "<base> <hex>"
//   cid-parse               CID text -> "<hex of binary CID> <canonical text>"
//   cid-format BASE         binary CID hex -> text (BASE: default or one of the bases above)
//   cid-for-block           "<0|1> <codec-name> <block hex>" -> CID text of its sha2-256
//   did-key-gen             Ed25519 seed hex -> {"did","publicKeyHex","didDocument",
//                           "didDocumentMultikey"} (the two DidDocumentFormats)
//   did-key-parse           did:key text -> Ed25519 public key hex
//   jws-sign                "<seed hex> <payload hex> [<base64url JSON object>]" ->
//                           {"jws","publicKeyHex","jwkX"}; the object is extra header fields
//   jws-verify              "<compact jws> <public key hex>" -> "ok <payload hex>"
//   ucan-mint               {"seed","aud","caps":[[right, resource], ...],"exp","nbf"?,"facts"?,
//                           "nonce"?: bool} -> a root UCAN issued by the seed's key (cap::mintToken)
//   ucan-delegate           {"parent","seed","aud","caps","exp","nbf"?} -> cap::delegateToken
//   ucan-parse              token -> {"iss","aud","att":[{"with","can"}],"exp","nbf","nnc","prf":
//                           <count>,"cid"} (cap::parseUcan)
//   ucan-verify             {"token","roots":[did],"holder","now","caps":[[right, resource], ...],
//                           "revokedCids"?:[cid],"revokedNonces"?:[[iss, nnc]]} ->
//                           "ok <root issuer>" when cap::TokenVerifier grants every capability
//   cap-covers              "<right> <resource> <right> <resource>" -> "true" | "false"
//                           (cap::covers(granted, requested))

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/base.h"
#include "cap/cap.h"
#include "codec/codec.h"
#include "crypto/crypto.h"
#include "identity/identity.h"

namespace aether::interop {
namespace {

using codec::Cid;
using codec::Multibase;
using codec::Multihash;
using codec::Value;

std::string errLine(const Error& e) {
  std::string msg = e.message;
  for (char& c : msg) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return "ERR " + std::string(errcName(e.code)) + " " + msg;
}

// Applies `fn` to each stdin line and prints its result (or its error) as one line.
int forEachLine(const std::function<Result<std::string>(std::string_view)>& fn) {
  std::string line;
  while (std::getline(std::cin, line)) {
    Result<std::string> r = fn(line);
    std::cout << (r ? *r : errLine(r.error())) << '\n';
  }
  std::cout.flush();
  return std::cout ? 0 : 1;
}

// Splits "a b c" on single spaces (empty fields kept, so an empty payload survives).
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t sp = line.find(' ', start);
    out.push_back(line.substr(start, sp == std::string_view::npos ? sp : sp - start));
    if (sp == std::string_view::npos) return out;
    start = sp + 1;
  }
}

std::optional<std::uint64_t> parseU64(std::string_view s) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<Multibase> baseByName(std::string_view name) {
  if (name == "base58btc") return Multibase::kBase58btc;
  if (name == "base32") return Multibase::kBase32;
  if (name == "base64url") return Multibase::kBase64url;
  if (name == "base16") return Multibase::kBase16;
  return std::nullopt;
}

std::string_view baseName(Multibase base) {
  switch (base) {
    case Multibase::kBase58btc: return "base58btc";
    case Multibase::kBase32: return "base32";
    case Multibase::kBase64url: return "base64url";
    case Multibase::kBase16: return "base16";
  }
  return "?";
}

// ---- random DAG-CBOR values ---------------------------------------------------------------

class ValueGen {
 public:
  explicit ValueGen(std::uint64_t seed) : rng_(seed) {}

  Value top() {
    // Mostly containers, so nesting and map ordering get exercised.
    switch (below(4)) {
      case 0: return value(1);
      case 1: return list(1);
      default: return map(1);
    }
  }

 private:
  std::uint64_t next() { return rng_(); }
  std::uint64_t below(std::uint64_t n) { return next() % n; }
  bool coin() { return (next() & 1) != 0; }

  Bytes bytes(std::size_t n) {
    Bytes b(n);
    for (auto& x : b) x = static_cast<std::uint8_t>(next());
    return b;
  }

  Value value(int depth) {
    const bool leaf_only = depth >= 6;
    switch (below(leaf_only ? 8 : 10)) {
      case 0: return coin() ? Value(nullptr) : Value(coin());
      case 1:
      case 2: return integer();
      case 3: return Value(finiteNonIntegralDouble());
      case 4: return Value(text(below(10) == 0 ? 200 + below(200) : below(24)));
      case 5: return Value(bytes(below(10) == 0 ? 256 + below(300) : below(40)));
      case 6: return Value(cid());
      case 7: return below(3) == 0 ? Value(nullptr) : integer();
      case 8: return list(depth);
      default: return map(depth);
    }
  }

  Value list(int depth) {
    Value::List l;
    for (std::uint64_t n = below(6); n > 0; --n) l.push_back(value(depth + 1));
    return Value(std::move(l));
  }

  Value map(int depth) {
    static constexpr const char* kKeys[] = {"a", "b", "aa", "ab", "ba", "z", "0", "10", "9", "link", ""};
    Value::Map m;
    for (std::uint64_t n = below(7); n > 0; --n) {
      std::string key = below(3) == 0 ? kKeys[below(std::size(kKeys))] : text(below(12));
      m.insert_or_assign(std::move(key), value(depth + 1));
    }
    return Value(std::move(m));
  }

  Value integer() {
    static constexpr std::uint64_t kEdges[] = {0, 1, 23, 24, 255, 256, 65535, 65536, 0xffffffffULL, 0x100000000ULL,
                                               (1ULL << 53) - 1, 1ULL << 53, (1ULL << 53) + 1, (1ULL << 63) - 1,
                                               1ULL << 63, ~0ULL};
    std::uint64_t magnitude;
    switch (below(4)) {
      case 0: magnitude = kEdges[below(std::size(kEdges))]; break;
      case 1: magnitude = below(1000); break;
      case 2: magnitude = next() >> below(64); break;  // all magnitudes, log-uniform-ish
      default: magnitude = next() | (1ULL << 53); break;  // beyond JS's safe integers
    }
    return Value(Value::Integer{coin(), magnitude});
  }

  double finiteNonIntegralDouble() {
    for (;;) {
      double d;
      switch (below(3)) {
        case 0: {
          std::uint64_t bits = next();
          std::memcpy(&d, &bits, sizeof d);
          break;
        }
        case 1: d = static_cast<double>(static_cast<std::int64_t>(below(2000001)) - 1000000) / (1 + below(1000)); break;
        default: d = std::ldexp(static_cast<double>(next() >> 11), -53) * (coin() ? 1 : -1); break;
      }
      // Integral floats are valid DAG-CBOR but JS cannot keep 1.0 apart from 1 (docs/interop.md).
      if (std::isfinite(d) && std::trunc(d) != d) return d;
    }
  }

  void appendUtf8(std::string& s, std::uint32_t cp) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xc0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xe0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      s += static_cast<char>(0xf0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  std::string text(std::uint64_t n) {
    std::string s;
    while (n-- > 0) {
      std::uint32_t cp;
      do {
        switch (below(5)) {
          case 0:
          case 1: cp = 0x20 + below(0x5f); break;
          case 2: cp = below(0x80); break;
          case 3: cp = 0x80 + below(0xff80); break;
          default: cp = 0x10000 + below(0x100000); break;
        }
      } while (cp >= 0xd800 && cp <= 0xdfff);
      appendUtf8(s, cp);
    }
    return s;
  }

  Cid cid() {
    static constexpr std::uint64_t kCodecs[] = {codec::mc::kRaw, codec::mc::kDagPb, codec::mc::kDagCbor,
                                                codec::mc::kLibp2pKey, codec::mc::kDagJson};
    const std::uint64_t cc = kCodecs[below(std::size(kCodecs))];
    switch (below(4)) {
      case 0: return *Cid::v0(*Multihash::sha256(bytes(32)));
      case 1: return Cid::v1(cc, *Multihash::identity(bytes(below(40))));
      case 2: return Cid::v1(cc, *Multihash::blake2b256(bytes(32)));
      default: return Cid::v1(cc, *Multihash::sha256(bytes(32)));
    }
  }

  std::mt19937_64 rng_;
};

int cborGen(std::uint64_t count, std::uint64_t seed) {
  ValueGen gen(seed);
  for (std::uint64_t i = 0; i < count; ++i) {
    Value v = gen.top();
    Result<Bytes> enc = codec::encodeDagCbor(v);
    std::cout << (enc ? hexEncode(*enc) : errLine(enc.error())) << '\n';
  }
  std::cout.flush();
  return std::cout ? 0 : 1;
}

Result<std::string> cborRoundtrip(std::string_view line) {
  AE_ASSIGN_OR_RETURN(Bytes in, hexDecode(line));
  AE_ASSIGN_OR_RETURN(Value v, codec::decodeDagCbor(in));
  AE_ASSIGN_OR_RETURN(Bytes out, codec::encodeDagCbor(v));
  return hexEncode(out);
}

// ---- multibase / CID ------------------------------------------------------------------------

Result<std::string> cidParse(std::string_view line) {
  AE_ASSIGN_OR_RETURN(Cid cid, Cid::parse(line));
  return hexEncode(cid.toBytes()) + " " + cid.toString();
}

Result<std::string> cidFormat(std::optional<Multibase> base, std::string_view line) {
  AE_ASSIGN_OR_RETURN(Bytes bytes, hexDecode(line));
  AE_ASSIGN_OR_RETURN(Cid cid, Cid::fromBytes(bytes));
  return base ? cid.toString(*base) : cid.toString();
}

// "<0|1> <codec-name> <block hex>": the CID of the block under our sha2-256.
Result<std::string> cidForBlock(std::string_view line) {
  const std::vector<std::string_view> f = fields(line);
  if (f.size() != 3 || (f[0] != "0" && f[0] != "1")) {
    return fail(Errc::kInvalidArgument, "want: <0|1> <codec-name> <block hex>");
  }
  const std::optional<std::uint64_t> cc = codec::multicodecCode(f[1]);
  if (!cc) return fail(Errc::kInvalidArgument, "unknown codec name");
  AE_ASSIGN_OR_RETURN(Bytes block, hexDecode(f[2]));
  AE_ASSIGN_OR_RETURN(Multihash mh, Multihash::sha256(crypto::sha256(block)));
  if (f[0] == "0") {
    if (*cc != codec::mc::kDagPb) return fail(Errc::kInvalidArgument, "CIDv0 is dag-pb only");
    AE_ASSIGN_OR_RETURN(Cid cid, Cid::v0(std::move(mh)));
    return cid.toString();
  }
  AE_ASSIGN_OR_RETURN(Cid cid, Cid::makeV1(*cc, std::move(mh)));
  return cid.toString();
}

// ---- did:key / JWS ---------------------------------------------------------------------------

Result<crypto::Ed25519KeyPair> keyFromSeedHex(std::string_view hex) {
  AE_ASSIGN_OR_RETURN(Bytes seed, hexDecode(hex));
  return crypto::Ed25519KeyPair::fromSeed(seed);
}

Result<std::string> didKeyGen(std::string_view line) {
  AE_ASSIGN_OR_RETURN(crypto::Ed25519KeyPair key, keyFromSeedHex(line));
  const std::string did = identity::didKeyFromEd25519(key.publicKey());
  AE_ASSIGN_OR_RETURN(nlohmann::json doc, identity::didDocument(did));
  AE_ASSIGN_OR_RETURN(nlohmann::json multikeyDoc,
                      identity::didDocument(did, identity::DidDocumentFormat::kMultikey));
  nlohmann::json out = {{"did", did},
                        {"publicKeyHex", hexEncode(key.publicKey())},
                        {"didDocument", std::move(doc)},
                        {"didDocumentMultikey", std::move(multikeyDoc)}};
  return out.dump();
}

Result<std::string> didKeyParse(std::string_view line) {
  AE_ASSIGN_OR_RETURN(identity::DidKey key, identity::parseDidKey(line));
  return hexEncode(key.publicKey);
}

Result<std::string> jwsSignLine(std::string_view line) {
  const std::vector<std::string_view> f = fields(line);
  if (f.size() != 2 && f.size() != 3) {
    return fail(Errc::kInvalidArgument, "want: <seed hex> <payload hex> [<base64url JSON header extras>]");
  }
  AE_ASSIGN_OR_RETURN(crypto::Ed25519KeyPair key, keyFromSeedHex(f[0]));
  AE_ASSIGN_OR_RETURN(Bytes payload, hexDecode(f[1]));
  nlohmann::json extra = nullptr;
  if (f.size() == 3) {
    AE_ASSIGN_OR_RETURN(Bytes json, codec::base64urlDecode(f[2]));
    extra = nlohmann::json::parse(asChars(json), nullptr, /*allow_exceptions=*/false);
    if (extra.is_discarded()) return fail(Errc::kInvalidArgument, "header extras are not JSON");
  }
  AE_ASSIGN_OR_RETURN(std::string jws, identity::jwsSign(key, extra, payload));
  nlohmann::json out = {{"jws", jws},
                        {"publicKeyHex", hexEncode(key.publicKey())},
                        {"jwkX", codec::base64urlEncode(key.publicKey())}};
  return out.dump();
}

Result<std::string> jwsVerifyLine(std::string_view line) {
  const std::vector<std::string_view> f = fields(line);
  if (f.size() != 2) return fail(Errc::kInvalidArgument, "want: <compact jws> <public key hex>");
  AE_ASSIGN_OR_RETURN(Bytes publicKey, hexDecode(f[1]));
  AE_ASSIGN_OR_RETURN(identity::Jws jws, identity::jwsParse(f[0]));
  AE_TRY(identity::jwsVerify(jws, publicKey));
  return "ok " + hexEncode(jws.payload);
}

// ---- UCAN (cap/) ---------------------------------------------------------------------------

// The JSON-line subcommands read fields with nlohmann's throwing accessors; a mistyped field
// becomes an ERR line instead of aborting the driver.
std::function<Result<std::string>(std::string_view)> guarded(
    std::function<Result<std::string>(std::string_view)> fn) {
  return [fn = std::move(fn)](std::string_view line) -> Result<std::string> {
    try {
      return fn(line);
    } catch (const nlohmann::json::exception& e) {
      return fail(Errc::kInvalidArgument, std::string("bad request field: ") + e.what());
    }
  };
}

Result<nlohmann::json> jsonLine(std::string_view line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return fail(Errc::kInvalidArgument, "want a JSON object");
  return j;
}

Result<std::vector<cap::Capability>> capsField(const nlohmann::json& j) {
  const auto it = j.find("caps");
  if (it == j.end() || !it->is_array()) return fail(Errc::kInvalidArgument, "want \"caps\": [[right, resource]]");
  std::vector<cap::Capability> out;
  for (const nlohmann::json& c : *it) {
    if (!c.is_array() || c.size() != 2 || !c[0].is_string() || !c[1].is_string()) {
      return fail(Errc::kInvalidArgument, "want [right, resource]");
    }
    AE_ASSIGN_OR_RETURN(cap::Capability parsed,
                        cap::Capability::parse(c[0].get<std::string>(), c[1].get<std::string>()));
    out.push_back(std::move(parsed));
  }
  return out;
}

Result<cap::TokenOptions> tokenOptions(const nlohmann::json& j) {
  cap::TokenOptions o;
  if (!j.contains("exp") || !j["exp"].is_number_integer()) return fail(Errc::kInvalidArgument, "want \"exp\"");
  o.expiresAt = j["exp"].get<std::int64_t>();
  if (j.contains("nbf")) o.notBefore = j["nbf"].get<std::int64_t>();
  if (j.contains("facts")) o.facts = j["facts"];
  if (j.contains("nonce")) o.addNonce = j["nonce"].get<bool>();
  return o;
}

Result<std::string> stringField(const nlohmann::json& j, const char* name) {
  const auto it = j.find(name);
  if (it == j.end() || !it->is_string()) {
    return fail(Errc::kInvalidArgument, std::string("want a string \"") + name + "\"");
  }
  return it->get<std::string>();
}

Result<std::string> ucanMint(std::string_view line, crypto::Rng& rng) {
  AE_ASSIGN_OR_RETURN(nlohmann::json j, jsonLine(line));
  AE_ASSIGN_OR_RETURN(std::string seed, stringField(j, "seed"));
  AE_ASSIGN_OR_RETURN(std::string aud, stringField(j, "aud"));
  AE_ASSIGN_OR_RETURN(crypto::Ed25519KeyPair key, keyFromSeedHex(seed));
  AE_ASSIGN_OR_RETURN(std::vector<cap::Capability> caps, capsField(j));
  AE_ASSIGN_OR_RETURN(cap::TokenOptions options, tokenOptions(j));
  return cap::mintToken(key, aud, caps, options, rng);
}

Result<std::string> ucanDelegate(std::string_view line, crypto::Rng& rng) {
  AE_ASSIGN_OR_RETURN(nlohmann::json j, jsonLine(line));
  AE_ASSIGN_OR_RETURN(std::string parent, stringField(j, "parent"));
  AE_ASSIGN_OR_RETURN(std::string seed, stringField(j, "seed"));
  AE_ASSIGN_OR_RETURN(std::string aud, stringField(j, "aud"));
  AE_ASSIGN_OR_RETURN(crypto::Ed25519KeyPair key, keyFromSeedHex(seed));
  AE_ASSIGN_OR_RETURN(std::vector<cap::Capability> caps, capsField(j));
  AE_ASSIGN_OR_RETURN(cap::TokenOptions options, tokenOptions(j));
  return cap::delegateToken(parent, key, aud, caps, options, rng);
}

Result<std::string> ucanParse(std::string_view line) {
  AE_ASSIGN_OR_RETURN(cap::Ucan u, cap::parseUcan(line));
  nlohmann::json att = nlohmann::json::array();
  for (const cap::Capability& c : u.capabilities) {
    const cap::UcanCapability m = cap::toUcan(c);
    att.push_back({{"with", m.with}, {"can", m.can}});
  }
  nlohmann::json out = {{"iss", u.issuer.did}, {"aud", u.audience}, {"att", std::move(att)},
                        {"exp", u.expiresAt}, {"prf", u.proofs.size()}, {"cid", u.cid().toString()}};
  out["nbf"] = u.notBefore ? nlohmann::json(*u.notBefore) : nlohmann::json(nullptr);
  out["nnc"] = u.nonce ? nlohmann::json(*u.nonce) : nlohmann::json(nullptr);
  return out.dump();
}

class FixedClock final : public cap::Clock {
 public:
  explicit FixedClock(std::int64_t t) : t_(t) {}
  std::int64_t now() const override { return t_; }

 private:
  std::int64_t t_;
};

Result<std::string> ucanVerify(std::string_view line) {
  AE_ASSIGN_OR_RETURN(nlohmann::json j, jsonLine(line));
  AE_ASSIGN_OR_RETURN(std::string token, stringField(j, "token"));
  AE_ASSIGN_OR_RETURN(std::string holder, stringField(j, "holder"));
  AE_ASSIGN_OR_RETURN(std::vector<cap::Capability> caps, capsField(j));
  if (!j.contains("now") || !j["now"].is_number_integer() || !j.contains("roots") || !j["roots"].is_array()) {
    return fail(Errc::kInvalidArgument, "want \"now\" and \"roots\"");
  }
  std::vector<std::string> roots;
  for (const nlohmann::json& r : j["roots"]) roots.push_back(r.get<std::string>());
  const FixedClock clock(j["now"].get<std::int64_t>());
  const cap::Ed25519SignatureVerifier signatures;
  cap::TokenVerifier verifier(std::move(roots), clock, signatures);
  for (const nlohmann::json& c : j.value("revokedCids", nlohmann::json::array())) {
    AE_ASSIGN_OR_RETURN(codec::Cid cid, Cid::parse(c.get<std::string>()));
    verifier.revokeCid(cid);
  }
  for (const nlohmann::json& n : j.value("revokedNonces", nlohmann::json::array())) {
    verifier.revokeNonce(n.at(0).get<std::string>(), n.at(1).get<std::string>());
  }
  AE_ASSIGN_OR_RETURN(cap::VerifiedToken verified, verifier.verify(token));
  for (const cap::Capability& c : caps) AE_TRY(verifier.check(token, holder, c));
  return "ok " + verified.rootIssuer;
}

Result<std::string> capCovers(std::string_view line) {
  const std::vector<std::string_view> f = fields(line);
  if (f.size() != 4) return fail(Errc::kInvalidArgument, "want: <right> <resource> <right> <resource>");
  AE_ASSIGN_OR_RETURN(cap::Capability granted, cap::Capability::parse(f[0], f[1]));
  AE_ASSIGN_OR_RETURN(cap::Capability requested, cap::Capability::parse(f[2], f[3]));
  return std::string(cap::covers(granted, requested) ? "true" : "false");
}

int usage() {
  std::fprintf(stderr,
               "usage: aether_interop_tool SUBCOMMAND [ARGS]   (subcommands: cbor-gen N SEED, cbor-roundtrip,\n"
               "  multibase-encode BASE, multibase-decode, cid-parse, cid-format BASE|default, cid-for-block,\n"
               "  did-key-gen, did-key-parse, jws-sign, jws-verify, ucan-mint, ucan-delegate, ucan-parse,\n"
               "  ucan-verify, cap-covers; see interop_tool.cc)\n");
  return 2;
}

}  // namespace

int run(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string_view cmd = argv[1];
  std::vector<std::string_view> args(argv + 2, argv + argc);

  if (cmd == "cbor-gen" && args.size() == 2) {
    const auto count = parseU64(args[0]);
    const auto seed = parseU64(args[1]);
    if (!count || !seed) return usage();
    return cborGen(*count, *seed);
  }
  if (cmd == "cbor-roundtrip" && args.empty()) return forEachLine(cborRoundtrip);
  if (cmd == "multibase-encode" && args.size() == 1) {
    const auto base = baseByName(args[0]);
    if (!base) return usage();
    return forEachLine([&](std::string_view line) -> Result<std::string> {
      AE_ASSIGN_OR_RETURN(Bytes data, hexDecode(line));
      return codec::multibaseEncode(*base, data);
    });
  }
  if (cmd == "multibase-decode" && args.empty()) {
    return forEachLine([](std::string_view line) -> Result<std::string> {
      AE_ASSIGN_OR_RETURN(codec::MultibaseDecoded d, codec::multibaseDecodeWithBase(line));
      return std::string(baseName(d.base)) + " " + hexEncode(d.data);
    });
  }
  if (cmd == "cid-parse" && args.empty()) return forEachLine(cidParse);
  if (cmd == "cid-format" && args.size() == 1) {
    std::optional<Multibase> base;
    if (args[0] != "default") {
      base = baseByName(args[0]);
      if (!base) return usage();
    }
    return forEachLine([&](std::string_view line) { return cidFormat(base, line); });
  }
  if (cmd == "cid-for-block" && args.empty()) return forEachLine(cidForBlock);
  if (cmd == "did-key-gen" && args.empty()) return forEachLine(didKeyGen);
  if (cmd == "did-key-parse" && args.empty()) return forEachLine(didKeyParse);
  if (cmd == "jws-sign" && args.empty()) return forEachLine(jwsSignLine);
  if (cmd == "jws-verify" && args.empty()) return forEachLine(jwsVerifyLine);
  if (cmd == "ucan-mint" && args.empty()) {
    crypto::SystemRng rng;
    return forEachLine(guarded([&rng](std::string_view line) { return ucanMint(line, rng); }));
  }
  if (cmd == "ucan-delegate" && args.empty()) {
    crypto::SystemRng rng;
    return forEachLine(guarded([&rng](std::string_view line) { return ucanDelegate(line, rng); }));
  }
  if (cmd == "ucan-parse" && args.empty()) return forEachLine(ucanParse);
  if (cmd == "ucan-verify" && args.empty()) return forEachLine(guarded(ucanVerify));
  if (cmd == "cap-covers" && args.empty()) return forEachLine(capCovers);
  return usage();
}

}  // namespace aether::interop

int main(int argc, char** argv) { return aether::interop::run(argc, argv); }
