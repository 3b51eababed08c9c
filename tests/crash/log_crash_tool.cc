// aether_log_crash_tool: the writer and the checker of tests/crash/log_crash.sh.
//
//   append <dir> <seed-hex>          appends batches of 1..8 small entries to stream "crash"
//                                    forever, printing "ack <last-seq>" after each append
//                                    returned (durable: one synced vault commit per batch)
//   check <dir> <seed-hex> <acked> <from>   reopens; the stream must hold every seq up to
//                                    <acked> (-1: none), the signed head must verify and match the
//                                    index (Stream::open recomputes the root), and every entry from
//                                    seq <from> on must verify in full (see crashCheck); from = 0
//                                    also runs the whole export through verifyExport (no gap, no
//                                    fork, prev chain, Merkle root); -> "ok <size>", else exit 1
//   gc <dir>                         vault GC straight after a kill, before the stream is
//                                    reopened: pins alone must keep every acknowledged entry
// The vault key is fixed (a test vault). Errors: "error: <errc>: <message>", exit 1.
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

Result<crypto::Ed25519KeyPair> keyOf(const std::string& seed_hex) {
  AE_ASSIGN_OR_RETURN(Bytes seed, hexDecode(seed_hex));
  return crypto::Ed25519KeyPair::fromSeed(seed);
}

Result<std::unique_ptr<store::Vault>> vaultAt(const std::string& dir) {
  const Bytes key(32, 0x17);
  return store::Vault::open(std::string(dir) + "/vault", key);
}

int crashAppend(const std::string& dir, const std::string& seed_hex) {
  auto key = keyOf(seed_hex);
  if (!key) return die(key.error());
  auto vault = vaultAt(dir);
  if (!vault) return die(vault.error());
  auto s = log::Stream::open(**vault, *key, "crash", log::systemClock());
  if (!s) return die(s.error());
  std::mt19937_64 rng(std::random_device{}());
  for (;;) {
    const std::uint64_t first = (*s)->size();
    const std::uint64_t batch = 1 + rng() % 8;
    std::vector<Bytes> payloads;
    for (std::uint64_t i = 0; i < batch; ++i) {
      // The payload names its seq, so the checker knows what each entry must hold.
      std::string text = "entry " + std::to_string(first + i);
      if ((first + i) % 13 == 0) text.append(1500, 'x');  // a linked payload block now and then
      payloads.push_back(toBytes(text));
    }
    auto r = (*s)->append(payloads);
    if (!r) return die(r.error());
    std::printf("ack %llu\n", static_cast<unsigned long long>(r->last_seq));
    std::fflush(stdout);
  }
}

// Full check of [from, size): each entry decodes, has its seq, the stream id, the payload its
// seq names, prev = the CID of the entry before it, and an inclusion proof to the signed head's
// root; plus, always, the head signature and (in Stream::open) the index against the signed
// root. With from = 0 the whole stream is also exported and run through verifyExport.
int crashCheck(const std::string& dir, const std::string& seed_hex, long long acked, std::uint64_t from) {
  auto key = keyOf(seed_hex);
  if (!key) return die(key.error());
  auto vault = vaultAt(dir);
  if (!vault) return die(vault.error());
  auto s = log::Stream::open(**vault, *key, "crash", log::systemClock());
  if (!s) return die(s.error());
  const std::uint64_t size = (*s)->size();
  if (acked >= 0 && size < static_cast<std::uint64_t>(acked) + 1) {
    return die(Error{Errc::kIntegrity, "acknowledged seq " + std::to_string(acked) + " lost: size " + std::to_string(size)});
  }
  if (size == 0) {
    std::cout << "ok 0\n";
    return 0;
  }
  auto head = (*s)->head();
  if (!head) return die(head.error());
  if (auto st = log::verifySignedHead(*head); !st) return die(st.error());
  if (head->head.size != size) return die(Error{Errc::kIntegrity, "head size differs from the index"});
  std::optional<codec::Cid> prev;
  if (from > 0 && from <= size) {
    auto b = (*s)->entryBlock(from - 1);
    if (!b) return die(b.error());
    prev = log::blockCid(*b);
  }
  for (std::uint64_t seq = from; seq < size; ++seq) {
    auto block = (*s)->entryBlock(seq);
    if (!block) return die(block.error());
    auto e = log::decodeEntry(*block);
    if (!e) return die(e.error());
    if (e->seq != seq || e->stream != (*s)->id() || e->prev != prev) {
      return die(Error{Errc::kIntegrity, "entry " + std::to_string(seq) + ": wrong seq, stream or prev"});
    }
    auto p = (*s)->payload(*e);
    if (!p) return die(p.error());
    std::string want = "entry " + std::to_string(seq);
    if (seq % 13 == 0) want.append(1500, 'x');
    if (asChars(*p) != want) return die(Error{Errc::kIntegrity, "entry " + std::to_string(seq) + " holds the wrong payload"});
    auto proof = (*s)->proveInclusion(seq, size);
    if (!proof) return die(proof.error());
    if (auto st = log::verifyInclusion(seq, size, log::leafHash(*block), proof->path, head->head.root); !st) {
      return die(st.error());
    }
    prev = log::blockCid(*block);
  }
  if (from == 0) {
    store::MemoryByteSink sink;
    if (auto st = (*s)->exportCar(sink); !st) return die(st.error());
    store::MemoryByteSource src(sink.bytes());
    auto v = log::verifyExport(src);
    if (!v) return die(v.error());
  }
  std::cout << "ok " << size << "\n";
  return 0;
}

// Vault GC without opening the stream first (as `aether vault gc` would after a crash).
int gcOnly(const std::string& dir) {
  auto vault = vaultAt(dir);
  if (!vault) return die(vault.error());
  auto r = (*vault)->gc();
  if (!r) return die(r.error());
  std::cout << "gc " << r->blocks_removed << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (auto st = crypto::init(); !st) return die(st.error());
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() == 3 && a[0] == "append") return crashAppend(a[1], a[2]);
  if (a.size() == 2 && a[0] == "gc") return gcOnly(a[1]);
  if (a.size() == 5 && a[0] == "check") return crashCheck(a[1], a[2], std::stoll(a[3]), std::stoull(a[4]));
  std::cerr << "usage: aether_log_crash_tool append <dir> <seed-hex> | check <dir> <seed-hex> <acked> <from>\n";
  return 2;
}
