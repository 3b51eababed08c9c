// Private to src/net: the few Asio helpers host.cc and dht.cc share. Single-threaded use only
// (see net.h): a Signal is a steady_timer used as a condition variable — notify() wakes every
// waiter, and waiters re-check their condition.
#pragma once

#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "net/net.h"

namespace aether::net {

inline auto awaitableWith(boost::system::error_code& ec) {
  return boost::asio::redirect_error(boost::asio::use_awaitable, ec);
}

// Spawns a coroutine whose exceptions (only bad_alloc can escape: Asio errors are redirected)
// are dropped with the coroutine.
template <class Awaitable>
void spawn(const boost::asio::any_io_executor& ex, Awaitable&& task) {
  boost::asio::co_spawn(ex, std::forward<Awaitable>(task), boost::asio::detached);
}

class Signal {
 public:
  explicit Signal(const boost::asio::any_io_executor& ex) : timer_(ex) {
    timer_.expires_at(boost::asio::steady_timer::time_point::max());
  }
  Task<void> wait() {
    boost::system::error_code ec;
    co_await timer_.async_wait(awaitableWith(ec));
  }
  void notify() { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
};

}  // namespace aether::net
