// Yamux (hashicorp/yamux spec.md, libp2p profile: 256 KiB initial window, dialer odd ids).
#include <algorithm>

#include "net/internal.h"

namespace aether::net {

using namespace yamux_flags;

namespace {
constexpr std::uint16_t kAllFlags = kSyn | kAck | kFin | kRst;

std::uint32_t readU32(ByteView b) {
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
}
void appendU32(Bytes& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 24));
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
}  // namespace

void appendYamuxHeader(Bytes& out, const YamuxHeader& h) {
  out.push_back(0);
  out.push_back(static_cast<std::uint8_t>(h.type));
  out.push_back(static_cast<std::uint8_t>(h.flags >> 8));
  out.push_back(static_cast<std::uint8_t>(h.flags));
  appendU32(out, h.stream_id);
  appendU32(out, h.length);
}

Result<YamuxHeader> decodeYamuxHeader(ByteView in) {
  if (in.size() != kYamuxHeaderSize) {
    return fail(Errc::kWrongLength, "yamux: header of " + std::to_string(in.size()) + " bytes, want 12");
  }
  if (in[0] != 0) return fail(Errc::kUnsupported, "yamux: version " + std::to_string(in[0]));
  if (in[1] > 3) return fail(Errc::kMalformed, "yamux: unknown frame type " + std::to_string(in[1]));
  YamuxHeader h;
  h.type = static_cast<YamuxType>(in[1]);
  h.flags = static_cast<std::uint16_t>((in[2] << 8) | in[3]);
  h.stream_id = readU32(in.subspan(4));
  h.length = readU32(in.subspan(8));
  if (h.flags & ~kAllFlags) {
    return fail(Errc::kMalformed, "yamux: unknown flag bits " + std::to_string(h.flags));
  }
  switch (h.type) {
    case YamuxType::kData:
    case YamuxType::kWindowUpdate:
      if (h.stream_id == 0) return fail(Errc::kMalformed, "yamux: stream frame on stream 0");
      if ((h.flags & kSyn) && (h.flags & kAck)) return fail(Errc::kMalformed, "yamux: SYN and ACK together");
      break;
    case YamuxType::kPing:
      if (h.stream_id != 0) return fail(Errc::kMalformed, "yamux: ping off stream 0");
      if (h.flags != kSyn && h.flags != kAck) {
        return fail(Errc::kMalformed, "yamux: ping needs exactly one of SYN / ACK");
      }
      break;
    case YamuxType::kGoAway:
      if (h.stream_id != 0) return fail(Errc::kMalformed, "yamux: go-away off stream 0");
      if (h.flags != 0) return fail(Errc::kMalformed, "yamux: go-away with flags");
      if (h.length > 2) return fail(Errc::kMalformed, "yamux: go-away code " + std::to_string(h.length));
      break;
  }
  return h;
}

YamuxSession::YamuxSession(Role role) : role_(role), next_id_(role == Role::kDialer ? 1 : 2) {}

void YamuxSession::sendFrame(YamuxType type, std::uint16_t flags, std::uint32_t id,
                             std::uint32_t length, ByteView body) {
  appendYamuxHeader(out_, YamuxHeader{type, flags, id, length});
  append(out_, body);
}

Bytes YamuxSession::takeOutgoing() { return std::exchange(out_, {}); }

Status YamuxSession::protocolError(std::string message) {
  if (!failed_) {
    failed_ = true;
    sendFrame(YamuxType::kGoAway, 0, 0, static_cast<std::uint32_t>(YamuxGoAway::kProtocolError));
    local_go_away_ = true;
  }
  return fail(Errc::kMalformed, "yamux: " + std::move(message));
}

Status YamuxSession::receive(ByteView data) {
  if (failed_) return fail(Errc::kIo, "yamux: session failed");
  append(in_, data);
  std::size_t pos = 0;
  Status result;
  while (in_.size() - pos >= kYamuxHeaderSize) {
    auto header = decodeYamuxHeader(ByteView(in_).subspan(pos, kYamuxHeaderSize));
    if (!header) {
      result = protocolError(header.error().message);
      break;
    }
    std::size_t body = 0;
    if (header->type == YamuxType::kData) {
      // Bound the buffering before waiting for the body: the window caps any honest frame.
      auto it = streams_.find(header->stream_id);
      std::uint32_t window = it != streams_.end() ? it->second.recv_window : kYamuxInitialWindow;
      if (header->length > window) {
        result = protocolError("data frame of " + std::to_string(header->length) +
                               " bytes exceeds the receive window of " + std::to_string(window) +
                               " on stream " + std::to_string(header->stream_id));
        break;
      }
      body = header->length;
    }
    if (in_.size() - pos - kYamuxHeaderSize < body) break;
    auto st = handleFrame(*header, ByteView(in_).subspan(pos + kYamuxHeaderSize, body));
    pos += kYamuxHeaderSize + body;
    if (!st) {
      result = st;
      break;
    }
  }
  if (failed_) {
    in_.clear();
  } else {
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(pos));
  }
  return result;
}

Status YamuxSession::handleStreamFlags(const YamuxHeader& h, StreamState** state) {
  auto it = streams_.find(h.stream_id);
  if (h.flags & kSyn) {
    if (it != streams_.end()) {
      return protocolError("SYN for existing stream " + std::to_string(h.stream_id));
    }
    bool remote_parity_odd = role_ == Role::kListener;
    if ((h.stream_id % 2 == 1) != remote_parity_odd) {
      return protocolError("remote opened stream " + std::to_string(h.stream_id) + " with our parity");
    }
    if (local_go_away_ || inboundStreamCount() >= kYamuxMaxInboundStreams) {
      if (!local_go_away_) ++refused_streams_;
      sendFrame(YamuxType::kWindowUpdate, kRst, h.stream_id, 0);
      *state = nullptr;
      return {};
    }
    it = streams_.emplace(h.stream_id, StreamState{}).first;
    accept_queue_.push_back(h.stream_id);
    sendFrame(YamuxType::kWindowUpdate, kAck, h.stream_id, 0);
  }
  if (it == streams_.end()) {
    *state = nullptr;  // a stream we already forgot: drop the frame
    return {};
  }
  StreamState& s = it->second;
  if (h.flags & kRst) {
    s.reset = true;
    s.buffer.clear();
  }
  *state = &s;
  return {};
}

Status YamuxSession::handleFrame(const YamuxHeader& h, ByteView body) {
  switch (h.type) {
    case YamuxType::kPing:
      if (h.flags == kSyn) {
        sendFrame(YamuxType::kPing, kAck, 0, h.length);
      } else {
        pongs_.push_back(h.length);
      }
      return {};
    case YamuxType::kGoAway:
      remote_go_away_ = h.length;
      return {};
    case YamuxType::kWindowUpdate:
    case YamuxType::kData: {
      StreamState* s = nullptr;
      AE_TRY(handleStreamFlags(h, &s));
      if (s == nullptr) return {};
      if (h.type == YamuxType::kWindowUpdate) {
        if (std::uint64_t{s->send_window} + h.length > 0xffffffffu) {
          return protocolError("window update overflows the send window of stream " +
                               std::to_string(h.stream_id));
        }
        s->send_window += h.length;
      } else if (!body.empty()) {
        if (body.size() > s->recv_window) {
          return protocolError("data exceeds the receive window of stream " + std::to_string(h.stream_id));
        }
        if (s->remote_fin) {
          return protocolError("data after FIN on stream " + std::to_string(h.stream_id));
        }
        s->recv_window -= static_cast<std::uint32_t>(body.size());
        if (!s->reset) s->buffer.insert(s->buffer.end(), body.begin(), body.end());
      }
      if (h.flags & kFin) s->remote_fin = true;
      return {};
    }
  }
  return {};
}

Result<std::uint32_t> YamuxSession::openStream() {
  if (failed_) return fail(Errc::kIo, "yamux: session failed");
  if (remote_go_away_) return fail(Errc::kIo, "yamux: remote sent go-away");
  if (local_go_away_) return fail(Errc::kIo, "yamux: session is going away");
  if (next_id_ > 0xfffffffd) return fail(Errc::kLimitExceeded, "yamux: stream ids exhausted");
  std::uint32_t id = next_id_;
  next_id_ += 2;
  streams_.emplace(id, StreamState{});
  sendFrame(YamuxType::kWindowUpdate, kSyn, id, 0);
  return id;
}

std::optional<std::uint32_t> YamuxSession::acceptStream() {
  if (accept_queue_.empty()) return std::nullopt;
  std::uint32_t id = accept_queue_.front();
  accept_queue_.pop_front();
  return id;
}

Result<std::size_t> YamuxSession::write(std::uint32_t id, ByteView data) {
  if (failed_) return fail(Errc::kIo, "yamux: session failed");
  auto it = streams_.find(id);
  if (it == streams_.end()) return fail(Errc::kIo, "yamux: unknown stream " + std::to_string(id));
  StreamState& s = it->second;
  if (s.reset) return fail(Errc::kIo, "yamux: stream " + std::to_string(id) + " was reset");
  if (s.local_fin) return fail(Errc::kIo, "yamux: write after close on stream " + std::to_string(id));
  std::size_t total = std::min<std::size_t>(data.size(), s.send_window);
  std::size_t done = 0;
  while (done < total) {
    std::size_t n = std::min<std::size_t>(total - done, kYamuxMaxDataFrame);
    sendFrame(YamuxType::kData, 0, id, static_cast<std::uint32_t>(n), data.subspan(done, n));
    done += n;
  }
  s.send_window -= static_cast<std::uint32_t>(total);
  return total;
}

std::size_t YamuxSession::read(std::uint32_t id, std::span<std::uint8_t> out) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return 0;
  StreamState& s = it->second;
  std::size_t n = std::min(out.size(), s.buffer.size());
  std::copy_n(s.buffer.begin(), n, out.begin());
  s.buffer.erase(s.buffer.begin(), s.buffer.begin() + static_cast<std::ptrdiff_t>(n));
  s.consumed += static_cast<std::uint32_t>(n);
  if (s.consumed >= kYamuxInitialWindow / 2 && !s.reset && !s.remote_fin && !failed_) {
    sendFrame(YamuxType::kWindowUpdate, 0, id, s.consumed);
    s.recv_window += s.consumed;
    s.consumed = 0;
  }
  return n;
}

Status YamuxSession::closeWrite(std::uint32_t id) {
  if (failed_) return fail(Errc::kIo, "yamux: session failed");
  auto it = streams_.find(id);
  if (it == streams_.end()) return fail(Errc::kIo, "yamux: unknown stream " + std::to_string(id));
  if (it->second.reset) return fail(Errc::kIo, "yamux: stream " + std::to_string(id) + " was reset");
  if (it->second.local_fin) return {};
  it->second.local_fin = true;
  sendFrame(YamuxType::kWindowUpdate, kFin, id, 0);
  return {};
}

void YamuxSession::reset(std::uint32_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end() || it->second.reset) return;
  it->second.reset = true;
  it->second.buffer.clear();
  if (!failed_) sendFrame(YamuxType::kWindowUpdate, kRst, id, 0);
}

std::size_t YamuxSession::inboundStreamCount() const {
  const bool remote_odd = role_ == Role::kListener;
  std::size_t n = 0;
  for (const auto& [id, st] : streams_) {
    if ((id % 2 == 1) == remote_odd) ++n;
  }
  return n;
}

void YamuxSession::release(std::uint32_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  if (!(it->second.local_fin && it->second.remote_fin)) reset(id);
  streams_.erase(it);
  std::erase(accept_queue_, id);
}

void YamuxSession::ping(std::uint32_t opaque) {
  if (!failed_) sendFrame(YamuxType::kPing, kSyn, 0, opaque);
}

std::vector<std::uint32_t> YamuxSession::takePongs() { return std::exchange(pongs_, {}); }

void YamuxSession::goAway(YamuxGoAway code) {
  if (failed_ || local_go_away_) return;
  local_go_away_ = true;
  sendFrame(YamuxType::kGoAway, 0, 0, static_cast<std::uint32_t>(code));
}

std::size_t YamuxSession::readable(std::uint32_t id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? 0 : it->second.buffer.size();
}
bool YamuxSession::remoteClosed(std::uint32_t id) const {
  auto it = streams_.find(id);
  return it != streams_.end() && it->second.remote_fin;
}
bool YamuxSession::isReset(std::uint32_t id) const {
  auto it = streams_.find(id);
  return failed_ || it == streams_.end() || it->second.reset;
}
std::uint32_t YamuxSession::sendWindow(std::uint32_t id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? 0 : it->second.send_window;
}
std::uint32_t YamuxSession::recvWindow(std::uint32_t id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? 0 : it->second.recv_window;
}

}  // namespace aether::net
