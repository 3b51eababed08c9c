// `aether vault ...`: the node's encrypted block store from the command line.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>

#include "cli/cli.h"
#include "store/store.h"

namespace aether::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// "added 312 / 1024 MiB (30%)" on stderr, redrawn at most 5 times a second, only when stderr is
// a terminal and the input is big enough for the wait to be noticeable.
class Progress {
 public:
  explicit Progress(std::uint64_t total)
      : total_(total), enabled_(total >= kMinBytes && ::isatty(STDERR_FILENO) == 1) {}
  void add(std::uint64_t n) {
    done_ += n;
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (printed_ && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    draw();
  }
  void finish() {
    if (!enabled_ || !printed_) return;
    draw();
    std::fputc('\n', stderr);
  }

 private:
  static constexpr std::uint64_t kMinBytes = 16ull << 20;
  void draw() {
    printed_ = true;
    const unsigned pct = total_ ? static_cast<unsigned>(std::min<std::uint64_t>(100, done_ * 100 / total_)) : 100;
    std::fprintf(stderr, "\radded %llu / %llu MiB (%u%%)", static_cast<unsigned long long>(done_ >> 20),
                 static_cast<unsigned long long>(total_ >> 20), pct);
    std::fflush(stderr);
  }
  std::uint64_t total_;
  std::uint64_t done_ = 0;
  bool enabled_;
  bool printed_ = false;
  std::chrono::steady_clock::time_point last_{};
};

class FileSource final : public store::ByteSource {
 public:
  static Result<std::unique_ptr<FileSource>> open(const fs::path& path, Progress* progress = nullptr) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return fail(Errc::kIo, "cannot open " + path.string() + ": " + std::strerror(errno));
    return std::unique_ptr<FileSource>(new FileSource(f, path, progress));
  }
  ~FileSource() override { std::fclose(f_); }
  Result<std::size_t> read(std::span<std::uint8_t> out) override {
    const std::size_t n = std::fread(out.data(), 1, out.size(), f_);
    if (n == 0 && std::ferror(f_)) return fail(Errc::kIo, "read error on " + path_.string());
    done_ += n;
    if (progress_) progress_->add(n);
    return n;
  }
  std::uint64_t done() const { return done_; }

 private:
  FileSource(std::FILE* f, fs::path p, Progress* progress) : f_(f), path_(std::move(p)), progress_(progress) {}
  std::FILE* f_;
  fs::path path_;
  Progress* progress_;
  std::uint64_t done_ = 0;
};

class FileSink final : public store::ByteSink {
 public:
  explicit FileSink(std::FILE* f) : f_(f) {}
  Status write(ByteView data) override {
    if (std::fwrite(data.data(), 1, data.size(), f_) != data.size()) return fail(Errc::kIo, "write error");
    return {};
  }

 private:
  std::FILE* f_;
};

// The vault as a BlockSink that charges what it adds to a space (plain put() without one).
class SpaceSink final : public store::BlockSink {
 public:
  SpaceSink(store::Vault& vault, std::string space) : vault_(vault), space_(std::move(space)) {}
  Status put(const codec::Cid& cid, ByteView block) override {
    return space_.empty() ? vault_.put(cid, block) : vault_.putIn(space_, cid, block);
  }

 private:
  store::Vault& vault_;
  std::string space_;
};

Result<store::ImportProfile> profileNamed(const std::string& name) {
  auto p = store::ImportProfile::byName(name);
  if (!p) return fail(Errc::kInvalidArgument, "unknown profile '" + name + "' (default, unixfs-v1-2025, unixfs-v0-2015)");
  return *p;
}

Result<std::unique_ptr<store::Vault>> openVault(const Globals& g) {
  AE_ASSIGN_OR_RETURN(node::Node n, openNode(g));
  return n.openVault();
}

// Adds a directory tree: files and sub-directories in name order, symlinks refused.
Status addTree(store::DirectoryImporter& importer, const fs::path& root, const fs::path& dir, Progress& progress) {
  std::vector<fs::directory_entry> entries;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) entries.push_back(e);
  if (ec) return fail(Errc::kIo, "cannot list " + dir.string() + ": " + ec.message());
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.path() < b.path(); });
  for (const auto& e : entries) {
    const std::string rel = fs::relative(e.path(), root).generic_string();
    if (e.is_symlink()) return fail(Errc::kUnsupported, "symlinks are not imported: " + e.path().string());
    if (e.is_directory()) {
      AE_TRY(importer.addDirectory(rel));
      AE_TRY(addTree(importer, root, e.path(), progress));
    } else if (e.is_regular_file()) {
      AE_ASSIGN_OR_RETURN(auto src, FileSource::open(e.path(), &progress));
      AE_TRY(importer.addFile(rel, *src));
    } else {
      return fail(Errc::kUnsupported, "not a regular file or directory: " + e.path().string());
    }
  }
  return {};
}

int cmdAdd(const Globals& g, const std::string& path, bool recursive, const std::string& profile_name, bool pin,
           const std::string& space) {
  auto profile = profileNamed(profile_name);
  if (!profile) return reportError(profile.error());
  std::error_code ec;
  const bool is_dir = fs::is_directory(path, ec);
  if (is_dir && !recursive) return reportError(Error{Errc::kInvalidArgument, path + " is a directory: add it with -r"});
  auto vault = openVault(g);
  if (!vault) return reportError(vault.error());
  Result<store::ImportResult> r = fail(Errc::kInternal, "unreachable");
  std::uint64_t total = 0;
  if (is_dir) {
    for (const auto& e : fs::recursive_directory_iterator(path, ec)) {
      if (e.is_regular_file(ec)) total += e.file_size(ec);
    }
  } else {
    total = fs::file_size(path, ec);
  }
  Progress progress(ec ? 0 : total);
  SpaceSink sink(**vault, space);
  if (is_dir) {
    store::DirectoryImporter importer(sink, *profile);
    if (auto st = addTree(importer, path, path, progress); !st) return reportError(st.error());
    r = importer.finish();
  } else {
    auto src = FileSource::open(path, &progress);
    if (!src) return reportError(src.error());
    r = store::importFile(**src, sink, *profile);
  }
  progress.finish();
  if (!r) return reportError(r.error());
  if (pin) {
    if (auto st = (*vault)->pin(r->root); !st) return reportError(st.error());
  }
  // Durable before we say so (docs/storage.md).
  if (auto st = (*vault)->flush(); !st) return reportError(st.error());
  if (g.json) {
    printJson({{"cid", r->root.toString()}, {"size", r->content_size}, {"dag_size", r->dag_size},
               {"profile", std::string(profile->name)}, {"pinned", pin}});
  } else {
    std::cout << r->root.toString() << "\n";
  }
  return 0;
}

Status getTree(store::BlockSource& vault, const codec::Cid& cid, const fs::path& out, int depth) {
  if (depth > 64) return fail(Errc::kLimitExceeded, "directory nesting deeper than 64");
  auto entries = store::listDirectory(cid, vault);
  if (!entries && entries.error().code == Errc::kInvalidArgument) {
    // Not a directory: a file.
    std::FILE* f = std::fopen(out.c_str(), "wb");
    if (!f) return fail(Errc::kIo, "cannot create " + out.string());
    FileSink sink(f);
    auto n = store::exportFile(cid, vault, sink);
    const bool closed = std::fclose(f) == 0;
    if (!n) return std::unexpected(n.error());
    if (!closed) return fail(Errc::kIo, "cannot write " + out.string());
    return {};
  }
  if (!entries) return std::unexpected(entries.error());
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) return fail(Errc::kIo, "cannot create " + out.string() + ": " + ec.message());
  for (const auto& e : *entries) {
    if (e.name.empty() || e.name == "." || e.name == ".." || e.name.find('/') != std::string::npos) {
      return fail(Errc::kMalformed, "directory entry with an unsafe name: " + e.name);
    }
    AE_TRY(getTree(vault, e.cid, out / e.name, depth + 1));
  }
  return {};
}

int cmdGet(const Globals& g, const std::string& cid_text, const std::string& out) {
  auto cid = codec::Cid::parse(cid_text);
  if (!cid) return reportError(cid.error());
  auto vault = openVault(g);
  if (!vault) return reportError(vault.error());
  if (!out.empty()) {
    if (fs::exists(out)) return reportError(Error{Errc::kAlreadyExists, out + " exists; not overwriting it"});
    if (auto st = getTree(**vault, *cid, out, 0); !st) {
      std::error_code ec;
      fs::remove_all(out, ec);  // nothing half-written stays behind
      return reportError(st.error());
    }
    if (g.json) printJson({{"cid", cid->toString()}, {"output", out}});
    return 0;
  }
  FileSink sink(stdout);
  auto n = store::exportFile(*cid, **vault, sink);
  if (!n) {
    if (n.error().code == Errc::kInvalidArgument) {
      return reportError(Error{Errc::kInvalidArgument, cid->toString() + " is a directory: write it out with -o DIR"});
    }
    return reportError(n.error());
  }
  std::fflush(stdout);
  return 0;
}

// Every block of the DAG under `root`, parents first (the order ipfs dag export writes).
Status walkDag(store::BlockSource& src, const codec::Cid& root, store::BlockSink& out) {
  std::vector<codec::Cid> stack{root};
  std::set<codec::Cid> seen;
  while (!stack.empty()) {
    codec::Cid cid = std::move(stack.back());
    stack.pop_back();
    if (!seen.insert(cid).second) continue;
    AE_ASSIGN_OR_RETURN(Bytes block, src.get(cid));
    AE_TRY(out.put(cid, block));
    if (cid.codec() == codec::mc::kDagPb) {
      AE_ASSIGN_OR_RETURN(auto entries, store::dagPbLinks(block));
      for (auto it = entries.rbegin(); it != entries.rend(); ++it) stack.push_back(*it);
    }
  }
  return {};
}

int cmdExport(const Globals& g, const std::string& cid_text, const std::string& car_path) {
  auto cid = codec::Cid::parse(cid_text);
  if (!cid) return reportError(cid.error());
  auto vault = openVault(g);
  if (!vault) return reportError(vault.error());
  const std::string tmp = car_path + ".partial";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return reportError(Error{Errc::kIo, "cannot create " + tmp});
  FileSink sink(f);
  std::vector<codec::Cid> roots{*cid};
  auto writer = store::CarWriter::create(sink, roots);
  Status st = writer ? walkDag(**vault, *cid, *writer) : Status(std::unexpected(writer.error()));
  const bool closed = std::fclose(f) == 0;
  if (st && !closed) st = fail(Errc::kIo, "cannot write " + tmp);
  if (!st) {
    std::remove(tmp.c_str());
    return reportError(st.error());
  }
  std::error_code ec;
  fs::rename(tmp, car_path, ec);
  if (ec) return reportError(Error{Errc::kIo, "cannot rename " + tmp + ": " + ec.message()});
  if (g.json) {
    printJson({{"root", cid->toString()}, {"blocks", writer->blocksWritten()}, {"car", car_path}});
  } else {
    std::cout << "exported " << writer->blocksWritten() << " blocks of " << cid->toString() << " to " << car_path << "\n";
  }
  return 0;
}

int cmdImport(const Globals& g, const std::string& car_path, const std::string& space) {
  // Staging by verification: pass 1 reads and verifies the whole CAR (framing, every block
  // against its CID) without storing anything, so a bad CAR writes nothing; pass 2 stores the
  // blocks (re-verified by Vault::put), then pins the roots in one atomic, synced batch. The
  // vault is held (RocksDB's lock) across both passes. If pass 2 fails anyway (I/O, quota, the
  // file changed between passes), only unpinned blocks remain, and the next gc removes them.
  auto vault = openVault(g);
  if (!vault) return reportError(vault.error());
  std::vector<codec::Cid> roots;
  std::uint64_t blocks = 0;
  for (int pass = 0; pass < 2; ++pass) {
    auto src = FileSource::open(car_path);
    if (!src) return reportError(src.error());
    auto reader = store::CarReader::open(**src);
    if (!reader) return reportError(reader.error());
    roots = reader->roots();
    blocks = 0;
    while (true) {
      auto b = reader->next();
      if (!b) return reportError(b.error());
      if (!*b) break;
      ++blocks;
      if (pass == 1) {
        SpaceSink sink(**vault, space);
        if (auto st = sink.put((*b)->cid, (*b)->bytes); !st) return reportError(st.error());
      }
    }
  }
  store::VaultBatch pins;
  json jr = json::array();
  for (const auto& r : roots) {
    jr.push_back(r.toString());
    auto has = (*vault)->has(r);
    if (!has) return reportError(has.error());
    if (*has) pins.pin(r);  // a root the CAR does not carry is reported, not pinned
  }
  // A synced commit flushes the puts first: acknowledged = durable.
  if (auto st = (*vault)->commit(pins, true); !st) return reportError(st.error());
  if (auto st = (*vault)->flush(); !st) return reportError(st.error());
  if (g.json) {
    printJson({{"roots", jr}, {"blocks", blocks}});
  } else {
    for (const auto& r : roots) std::cout << r.toString() << "\n";
    std::cerr << "imported " << blocks << " blocks\n";
  }
  return 0;
}

int cmdPin(const Globals& g, const std::string& cid_text, bool pin) {
  auto cid = codec::Cid::parse(cid_text);
  if (!cid) return reportError(cid.error());
  auto vault = openVault(g);
  if (!vault) return reportError(vault.error());
  auto st = pin ? (*vault)->pin(*cid) : (*vault)->unpin(*cid);
  if (!st) return reportError(st.error());
  if (g.json) printJson({{"cid", cid->toString()}, {"pinned", pin}});
  return 0;
}

int cmdPins(const Globals& g) {
  auto vault = openVault(g);
  if (!vault) return reportError(vault.error());
  auto pins = (*vault)->pins();
  if (!pins) return reportError(pins.error());
  json j = json::array();
  for (const auto& c : *pins) {
    if (g.json) {
      j.push_back(c.toString());
    } else {
      std::cout << c.toString() << "\n";
    }
  }
  if (g.json) printJson(j);
  return 0;
}

int cmdGc(const Globals& g) {
  auto vault = openVault(g);
  if (!vault) return reportError(vault.error());
  auto r = (*vault)->gc();
  if (!r) return reportError(r.error());
  if (g.json) {
    printJson({{"blocks_removed", r->blocks_removed}, {"bytes_freed", r->bytes_freed}});
  } else {
    std::cout << "removed " << r->blocks_removed << " blocks, " << r->bytes_freed << " bytes\n";
  }
  return 0;
}

// Reads every block of the DAGs under `roots` (all pins when empty): each is decrypted and
// re-hashed against its CID by Vault::get. A missing block is not-found, a bad one integrity.
class CountingSink final : public store::BlockSink {
 public:
  Status put(const codec::Cid&, ByteView block) override {
    ++blocks;
    bytes += block.size();
    return {};
  }
  std::uint64_t blocks = 0, bytes = 0;
};

int cmdVerify(const Globals& g, const std::vector<std::string>& cid_texts) {
  std::vector<codec::Cid> roots;
  for (const auto& t : cid_texts) {
    auto cid = codec::Cid::parse(t);
    if (!cid) return reportError(cid.error());
    roots.push_back(std::move(*cid));
  }
  auto vault = openVault(g);
  if (!vault) return reportError(vault.error());
  if (cid_texts.empty()) {
    auto pins = (*vault)->pins();
    if (!pins) return reportError(pins.error());
    roots = std::move(*pins);
  }
  CountingSink sink;
  for (const auto& r : roots) {
    if (auto st = walkDag(**vault, r, sink); !st) {
      return reportError(Error{st.error().code, "DAG under " + r.toString() + ": " + st.error().message});
    }
  }
  if (g.json) {
    printJson({{"roots", roots.size()}, {"blocks", sink.blocks}, {"bytes", sink.bytes}});
  } else {
    std::cout << "verified " << roots.size() << " roots: " << sink.blocks << " blocks, " << sink.bytes << " bytes\n";
  }
  return 0;
}

int cmdQuota(const Globals& g, const std::string& space, std::optional<std::uint64_t> bytes) {
  auto vault = openVault(g);
  if (!vault) return reportError(vault.error());
  if (bytes) {
    if (auto st = (*vault)->setSpaceQuota(space, *bytes); !st) return reportError(st.error());
  }
  auto u = (*vault)->spaceUsage(space);
  if (!u) return reportError(u.error());
  if (g.json) {
    printJson({{"space", space}, {"bytes", u->bytes}, {"quota", u->quota}});
  } else {
    std::cout << space << ": " << u->bytes << " bytes used, quota "
              << (u->quota ? std::to_string(u->quota) + " bytes" : std::string("unlimited")) << "\n";
  }
  return 0;
}

int cmdStats(const Globals& g) {
  auto vault = openVault(g);
  if (!vault) return reportError(vault.error());
  const auto s = (*vault)->stats();
  if (g.json) {
    printJson({{"blocks", s.blocks}, {"bytes", s.bytes}, {"pins", s.pins}});
  } else {
    std::cout << "blocks " << s.blocks << "\nbytes  " << s.bytes << "\npins   " << s.pins << "\n";
  }
  return 0;
}

}  // namespace

void addVaultCommands(CLI::App& app, Globals& g, int& rc) {
  auto* vault = app.add_subcommand("vault", "The node's encrypted, content-addressed block store (IPFS-compatible CIDs)");
  vault->require_subcommand(1);

  static std::string add_path, add_profile = "default";
  static bool add_recursive = false, add_pin = true;
  static std::string add_space;
  auto* add = vault->add_subcommand("add", "Import a file (or a directory with -r) as UnixFS; prints the root CID");
  add->add_option("path", add_path, "File or directory")->required();
  add->add_flag("-r,--recursive", add_recursive, "Import a directory tree");
  add->add_option("--profile", add_profile, "default | unixfs-v1-2025 | unixfs-v0-2015")->capture_default_str();
  add->add_flag("--pin,!--no-pin", add_pin, "Pin the root (the default) / do not pin it (gc may remove it)");
  add->add_option("--space", add_space, "Charge the new blocks to this space (its quota applies; see `vault quota`)");
  add->callback([&] { rc = cmdAdd(g, add_path, add_recursive, add_profile, add_pin, add_space); });

  static std::string get_cid, get_out;
  auto* get = vault->add_subcommand("get", "Write a file's content to stdout (or a file / directory tree with -o)");
  get->add_option("cid", get_cid, "Root CID")->required();
  get->add_option("-o,--output", get_out, "Output path (required for directories; must not exist)");
  get->callback([&] { rc = cmdGet(g, get_cid, get_out); });

  static std::string exp_cid, exp_car;
  auto* exp = vault->add_subcommand("export", "Write the DAG under a CID as a CAR v1 file");
  exp->add_option("cid", exp_cid, "Root CID")->required();
  exp->add_option("car", exp_car, "Output .car file")->required();
  exp->callback([&] { rc = cmdExport(g, exp_cid, exp_car); });

  static std::string imp_car, imp_space;
  auto* imp = vault->add_subcommand("import", "Import a CAR v1 file (every block verified first; roots are pinned)");
  imp->add_option("car", imp_car, "Input .car file")->required()->check(CLI::ExistingFile);
  imp->add_option("--space", imp_space, "Charge the new blocks to this space");
  imp->callback([&] { rc = cmdImport(g, imp_car, imp_space); });

  static std::string pin_cid, unpin_cid;
  auto* pin = vault->add_subcommand("pin", "Keep a DAG from garbage collection");
  pin->add_option("cid", pin_cid, "Root CID")->required();
  pin->callback([&] { rc = cmdPin(g, pin_cid, true); });
  auto* unpin = vault->add_subcommand("unpin", "Let gc remove a DAG no other pin reaches");
  unpin->add_option("cid", unpin_cid, "Root CID")->required();
  unpin->callback([&] { rc = cmdPin(g, unpin_cid, false); });

  vault->add_subcommand("pins", "List pinned roots")->callback([&] { rc = cmdPins(g); });
  vault->add_subcommand("gc", "Remove every block no pin reaches")->callback([&] { rc = cmdGc(g); });
  vault->add_subcommand("stats", "Blocks, bytes and pins held")->callback([&] { rc = cmdStats(g); });

  static std::vector<std::string> verify_cids;
  auto* verify = vault->add_subcommand("verify", "Read and check every block of the given DAGs (all pinned ones by default)");
  verify->add_option("cid", verify_cids, "Root CIDs (default: every pin)");
  verify->callback([&] { rc = cmdVerify(g, verify_cids); });

  static std::string quota_space;
  static std::optional<std::uint64_t> quota_bytes;
  auto* quota = vault->add_subcommand("quota", "Show a space's usage, or set its byte quota (0 = unlimited)");
  quota->add_option("space", quota_space, "Space name, e.g. user or app/<name>")->required();
  quota->add_option("bytes", quota_bytes, "New quota in bytes");
  quota->callback([&] { rc = cmdQuota(g, quota_space, quota_bytes); });
}

}  // namespace aether::cli
