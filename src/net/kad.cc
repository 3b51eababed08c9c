// Kademlia sans-IO: the /ipfs/kad/1.0.0 message codec and the k-bucket routing table.
#include <algorithm>

#include "net/internal.h"

namespace aether::net {
namespace {

Status needBytes(const Field& f, std::string_view name) {
  if (f.wire != kWireBytes) return fail(Errc::kMalformed, "kad: " + std::string(name) + " must be length-delimited");
  return {};
}

Status needVarint(const Field& f, std::string_view name) {
  if (f.wire != kWireVarint) return fail(Errc::kMalformed, "kad: " + std::string(name) + " must be a varint");
  return {};
}

void appendPeer(Bytes& out, std::uint32_t field, const KadWirePeer& p) {
  Bytes inner;
  appendBytesField(inner, 1, p.id);
  for (const Bytes& a : p.addrs) appendBytesField(inner, 2, a);
  if (p.connection != 0) appendVarintField(inner, 3, p.connection);
  appendBytesField(out, field, inner);
}

Result<KadWirePeer> decodePeer(ByteView in) {
  KadWirePeer p;
  while (!in.empty()) {
    AE_ASSIGN_OR_RETURN(Field f, readField(in, "kad peer"));
    switch (f.number) {
      case 1:
        AE_TRY(needBytes(f, "peer id"));
        if (f.bytes.size() > 128) return fail(Errc::kLimitExceeded, "kad: peer id longer than 128 bytes");
        p.id.assign(f.bytes.begin(), f.bytes.end());
        break;
      case 2:
        AE_TRY(needBytes(f, "peer addr"));
        if (p.addrs.size() >= kKadMaxAddrsPerPeer) {
          return fail(Errc::kLimitExceeded, "kad: more than " + std::to_string(kKadMaxAddrsPerPeer) + " addresses for a peer");
        }
        p.addrs.emplace_back(f.bytes.begin(), f.bytes.end());
        break;
      case 3:
        AE_TRY(needVarint(f, "connection"));
        p.connection = f.varint;
        break;
      default:
        break;
    }
  }
  return p;
}

Result<KadRecord> decodeRecord(ByteView in) {
  KadRecord r;
  while (!in.empty()) {
    AE_ASSIGN_OR_RETURN(Field f, readField(in, "kad record"));
    switch (f.number) {
      case 1:
        AE_TRY(needBytes(f, "record key"));
        if (f.bytes.size() > kKadMaxKey) return fail(Errc::kLimitExceeded, "kad: record key too long");
        r.key.assign(f.bytes.begin(), f.bytes.end());
        break;
      case 2:
        AE_TRY(needBytes(f, "record value"));
        if (f.bytes.size() > kKadMaxValue) return fail(Errc::kLimitExceeded, "kad: record value too long");
        r.value.assign(f.bytes.begin(), f.bytes.end());
        break;
      case 5:
        AE_TRY(needBytes(f, "timeReceived"));
        if (f.bytes.size() > 64 || !validProtocolText(f.bytes)) {
          return fail(Errc::kMalformed, "kad: timeReceived is not a short printable string");
        }
        r.time_received.assign(asChars(f.bytes));
        break;
      default:
        break;
    }
  }
  return r;
}

}  // namespace

Bytes encodeKadMessage(const KadMessage& m) {
  Bytes out;
  appendVarintField(out, 1, static_cast<std::uint64_t>(m.type));
  if (!m.key.empty()) appendBytesField(out, 2, m.key);
  if (m.record) {
    Bytes rec;
    appendBytesField(rec, 1, m.record->key);
    appendBytesField(rec, 2, m.record->value);
    if (!m.record->time_received.empty()) appendBytesField(rec, 5, asBytes(m.record->time_received));
    appendBytesField(out, 3, rec);
  }
  for (const auto& p : m.closer) appendPeer(out, 8, p);
  for (const auto& p : m.providers) appendPeer(out, 9, p);
  return out;
}

Result<KadMessage> decodeKadMessage(ByteView in) {
  if (in.size() > kKadMaxMessage) {
    return fail(Errc::kLimitExceeded, "kad: message of " + std::to_string(in.size()) + " bytes (limit " +
                                          std::to_string(kKadMaxMessage) + ")");
  }
  KadMessage m;
  while (!in.empty()) {
    AE_ASSIGN_OR_RETURN(Field f, readField(in, "kad"));
    switch (f.number) {
      case 1:
        AE_TRY(needVarint(f, "type"));
        if (f.varint > 5) return fail(Errc::kMalformed, "kad: unknown message type " + std::to_string(f.varint));
        m.type = static_cast<KadType>(f.varint);
        break;
      case 2:
        AE_TRY(needBytes(f, "key"));
        if (f.bytes.size() > kKadMaxKey) return fail(Errc::kLimitExceeded, "kad: key longer than " + std::to_string(kKadMaxKey));
        m.key.assign(f.bytes.begin(), f.bytes.end());
        break;
      case 3: {
        AE_TRY(needBytes(f, "record"));
        AE_ASSIGN_OR_RETURN(KadRecord r, decodeRecord(f.bytes));
        m.record = std::move(r);
        break;
      }
      case 8:
      case 9: {
        AE_TRY(needBytes(f, "peer"));
        auto& list = f.number == 8 ? m.closer : m.providers;
        if (list.size() >= kKadMaxPeersPerMessage) {
          return fail(Errc::kLimitExceeded, "kad: more than " + std::to_string(kKadMaxPeersPerMessage) + " peers in a list");
        }
        AE_ASSIGN_OR_RETURN(KadWirePeer p, decodePeer(f.bytes));
        list.push_back(std::move(p));
        break;
      }
      case 10:
        AE_TRY(needVarint(f, "clusterLevelRaw"));
        break;
      default:
        break;
    }
  }
  return m;
}

KadKey kadKey(ByteView key) { return crypto::sha256(key); }

std::size_t kadCommonPrefix(const KadKey& a, const KadKey& b) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::uint8_t x = a[i] ^ b[i];
    if (x != 0) return i * 8 + static_cast<std::size_t>(__builtin_clz(x) - 24);
  }
  return a.size() * 8;
}

bool kadCloser(const KadKey& target, const KadKey& a, const KadKey& b) {
  for (std::size_t i = 0; i < target.size(); ++i) {
    const std::uint8_t da = a[i] ^ target[i];
    const std::uint8_t db = b[i] ^ target[i];
    if (da != db) return da < db;
  }
  return false;
}

RoutingTable::RoutingTable(const PeerId& self, std::size_t k)
    : self_(kadKey(self.multihash().encode())), self_id_(self), k_(k), buckets_(257) {}

bool RoutingTable::add(const PeerId& peer, std::vector<Bytes> addrs, std::int64_t now) {
  if (peer == self_id_) return false;
  const KadKey key = kadKey(peer.multihash().encode());
  auto& bucket = buckets_[kadCommonPrefix(self_, key)];
  for (auto it = bucket.begin(); it != bucket.end(); ++it) {
    if (it->peer == peer) {
      Entry e = std::move(*it);
      bucket.erase(it);
      if (!addrs.empty()) e.addrs = std::move(addrs);
      e.last_seen = now;
      bucket.push_back(std::move(e));  // most recently seen at the back
      return true;
    }
  }
  if (bucket.size() >= k_) return false;
  bucket.push_back(Entry{peer, key, std::move(addrs), now});
  return true;
}

void RoutingTable::remove(const PeerId& peer) {
  const KadKey key = kadKey(peer.multihash().encode());
  auto& bucket = buckets_[kadCommonPrefix(self_, key)];
  std::erase_if(bucket, [&](const Entry& e) { return e.peer == peer; });
}

std::vector<RoutingTable::Entry> RoutingTable::closest(const KadKey& target, std::size_t count) const {
  std::vector<Entry> all;
  for (const auto& b : buckets_) all.insert(all.end(), b.begin(), b.end());
  const std::size_t n = std::min(count, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                    [&](const Entry& a, const Entry& b) { return kadCloser(target, a.key, b.key); });
  all.erase(all.begin() + static_cast<std::ptrdiff_t>(n), all.end());
  return all;
}

std::optional<RoutingTable::Entry> RoutingTable::find(const PeerId& peer) const {
  const KadKey key = kadKey(peer.multihash().encode());
  for (const auto& e : buckets_[kadCommonPrefix(self_, key)]) {
    if (e.peer == peer) return e;
  }
  return std::nullopt;
}

std::size_t RoutingTable::size() const {
  std::size_t n = 0;
  for (const auto& b : buckets_) n += b.size();
  return n;
}

}  // namespace aether::net
