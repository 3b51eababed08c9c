// The identify message codec (sans-IO); the protocol handlers live in host.cc.
#include "net/internal.h"

namespace aether::net {
namespace {

constexpr std::string_view kWhat = "identify";

Result<std::string> textField(const Field& f, std::string_view name) {
  if (f.wire != kWireBytes) return fail(Errc::kMalformed, "identify: " + std::string(name) + " must be length-delimited");
  if (f.bytes.size() > kMaxIdentifyText) {
    return fail(Errc::kLimitExceeded, "identify: " + std::string(name) + " longer than " +
                                          std::to_string(kMaxIdentifyText) + " bytes");
  }
  if (!validProtocolText(f.bytes)) {
    return fail(Errc::kMalformed, "identify: " + std::string(name) + " is not printable UTF-8");
  }
  return std::string(asChars(f.bytes));
}

Status bytesField(const Field& f, std::string_view name) {
  if (f.wire != kWireBytes) return fail(Errc::kMalformed, "identify: " + std::string(name) + " must be length-delimited");
  return {};
}

}  // namespace

Bytes encodeIdentify(const IdentifyMessage& m) {
  Bytes out;
  if (m.public_key) appendBytesField(out, 1, *m.public_key);
  for (const Bytes& a : m.listen_addrs) appendBytesField(out, 2, a);
  for (const std::string& p : m.protocols) appendBytesField(out, 3, asBytes(p));
  if (m.observed_addr) appendBytesField(out, 4, *m.observed_addr);
  if (m.protocol_version) appendBytesField(out, 5, asBytes(*m.protocol_version));
  if (m.agent_version) appendBytesField(out, 6, asBytes(*m.agent_version));
  if (m.signed_peer_record) appendBytesField(out, 8, *m.signed_peer_record);
  return out;
}

Status mergeIdentify(ByteView in, IdentifyMessage& into) {
  if (in.size() > kMaxIdentifyMessage) {
    return fail(Errc::kLimitExceeded, "identify: message of " + std::to_string(in.size()) + " bytes (limit " +
                                          std::to_string(kMaxIdentifyMessage) + ")");
  }
  while (!in.empty()) {
    AE_ASSIGN_OR_RETURN(Field f, readField(in, kWhat));
    switch (f.number) {
      case 1:
        AE_TRY(bytesField(f, "publicKey"));
        into.public_key = Bytes(f.bytes.begin(), f.bytes.end());
        break;
      case 2:
        AE_TRY(bytesField(f, "listenAddrs"));
        if (into.listen_addrs.size() >= kMaxIdentifyEntries) {
          return fail(Errc::kLimitExceeded, "identify: more than " + std::to_string(kMaxIdentifyEntries) + " listen addresses");
        }
        into.listen_addrs.emplace_back(f.bytes.begin(), f.bytes.end());
        break;
      case 3: {
        AE_ASSIGN_OR_RETURN(std::string p, textField(f, "protocol"));
        if (into.protocols.size() >= kMaxIdentifyEntries) {
          return fail(Errc::kLimitExceeded, "identify: more than " + std::to_string(kMaxIdentifyEntries) + " protocols");
        }
        into.protocols.push_back(std::move(p));
        break;
      }
      case 4:
        AE_TRY(bytesField(f, "observedAddr"));
        into.observed_addr = Bytes(f.bytes.begin(), f.bytes.end());
        break;
      case 5: {
        AE_ASSIGN_OR_RETURN(std::string v, textField(f, "protocolVersion"));
        into.protocol_version = std::move(v);
        break;
      }
      case 6: {
        AE_ASSIGN_OR_RETURN(std::string v, textField(f, "agentVersion"));
        into.agent_version = std::move(v);
        break;
      }
      case 8:
        AE_TRY(bytesField(f, "signedPeerRecord"));
        into.signed_peer_record = Bytes(f.bytes.begin(), f.bytes.end());
        break;
      default:
        break;  // unknown fields are skipped
    }
  }
  return {};
}

Result<IdentifyMessage> decodeIdentifyStream(ByteView in) {
  if (in.size() > kMaxIdentifyTotal) {
    return fail(Errc::kLimitExceeded, "identify: " + std::to_string(in.size()) + " bytes on the stream (limit " +
                                          std::to_string(kMaxIdentifyTotal) + ")");
  }
  IdentifyMessage out;
  std::size_t messages = 0;
  while (!in.empty()) {
    if (++messages > kMaxIdentifyMessages) {
      return fail(Errc::kLimitExceeded, "identify: more than " + std::to_string(kMaxIdentifyMessages) + " messages");
    }
    auto len = varintDecode(in);
    if (!len) return withContext(len.error(), "identify: message length");
    in = in.subspan(len->length);
    if (len->value > kMaxIdentifyMessage) {
      return fail(Errc::kLimitExceeded, "identify: message of " + std::to_string(len->value) + " bytes (limit " +
                                            std::to_string(kMaxIdentifyMessage) + ")");
    }
    if (len->value > in.size()) return fail(Errc::kTruncated, "identify: stream ends inside a message");
    AE_TRY(mergeIdentify(in.first(static_cast<std::size_t>(len->value)), out));
    in = in.subspan(static_cast<std::size_t>(len->value));
  }
  return out;
}

}  // namespace aether::net
