// init, SecretBytes and the random sources.
#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "crypto/crypto.h"
#include "crypto/internal.h"

namespace aether::crypto {
namespace internal {

void fatal(const char* what) {
  std::fprintf(stderr, "aether crypto: fatal: %s\n", what);
  std::abort();
}

namespace {
int sodiumInitOnce() {
  // A function-local static: initialized exactly once, thread-safely, then only read.
  static const int rc = sodium_init();
  return rc;
}
}  // namespace

void ensureInit() {
  if (sodiumInitOnce() < 0) fatal("sodium_init failed");
}

}  // namespace internal

Status init() {
  if (internal::sodiumInitOnce() < 0) return fail(Errc::kCrypto, "libsodium: sodium_init failed");
  return {};
}

// ---- SecretBytes ----

SecretBytes::~SecretBytes() {
  if (data_ != nullptr) sodium_free(data_);  // sodium_free wipes before unmapping
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) sodium_free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

Result<SecretBytes> SecretBytes::allocate(std::size_t size) {
  internal::ensureInit();
  SecretBytes s;
  if (size == 0) return s;
  void* p = sodium_malloc(size);
  if (p == nullptr) return fail(Errc::kCrypto, "secret memory: sodium_malloc failed");
  sodium_memzero(p, size);
  s.data_ = static_cast<std::uint8_t*>(p);
  s.size_ = size;
  return s;
}

Result<SecretBytes> SecretBytes::copyOf(ByteView data) {
  AE_ASSIGN_OR_RETURN(SecretBytes s, allocate(data.size()));
  if (!data.empty()) std::memcpy(s.data_, data.data(), data.size());
  return s;
}

Result<SecretBytes> SecretBytes::clone() const { return copyOf(view()); }

bool SecretBytes::equals(ByteView other) const { return constantTimeEqual(view(), other); }

// ---- randomness ----

void SystemRng::fill(std::span<std::uint8_t> out) { randomFill(out); }

SeededRng::SeededRng(std::uint64_t seed) {
  for (int i = 0; i < 8; ++i) key_[i] = static_cast<std::uint8_t>(seed >> (8 * i));
}

void SeededRng::fill(std::span<std::uint8_t> out) {
  if (out.empty()) return;
  std::uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {};
  for (int i = 0; i < 8; ++i) nonce[i] = static_cast<std::uint8_t>(counter_ >> (8 * i));
  ++counter_;
  crypto_stream_chacha20_ietf(out.data(), out.size(), nonce, key_.data());
}

void randomFill(std::span<std::uint8_t> out) {
  internal::ensureInit();
  if (!out.empty()) randombytes_buf(out.data(), out.size());
}

Bytes randomBytes(std::size_t size) {
  Bytes b(size);
  randomFill(b);
  return b;
}

}  // namespace aether::crypto
