// aether_log_tool: drives src/log for tests/interop/log.mjs.
//
//   make <dir> <n> <seed-hex>   appends n entries (batches of 1..100, a payload of 1500..3000
//                               bytes every 97th entry, the rest 0..200 bytes inline) to stream
//                               "interop" of the author with Ed25519 seed <seed-hex>, in a vault
//                               at <dir>/vault, exports <dir>/stream.car;
//                               -> "<did> <size> <root-hex>"
//   prove <dir> <seed-hex>      reads lines "incl <index> <size>" / "cons <first> <second>" and
//                               answers each with the proof path as comma-separated hex ("-" if
//                               empty), or "error <errc>"
//   verify <file.car>           verifyExport -> "ok <size>" or "error <errc> <message>" (exit 0)
// The vault key is fixed (these are test vaults). Errors: "error: <errc>: <message>", exit 1.
#include <charconv>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>

#include "log/log.h"

using namespace aether;

namespace {

int die(const Error& e) {
  std::cerr << "error: " << e.toString() << "\n";
  return 1;
}

std::uint64_t num(const std::string& s) {
  std::uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

Result<crypto::Ed25519KeyPair> keyOf(const std::string& seed_hex) {
  AE_ASSIGN_OR_RETURN(Bytes seed, hexDecode(seed_hex));
  return crypto::Ed25519KeyPair::fromSeed(seed);
}

Result<std::unique_ptr<store::Vault>> vaultAt(const std::string& dir) {
  const Bytes key(32, 0x17);
  return store::Vault::open(std::string(dir) + "/vault", key);
}

std::string pathText(const std::vector<log::Hash>& path) {
  if (path.empty()) return "-";
  std::string out;
  for (std::size_t i = 0; i < path.size(); ++i) out += (i ? "," : "") + hexEncode(path[i]);
  return out;
}

int make(const std::string& dir, std::uint64_t n, const std::string& seed_hex) {
  auto key = keyOf(seed_hex);
  if (!key) return die(key.error());
  auto vault = vaultAt(dir);
  if (!vault) return die(vault.error());
  auto s = log::Stream::open(**vault, *key, "interop", log::systemClock());
  if (!s) return die(s.error());
  std::mt19937_64 rng(0x5eed + n);  // payloads vary with n, deterministically
  std::uint64_t seq = (*s)->size();
  while (seq < n) {
    const std::uint64_t batch = std::min<std::uint64_t>(1 + rng() % 100, n - seq);
    std::vector<Bytes> payloads;
    for (std::uint64_t i = 0; i < batch; ++i, ++seq) {
      const std::size_t len = seq % 97 == 50 ? 1500 + rng() % 1500 : rng() % 201;
      Bytes p(len);
      for (auto& b : p) b = static_cast<std::uint8_t>(rng());
      payloads.push_back(std::move(p));
    }
    if (auto r = (*s)->append(payloads); !r) return die(r.error());
  }
  std::FILE* f = std::fopen((dir + "/stream.car").c_str(), "wb");
  if (!f) return die(Error{Errc::kIo, "cannot create stream.car"});
  store::MemoryByteSink sink;
  if (auto st = (*s)->exportCar(sink); !st) return die(st.error());
  std::fwrite(sink.bytes().data(), 1, sink.bytes().size(), f);
  std::fclose(f);
  auto h = (*s)->head();
  std::cout << log::StreamId::parse(h->head.stream)->author << " " << h->head.size << " "
            << hexEncode(h->head.root) << "\n";
  return 0;
}

int prove(const std::string& dir, const std::string& seed_hex) {
  auto key = keyOf(seed_hex);
  if (!key) return die(key.error());
  auto vault = vaultAt(dir);
  if (!vault) return die(vault.error());
  auto s = log::Stream::open(**vault, *key, "interop", log::systemClock());
  if (!s) return die(s.error());
  std::string op, a, b;
  while (std::cin >> op >> a >> b) {
    Result<std::vector<log::Hash>> path = fail(Errc::kInvalidArgument, "unknown op " + op);
    if (op == "incl") {
      auto p = (*s)->proveInclusion(num(a), num(b));
      path = p ? Result<std::vector<log::Hash>>(p->path) : std::unexpected(p.error());
    } else if (op == "cons") {
      auto p = (*s)->proveConsistency(num(a), num(b));
      path = p ? Result<std::vector<log::Hash>>(p->path) : std::unexpected(p.error());
    }
    if (path) {
      std::cout << pathText(*path) << "\n";
    } else {
      std::cout << "error " << errcName(path.error().code) << "\n";
    }
  }
  return 0;
}

int verify(const std::string& file) {
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (!f) return die(Error{Errc::kIo, "cannot open " + file});
  Bytes data;
  std::uint8_t buf[65536];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) data.insert(data.end(), buf, buf + n);
  std::fclose(f);
  store::MemoryByteSource src(data);
  auto v = log::verifyExport(src);
  if (v) {
    std::cout << "ok " << v->head.head.size << "\n";
  } else {
    std::cout << "error " << errcName(v.error().code) << " " << v.error().message << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (auto st = crypto::init(); !st) return die(st.error());
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() == 4 && a[0] == "make") return make(a[1], num(a[2]), a[3]);
  if (a.size() == 3 && a[0] == "prove") return prove(a[1], a[2]);
  if (a.size() == 2 && a[0] == "verify") return verify(a[1]);
  std::cerr << "usage: aether_log_tool make|prove|verify ... (see the source)\n";
  return 2;
}
