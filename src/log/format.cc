// Entries, heads, signed forms and proofs as canonical DAG-CBOR (docs/formats/log.md), with
// strict decoders: exactly the documented keys and types, nothing else.
#include <algorithm>
#include <cstring>

#include "identity/identity.h"
#include "log/log.h"

namespace aether::log {
namespace {

using codec::Value;

constexpr std::string_view kHeadDomain = "aether/log/head/v1\n";
constexpr std::string_view kEntryDomain = "aether/log/entry/v1\n";

// Small decode limits: entries are at most ~1.2 KiB, proofs ~4.3 KiB.
codec::DecodeLimits smallLimits() {
  codec::DecodeLimits limits;
  limits.max_depth = 4;
  limits.max_size = 64 * 1024;
  return limits;
}

Result<const Value::Map*> exactMap(const Value& v, std::string_view what,
                                   std::initializer_list<std::string_view> required,
                                   std::initializer_list<std::string_view> optional = {}) {
  const auto* m = v.asMap();
  if (!m) return fail(Errc::kMalformed, std::string(what) + ": not a map");
  for (auto key : required) {
    if (!m->contains(key)) return fail(Errc::kMalformed, std::string(what) + ": missing \"" + std::string(key) + "\"");
  }
  for (const auto& [key, value] : *m) {
    const bool known = std::find(required.begin(), required.end(), key) != required.end() ||
                       std::find(optional.begin(), optional.end(), key) != optional.end();
    if (!known) return fail(Errc::kMalformed, std::string(what) + ": unknown key \"" + key + "\"");
  }
  return m;
}

Result<std::uint64_t> uintField(const Value::Map& m, std::string_view key, std::string_view what) {
  auto v = m.find(key)->second.asUint64();
  if (!v) return fail(Errc::kMalformed, std::string(what) + ": \"" + std::string(key) + "\" is not an unsigned integer");
  return *v;
}

Result<Bytes> bytesField(const Value::Map& m, std::string_view key, std::string_view what) {
  const auto* b = m.find(key)->second.asBytes();
  if (!b) return fail(Errc::kMalformed, std::string(what) + ": \"" + std::string(key) + "\" is not bytes");
  return *b;
}

Result<std::string> streamField(const Value::Map& m, std::string_view what) {
  const auto* t = m.find("stream")->second.asText();
  if (!t) return fail(Errc::kMalformed, std::string(what) + ": \"stream\" is not text");
  if (auto id = StreamId::parse(*t); !id) return withContext(id.error(), std::string(what) + ": stream");
  return *t;
}

Result<Hash> hashFrom(const Bytes& b, std::string_view what) {
  if (b.size() != crypto::kSha256Size) {
    return fail(Errc::kWrongLength, std::string(what) + ": hash of " + std::to_string(b.size()) + " bytes, need 32");
  }
  Hash h;
  std::copy(b.begin(), b.end(), h.begin());
  return h;
}

Result<crypto::Ed25519Signature> sigFrom(const Bytes& b, std::string_view what) {
  if (b.size() != crypto::kEd25519SignatureSize) {
    return fail(Errc::kWrongLength, std::string(what) + ": signature of " + std::to_string(b.size()) + " bytes, need 64");
  }
  crypto::Ed25519Signature s;
  std::copy(b.begin(), b.end(), s.begin());
  return s;
}

Bytes domainMessage(std::string_view domain, ByteView body) {
  Bytes msg = toBytes(domain);
  append(msg, body);
  return msg;
}

Result<identity::DidKey> authorKey(std::string_view stream) {
  AE_ASSIGN_OR_RETURN(StreamId id, StreamId::parse(stream));
  return identity::parseDidKey(id.author);
}

Status checkSigner(std::string_view stream, const crypto::Ed25519KeyPair& key) {
  AE_ASSIGN_OR_RETURN(identity::DidKey did, authorKey(stream));
  if (did.publicKey != key.publicKey()) {
    return fail(Errc::kInvalidArgument, "log: the key is not the author of " + std::string(stream));
  }
  return {};
}

Status checkEntry(const Entry& e) {
  if (auto id = StreamId::parse(e.stream); !id) return withContext(id.error(), "entry: stream");
  if ((e.seq == 0) != !e.prev.has_value()) {
    return fail(Errc::kMalformed, "entry: prev must be null exactly at seq 0 (seq " + std::to_string(e.seq) + ")");
  }
  if (e.prev && (e.prev->version() != 1 || e.prev->codec() != codec::mc::kDagCbor ||
                 e.prev->hash().code != codec::mc::kSha2_256)) {
    return fail(Errc::kMalformed, "entry: prev is not a CIDv1 dag-cbor sha2-256 link");
  }
  if (e.data.has_value() == e.payload.has_value()) {
    return fail(Errc::kMalformed, "entry: needs exactly one of data and payload");
  }
  if (e.data && e.data->size() > kMaxInline) {
    return fail(Errc::kLimitExceeded, "entry: inline data of " + std::to_string(e.data->size()) + " bytes (max " +
                                          std::to_string(kMaxInline) + ")");
  }
  if (e.payload && (e.payload->version() != 1 || e.payload->codec() != codec::mc::kRaw ||
                    e.payload->hash().code != codec::mc::kSha2_256)) {
    return fail(Errc::kMalformed, "entry: payload is not a CIDv1 raw sha2-256 link");
  }
  return {};
}

Value pathValue(const std::vector<Hash>& path) {
  Value::List list;
  list.reserve(path.size());
  for (const auto& h : path) list.emplace_back(Bytes(h.begin(), h.end()));
  return Value(std::move(list));
}

Result<std::vector<Hash>> pathFrom(const Value& v, std::string_view what) {
  const auto* list = v.asList();
  if (!list) return fail(Errc::kMalformed, std::string(what) + ": path is not a list");
  if (list->size() > kMaxProofHashes) return fail(Errc::kLimitExceeded, std::string(what) + ": path too long");
  std::vector<Hash> out;
  out.reserve(list->size());
  for (const auto& item : *list) {
    const auto* b = item.asBytes();
    if (!b) return fail(Errc::kMalformed, std::string(what) + ": path item is not bytes");
    AE_ASSIGN_OR_RETURN(Hash h, hashFrom(*b, what));
    out.push_back(h);
  }
  return out;
}

}  // namespace

Status validateStreamName(std::string_view name) {
  if (name.empty() || name.size() > kMaxStreamName) {
    return fail(Errc::kInvalidArgument, "stream name must be 1.." + std::to_string(kMaxStreamName) + " characters");
  }
  if (name == "." || name == "..") return fail(Errc::kInvalidArgument, "stream name cannot be . or ..");
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return fail(Errc::kInvalidArgument, "stream name may hold only A-Z a-z 0-9 . _ -");
  }
  return {};
}

Result<StreamId> StreamId::parse(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return fail(Errc::kMalformed, "stream id: expected <did>/<name>");
  StreamId id{std::string(text.substr(0, slash)), std::string(text.substr(slash + 1))};
  if (auto st = validateStreamName(id.name); !st) return fail(Errc::kMalformed, "stream id: " + st.error().message);
  // Syntax only: "did:key:z" + base58btc(0xed 0x01 || 32 bytes). Whether the key is a valid
  // point (a scalar multiplication, ~100 us) is left to signature verification, which parses
  // the DID fully; decoders run per entry and must stay cheap.
  if (id.author.size() > identity::kMaxDidKeyLength || !id.author.starts_with("did:key:z")) {
    return fail(Errc::kMalformed, "stream id: author is not an Ed25519 did:key");
  }
  auto raw = codec::base58btcDecode(std::string_view(id.author).substr(9));
  if (!raw || raw->size() != 2 + crypto::kEd25519PublicKeySize || (*raw)[0] != 0xed || (*raw)[1] != 0x01) {
    return fail(Errc::kMalformed, "stream id: author is not an Ed25519 did:key");
  }
  return id;
}

codec::Cid blockCid(ByteView block) {
  auto mh = codec::Multihash::sha256(crypto::sha256(block));
  return codec::Cid::v1(codec::mc::kDagCbor, std::move(*mh));
}

Result<Bytes> encodeEntry(const Entry& e) {
  if (auto st = checkEntry(e); !st) {
    return fail(Errc::kInvalidArgument, st.error().message);
  }
  Value::Map m;
  m.emplace("stream", Value(e.stream));
  m.emplace("seq", Value(e.seq));
  m.emplace("prev", e.prev ? Value(*e.prev) : Value(nullptr));
  m.emplace("ts", Value(e.ts));
  if (e.data) m.emplace("data", Value(*e.data));
  if (e.payload) m.emplace("payload", Value(*e.payload));
  return codec::encodeDagCbor(Value(std::move(m)));
}

Result<Entry> decodeEntry(ByteView block) {
  AE_ASSIGN_OR_RETURN(Value v, codec::decodeDagCbor(block, smallLimits()));
  AE_ASSIGN_OR_RETURN(const Value::Map* m, exactMap(v, "entry", {"stream", "seq", "prev", "ts"}, {"data", "payload"}));
  Entry e;
  AE_ASSIGN_OR_RETURN(e.stream, streamField(*m, "entry"));
  AE_ASSIGN_OR_RETURN(e.seq, uintField(*m, "seq", "entry"));
  AE_ASSIGN_OR_RETURN(e.ts, uintField(*m, "ts", "entry"));
  const Value& prev = m->find("prev")->second;
  if (const auto* link = prev.asLink()) {
    e.prev = *link;
  } else if (!prev.isNull()) {
    return fail(Errc::kMalformed, "entry: prev is neither a link nor null");
  }
  if (auto it = m->find("data"); it != m->end()) {
    const auto* b = it->second.asBytes();
    if (!b) return fail(Errc::kMalformed, "entry: data is not bytes");
    e.data = *b;
  }
  if (auto it = m->find("payload"); it != m->end()) {
    const auto* link = it->second.asLink();
    if (!link) return fail(Errc::kMalformed, "entry: payload is not a link");
    e.payload = *link;
  }
  AE_TRY(checkEntry(e));
  return e;
}

Result<Bytes> encodeHead(const Head& h) {
  if (auto id = StreamId::parse(h.stream); !id) return fail(Errc::kInvalidArgument, "head: " + id.error().message);
  Value::Map m;
  m.emplace("stream", Value(h.stream));
  m.emplace("size", Value(h.size));
  m.emplace("root", Value(Bytes(h.root.begin(), h.root.end())));
  m.emplace("ts", Value(h.ts));
  return codec::encodeDagCbor(Value(std::move(m)));
}

Result<Head> decodeHead(ByteView bytes) {
  AE_ASSIGN_OR_RETURN(Value v, codec::decodeDagCbor(bytes, smallLimits()));
  AE_ASSIGN_OR_RETURN(const Value::Map* m, exactMap(v, "head", {"stream", "size", "root", "ts"}));
  Head h;
  AE_ASSIGN_OR_RETURN(h.stream, streamField(*m, "head"));
  AE_ASSIGN_OR_RETURN(h.size, uintField(*m, "size", "head"));
  AE_ASSIGN_OR_RETURN(h.ts, uintField(*m, "ts", "head"));
  AE_ASSIGN_OR_RETURN(Bytes root, bytesField(*m, "root", "head"));
  AE_ASSIGN_OR_RETURN(h.root, hashFrom(root, "head: root"));
  return h;
}

Result<SignedHead> signHead(const Head& head, const crypto::Ed25519KeyPair& key) {
  AE_TRY(checkSigner(head.stream, key));
  SignedHead out;
  out.head = head;
  AE_ASSIGN_OR_RETURN(out.head_bytes, encodeHead(head));
  out.sig = key.sign(domainMessage(kHeadDomain, out.head_bytes));
  return out;
}

Bytes encodeSignedHead(const SignedHead& h) {
  Value::Map m;
  m.emplace("head", Value(h.head_bytes));
  m.emplace("sig", Value(Bytes(h.sig.begin(), h.sig.end())));
  auto out = codec::encodeDagCbor(Value(std::move(m)));
  return std::move(*out);  // bytes-only maps always encode
}

Result<SignedHead> decodeSignedHead(ByteView bytes) {
  AE_ASSIGN_OR_RETURN(Value v, codec::decodeDagCbor(bytes, smallLimits()));
  AE_ASSIGN_OR_RETURN(const Value::Map* m, exactMap(v, "signed head", {"head", "sig"}));
  SignedHead h;
  AE_ASSIGN_OR_RETURN(h.head_bytes, bytesField(*m, "head", "signed head"));
  AE_ASSIGN_OR_RETURN(Bytes sig, bytesField(*m, "sig", "signed head"));
  AE_ASSIGN_OR_RETURN(h.sig, sigFrom(sig, "signed head"));
  AE_ASSIGN_OR_RETURN(h.head, decodeHead(h.head_bytes));
  return h;
}

Status verifySignedHead(const SignedHead& h) {
  AE_ASSIGN_OR_RETURN(identity::DidKey did, authorKey(h.head.stream));
  if (auto st = crypto::ed25519Verify(did.publicKey, domainMessage(kHeadDomain, h.head_bytes), h.sig); !st) {
    return fail(Errc::kBadSignature, "head of " + h.head.stream + " at size " + std::to_string(h.head.size) +
                                         ": signature does not verify");
  }
  return {};
}

Result<SignedEntry> signEntry(ByteView block, const crypto::Ed25519KeyPair& key) {
  SignedEntry out;
  AE_ASSIGN_OR_RETURN(out.entry, decodeEntry(block));
  AE_TRY(checkSigner(out.entry.stream, key));
  out.block.assign(block.begin(), block.end());
  out.sig = key.sign(domainMessage(kEntryDomain, block));
  return out;
}

Bytes encodeSignedEntry(const SignedEntry& e) {
  Value::Map m;
  m.emplace("entry", Value(e.block));
  m.emplace("sig", Value(Bytes(e.sig.begin(), e.sig.end())));
  auto out = codec::encodeDagCbor(Value(std::move(m)));
  return std::move(*out);
}

Result<SignedEntry> decodeSignedEntry(ByteView bytes) {
  AE_ASSIGN_OR_RETURN(Value v, codec::decodeDagCbor(bytes, smallLimits()));
  AE_ASSIGN_OR_RETURN(const Value::Map* m, exactMap(v, "signed entry", {"entry", "sig"}));
  SignedEntry e;
  AE_ASSIGN_OR_RETURN(e.block, bytesField(*m, "entry", "signed entry"));
  AE_ASSIGN_OR_RETURN(Bytes sig, bytesField(*m, "sig", "signed entry"));
  AE_ASSIGN_OR_RETURN(e.sig, sigFrom(sig, "signed entry"));
  AE_ASSIGN_OR_RETURN(e.entry, decodeEntry(e.block));
  return e;
}

Status verifySignedEntry(const SignedEntry& e) {
  AE_ASSIGN_OR_RETURN(identity::DidKey did, authorKey(e.entry.stream));
  if (auto st = crypto::ed25519Verify(did.publicKey, domainMessage(kEntryDomain, e.block), e.sig); !st) {
    return fail(Errc::kBadSignature, "entry " + std::to_string(e.entry.seq) + " of " + e.entry.stream +
                                         ": signature does not verify");
  }
  return {};
}

Result<Bytes> encodeInclusionProof(const InclusionProof& p) {
  Value::Map m;
  m.emplace("index", Value(p.index));
  m.emplace("size", Value(p.size));
  m.emplace("path", pathValue(p.path));
  return codec::encodeDagCbor(Value(std::move(m)));
}

Result<InclusionProof> decodeInclusionProof(ByteView bytes) {
  AE_ASSIGN_OR_RETURN(Value v, codec::decodeDagCbor(bytes, smallLimits()));
  AE_ASSIGN_OR_RETURN(const Value::Map* m, exactMap(v, "inclusion proof", {"index", "size", "path"}));
  InclusionProof p;
  AE_ASSIGN_OR_RETURN(p.index, uintField(*m, "index", "inclusion proof"));
  AE_ASSIGN_OR_RETURN(p.size, uintField(*m, "size", "inclusion proof"));
  AE_ASSIGN_OR_RETURN(p.path, pathFrom(m->find("path")->second, "inclusion proof"));
  return p;
}

Result<Bytes> encodeConsistencyProof(const ConsistencyProof& p) {
  Value::Map m;
  m.emplace("first", Value(p.first));
  m.emplace("second", Value(p.second));
  m.emplace("path", pathValue(p.path));
  return codec::encodeDagCbor(Value(std::move(m)));
}

Result<ConsistencyProof> decodeConsistencyProof(ByteView bytes) {
  AE_ASSIGN_OR_RETURN(Value v, codec::decodeDagCbor(bytes, smallLimits()));
  AE_ASSIGN_OR_RETURN(const Value::Map* m, exactMap(v, "consistency proof", {"first", "second", "path"}));
  ConsistencyProof p;
  AE_ASSIGN_OR_RETURN(p.first, uintField(*m, "first", "consistency proof"));
  AE_ASSIGN_OR_RETURN(p.second, uintField(*m, "second", "consistency proof"));
  AE_ASSIGN_OR_RETURN(p.path, pathFrom(m->find("path")->second, "consistency proof"));
  return p;
}

Status verifyEntryInHead(ByteView entry_block, const InclusionProof& proof, const SignedHead& head) {
  AE_TRY(verifySignedHead(head));
  AE_ASSIGN_OR_RETURN(Entry e, decodeEntry(entry_block));
  if (e.stream != head.head.stream) return fail(Errc::kIntegrity, "entry belongs to " + e.stream + ", head to " + head.head.stream);
  if (e.seq != proof.index) {
    return fail(Errc::kIntegrity, "entry seq " + std::to_string(e.seq) + " but proof index " + std::to_string(proof.index));
  }
  if (proof.size != head.head.size) {
    return fail(Errc::kIntegrity, "proof for size " + std::to_string(proof.size) + " but head size " +
                                      std::to_string(head.head.size));
  }
  return verifyInclusion(proof.index, proof.size, leafHash(entry_block), proof.path, head.head.root);
}

}  // namespace aether::log
