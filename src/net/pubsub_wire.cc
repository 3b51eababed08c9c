// pubsub sans-IO: the RPC protobuf codec, StrictSign signatures and message ids
// (libp2p/specs pubsub/README.md, gossipsub v1.0–v1.2).
#include "net/internal.h"

namespace aether::net {
namespace {

Status wantBytes(const Field& f, std::string_view what) {
  if (f.wire != kWireBytes) return fail(Errc::kMalformed, "pubsub: " + std::string(what) + " must be length-delimited");
  return {};
}

Status wantVarint(const Field& f, std::string_view what) {
  if (f.wire != kWireVarint) return fail(Errc::kMalformed, "pubsub: " + std::string(what) + " must be a varint");
  return {};
}

Result<std::string> topicText(ByteView b) {
  if (b.size() > kPubsubMaxTopic) {
    return fail(Errc::kLimitExceeded, "pubsub: topic of " + std::to_string(b.size()) + " bytes (limit " +
                                          std::to_string(kPubsubMaxTopic) + ")");
  }
  if (!b.empty() && !validProtocolText(b)) return fail(Errc::kMalformed, "pubsub: topic is not printable UTF-8");
  return std::string(asChars(b));
}

Status addId(std::vector<Bytes>& ids, ByteView id, std::string_view what) {
  if (id.size() > kPubsubMaxMessageId) return fail(Errc::kLimitExceeded, "pubsub: " + std::string(what) + " message id too long");
  if (ids.size() >= kPubsubMaxIds) {
    return fail(Errc::kLimitExceeded, "pubsub: more than " + std::to_string(kPubsubMaxIds) + " " + std::string(what) + " ids");
  }
  ids.emplace_back(id.begin(), id.end());
  return {};
}

Status entryLimit(std::size_t have, std::string_view what) {
  if (have >= kPubsubMaxEntries) {
    return fail(Errc::kLimitExceeded, "pubsub: more than " + std::to_string(kPubsubMaxEntries) + " " + std::string(what));
  }
  return {};
}

Result<PubsubSubOpt> decodeSubOpt(ByteView in) {
  PubsubSubOpt s;
  while (!in.empty()) {
    AE_ASSIGN_OR_RETURN(Field f, readField(in, "pubsub subopts"));
    if (f.number == 1) {
      AE_TRY(wantVarint(f, "subscribe"));
      s.subscribe = f.varint != 0;
    } else if (f.number == 2) {
      AE_TRY(wantBytes(f, "topicid"));
      AE_ASSIGN_OR_RETURN(s.topic, topicText(f.bytes));
    }
  }
  return s;
}

Result<PubsubWireMessage> decodeMessage(ByteView in) {
  PubsubWireMessage m;
  while (!in.empty()) {
    AE_ASSIGN_OR_RETURN(Field f, readField(in, "pubsub message"));
    auto take = [&](std::optional<Bytes>& slot, std::string_view what) -> Status {
      AE_TRY(wantBytes(f, what));
      if (slot) return fail(Errc::kMalformed, "pubsub: repeated " + std::string(what));
      slot.emplace(f.bytes.begin(), f.bytes.end());
      return {};
    };
    switch (f.number) {
      case 1: AE_TRY(take(m.from, "from")); break;
      case 2: AE_TRY(take(m.data, "data")); break;
      case 3: AE_TRY(take(m.seqno, "seqno")); break;
      case 4: {
        AE_TRY(wantBytes(f, "topic"));
        if (m.topic) return fail(Errc::kMalformed, "pubsub: repeated topic");
        AE_ASSIGN_OR_RETURN(std::string t, topicText(f.bytes));
        m.topic = std::move(t);
        break;
      }
      case 5: AE_TRY(take(m.signature, "signature")); break;
      case 6: AE_TRY(take(m.key, "key")); break;
      default: break;
    }
  }
  if (!m.topic) return fail(Errc::kMalformed, "pubsub: message without a topic");
  return m;
}

Result<PubsubIHave> decodeIHave(ByteView in) {
  PubsubIHave h;
  while (!in.empty()) {
    AE_ASSIGN_OR_RETURN(Field f, readField(in, "pubsub ihave"));
    if (f.number == 1) {
      AE_TRY(wantBytes(f, "ihave topic"));
      AE_ASSIGN_OR_RETURN(h.topic, topicText(f.bytes));
    } else if (f.number == 2) {
      AE_TRY(wantBytes(f, "ihave id"));
      AE_TRY(addId(h.ids, f.bytes, "ihave"));
    }
  }
  return h;
}

Status decodeIdList(ByteView in, std::vector<Bytes>& out, std::string_view what) {
  while (!in.empty()) {
    AE_ASSIGN_OR_RETURN(Field f, readField(in, "pubsub id list"));
    if (f.number == 1) {
      AE_TRY(wantBytes(f, what));
      AE_TRY(addId(out, f.bytes, what));
    }
  }
  return {};
}

Result<std::string> decodeGraft(ByteView in) {
  std::string topic;
  while (!in.empty()) {
    AE_ASSIGN_OR_RETURN(Field f, readField(in, "pubsub graft"));
    if (f.number == 1) {
      AE_TRY(wantBytes(f, "graft topic"));
      AE_ASSIGN_OR_RETURN(topic, topicText(f.bytes));
    }
  }
  return topic;
}

Result<PubsubPrune> decodePrune(ByteView in) {
  PubsubPrune p;
  while (!in.empty()) {
    AE_ASSIGN_OR_RETURN(Field f, readField(in, "pubsub prune"));
    if (f.number == 1) {
      AE_TRY(wantBytes(f, "prune topic"));
      AE_ASSIGN_OR_RETURN(p.topic, topicText(f.bytes));
    } else if (f.number == 2) {
      AE_TRY(wantBytes(f, "prune peer"));
      ByteView info = f.bytes;
      while (!info.empty()) {
        AE_ASSIGN_OR_RETURN(Field g, readField(info, "pubsub peer info"));
        if (g.number == 1) {
          AE_TRY(wantBytes(g, "peer info id"));
          if (g.bytes.size() > 128) return fail(Errc::kLimitExceeded, "pubsub: exchanged peer id too long");
          if (p.px.size() >= kPubsubMaxPx) {
            return fail(Errc::kLimitExceeded, "pubsub: more than " + std::to_string(kPubsubMaxPx) + " exchanged peers");
          }
          p.px.emplace_back(g.bytes.begin(), g.bytes.end());
        }
      }
    } else if (f.number == 3) {
      AE_TRY(wantVarint(f, "prune backoff"));
      p.backoff = f.varint;
    }
  }
  return p;
}

Result<PubsubControl> decodeControl(ByteView in) {
  PubsubControl c;
  while (!in.empty()) {
    AE_ASSIGN_OR_RETURN(Field f, readField(in, "pubsub control"));
    switch (f.number) {
      case 1: {
        AE_TRY(wantBytes(f, "ihave"));
        AE_TRY(entryLimit(c.ihave.size(), "ihave entries"));
        AE_ASSIGN_OR_RETURN(PubsubIHave h, decodeIHave(f.bytes));
        c.ihave.push_back(std::move(h));
        break;
      }
      case 2:
        AE_TRY(wantBytes(f, "iwant"));
        AE_TRY(decodeIdList(f.bytes, c.iwant, "iwant"));
        break;
      case 3: {
        AE_TRY(wantBytes(f, "graft"));
        AE_TRY(entryLimit(c.graft.size(), "graft entries"));
        AE_ASSIGN_OR_RETURN(std::string t, decodeGraft(f.bytes));
        c.graft.push_back(std::move(t));
        break;
      }
      case 4: {
        AE_TRY(wantBytes(f, "prune"));
        AE_TRY(entryLimit(c.prune.size(), "prune entries"));
        AE_ASSIGN_OR_RETURN(PubsubPrune p, decodePrune(f.bytes));
        c.prune.push_back(std::move(p));
        break;
      }
      case 5:
        AE_TRY(wantBytes(f, "idontwant"));
        AE_TRY(decodeIdList(f.bytes, c.idontwant, "idontwant"));
        break;
      default:
        break;
    }
  }
  return c;
}

void appendString(Bytes& out, std::uint32_t field, std::string_view s) { appendBytesField(out, field, asBytes(s)); }

Bytes encodeMessageFields(const PubsubWireMessage& m, bool signature_and_key) {
  Bytes out;
  if (m.from) appendBytesField(out, 1, *m.from);
  if (m.data) appendBytesField(out, 2, *m.data);
  if (m.seqno) appendBytesField(out, 3, *m.seqno);
  if (m.topic) appendString(out, 4, *m.topic);
  if (signature_and_key) {
    if (m.signature) appendBytesField(out, 5, *m.signature);
    if (m.key) appendBytesField(out, 6, *m.key);
  }
  return out;
}

}  // namespace

Bytes encodePubsubMessage(const PubsubWireMessage& m) { return encodeMessageFields(m, true); }

Bytes encodePubsubRpc(const PubsubRpc& rpc) {
  Bytes out;
  for (const auto& s : rpc.subscriptions) {
    Bytes sub;
    appendVarintField(sub, 1, s.subscribe ? 1 : 0);
    appendString(sub, 2, s.topic);
    appendBytesField(out, 1, sub);
  }
  for (const auto& m : rpc.publish) appendBytesField(out, 2, encodePubsubMessage(m));
  if (!rpc.control.empty()) {
    const PubsubControl& c = rpc.control;
    Bytes ctl;
    for (const auto& h : c.ihave) {
      Bytes e;
      appendString(e, 1, h.topic);
      for (const auto& id : h.ids) appendBytesField(e, 2, id);
      appendBytesField(ctl, 1, e);
    }
    if (!c.iwant.empty()) {
      Bytes e;
      for (const auto& id : c.iwant) appendBytesField(e, 1, id);
      appendBytesField(ctl, 2, e);
    }
    for (const auto& t : c.graft) {
      Bytes e;
      appendString(e, 1, t);
      appendBytesField(ctl, 3, e);
    }
    for (const auto& p : c.prune) {
      Bytes e;
      appendString(e, 1, p.topic);
      for (const auto& id : p.px) {
        Bytes info;
        appendBytesField(info, 1, id);
        appendBytesField(e, 2, info);
      }
      if (p.backoff) appendVarintField(e, 3, *p.backoff);
      appendBytesField(ctl, 4, e);
    }
    if (!c.idontwant.empty()) {
      Bytes e;
      for (const auto& id : c.idontwant) appendBytesField(e, 1, id);
      appendBytesField(ctl, 5, e);
    }
    appendBytesField(out, 3, ctl);
  }
  return out;
}

Result<PubsubRpc> decodePubsubRpc(ByteView in) {
  if (in.size() > kPubsubMaxRpc) {
    return fail(Errc::kLimitExceeded, "pubsub: RPC of " + std::to_string(in.size()) + " bytes (limit " +
                                          std::to_string(kPubsubMaxRpc) + ")");
  }
  PubsubRpc rpc;
  bool have_control = false;
  while (!in.empty()) {
    AE_ASSIGN_OR_RETURN(Field f, readField(in, "pubsub rpc"));
    switch (f.number) {
      case 1: {
        AE_TRY(wantBytes(f, "subscriptions"));
        AE_TRY(entryLimit(rpc.subscriptions.size(), "subscriptions"));
        AE_ASSIGN_OR_RETURN(PubsubSubOpt s, decodeSubOpt(f.bytes));
        rpc.subscriptions.push_back(std::move(s));
        break;
      }
      case 2: {
        AE_TRY(wantBytes(f, "publish"));
        AE_TRY(entryLimit(rpc.publish.size(), "messages"));
        AE_ASSIGN_OR_RETURN(PubsubWireMessage m, decodeMessage(f.bytes));
        rpc.publish.push_back(std::move(m));
        break;
      }
      case 3: {
        AE_TRY(wantBytes(f, "control"));
        if (have_control) return fail(Errc::kMalformed, "pubsub: repeated control message");
        have_control = true;
        AE_ASSIGN_OR_RETURN(rpc.control, decodeControl(f.bytes));
        break;
      }
      default:
        break;
    }
  }
  return rpc;
}

Bytes pubsubSigningBytes(const PubsubWireMessage& m) {
  Bytes out(asBytes(kPubsubSignPrefix).begin(), asBytes(kPubsubSignPrefix).end());
  append(out, encodeMessageFields(m, false));
  return out;
}

void signPubsubMessage(PubsubWireMessage& m, const crypto::Ed25519KeyPair& key) {
  m.from = PeerId::fromEd25519(key.publicKey()).multihash().encode();
  m.signature.reset();
  m.key.reset();
  const auto sig = key.sign(pubsubSigningBytes(m));
  m.signature.emplace(sig.begin(), sig.end());
}

Result<PeerId> verifyPubsubMessage(const PubsubWireMessage& m) {
  if (!m.from || !m.seqno || !m.signature) {
    return fail(Errc::kMalformed, "pubsub: unsigned message (StrictSign needs from, seqno and signature)");
  }
  if (m.seqno->size() != 8) return fail(Errc::kMalformed, "pubsub: seqno must be 8 bytes");
  auto mh = codec::Multihash::decode(*m.from);
  if (!mh) return fail(Errc::kMalformed, "pubsub: `from` is not a peer id");
  auto author = PeerId::fromMultihash(std::move(*mh));
  if (!author) return fail(Errc::kMalformed, "pubsub: `from` is not a peer id");
  crypto::Ed25519PublicKey pub{};
  if (auto inl = author->ed25519Key()) {
    pub = *inl;
    if (m.key) {
      auto k = decodeEd25519PublicKeyProto(*m.key);
      if (!k || *k != pub) return fail(Errc::kAuthFailed, "pubsub: `key` does not match `from`");
    }
  } else {
    if (!m.key) return fail(Errc::kMalformed, "pubsub: message without the author's key");
    auto k = decodeEd25519PublicKeyProto(*m.key);
    if (!k) return withContext(k.error(), "pubsub: author key");
    if (PeerId::fromEd25519(*k) != *author) return fail(Errc::kAuthFailed, "pubsub: `key` does not hash to `from`");
    pub = *k;
  }
  if (auto st = crypto::ed25519Verify(pub, pubsubSigningBytes(m), *m.signature); !st) {
    return fail(Errc::kBadSignature, "pubsub: bad message signature from " + author->toString());
  }
  return *author;
}

Bytes pubsubMessageId(const PubsubWireMessage& m) {
  Bytes id = m.from.value_or(Bytes{});
  append(id, m.seqno.value_or(Bytes{}));
  return id;
}

}  // namespace aether::net
