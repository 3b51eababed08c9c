// Noise_XX_25519_ChaChaPoly_SHA256 (noiseprotocol.org rev 34) with the libp2p handshake payload
// (libp2p/specs noise/README.md).
#include <algorithm>
#include <cstring>

#include "net/internal.h"

namespace aether::net {

namespace {

constexpr std::string_view kProtocolName = "Noise_XX_25519_ChaChaPoly_SHA256";
static_assert(kProtocolName.size() == crypto::kSha256Size);

std::array<std::uint8_t, crypto::kChaCha20Poly1305NonceSize> nonceBytes(std::uint64_t n) {
  std::array<std::uint8_t, crypto::kChaCha20Poly1305NonceSize> out{};
  for (int i = 0; i < 8; ++i) out[4 + i] = static_cast<std::uint8_t>(n >> (8 * i));
  return out;
}

constexpr std::uint64_t kMaxNonce = ~std::uint64_t{0};  // reserved by the Noise spec

}  // namespace

// ---- CipherState ------------------------------------------------------------------------------

Result<CipherState> CipherState::create(ByteView key) {
  AE_ASSIGN_OR_RETURN(auto aead, crypto::ChaCha20Poly1305::create(key));
  return CipherState(std::move(aead));
}

Status CipherState::encryptAppend(ByteView plaintext, Bytes& out) {
  if (plaintext.size() > kNoiseMaxPlaintext) {
    return fail(Errc::kInvalidArgument, "noise: plaintext over 65519 bytes");
  }
  if (n_ == kMaxNonce) return fail(Errc::kLimitExceeded, "noise: send nonce exhausted");
  auto nonce = nonceBytes(n_);
  std::size_t at = out.size();
  out.resize(at + plaintext.size() + crypto::kAeadTagSize);
  AE_TRY(aead_.sealInto(nonce, {}, plaintext, std::span<std::uint8_t>(out).subspan(at)));
  ++n_;
  return {};
}

Result<Bytes> CipherState::decrypt(ByteView ciphertext) {
  if (ciphertext.size() < crypto::kAeadTagSize) {
    return fail(Errc::kMalformed, "noise: frame of " + std::to_string(ciphertext.size()) +
                                      " bytes is shorter than a tag");
  }
  if (ciphertext.size() > kNoiseMaxMessage) return fail(Errc::kMalformed, "noise: frame over 65535 bytes");
  if (n_ == kMaxNonce) return fail(Errc::kLimitExceeded, "noise: receive nonce exhausted");
  auto nonce = nonceBytes(n_);
  Bytes out(ciphertext.size() - crypto::kAeadTagSize);
  auto st = aead_.openInto(nonce, {}, ciphertext, out);
  if (!st) return withContext(st.error(), "noise: transport frame");
  ++n_;
  return out;
}

// ---- handshake --------------------------------------------------------------------------------

Result<NoiseHandshake> NoiseHandshake::create(Role role, const crypto::Ed25519KeyPair& identity,
                                              crypto::Rng& rng, std::optional<PeerId> expected) {
  AE_ASSIGN_OR_RETURN(auto e, crypto::X25519KeyPair::generate(rng));
  return createWithEphemeral(role, identity, rng, std::move(e), std::move(expected));
}

Result<NoiseHandshake> NoiseHandshake::createWithEphemeral(Role role,
                                                           const crypto::Ed25519KeyPair& identity,
                                                           crypto::Rng& rng,
                                                           crypto::X25519KeyPair ephemeral,
                                                           std::optional<PeerId> expected) {
  NoiseHandshake hs;
  hs.role_ = role;
  hs.expected_ = std::move(expected);
  std::copy(kProtocolName.begin(), kProtocolName.end(), hs.h_.begin());
  AE_ASSIGN_OR_RETURN(hs.ck_, crypto::SecretBytes::copyOf(hs.h_));
  hs.mixHash({});  // empty prologue
  // A fresh static key per handshake; the identity signature binds it to our peer id.
  AE_ASSIGN_OR_RETURN(auto s, crypto::X25519KeyPair::generate(rng));
  hs.s_.emplace(std::move(s));
  hs.e_.emplace(std::move(ephemeral));
  hs.identity_key_proto_ = encodeEd25519PublicKeyProto(identity.publicKey());
  Bytes msg = toBytes(kNoiseSignaturePrefix);
  append(msg, hs.s_->publicKey());
  hs.identity_sig_ = identity.sign(msg);
  return hs;
}

void NoiseHandshake::mixHash(ByteView data) {
  crypto::Sha256 sha;
  sha.update(h_);
  sha.update(data);
  h_ = sha.finish();
}

Status NoiseHandshake::mixKey(ByteView ikm) {
  AE_ASSIGN_OR_RETURN(auto out, crypto::hkdfSha256(ikm, ck_.view(), {}, 64));
  AE_ASSIGN_OR_RETURN(ck_, crypto::SecretBytes::copyOf(out.view().first(32)));
  AE_ASSIGN_OR_RETURN(k_, crypto::SecretBytes::copyOf(out.view().subspan(32, 32)));
  n_ = 0;
  return {};
}

Status NoiseHandshake::encryptAndHash(ByteView plaintext, Bytes& out) {
  std::size_t at = out.size();
  if (k_.empty()) {
    append(out, plaintext);
  } else {
    auto nonce = nonceBytes(n_++);
    out.resize(at + plaintext.size() + crypto::kAeadTagSize);
    AE_TRY(crypto::chacha20poly1305SealInto(k_.view(), nonce, h_, plaintext,
                                            std::span<std::uint8_t>(out).subspan(at)));
  }
  mixHash(ByteView(out).subspan(at));
  return {};
}

Result<Bytes> NoiseHandshake::decryptAndHash(ByteView ciphertext) {
  Bytes plain;
  if (k_.empty()) {
    plain.assign(ciphertext.begin(), ciphertext.end());
  } else {
    if (ciphertext.size() < crypto::kAeadTagSize) {
      return fail(Errc::kTruncated, "noise: handshake ciphertext shorter than a tag");
    }
    auto nonce = nonceBytes(n_++);
    plain.resize(ciphertext.size() - crypto::kAeadTagSize);
    auto st = crypto::chacha20poly1305OpenInto(k_.view(), nonce, h_, ciphertext, plain);
    if (!st) return withContext(st.error(), "noise: handshake message");
  }
  mixHash(ciphertext);
  return plain;
}

Status NoiseHandshake::dh(const crypto::X25519KeyPair& local, ByteView remote) {
  auto shared = local.sharedSecret(remote);
  if (!shared) return withContext(shared.error(), "noise: DH");
  return mixKey(shared->view());
}

Result<Bytes> NoiseHandshake::localPayload() {
  NoiseHandshakePayload p;
  p.identity_key = identity_key_proto_;
  p.identity_sig.assign(identity_sig_.begin(), identity_sig_.end());
  return encodeNoiseHandshakePayload(p);
}

Status NoiseHandshake::verifyRemote(ByteView payload) {
  auto decoded = decodeNoiseHandshakePayload(payload);
  if (!decoded) return withContext(decoded.error(), "noise: remote handshake payload");
  if (decoded->identity_key.empty()) {
    return fail(Errc::kMalformed, "noise: remote handshake payload has no identity_key");
  }
  if (decoded->identity_sig.empty()) {
    return fail(Errc::kMalformed, "noise: remote handshake payload has no identity_sig");
  }
  auto key = decodeEd25519PublicKeyProto(decoded->identity_key);
  if (!key) return withContext(key.error(), "noise: remote identity_key");
  Bytes msg = toBytes(kNoiseSignaturePrefix);
  append(msg, rs_);
  auto st = crypto::ed25519Verify(*key, msg, decoded->identity_sig);
  if (!st) return withContext(st.error(), "noise: remote identity signature over its static key");
  PeerId remote = PeerId::fromEd25519(*key);
  if (expected_ && *expected_ != remote) {
    return fail(Errc::kAuthFailed, "noise: peer id mismatch: dialed " + expected_->toString() +
                                       " but the remote proved it is " + remote.toString());
  }
  remote_ = std::move(remote);
  remote_payload_ = std::move(*decoded);
  return {};
}

Result<Bytes> NoiseHandshake::writeMessage() {
  Bytes out;
  if (role_ == Role::kInitiator && step_ == 0) {
    append(out, e_->publicKey());
    mixHash(e_->publicKey());
    AE_TRY(encryptAndHash({}, out));  // empty payload in message 1
  } else if (role_ == Role::kResponder && step_ == 1) {
    append(out, e_->publicKey());
    mixHash(e_->publicKey());
    AE_TRY(dh(*e_, re_));  // ee
    AE_TRY(encryptAndHash(s_->publicKey(), out));
    AE_TRY(dh(*s_, re_));  // es
    AE_ASSIGN_OR_RETURN(Bytes payload, localPayload());
    AE_TRY(encryptAndHash(payload, out));
  } else if (role_ == Role::kInitiator && step_ == 2) {
    AE_TRY(encryptAndHash(s_->publicKey(), out));
    AE_TRY(dh(*s_, re_));  // se
    AE_ASSIGN_OR_RETURN(Bytes payload, localPayload());
    AE_TRY(encryptAndHash(payload, out));
  } else {
    return fail(Errc::kInternal, "noise: writeMessage out of turn");
  }
  if (out.size() > kNoiseMaxMessage) return fail(Errc::kInternal, "noise: handshake message too long");
  ++step_;
  return out;
}

Status NoiseHandshake::readMessage(ByteView msg) {
  constexpr std::size_t kKey = crypto::kX25519KeySize;
  constexpr std::size_t kSealedKey = kKey + crypto::kAeadTagSize;
  if (msg.size() > kNoiseMaxMessage) return fail(Errc::kMalformed, "noise: handshake message over 65535 bytes");
  if (role_ == Role::kResponder && step_ == 0) {
    if (msg.size() < kKey) return fail(Errc::kTruncated, "noise: message 1 shorter than a key");
    std::copy_n(msg.begin(), kKey, re_.begin());
    mixHash(re_);
    AE_TRY(decryptAndHash(msg.subspan(kKey)));  // payload of message 1 is ignored
  } else if (role_ == Role::kInitiator && step_ == 1) {
    if (msg.size() < kKey + kSealedKey + crypto::kAeadTagSize) {
      return fail(Errc::kTruncated, "noise: message 2 too short (" + std::to_string(msg.size()) + " bytes)");
    }
    std::copy_n(msg.begin(), kKey, re_.begin());
    mixHash(re_);
    AE_TRY(dh(*e_, re_));  // ee
    AE_ASSIGN_OR_RETURN(Bytes rs, decryptAndHash(msg.subspan(kKey, kSealedKey)));
    std::copy_n(rs.begin(), kKey, rs_.begin());
    AE_TRY(dh(*e_, rs_));  // es
    AE_ASSIGN_OR_RETURN(Bytes payload, decryptAndHash(msg.subspan(kKey + kSealedKey)));
    AE_TRY(verifyRemote(payload));
  } else if (role_ == Role::kResponder && step_ == 2) {
    if (msg.size() < kSealedKey + crypto::kAeadTagSize) {
      return fail(Errc::kTruncated, "noise: message 3 too short (" + std::to_string(msg.size()) + " bytes)");
    }
    AE_ASSIGN_OR_RETURN(Bytes rs, decryptAndHash(msg.first(kSealedKey)));
    std::copy_n(rs.begin(), kKey, rs_.begin());
    AE_TRY(dh(*e_, rs_));  // se
    AE_ASSIGN_OR_RETURN(Bytes payload, decryptAndHash(msg.subspan(kSealedKey)));
    AE_TRY(verifyRemote(payload));
  } else {
    return fail(Errc::kInternal, "noise: readMessage out of turn");
  }
  ++step_;
  return {};
}

Result<NoiseTransport> NoiseHandshake::finish() {
  if (!complete() || !remote_) return fail(Errc::kInternal, "noise: handshake not complete");
  AE_ASSIGN_OR_RETURN(auto keys, crypto::hkdfSha256({}, ck_.view(), {}, 64));
  AE_ASSIGN_OR_RETURN(auto c1, CipherState::create(keys.view().first(32)));
  AE_ASSIGN_OR_RETURN(auto c2, CipherState::create(keys.view().subspan(32, 32)));
  if (role_ == Role::kInitiator) {
    return NoiseTransport{std::move(c1), std::move(c2), *remote_, remote_payload_};
  }
  return NoiseTransport{std::move(c2), std::move(c1), *remote_, remote_payload_};
}

}  // namespace aether::net
