// Private to src/net's tests: deterministic keys and a coroutine sleep, shared by
// pubsub_test, connmgr_test and dht_test.
#pragma once

#include <utility>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "net/net.h"

namespace aether::net::testing {

// An Ed25519 key whose seed is 32 bytes of `fill`.
inline crypto::Ed25519KeyPair keyFromSeed(std::uint8_t fill) {
  Bytes seed(32, fill);
  return *crypto::Ed25519KeyPair::fromSeed(seed);
}

inline Task<void> sleepMs(int ms) {
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, std::chrono::milliseconds(ms));
  boost::system::error_code ec;
  co_await t.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
}

}  // namespace aether::net::testing
