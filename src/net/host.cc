// The Asio layer: TCP sockets, connection upgrade (multistream -> Noise -> multistream -> Yamux),
// the per-connection read / write loops, streams, the host and ping.
// Everything runs on the one thread that runs the io_context (see net.h); coroutines wait on
// Signals (a steady_timer used as a condition variable: notify() wakes every waiter, waiters
// re-check their condition), so no state is shared across threads and nothing is locked.
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <map>

#include "net/asio_util.h"
#include "net/internal.h"
#include "net/net.h"

namespace aether::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

// A TCP socket with a read buffer, so reads may over-read and the next layer gets the rest.
class SocketIo {
 public:
  explicit SocketIo(const asio::any_io_executor& ex) : socket_(ex) {}
  tcp::socket& socket() { return socket_; }

  Task<Status> readExactly(std::span<std::uint8_t> out) {
    std::size_t done = 0;
    while (done < out.size()) {
      if (pos_ < buf_.size()) {
        std::size_t n = std::min(out.size() - done, buf_.size() - pos_);
        std::copy_n(buf_.begin() + static_cast<std::ptrdiff_t>(pos_), n, out.begin() + static_cast<std::ptrdiff_t>(done));
        pos_ += n;
        done += n;
        continue;
      }
      buf_.resize(65536);
      pos_ = 0;
      error_code ec;
      std::size_t n = co_await socket_.async_read_some(asio::buffer(buf_), awaitableWith(ec));
      buf_.resize(n);
      if (ec) {
        co_return fail(Errc::kIo, ec == asio::error::eof ? std::string("connection closed by peer")
                                                         : "read: " + ec.message());
      }
    }
    co_return Status{};
  }

  Task<Status> writeAll(ByteView data) {
    error_code ec;
    co_await asio::async_write(socket_, asio::buffer(data.data(), data.size()), awaitableWith(ec));
    if (ec) co_return fail(Errc::kIo, "write: " + ec.message());
    co_return Status{};
  }

  void close() {
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

 private:
  tcp::socket socket_;
  Bytes buf_;
  std::size_t pos_ = 0;
};

// Noise transport frames over a SocketIo: u16 BE length || ciphertext.
class SecureIo {
 public:
  SecureIo(SocketIo& sock, CipherState send, CipherState recv)
      : sock_(sock), send_(std::move(send)), recv_(std::move(recv)) {}

  // The next plaintext bytes (at least one).
  Task<Result<Bytes>> readSome() {
    if (pos_ < plain_.size()) {
      Bytes out(plain_.begin() + static_cast<std::ptrdiff_t>(pos_), plain_.end());
      plain_.clear();
      pos_ = 0;
      co_return out;
    }
    while (true) {
      std::uint8_t len[2];
      auto st = co_await sock_.readExactly(len);
      if (!st) co_return std::unexpected(st.error());
      std::size_t n = (std::size_t{len[0]} << 8) | len[1];
      Bytes frame(n);
      st = co_await sock_.readExactly(frame);
      if (!st) co_return std::unexpected(st.error());
      auto plain = recv_.decrypt(frame);
      if (!plain) co_return std::unexpected(plain.error());
      if (!plain->empty()) co_return std::move(*plain);
    }
  }

  Task<Status> readExactly(std::span<std::uint8_t> out) {
    std::size_t done = 0;
    while (done < out.size()) {
      if (pos_ >= plain_.size()) {
        auto more = co_await readSome();
        if (!more) co_return std::unexpected(more.error());
        plain_ = std::move(*more);
        pos_ = 0;
      }
      std::size_t n = std::min(out.size() - done, plain_.size() - pos_);
      std::copy_n(plain_.begin() + static_cast<std::ptrdiff_t>(pos_), n, out.begin() + static_cast<std::ptrdiff_t>(done));
      pos_ += n;
      done += n;
    }
    co_return Status{};
  }

  Task<Status> writeAll(ByteView data) {
    Bytes wire;
    wire.reserve(data.size() + (data.size() / kNoiseMaxPlaintext + 1) * 18);
    do {
      std::size_t n = std::min(data.size(), kNoiseMaxPlaintext);
      std::size_t len = n + crypto::kAeadTagSize;
      wire.push_back(static_cast<std::uint8_t>(len >> 8));
      wire.push_back(static_cast<std::uint8_t>(len));
      auto st = send_.encryptAppend(data.first(n), wire);
      if (!st) co_return st;
      data = data.subspan(n);
    } while (!data.empty());
    co_return co_await sock_.writeAll(wire);
  }

 private:
  SocketIo& sock_;
  CipherState send_;
  CipherState recv_;
  Bytes plain_;
  std::size_t pos_ = 0;
};

// ---- multistream-select over any byte stream with readExactly / writeAll ----

template <class Io>
Task<Result<std::string>> readMultistream(Io& io) {
  Bytes len;
  while (true) {
    std::uint8_t b;
    auto st = co_await io.readExactly(std::span<std::uint8_t>(&b, 1));
    if (!st) co_return withContext(st.error(), "multistream");
    len.push_back(b);
    if (!(b & 0x80)) break;
    if (len.size() >= 3) co_return fail(Errc::kLimitExceeded, "multistream: length varint too long");
  }
  auto decoded = varintDecode(len);
  if (!decoded) co_return withContext(decoded.error(), "multistream: length");
  if (decoded->value == 0) co_return fail(Errc::kMalformed, "multistream: zero-length message");
  if (decoded->value > kMaxMultistreamMessage) {
    co_return fail(Errc::kLimitExceeded, "multistream: message of " + std::to_string(decoded->value) + " bytes");
  }
  Bytes body(static_cast<std::size_t>(decoded->value));
  auto st = co_await io.readExactly(body);
  if (!st) co_return withContext(st.error(), "multistream");
  co_return decodeMultistreamBody(body);
}

// Dialer side: propose `protocol` (pipelined with the header, as go-libp2p does).
template <class Io>
Task<Status> selectProtocol(Io& io, std::string_view protocol) {
  Bytes out;
  appendMultistreamMessage(out, kMultistreamProtocol);
  appendMultistreamMessage(out, protocol);
  auto st = co_await io.writeAll(out);
  if (!st) co_return st;
  auto header = co_await readMultistream(io);
  if (!header) co_return std::unexpected(header.error());
  if (*header != kMultistreamProtocol) {
    co_return fail(Errc::kUnsupported, "multistream: remote speaks '" + *header + "'");
  }
  auto reply = co_await readMultistream(io);
  if (!reply) co_return std::unexpected(reply.error());
  if (*reply == protocol) co_return Status{};
  if (*reply == kMultistreamNa) {
    co_return fail(Errc::kUnsupported, "multistream: remote does not support " + std::string(protocol));
  }
  co_return fail(Errc::kMalformed, "multistream: unexpected reply '" + *reply + "' to " + std::string(protocol));
}

inline constexpr int kMaxMultistreamProposals = 32;

// Listener side: answer `na` until the remote proposes something `supported` accepts.
template <class Io, class Pred>
Task<Result<std::string>> acceptProtocol(Io& io, Pred supported) {
  Bytes out;
  appendMultistreamMessage(out, kMultistreamProtocol);
  auto st = co_await io.writeAll(out);
  if (!st) co_return std::unexpected(st.error());
  auto header = co_await readMultistream(io);
  if (!header) co_return std::unexpected(header.error());
  if (*header != kMultistreamProtocol) {
    co_return fail(Errc::kUnsupported, "multistream: remote speaks '" + *header + "'");
  }
  for (int i = 0; i < kMaxMultistreamProposals; ++i) {
    auto proposal = co_await readMultistream(io);
    if (!proposal) co_return std::unexpected(proposal.error());
    out.clear();
    if (supported(*proposal)) {
      appendMultistreamMessage(out, *proposal);
      st = co_await io.writeAll(out);
      if (!st) co_return std::unexpected(st.error());
      co_return std::move(*proposal);
    }
    appendMultistreamMessage(out, kMultistreamNa);  // also the answer to `ls`
    st = co_await io.writeAll(out);
    if (!st) co_return std::unexpected(st.error());
  }
  co_return fail(Errc::kLimitExceeded, "multistream: too many rejected proposals");
}

template <class Io>
Task<Status> writeNoiseFrame(Io& io, ByteView message) {
  Bytes out{static_cast<std::uint8_t>(message.size() >> 8), static_cast<std::uint8_t>(message.size())};
  append(out, message);
  co_return co_await io.writeAll(out);
}

template <class Io>
Task<Result<Bytes>> readNoiseFrame(Io& io) {
  std::uint8_t len[2];
  auto st = co_await io.readExactly(len);
  if (!st) co_return std::unexpected(st.error());
  Bytes msg((std::size_t{len[0]} << 8) | len[1]);
  st = co_await io.readExactly(msg);
  if (!st) co_return std::unexpected(st.error());
  co_return msg;
}

}  // namespace

// ---- host state -------------------------------------------------------------------------------

class HostImpl : public std::enable_shared_from_this<HostImpl> {
 public:
  HostImpl(asio::io_context& io, crypto::Ed25519KeyPair identity, crypto::Rng& rng, HostOptions options)
      : io_(io), identity_(std::move(identity)), rng_(rng), options_(options),
        peer_id_(PeerId::fromEd25519(identity_.publicKey())), acceptor_(io) {}

  asio::io_context& io_;
  crypto::Ed25519KeyPair identity_;
  crypto::Rng& rng_;
  HostOptions options_;
  PeerId peer_id_;
  tcp::acceptor acceptor_;
  std::map<std::string, StreamHandler, std::less<>> handlers_;
  std::function<void(Connection)> observer_;                  // inbound only
  std::vector<std::function<void(Connection)>> any_observers_;  // both directions
  void notifyConnected(const std::shared_ptr<ConnectionImpl>& conn) {
    auto observers = any_observers_;  // an observer may add another
    for (auto& o : observers) o(Connection(conn));
    trim();
  }
  struct Backoff {
    int failures = 0;
    std::chrono::steady_clock::time_point until;
  };
  std::map<PeerId, Backoff> backoff_;
  std::size_t inbound_streams_ = 0;
  HostStats stats_;
  void trim();
  std::size_t connectionsTo(const PeerId& peer);
  std::vector<std::weak_ptr<ConnectionImpl>> connections_;
  std::vector<codec::Multiaddr> listen_addrs_;  // without /p2p/
  IdentifyOptions identify_;
  std::map<PeerId, PeerInfo> peers_;  // what identify told us (bounded by kMaxPeerBook)
  bool closed_ = false;

  static constexpr std::size_t kMaxPeerBook = 4096;

  std::size_t liveConnections();
};

// ---- connection -------------------------------------------------------------------------------

class ConnectionImpl : public std::enable_shared_from_this<ConnectionImpl> {
 public:
  ConnectionImpl(const asio::any_io_executor& ex, bool initiator, std::weak_ptr<HostImpl> host)
      : sock_(ex), yamux_(initiator ? YamuxSession::Role::kDialer : YamuxSession::Role::kListener),
        initiator_(initiator), host_(std::move(host)), changed_(ex), outgoing_(ex), deadline_(ex) {}

  SocketIo sock_;
  std::optional<SecureIo> secure_;
  YamuxSession yamux_;
  std::optional<PeerId> remote_;
  bool initiator_;
  std::weak_ptr<HostImpl> host_;
  Signal changed_;   // stream data / windows / flags / connection state changed
  Signal outgoing_;  // the yamux session has bytes to send, or closing
  asio::steady_timer deadline_;
  bool timed_out_ = false;
  bool closing_ = false;
  bool closed_ = false;
  std::optional<Error> error_;
  std::chrono::steady_clock::time_point opened_ = std::chrono::steady_clock::now();

  void flush() { outgoing_.notify(); }

  void shutdown(Error why) {
    if (closed_) return;
    closed_ = true;
    error_ = std::move(why);
    sock_.close();
    changed_.notify();
    outgoing_.notify();
  }

  Error deadError() const {
    return Error{Errc::kIo, "connection closed" + (error_ ? ": " + error_->message : std::string())};
  }

  void start() {
    auto ex = sock_.socket().get_executor();
    spawn(ex, readLoop(shared_from_this()));
    spawn(ex, writeLoop(shared_from_this()));
  }

  static Task<void> readLoop(std::shared_ptr<ConnectionImpl> self) {
    while (!self->closed_) {
      auto data = co_await self->secure_->readSome();
      if (!data) {
        self->shutdown(data.error());
        break;
      }
      auto st = self->yamux_.receive(*data);
      self->flush();
      self->changed_.notify();
      while (auto id = self->yamux_.acceptStream()) {
        spawn(self->sock_.socket().get_executor(), serveInbound(self, *id));
      }
      if (!st) {
        // GoAway(protocol error) is queued; the writer sends it and then closes.
        self->error_ = st.error();
        self->closing_ = true;
        self->flush();
        break;
      }
    }
  }

  static Task<void> writeLoop(std::shared_ptr<ConnectionImpl> self) {
    while (true) {
      if (self->yamux_.hasOutgoing() && !self->closed_) {
        Bytes out = self->yamux_.takeOutgoing();
        auto st = co_await self->secure_->writeAll(out);
        if (!st) {
          self->shutdown(st.error());
          break;
        }
        continue;
      }
      if (self->closed_) break;
      if (self->closing_) {
        self->shutdown(self->error_.value_or(Error{Errc::kIo, "closed locally"}));
        break;
      }
      co_await self->outgoing_.wait();
    }
  }

  static Task<void> serveInbound(std::shared_ptr<ConnectionImpl> self, std::uint32_t id) {
    Stream stream(self, id, "");
    auto host = self->host_.lock();
    if (!host) co_return;
    if (host->inbound_streams_ >= host->options_.max_inbound_streams) {
      ++host->stats_.refused_streams;
      co_return;  // reset when `stream` goes out of scope
    }
    // Counted until this coroutine ends (the handler included).
    struct Count {
      std::weak_ptr<HostImpl> host;
      explicit Count(const std::shared_ptr<HostImpl>& h) : host(h) { ++h->inbound_streams_; }
      ~Count() {
        if (auto h = host.lock()) --h->inbound_streams_;
      }
    } count(host);
    auto proto = co_await acceptProtocol(stream, [&host](const std::string& p) {
      return host->handlers_.contains(p);
    });
    if (!proto) co_return;  // the stream is reset when it goes out of scope
    auto it = host->handlers_.find(*proto);
    if (it == host->handlers_.end()) co_return;
    StreamHandler handler = it->second;  // the copy lives in this frame while the handler runs
    host.reset();
    stream.protocol_ = std::move(*proto);
    co_await handler(std::move(stream));
  }
};

// ---- Stream -----------------------------------------------------------------------------------

Stream::Stream(std::shared_ptr<ConnectionImpl> conn, std::uint32_t id, std::string protocol)
    : conn_(std::move(conn)), id_(id), protocol_(std::move(protocol)) {}

Stream::~Stream() {
  if (conn_) {
    conn_->yamux_.release(id_);
    conn_->flush();
  }
}

Stream::Stream(Stream&& other) noexcept
    : conn_(std::move(other.conn_)), id_(other.id_), protocol_(std::move(other.protocol_)),
      pending_(std::move(other.pending_)) {}

Stream& Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    if (conn_) {
      conn_->yamux_.release(id_);
      conn_->flush();
    }
    conn_ = std::move(other.conn_);
    id_ = other.id_;
    protocol_ = std::move(other.protocol_);
    pending_ = std::move(other.pending_);
  }
  return *this;
}

void Stream::unread(ByteView data) { pending_.insert(pending_.begin(), data.begin(), data.end()); }

Task<Result<std::size_t>> Stream::readSome(std::span<std::uint8_t> out) {
  if (!conn_) co_return fail(Errc::kInvalidArgument, "stream: moved-from");
  if (out.empty()) co_return std::size_t{0};
  if (!pending_.empty()) {
    std::size_t n = std::min(out.size(), pending_.size());
    std::copy_n(pending_.begin(), n, out.begin());
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
    co_return n;
  }
  std::shared_ptr<ConnectionImpl> c = conn_;
  while (true) {
    if (c->yamux_.readable(id_) > 0) {
      std::size_t n = c->yamux_.read(id_, out);
      c->flush();
      co_return n;
    }
    if (c->yamux_.remoteClosed(id_)) co_return std::size_t{0};
    if (c->closed_) co_return std::unexpected(c->deadError());
    if (c->yamux_.isReset(id_)) co_return fail(Errc::kIo, "stream " + std::to_string(id_) + " was reset");
    co_await c->changed_.wait();
  }
}

Task<Status> Stream::readExactly(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    auto n = co_await readSome(out.subspan(done));
    if (!n) co_return std::unexpected(n.error());
    if (*n == 0) co_return fail(Errc::kTruncated, "stream: EOF after " + std::to_string(done) + " of " +
                                                      std::to_string(out.size()) + " bytes");
    done += *n;
  }
  co_return Status{};
}

Task<Status> Stream::writeAll(ByteView data) {
  if (!conn_) co_return fail(Errc::kInvalidArgument, "stream: moved-from");
  std::shared_ptr<ConnectionImpl> c = conn_;
  while (!data.empty()) {
    if (c->closed_) co_return std::unexpected(c->deadError());
    auto n = c->yamux_.write(id_, data);
    if (!n) co_return std::unexpected(n.error());
    data = data.subspan(*n);
    c->flush();
    if (*n == 0) co_await c->changed_.wait();  // wait for a window update
  }
  co_return Status{};
}

Status Stream::closeWrite() {
  if (!conn_) return fail(Errc::kInvalidArgument, "stream: moved-from");
  AE_TRY(conn_->yamux_.closeWrite(id_));
  conn_->flush();
  return {};
}

void Stream::reset() {
  if (!conn_) return;
  conn_->yamux_.reset(id_);
  conn_->flush();
}

Connection Stream::connection() const { return Connection(conn_); }

Task<Result<Bytes>> Stream::readToEnd(std::size_t max) {
  Bytes out;
  std::array<std::uint8_t, 4096> buf;
  while (true) {
    auto n = co_await readSome(buf);
    if (!n) co_return std::unexpected(n.error());
    if (*n == 0) co_return out;
    if (out.size() + *n > max) {
      reset();
      co_return fail(Errc::kLimitExceeded, "stream: more than " + std::to_string(max) + " bytes before EOF");
    }
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
  }
}

// ---- Connection -------------------------------------------------------------------------------

std::optional<codec::Multiaddr> Connection::remoteAddr() const {
  error_code ec;
  auto ep = impl_->sock_.socket().remote_endpoint(ec);
  if (ec) return std::nullopt;
  const std::string ip = ep.address().is_v4() ? "/ip4/" : "/ip6/";
  auto a = codec::Multiaddr::parse(ip + ep.address().to_string() + "/tcp/" + std::to_string(ep.port()));
  if (!a) return std::nullopt;
  return *a;
}

const PeerId& Connection::remotePeer() const { return *impl_->remote_; }
bool Connection::isInitiator() const { return impl_->initiator_; }
bool Connection::isOpen() const { return !impl_->closed_ && !impl_->closing_; }

Task<Result<Stream>> Connection::openStream(std::string_view protocol) {
  if (impl_->closed_ || impl_->closing_) co_return std::unexpected(impl_->deadError());
  if (protocol.empty() || protocol.size() >= kMaxMultistreamMessage || protocol.find('\n') != std::string_view::npos) {
    co_return fail(Errc::kInvalidArgument, "open stream: bad protocol id");
  }
  auto id = impl_->yamux_.openStream();
  if (!id) co_return std::unexpected(id.error());
  impl_->flush();
  Stream stream(impl_, *id, std::string(protocol));
  auto st = co_await selectProtocol(stream, protocol);
  if (!st) co_return withContext(st.error(), "open stream " + std::string(protocol));
  co_return stream;
}

Task<Result<Stream>> Connection::openStream(std::span<const std::string> protocols) {
  if (protocols.empty()) co_return fail(Errc::kInvalidArgument, "open stream: no protocol given");
  if (impl_->closed_ || impl_->closing_) co_return std::unexpected(impl_->deadError());
  for (const auto& p : protocols) {
    if (p.empty() || p.size() >= kMaxMultistreamMessage || p.find('\n') != std::string::npos) {
      co_return fail(Errc::kInvalidArgument, "open stream: bad protocol id");
    }
  }
  auto id = impl_->yamux_.openStream();
  if (!id) co_return std::unexpected(id.error());
  impl_->flush();
  Stream stream(impl_, *id, protocols[0]);
  // Header and first proposal pipelined; on `na` the next proposal goes on the same stream.
  Bytes out;
  appendMultistreamMessage(out, kMultistreamProtocol);
  appendMultistreamMessage(out, protocols[0]);
  auto st = co_await stream.writeAll(out);
  if (!st) co_return withContext(st.error(), "open stream");
  auto header = co_await readMultistream(stream);
  if (!header) co_return withContext(header.error(), "open stream");
  if (*header != kMultistreamProtocol) co_return fail(Errc::kUnsupported, "multistream: remote speaks '" + *header + "'");
  for (std::size_t i = 0; i < protocols.size(); ++i) {
    if (i > 0) {
      out.clear();
      appendMultistreamMessage(out, protocols[i]);
      st = co_await stream.writeAll(out);
      if (!st) co_return withContext(st.error(), "open stream");
    }
    auto reply = co_await readMultistream(stream);
    if (!reply) co_return withContext(reply.error(), "open stream");
    if (*reply == protocols[i]) {
      stream.protocol_ = protocols[i];
      co_return stream;
    }
    if (*reply != kMultistreamNa) {
      co_return fail(Errc::kMalformed, "multistream: unexpected reply '" + *reply + "' to " + protocols[i]);
    }
  }
  std::string all;
  for (const auto& p : protocols) all += (all.empty() ? "" : ", ") + p;
  co_return fail(Errc::kUnsupported, "multistream: remote supports none of " + all);
}

void Connection::close() {
  if (impl_->closed_ || impl_->closing_) return;
  impl_->yamux_.goAway(YamuxGoAway::kNormal);
  impl_->closing_ = true;
  impl_->flush();
}

// ---- upgrade ----------------------------------------------------------------------------------

namespace {

Task<void> watchdog(std::shared_ptr<ConnectionImpl> conn, std::chrono::milliseconds timeout) {
  conn->deadline_.expires_after(timeout);
  error_code ec;
  co_await conn->deadline_.async_wait(awaitableWith(ec));
  if (!ec) {
    conn->timed_out_ = true;
    conn->sock_.close();
  }
}

// multistream(/noise) -> Noise XX -> multistream(/yamux/1.0.0) -> start the Yamux loops.
Task<Status> upgrade(std::shared_ptr<HostImpl> host, std::shared_ptr<ConnectionImpl> conn,
                     std::optional<PeerId> expected) {
  bool initiator = conn->initiator_;
  auto same = [](std::string_view want) {
    return [want](const std::string& p) { return p == want; };
  };
  if (initiator) {
    auto st = co_await selectProtocol(conn->sock_, kNoiseProtocol);
    if (!st) co_return withContext(st.error(), "security negotiation");
  } else {
    auto p = co_await acceptProtocol(conn->sock_, same(kNoiseProtocol));
    if (!p) co_return withContext(p.error(), "security negotiation");
  }

  auto hs = NoiseHandshake::create(
      initiator ? NoiseHandshake::Role::kInitiator : NoiseHandshake::Role::kResponder,
      host->identity_, host->rng_, std::move(expected));
  if (!hs) co_return std::unexpected(hs.error());
  for (int step = 0; step < 3; ++step) {
    bool ours = (step % 2 == 0) == initiator;
    if (ours) {
      auto msg = hs->writeMessage();
      if (!msg) co_return std::unexpected(msg.error());
      auto st = co_await writeNoiseFrame(conn->sock_, *msg);
      if (!st) co_return withContext(st.error(), "noise handshake");
    } else {
      auto msg = co_await readNoiseFrame(conn->sock_);
      if (!msg) co_return withContext(msg.error(), "noise handshake");
      auto st = hs->readMessage(*msg);
      if (!st) co_return std::unexpected(st.error());
    }
  }
  auto transport = hs->finish();
  if (!transport) co_return std::unexpected(transport.error());
  conn->remote_ = transport->remote;
  conn->secure_.emplace(conn->sock_, std::move(transport->send), std::move(transport->recv));

  if (initiator) {
    auto st = co_await selectProtocol(*conn->secure_, kYamuxProtocol);
    if (!st) co_return withContext(st.error(), "muxer negotiation");
  } else {
    auto p = co_await acceptProtocol(*conn->secure_, same(kYamuxProtocol));
    if (!p) co_return withContext(p.error(), "muxer negotiation");
  }
  co_return Status{};
}

Task<Status> upgradeWithDeadline(std::shared_ptr<HostImpl> host, std::shared_ptr<ConnectionImpl> conn,
                                 std::optional<PeerId> expected) {
  auto st = co_await upgrade(host, conn, std::move(expected));
  conn->deadline_.cancel();
  if (!st) {
    conn->sock_.close();
    if (conn->timed_out_) co_return fail(Errc::kIo, "connection upgrade timed out");
    co_return st;
  }
  conn->start();
  host->connections_.push_back(conn);
  co_return Status{};
}

Task<void> serveConnection(std::shared_ptr<HostImpl> host, std::shared_ptr<ConnectionImpl> conn) {
  auto st = co_await upgradeWithDeadline(host, conn, std::nullopt);
  if (!st) co_return;
  if (host->options_.max_connections_per_peer && conn->remote_ &&
      host->connectionsTo(*conn->remote_) > host->options_.max_connections_per_peer) {
    ++host->stats_.refused_per_peer;
    Connection(conn).close();
    co_return;
  }
  if (host->observer_) host->observer_(Connection(conn));
  host->notifyConnected(conn);
}

Task<void> acceptLoop(std::shared_ptr<HostImpl> host) {
  while (!host->closed_) {
    auto conn = std::make_shared<ConnectionImpl>(host->io_.get_executor(), false, host);
    error_code ec;
    co_await host->acceptor_.async_accept(conn->sock_.socket(), awaitableWith(ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !host->acceptor_.is_open()) break;
      continue;
    }
    if (host->liveConnections() >= host->options_.max_connections) {
      conn->sock_.close();
      continue;
    }
    // Without TCP_NODELAY, Nagle + delayed ACKs stall each handshake round trip by ~40 ms.
    conn->sock_.socket().set_option(tcp::no_delay(true), ec);
    spawn(host->io_.get_executor(), watchdog(conn, host->options_.upgrade_timeout));
    spawn(host->io_.get_executor(), serveConnection(host, conn));
  }
}

Task<void> servePing(Stream stream) {
  std::array<std::uint8_t, kPingSize> buf;
  while (true) {
    auto st = co_await stream.readExactly(buf);
    if (!st) break;
    st = co_await stream.writeAll(buf);
    if (!st) co_return;
  }
  (void)stream.closeWrite();
}

}  // namespace

std::size_t HostImpl::connectionsTo(const PeerId& peer) {
  std::size_t n = 0;
  for (const auto& w : connections_) {
    auto c = w.lock();
    if (c && !c->closed_ && !c->closing_ && c->remote_ && *c->remote_ == peer) ++n;
  }
  return n;
}

void HostImpl::trim() {
  if (options_.high_water == 0 || liveConnections() <= options_.high_water) return;
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<ConnectionImpl>> candidates;
  for (const auto& w : connections_) {
    auto c = w.lock();
    if (c && !c->closed_ && !c->closing_ && now - c->opened_ >= options_.grace) candidates.push_back(std::move(c));
  }
  std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    if (a->yamux_.streamCount() != b->yamux_.streamCount()) return a->yamux_.streamCount() < b->yamux_.streamCount();
    return a->opened_ < b->opened_;
  });
  std::size_t live = liveConnections();
  for (const auto& c : candidates) {
    if (live <= options_.low_water) break;
    Connection(c).close();
    ++stats_.trimmed;
    --live;
  }
}

std::size_t HostImpl::liveConnections() {
  std::erase_if(connections_, [](const std::weak_ptr<ConnectionImpl>& w) {
    auto c = w.lock();
    return !c || c->closed_;
  });
  return connections_.size();
}

// ---- Host -------------------------------------------------------------------------------------

Result<Host> Host::create(asio::io_context& io, const crypto::Ed25519KeyPair& identity,
                          crypto::Rng& rng, HostOptions options) {
  AE_ASSIGN_OR_RETURN(auto seed, identity.seed());
  AE_ASSIGN_OR_RETURN(auto copy, crypto::Ed25519KeyPair::fromSeed(seed.view()));
  return Host(std::make_shared<HostImpl>(io, std::move(copy), rng, options));
}

Host::~Host() {
  if (impl_) close();
}
Host::Host(Host&&) noexcept = default;
Host& Host::operator=(Host&& other) noexcept {
  if (this != &other) {
    if (impl_) close();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

const PeerId& Host::peerId() const { return impl_->peer_id_; }

Result<codec::Multiaddr> Host::listen(std::string_view ip4, std::uint16_t port) {
  error_code ec;
  auto address = asio::ip::make_address_v4(std::string(ip4), ec);
  if (ec) return fail(Errc::kInvalidArgument, "listen: bad IPv4 address " + std::string(ip4));
  tcp::endpoint endpoint(address, port);
  auto& acceptor = impl_->acceptor_;
  if (acceptor.is_open()) return fail(Errc::kAlreadyExists, "listen: already listening");
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor.close();
    return fail(Errc::kIo, "listen on " + std::string(ip4) + ":" + std::to_string(port) + ": " + ec.message());
  }
  auto local = acceptor.local_endpoint(ec);
  if (ec) return fail(Errc::kIo, "listen: " + ec.message());
  spawn(impl_->io_.get_executor(), acceptLoop(impl_));
  auto bare = codec::Multiaddr::parse("/ip4/" + local.address().to_string() + "/tcp/" + std::to_string(local.port()));
  if (bare) impl_->listen_addrs_.push_back(*bare);
  return codec::Multiaddr::parse("/ip4/" + local.address().to_string() + "/tcp/" +
                                 std::to_string(local.port()) + "/p2p/" + impl_->peer_id_.toString());
}

Task<Result<Connection>> Host::dial(const codec::Multiaddr& addr) {
  auto id = addr.peerId();
  if (!id) co_return fail(Errc::kInvalidArgument, "dial: address has no /p2p/ peer id: " + addr.toString());
  auto peer = PeerId::fromMultihash(*id);
  if (!peer) co_return withContext(peer.error(), "dial");
  co_return co_await dial(addr, *peer);
}

Task<Result<Connection>> Host::dial(const codec::Multiaddr& addr, const PeerId& expected) {
  std::shared_ptr<HostImpl> host = impl_;
  if (host->closed_) co_return fail(Errc::kIo, "dial: host is closed");
  const auto& parts = addr.components();
  if (auto id = addr.peerId(); id && *id != expected.multihash()) {
    co_return fail(Errc::kInvalidArgument, "dial: address names another peer than expected " + expected.toString());
  }
  if (parts.size() < 2 || parts[1].code != codec::mc::kTcp ||
      (parts[0].code != codec::mc::kIp4 && parts[0].code != codec::mc::kIp6) ||
      (parts.size() > 2 && parts[2].code != codec::mc::kP2p) || parts.size() > 3) {
    co_return fail(Errc::kUnsupported, "dial: only /ip4|ip6/../tcp/..[/p2p/..] addresses: " + addr.toString());
  }
  asio::ip::address ip;
  if (parts[0].code == codec::mc::kIp4) {
    asio::ip::address_v4::bytes_type b;
    std::copy_n(parts[0].value.begin(), 4, b.begin());
    ip = asio::ip::address_v4(b);
  } else {
    asio::ip::address_v6::bytes_type b;
    std::copy_n(parts[0].value.begin(), 16, b.begin());
    ip = asio::ip::address_v6(b);
  }
  std::uint16_t port = static_cast<std::uint16_t>((parts[1].value[0] << 8) | parts[1].value[1]);

  auto conn = std::make_shared<ConnectionImpl>(host->io_.get_executor(), true, host);
  spawn(host->io_.get_executor(), watchdog(conn, host->options_.upgrade_timeout));
  error_code ec;
  co_await conn->sock_.socket().async_connect(tcp::endpoint(ip, port), awaitableWith(ec));
  if (ec) {
    conn->deadline_.cancel();
    co_return fail(Errc::kIo, "dial " + addr.toString() + ": " + (conn->timed_out_ ? "timed out" : ec.message()));
  }
  conn->sock_.socket().set_option(tcp::no_delay(true), ec);
  auto st = co_await upgradeWithDeadline(host, conn, expected);
  if (!st) co_return withContext(st.error(), "dial " + addr.toString());
  host->notifyConnected(conn);
  co_return Connection(conn);
}

std::optional<Connection> Host::existingConnection(const PeerId& peer) const {
  for (const auto& w : impl_->connections_) {
    auto c = w.lock();
    if (c && !c->closed_ && !c->closing_ && c->remote_ && *c->remote_ == peer) return Connection(c);
  }
  return std::nullopt;
}

Task<Result<Connection>> Host::connect(const PeerId& peer, std::vector<codec::Multiaddr> addrs) {
  if (auto c = existingConnection(peer)) co_return *c;
  if (addrs.empty()) co_return fail(Errc::kNotFound, "connect: no address known for " + peer.toString());
  std::shared_ptr<HostImpl> host = impl_;
  const auto now = std::chrono::steady_clock::now();
  if (auto b = host->backoff_.find(peer); b != host->backoff_.end() && b->second.until > now) {
    ++host->stats_.backoff_refusals;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(b->second.until - now).count();
    co_return fail(Errc::kIo, "connect: " + peer.toString() + " is in dial backoff for another " +
                                  std::to_string(left) + " ms after " + std::to_string(b->second.failures) +
                                  " failed dial(s)");
  }
  auto result = co_await connectAny(peer, std::move(addrs));
  if (result) {
    host->backoff_.erase(peer);
  } else {
    if (host->backoff_.size() >= HostImpl::kMaxPeerBook) host->backoff_.clear();
    auto& b = host->backoff_[peer];
    b.failures = std::min(b.failures + 1, 30);
    auto wait = host->options_.dial_backoff_base * (std::int64_t{1} << std::min(b.failures - 1, 20));
    b.until = std::chrono::steady_clock::now() + std::min(wait, host->options_.dial_backoff_max);
  }
  co_return result;
}

Task<Result<Connection>> Host::connectAny(const PeerId& peer, std::vector<codec::Multiaddr> addrs) {
  Error last{Errc::kIo, "connect: no address worked"};
  for (const auto& a : addrs) {
    auto conn = co_await dial(a, peer);
    if (conn) co_return *conn;
    last = conn.error();
  }
  co_return std::unexpected(last);
}

void Host::setStreamHandler(std::string protocol, StreamHandler handler) {
  impl_->handlers_[std::move(protocol)] = std::move(handler);
}

void Host::enablePing() { setStreamHandler(std::string(kPingProtocol), servePing); }

// ---- identify ---------------------------------------------------------------------------------

namespace {

IdentifyMessage localIdentify(const HostImpl& host, const std::optional<codec::Multiaddr>& observed) {
  IdentifyMessage m;
  m.protocol_version = host.identify_.protocol_version;
  m.agent_version = host.identify_.agent_version;
  m.public_key = encodeEd25519PublicKeyProto(host.identity_.publicKey());
  for (const auto& a : host.listen_addrs_) m.listen_addrs.push_back(a.bytes());
  for (const auto& [p, h] : host.handlers_) m.protocols.push_back(p);
  if (observed) m.observed_addr = observed->bytes();
  return m;
}

Bytes delimited(const Bytes& body) {
  Bytes out = varintEncode(body.size());
  append(out, body);
  return out;
}

// Checks a received identify against the peer the connection authenticated and records it.
Result<PeerInfo> admitIdentify(HostImpl& host, const PeerId& remote, const IdentifyMessage& m) {
  if (m.public_key) {
    auto key = decodeEd25519PublicKeyProto(*m.public_key);
    if (!key) return withContext(key.error(), "identify: publicKey");
    if (PeerId::fromEd25519(*key) != remote) {
      return fail(Errc::kAuthFailed, "identify: the public key sent is not the one " + remote.toString() +
                                         " proved in the handshake");
    }
  }
  PeerInfo info{.peer = remote,
                .protocol_version = m.protocol_version.value_or(""),
                .agent_version = m.agent_version.value_or(""),
                .listen_addrs = {},
                .observed_addr = std::nullopt,
                .protocols = m.protocols};
  for (const Bytes& a : m.listen_addrs) {
    if (auto ma = codec::Multiaddr::fromBytes(a)) info.listen_addrs.push_back(std::move(*ma));
  }
  if (m.observed_addr) {
    if (auto ma = codec::Multiaddr::fromBytes(*m.observed_addr)) info.observed_addr = std::move(*ma);
  }
  if (host.peers_.size() >= HostImpl::kMaxPeerBook && !host.peers_.contains(remote)) {
    host.peers_.erase(host.peers_.begin());  // TODO(net): evict by last-seen once the peer store lands
  }
  host.peers_.insert_or_assign(remote, info);
  return info;
}

}  // namespace

namespace {

// Coroutines take their state by value: a handler's frame must not point into the std::function.
Task<void> serveIdentify(std::weak_ptr<HostImpl> weak, Stream stream) {
  auto host = weak.lock();
  if (!host) co_return;
  const IdentifyMessage m = localIdentify(*host, stream.connection().remoteAddr());
  host.reset();
  const Bytes out = delimited(encodeIdentify(m));
  if (auto st = co_await stream.writeAll(out); !st) co_return;
  (void)stream.closeWrite();
  // Drain until the remote closes, so our FIN is not raced by a reset.
  (void)co_await stream.readToEnd(1024);
}

Task<void> serveIdentifyPush(std::weak_ptr<HostImpl> weak, Stream stream) {
  auto data = co_await stream.readToEnd(kMaxIdentifyTotal);
  auto host = weak.lock();
  if (!host || !data) co_return;
  auto m = decodeIdentifyStream(*data);
  if (!m) {
    stream.reset();
    co_return;
  }
  (void)admitIdentify(*host, stream.connection().remotePeer(), *m);
  (void)stream.closeWrite();
}

}  // namespace

void Host::enableIdentify(IdentifyOptions options) {
  impl_->identify_ = std::move(options);
  std::weak_ptr<HostImpl> weak = impl_;
  setStreamHandler(std::string(kIdentifyProtocol),
                   [weak](Stream stream) { return serveIdentify(weak, std::move(stream)); });
  setStreamHandler(std::string(kIdentifyPushProtocol),
                   [weak](Stream stream) { return serveIdentifyPush(weak, std::move(stream)); });
}

// ---- perf -------------------------------------------------------------------------------------

namespace {

constexpr std::size_t kPerfChunk = 64 * 1024;

Task<void> servePerf(std::uint64_t max_download, Stream stream) {
  std::array<std::uint8_t, 8> header;
  if (auto st = co_await stream.readExactly(header); !st) {
    stream.reset();
    co_return;
  }
  std::uint64_t want = 0;
  for (std::uint8_t b : header) want = (want << 8) | b;
  if (want > max_download) {
    stream.reset();
    co_return;
  }
  std::vector<std::uint8_t> buf(kPerfChunk);
  while (true) {
    auto n = co_await stream.readSome(buf);
    if (!n) co_return;
    if (*n == 0) break;
  }
  std::fill(buf.begin(), buf.end(), 0);
  while (want > 0) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(want, buf.size()));
    if (auto st = co_await stream.writeAll(ByteView(buf.data(), n)); !st) co_return;
    want -= n;
  }
  (void)stream.closeWrite();
}

}  // namespace

void Host::enablePerf(std::uint64_t max_download) {
  setStreamHandler(std::string(kPerfProtocol),
                   [max_download](Stream stream) { return servePerf(max_download, std::move(stream)); });
}

Task<Result<PerfResult>> perf(Connection& conn, std::uint64_t upload, std::uint64_t download) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto stream = co_await conn.openStream(kPerfProtocol);
  if (!stream) co_return withContext(stream.error(), "perf");
  std::vector<std::uint8_t> buf(kPerfChunk, 0);
  std::array<std::uint8_t, 8> header;
  for (int i = 0; i < 8; ++i) header[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(download >> (56 - 8 * i));
  if (auto st = co_await stream->writeAll(header); !st) co_return withContext(st.error(), "perf: request");
  PerfResult r;
  std::uint64_t left = upload;
  while (left > 0) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
    if (auto st = co_await stream->writeAll(ByteView(buf.data(), n)); !st) co_return withContext(st.error(), "perf: upload");
    left -= n;
    r.uploaded += n;
  }
  if (auto st = stream->closeWrite(); !st) co_return withContext(st.error(), "perf: close");
  const auto uploaded_at = Clock::now();
  while (true) {
    auto n = co_await stream->readSome(buf);
    if (!n) co_return withContext(n.error(), "perf: download");
    if (*n == 0) break;
    r.downloaded += *n;
    if (r.downloaded > download) {
      stream->reset();
      co_return fail(Errc::kMalformed, "perf: the server sent more than the " + std::to_string(download) + " bytes asked for");
    }
  }
  if (r.downloaded < download) {
    co_return fail(Errc::kTruncated, "perf: the server sent " + std::to_string(r.downloaded) + " of " +
                                         std::to_string(download) + " bytes");
  }
  const auto end = Clock::now();
  r.upload_time = uploaded_at - start;
  r.download_time = end - uploaded_at;
  r.total = end - start;
  co_return r;
}

std::vector<codec::Multiaddr> Host::listenAddrs() const { return impl_->listen_addrs_; }

std::vector<std::string> Host::protocols() const {
  std::vector<std::string> out;
  for (const auto& [p, h] : impl_->handlers_) out.push_back(p);
  return out;
}

std::optional<PeerInfo> Host::peerInfo(const PeerId& peer) const {
  auto it = impl_->peers_.find(peer);
  if (it == impl_->peers_.end()) return std::nullopt;
  return it->second;
}

Task<Result<PeerInfo>> identify(Host& host, Connection& conn) {
  auto stream = co_await conn.openStream(kIdentifyProtocol);
  if (!stream) co_return withContext(stream.error(), "identify");
  (void)stream->closeWrite();
  auto data = co_await stream->readToEnd(kMaxIdentifyTotal);
  if (!data) co_return withContext(data.error(), "identify");
  auto m = decodeIdentifyStream(*data);
  if (!m) co_return std::unexpected(m.error());
  co_return admitIdentify(*host.impl_, conn.remotePeer(), *m);
}

Task<Status> identifyPush(Host& host, Connection& conn) {
  auto stream = co_await conn.openStream(kIdentifyPushProtocol);
  if (!stream) co_return withContext(stream.error(), "identify push");
  const Bytes out = delimited(encodeIdentify(localIdentify(*host.impl_, conn.remoteAddr())));
  auto st = co_await stream->writeAll(out);
  if (!st) co_return std::unexpected(st.error());
  if (auto closed = stream->closeWrite(); !closed) co_return std::unexpected(closed.error());
  (void)co_await stream->readToEnd(1024);
  co_return Status{};
}

boost::asio::io_context& Host::ioContext() const { return impl_->io_; }

HostStats Host::stats() const {
  HostStats s = impl_->stats_;
  s.connections = impl_->liveConnections();
  s.inbound_streams = impl_->inbound_streams_;
  return s;
}

std::vector<Connection> Host::connections() const {
  std::vector<Connection> out;
  impl_->liveConnections();
  for (const auto& w : impl_->connections_) {
    auto c = w.lock();
    if (c && !c->closed_ && !c->closing_) out.emplace_back(c);
  }
  return out;
}

void Host::setConnectionObserver(std::function<void(Connection)> observer) {
  impl_->observer_ = std::move(observer);
}

void Host::addConnectionObserver(std::function<void(Connection)> observer) {
  impl_->any_observers_.push_back(std::move(observer));
}

void Host::close() {
  impl_->closed_ = true;
  error_code ec;
  impl_->acceptor_.close(ec);
  for (auto& w : impl_->connections_) {
    if (auto c = w.lock()) Connection(c).close();
  }
}

// ---- ping -------------------------------------------------------------------------------------

Task<Result<std::vector<std::chrono::nanoseconds>>> ping(Connection& conn, crypto::Rng& rng, int count) {
  auto stream = co_await conn.openStream(kPingProtocol);
  if (!stream) co_return std::unexpected(stream.error());
  std::vector<std::chrono::nanoseconds> rtts;
  std::array<std::uint8_t, kPingSize> sent, echo;
  for (int i = 0; i < count; ++i) {
    rng.fill(sent);
    auto start = std::chrono::steady_clock::now();
    auto st = co_await stream->writeAll(sent);
    if (!st) co_return withContext(st.error(), "ping");
    st = co_await stream->readExactly(echo);
    if (!st) co_return withContext(st.error(), "ping");
    auto rtt = std::chrono::steady_clock::now() - start;
    if (echo != sent) co_return fail(Errc::kIntegrity, "ping: echo differs from the payload sent");
    rtts.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(rtt));
  }
  (void)stream->closeWrite();
  co_return rtts;
}

}  // namespace aether::net
