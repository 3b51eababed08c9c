// `aether log ...`: the node's signed append-only streams (src/log, docs/streams.md).
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/cli.h"
#include "log/log.h"

namespace aether::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// What an opened stream needs kept alive: the node (its key) and the vault.
struct OpenStream {
  std::unique_ptr<node::Node> node;
  std::unique_ptr<store::Vault> vault;
  std::unique_ptr<log::Stream> stream;
};

// `name` is the stream's local name, or a full id "<did>/<name>" (another author's: read-only).
Result<OpenStream> openStream(const Globals& g, const std::string& name_or_id) {
  AE_ASSIGN_OR_RETURN(node::Node n, openNode(g));
  OpenStream out;
  out.node = std::make_unique<node::Node>(std::move(n));
  std::string name = name_or_id;
  AE_ASSIGN_OR_RETURN(out.vault, out.node->openVault());
  if (name_or_id.starts_with("did:")) {
    AE_ASSIGN_OR_RETURN(log::StreamId id, log::StreamId::parse(name_or_id));
    if (id.author != out.node->did()) {
      // Another author's stream (imported): read-only.
      AE_ASSIGN_OR_RETURN(out.stream, log::Stream::openReadOnly(*out.vault, name_or_id));
      return out;
    }
    name = id.name;
  }
  AE_ASSIGN_OR_RETURN(out.stream, log::Stream::open(*out.vault, out.node->key(), name, log::systemClock()));
  return out;
}

std::string hashHex(const log::Hash& h) { return hexEncode(h); }

json pathJson(const std::vector<log::Hash>& path) {
  json j = json::array();
  for (const auto& h : path) j.push_back(hashHex(h));
  return j;
}

json headJson(const log::SignedHead& h) {
  return {{"stream", h.head.stream},
          {"size", h.head.size},
          {"root", hashHex(h.head.root)},
          {"ts", h.head.ts},
          {"sig", hexEncode(h.sig)},
          {"signed_head", hexEncode(log::encodeSignedHead(h))}};
}

bool printable(const Bytes& b) {
  if (!isValidUtf8(asChars(b))) return false;
  for (auto c : b) {
    if (c < 0x20 && c != '\n' && c != '\t') return false;
  }
  return true;
}

Result<Bytes> readAll(const std::string& path) {
  if (path == "-") {
    std::string s((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return toBytes(s);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::kIo, "cannot open " + path + ": " + std::strerror(errno));
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return fail(Errc::kIo, "read error on " + path);
  return toBytes(s);
}

class FileSource final : public store::ByteSource {
 public:
  explicit FileSource(std::FILE* f) : f_(f) {}
  ~FileSource() override { std::fclose(f_); }
  Result<std::size_t> read(std::span<std::uint8_t> out) override {
    const std::size_t n = std::fread(out.data(), 1, out.size(), f_);
    if (n == 0 && std::ferror(f_)) return fail(Errc::kIo, "read error");
    return n;
  }

 private:
  std::FILE* f_;
};

struct AppendArgs {
  std::string stream;
  std::vector<std::string> text;
  std::string file;
  bool lines = false;
};

int cmdAppend(const Globals& g, const AppendArgs& a) {
  if (!a.file.empty() && !a.text.empty()) {
    std::cerr << "aether: error: give either --file or text, not both\n";
    return kExitUsage;
  }
  if (a.file.empty() && a.text.empty()) {
    std::cerr << "aether: error: nothing to append: give text or --file F (- for stdin)\n";
    return kExitUsage;
  }
  std::vector<Bytes> payloads;
  if (!a.file.empty()) {
    auto data = readAll(a.file);
    if (!data) return reportError(data.error());
    if (a.lines) {
      std::string line;
      std::istringstream in(std::string(asChars(*data)));
      while (std::getline(in, line)) payloads.push_back(toBytes(line));
    } else {
      payloads.push_back(std::move(*data));
    }
  } else {
    std::string joined;
    for (std::size_t i = 0; i < a.text.size(); ++i) joined += (i ? " " : "") + a.text[i];
    payloads.push_back(toBytes(joined));
  }
  if (payloads.empty()) {
    std::cerr << "aether: error: no lines to append\n";
    return kExitUsage;
  }
  auto s = openStream(g, a.stream);
  if (!s) return reportError(s.error());
  auto r = s->stream->append(payloads);
  if (!r) return reportError(r.error());
  if (g.json) {
    printJson({{"first_seq", r->first_seq}, {"last_seq", r->last_seq}, {"head", headJson(r->head)}});
  } else if (r->first_seq == r->last_seq) {
    std::cout << "appended seq " << r->first_seq << " to " << s->stream->id() << " (size " << r->head.head.size
              << ", root " << hashHex(r->head.head.root) << ")\n";
  } else {
    std::cout << "appended seq " << r->first_seq << ".." << r->last_seq << " to " << s->stream->id() << " (size "
              << r->head.head.size << ", root " << hashHex(r->head.head.root) << ")\n";
  }
  return 0;
}

int cmdShow(const Globals& g, const std::string& name, std::optional<std::uint64_t> from,
            std::optional<std::uint64_t> to) {
  auto s = openStream(g, name);
  if (!s) return reportError(s.error());
  const std::uint64_t size = s->stream->size();
  const std::uint64_t lo = from.value_or(0);
  const std::uint64_t hi = std::min<std::uint64_t>(to ? *to + 1 : size, size);
  json entries = json::array();
  for (std::uint64_t seq = lo; seq < hi; ++seq) {
    auto block = s->stream->entryBlock(seq);
    if (!block) return reportError(block.error());
    auto e = log::decodeEntry(*block);
    if (!e) return reportError(e.error());
    auto p = s->stream->payload(*e);
    if (!p) return reportError(p.error());
    const bool text = printable(*p);
    if (g.json) {
      json j = {{"seq", e->seq}, {"ts", e->ts}, {"cid", log::blockCid(*block).toString()}, {"size", p->size()}};
      if (e->payload) j["payload_cid"] = e->payload->toString();
      if (text) {
        j["text"] = std::string(asChars(*p));
      } else {
        j["hex"] = hexEncode(*p);
      }
      entries.push_back(std::move(j));
    } else {
      std::string shown;
      if (text) {
        shown = std::string(asChars(*p));
      } else if (p->size() <= 32) {
        shown = "0x" + hexEncode(*p);
      } else {
        shown = "(" + std::to_string(p->size()) + " bytes) 0x" + hexEncode(ByteView(*p).first(32)) + "...";
      }
      std::cout << e->seq << "\t" << e->ts << "\t" << shown << "\n";
    }
  }
  if (g.json) printJson({{"stream", s->stream->id()}, {"size", size}, {"entries", entries}});
  return 0;
}

int cmdHead(const Globals& g, const std::string& name) {
  auto s = openStream(g, name);
  if (!s) return reportError(s.error());
  auto h = s->stream->head();
  if (!h) return reportError(h.error());
  if (g.json) {
    printJson(headJson(*h));
  } else {
    std::cout << "stream " << h->head.stream << "\nsize   " << h->head.size << "\nroot   " << hashHex(h->head.root)
              << "\nts     " << h->head.ts << "\nsig    " << hexEncode(h->sig) << "\n";
  }
  return 0;
}

int cmdProve(const Globals& g, const std::string& name, std::uint64_t seq, std::optional<std::uint64_t> size) {
  auto s = openStream(g, name);
  if (!s) return reportError(s.error());
  const std::uint64_t n = size.value_or(s->stream->size());
  auto proof = s->stream->proveInclusion(seq, n);
  if (!proof) return reportError(proof.error());
  auto block = s->stream->entryBlock(seq);
  if (!block) return reportError(block.error());
  auto root = s->stream->root(n);
  if (!root) return reportError(root.error());
  json j = {{"stream", s->stream->id()},
            {"index", proof->index},
            {"size", proof->size},
            {"root", hashHex(*root)},
            {"entry", hexEncode(*block)},
            {"leaf_hash", hashHex(log::leafHash(*block))},
            {"path", pathJson(proof->path)},
            {"proof", hexEncode(*log::encodeInclusionProof(*proof))}};
  // A signed head for this size when one exists (the current head, or a batch checkpoint).
  if (auto cp = s->stream->checkpoint(n); cp) j["signed_head"] = hexEncode(log::encodeSignedHead(*cp));
  if (g.json) {
    printJson(j);
  } else {
    std::cout << "entry " << seq << " of " << s->stream->id() << " in the tree of size " << n << " (root "
              << hashHex(*root) << ")\nleaf  " << hashHex(log::leafHash(*block)) << "\n";
    for (const auto& h : proof->path) std::cout << "path  " << hashHex(h) << "\n";
  }
  return 0;
}

int cmdProveConsistency(const Globals& g, const std::string& name, std::uint64_t m, std::uint64_t n) {
  auto s = openStream(g, name);
  if (!s) return reportError(s.error());
  auto proof = s->stream->proveConsistency(m, n);
  if (!proof) return reportError(proof.error());
  const log::Hash r1 = *s->stream->root(m), r2 = *s->stream->root(n);
  if (g.json) {
    printJson({{"stream", s->stream->id()},
               {"first", m},
               {"second", n},
               {"first_root", hashHex(r1)},
               {"second_root", hashHex(r2)},
               {"path", pathJson(proof->path)},
               {"proof", hexEncode(*log::encodeConsistencyProof(*proof))}});
  } else {
    std::cout << "tree " << m << " (root " << hashHex(r1) << ") is a prefix of tree " << n << " (root " << hashHex(r2)
              << ")\n";
    for (const auto& h : proof->path) std::cout << "path  " << hashHex(h) << "\n";
  }
  return 0;
}

int reportVerified(const Globals& g, const log::VerifiedStream& v, const std::string& what) {
  if (g.json) {
    printJson({{"ok", true},
               {"stream", v.head.head.stream},
               {"size", v.head.head.size},
               {"root", hashHex(v.head.head.root)},
               {"payload_blocks", v.payloads.size()}});
  } else {
    std::cout << "ok: " << what << ": " << v.head.head.stream << ", " << v.head.head.size
              << " entries, signature, seq/prev chain and Merkle root verified (root " << hashHex(v.head.head.root)
              << ")\n";
  }
  return 0;
}

// Standalone: needs no node home.
int cmdVerifyFile(const Globals& g, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return reportError(Error{Errc::kIo, "cannot open " + path + ": " + std::strerror(errno)});
  FileSource src(f);
  auto v = log::verifyExport(src);
  if (!v) return reportError(v.error());
  return reportVerified(g, *v, path);
}

int cmdVerifyStream(const Globals& g, const std::string& name) {
  auto s = openStream(g, name);
  if (!s) return reportError(s.error());
  store::MemoryByteSink sink;
  if (auto st = s->stream->exportCar(sink); !st) return reportError(st.error());
  store::MemoryByteSource src(sink.bytes());
  auto v = log::verifyExport(src);
  if (!v) return reportError(v.error());
  return reportVerified(g, *v, s->stream->id());
}

class FileSink final : public store::ByteSink {
 public:
  explicit FileSink(std::FILE* f) : f_(f) {}
  Status write(ByteView data) override {
    if (std::fwrite(data.data(), 1, data.size(), f_) != data.size()) return fail(Errc::kIo, "write error");
    bytes_ += data.size();
    return {};
  }
  std::uint64_t bytes() const { return bytes_; }

 private:
  std::FILE* f_;
  std::uint64_t bytes_ = 0;
};

// Streams the CAR into <out>.partial, renamed over <out> once complete.
int cmdExport(const Globals& g, const std::string& name, const std::string& out) {
  auto s = openStream(g, name);
  if (!s) return reportError(s.error());
  const std::string tmp = out + ".partial";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return reportError(Error{Errc::kIo, "cannot create " + tmp + ": " + std::strerror(errno)});
  FileSink sink(f);
  Status st = s->stream->exportCar(sink);
  const bool closed = std::fclose(f) == 0;
  if (st && !closed) st = fail(Errc::kIo, "cannot write " + tmp);
  if (!st) {
    std::remove(tmp.c_str());
    return reportError(st.error());
  }
  std::error_code ec;
  fs::rename(tmp, out, ec);
  if (ec) return reportError(Error{Errc::kIo, "cannot rename " + tmp + ": " + ec.message()});
  auto h = s->stream->head();
  if (g.json) {
    printJson({{"stream", s->stream->id()}, {"size", h->head.size}, {"file", out}, {"bytes", sink.bytes()}});
  } else {
    std::cout << "exported " << h->head.size << " entries of " << s->stream->id() << " to " << out << "\n";
  }
  return 0;
}

int cmdList(const Globals& g) {
  auto n = openNode(g);
  if (!n) return reportError(n.error());
  auto vault = n->openVault();
  if (!vault) return reportError(vault.error());
  auto ids = log::Stream::list(**vault);
  if (!ids) return reportError(ids.error());
  if (g.json) {
    printJson(*ids);
  } else {
    for (const auto& s : *ids) std::cout << s << "\n";
  }
  return 0;
}

// Verifies an export completely, then stores it in one synced commit (nothing on error).
int cmdImport(const Globals& g, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return reportError(Error{Errc::kIo, "cannot open " + path + ": " + std::strerror(errno)});
  FileSource src(f);
  auto n = openNode(g);
  if (!n) return reportError(n.error());
  auto vault = n->openVault();
  if (!vault) return reportError(vault.error());
  auto r = log::Stream::importExport(**vault, src);
  if (!r) return reportError(r.error());
  if (g.json) {
    printJson({{"stream", r->stream}, {"size", r->size}, {"added", r->added}});
  } else {
    std::cout << "imported " << r->stream << ": " << r->added << " new entries (" << r->size << " held)\n";
  }
  return 0;
}

}  // namespace

void addLogCommands(CLI::App& app, Globals& g, int& rc) {
  auto* logc = app.add_subcommand("log", "Signed append-only streams: Merkle-tree heads signed by the node key");
  logc->require_subcommand(1);

  static AppendArgs ap;
  auto* append = logc->add_subcommand("append", "Append an entry (text or a file; --lines: one entry per line, one batch)");
  append->add_option("stream", ap.stream, "Stream name")->required();
  append->add_option("text", ap.text, "Text of the entry (words are joined with spaces)");
  append->add_option("--file,-f", ap.file, "Read the payload from a file (- for stdin)");
  append->add_flag("--lines", ap.lines, "With --file: one entry per line, appended as one batch");
  append->callback([&] { rc = cmdAppend(g, ap); });

  static std::string show_stream;
  static std::optional<std::uint64_t> show_from, show_to;
  auto* show = logc->add_subcommand("show", "Print entries (seq, timestamp, payload)");
  show->add_option("stream", show_stream, "Stream name")->required();
  show->add_option("--from", show_from, "First seq (default 0)");
  show->add_option("--to", show_to, "Last seq, inclusive (default: the newest)");
  show->callback([&] { rc = cmdShow(g, show_stream, show_from, show_to); });

  static std::string head_stream;
  auto* head = logc->add_subcommand("head", "Print the signed head (size, Merkle root, signature)");
  head->add_option("stream", head_stream, "Stream name")->required();
  head->callback([&] { rc = cmdHead(g, head_stream); });

  static std::string prove_stream;
  static std::uint64_t prove_seq = 0;
  static std::optional<std::uint64_t> prove_size;
  auto* prove = logc->add_subcommand("prove", "Inclusion proof of an entry in the tree of a given size (RFC 9162)");
  prove->add_option("stream", prove_stream, "Stream name")->required();
  prove->add_option("seq", prove_seq, "Entry seq")->required();
  prove->add_option("--size", prove_size, "Tree size (default: the current size)");
  prove->callback([&] { rc = cmdProve(g, prove_stream, prove_seq, prove_size); });

  static std::string pc_stream;
  static std::uint64_t pc_m = 0, pc_n = 0;
  auto* pc = logc->add_subcommand("prove-consistency", "Consistency proof: the tree of size m is a prefix of size n");
  pc->add_option("stream", pc_stream, "Stream name")->required();
  pc->add_option("m", pc_m, "Older size (>= 1)")->required();
  pc->add_option("n", pc_n, "Newer size (>= m)")->required();
  pc->callback([&] { rc = cmdProveConsistency(g, pc_stream, pc_m, pc_n); });

  static std::string verify_file, verify_stream;
  auto* verify = logc->add_subcommand(
      "verify", "Verify an exported stream (--file, no node needed) or a local stream end to end");
  verify->add_option("stream", verify_stream, "Local stream name");
  verify->add_option("--file", verify_file, "Exported stream (.car from `log export`)");
  verify->callback([&] {
    if (verify_file.empty() == verify_stream.empty()) {
      std::cerr << "aether: error: give either --file FILE or a stream name\n";
      rc = kExitUsage;
      return;
    }
    rc = verify_file.empty() ? cmdVerifyStream(g, verify_stream) : cmdVerifyFile(g, verify_file);
  });

  static std::string exp_stream, exp_file;
  auto* exp = logc->add_subcommand("export", "Write the stream as a CAR v1 (signed head + entries + payloads)");
  exp->add_option("stream", exp_stream, "Stream name")->required();
  exp->add_option("file", exp_file, "Output file")->required();
  exp->callback([&] { rc = cmdExport(g, exp_stream, exp_file); });

  static std::string imp_file;
  auto* imp = logc->add_subcommand("import", "Verify an exported stream and store it (read-only if another author's)");
  imp->add_option("file", imp_file, "Exported stream (.car)")->required();
  imp->callback([&] { rc = cmdImport(g, imp_file); });

  logc->add_subcommand("list", "List the streams in this node's vault (own and imported)")->callback([&] { rc = cmdList(g); });
}

}  // namespace aether::cli
