// aether_store_tool: drives src/store for the interop scripts (unixfs.mjs, car.mjs).
//
//   import-file <profile> <file>          -> "<root-cid> <content-size> <dag-size> <blocks>"
//   import-dir <profile> <dir>            -> "<root-cid> <dag-size> <blocks>"
//   car-export <profile> <path> <out.car> -> "<root-cid> <blocks>"   (file or directory)
//   car-rewrite <in.car> <out.car>        -> "<roots> <blocks>"      (read verifying, write back)
//   car-cat <in.car> <out-file>           -> "<bytes>"               (export the first root's file)
//
// <profile> is "default", "unixfs-v1-2025", "unixfs-v0-2015" or
// "custom:<cid-version>:<chunk-size>:<max-links>:<raw|pb>". Errors go to stderr as
// "error: <errc>: <message>" with exit status 1.
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <dirent.h>
#include <iostream>
#include <string>
#include <vector>

#include "store/store.h"

using namespace aether;
using namespace aether::store;

namespace {

class FileSource final : public ByteSource {
 public:
  explicit FileSource(std::FILE* f) : f_(f) {}
  ~FileSource() override {
    if (f_ != nullptr) std::fclose(f_);
  }
  Result<std::size_t> read(std::span<std::uint8_t> out) override {
    const std::size_t n = std::fread(out.data(), 1, out.size(), f_);
    if (n == 0 && std::ferror(f_)) return fail(Errc::kIo, "read failed");
    return n;
  }

 private:
  std::FILE* f_;
};

class FileSink final : public ByteSink {
 public:
  explicit FileSink(std::FILE* f) : f_(f) {}
  ~FileSink() override {
    if (f_ != nullptr) std::fclose(f_);
  }
  Status write(ByteView data) override {
    if (!data.empty() && std::fwrite(data.data(), 1, data.size(), f_) != data.size()) {
      return fail(Errc::kIo, "write failed");
    }
    return {};
  }
  Status close() {
    const int rc = std::fclose(f_);
    f_ = nullptr;
    if (rc != 0) return fail(Errc::kIo, "close failed");
    return {};
  }

 private:
  std::FILE* f_;
};

// Counts blocks and bytes without keeping them.
class CountingSink final : public BlockSink {
 public:
  Status put(const codec::Cid&, ByteView) override {
    ++blocks;
    return {};
  }
  std::uint64_t blocks = 0;
};

Result<std::FILE*> openFile(const std::string& path, const char* mode) {
  std::FILE* f = std::fopen(path.c_str(), mode);
  if (f == nullptr) return fail(Errc::kIo, "cannot open " + path);
  return f;
}

Result<std::uint64_t> parseNumber(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return fail(Errc::kInvalidArgument, "bad number '" + std::string(s) + "'");
  return v;
}

Result<ImportProfile> parseProfile(std::string_view spec) {
  if (!spec.starts_with("custom:")) return ImportProfile::byName(spec);
  std::vector<std::string_view> parts;
  std::string_view rest = spec.substr(7);
  for (;;) {
    const auto colon = rest.find(':');
    parts.push_back(rest.substr(0, colon));
    if (colon == std::string_view::npos) break;
    rest = rest.substr(colon + 1);
  }
  if (parts.size() != 4) return fail(Errc::kInvalidArgument, "custom profile: custom:<v>:<chunk>:<links>:<raw|pb>");
  ImportProfile p = kProfileDefault;
  p.name = "custom";
  AE_ASSIGN_OR_RETURN(p.cid_version, parseNumber(parts[0]));
  AE_ASSIGN_OR_RETURN(p.chunk_size, parseNumber(parts[1]));
  AE_ASSIGN_OR_RETURN(p.max_links, parseNumber(parts[2]));
  if (parts[3] == "raw") {
    p.leaves = LeafKind::kRaw;
  } else if (parts[3] == "pb") {
    p.leaves = LeafKind::kDagPb;
  } else {
    return fail(Errc::kInvalidArgument, "custom profile: leaves must be raw or pb");
  }
  AE_TRY(p.validate());
  return p;
}

// Adds everything under `dir` (relative names joined with '/'), hidden entries included.
Status walk(DirectoryImporter& imp, const std::string& dir, const std::string& rel) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return fail(Errc::kIo, "cannot open directory " + dir);
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  if (names.empty() && !rel.empty()) AE_TRY(imp.addDirectory(rel));
  for (const std::string& name : names) {
    const std::string full = dir + "/" + name;
    const std::string r = rel.empty() ? name : rel + "/" + name;
    struct stat st {};
    if (lstat(full.c_str(), &st) != 0) return fail(Errc::kIo, "cannot stat " + full);
    if (S_ISDIR(st.st_mode)) {
      AE_TRY(walk(imp, full, r));
    } else if (S_ISREG(st.st_mode)) {
      AE_ASSIGN_OR_RETURN(std::FILE* f, openFile(full, "rb"));
      FileSource src(f);
      AE_TRY(imp.addFile(r, src));
    } else {
      return fail(Errc::kUnsupported, full + ": only regular files and directories are imported");
    }
  }
  return {};
}

Result<ImportResult> importPath(const std::string& path, const ImportProfile& p, BlockSink& sink) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return fail(Errc::kIo, "cannot stat " + path);
  if (S_ISDIR(st.st_mode)) {
    DirectoryImporter imp(sink, p);
    AE_TRY(walk(imp, path, ""));
    return imp.finish();
  }
  AE_ASSIGN_OR_RETURN(std::FILE* f, openFile(path, "rb"));
  FileSource src(f);
  return importFile(src, sink, p);
}

Status run(const std::vector<std::string>& args) {
  if (args.empty()) return fail(Errc::kInvalidArgument, "usage: see the comment at the top of store_tool.cc");
  const std::string& cmd = args[0];
  if ((cmd == "import-file" || cmd == "import-dir") && args.size() == 3) {
    AE_ASSIGN_OR_RETURN(ImportProfile p, parseProfile(args[1]));
    CountingSink sink;
    AE_ASSIGN_OR_RETURN(ImportResult r, importPath(args[2], p, sink));
    if (cmd == "import-file") {
      std::cout << r.root.toString() << ' ' << r.content_size << ' ' << r.dag_size << ' ' << sink.blocks << '\n';
    } else {
      std::cout << r.root.toString() << ' ' << r.dag_size << ' ' << sink.blocks << '\n';
    }
    return {};
  }
  if (cmd == "car-export" && args.size() == 4) {
    AE_ASSIGN_OR_RETURN(ImportProfile p, parseProfile(args[1]));
    MemoryBlockStore store;
    AE_ASSIGN_OR_RETURN(ImportResult r, importPath(args[2], p, store));
    AE_ASSIGN_OR_RETURN(std::FILE* f, openFile(args[3], "wb"));
    FileSink out(f);
    const codec::Cid roots[] = {r.root};
    AE_ASSIGN_OR_RETURN(CarWriter w, CarWriter::create(out, roots));
    for (const codec::Cid& c : store.order()) {
      AE_ASSIGN_OR_RETURN(Bytes b, store.get(c));
      AE_TRY(w.put(c, b));
    }
    AE_TRY(out.close());
    std::cout << r.root.toString() << ' ' << w.blocksWritten() << '\n';
    return {};
  }
  if (cmd == "car-rewrite" && args.size() == 3) {
    AE_ASSIGN_OR_RETURN(std::FILE* in, openFile(args[1], "rb"));
    FileSource src(in);
    AE_ASSIGN_OR_RETURN(CarReader reader, CarReader::open(src));
    AE_ASSIGN_OR_RETURN(std::FILE* f, openFile(args[2], "wb"));
    FileSink out(f);
    AE_ASSIGN_OR_RETURN(CarWriter w, CarWriter::create(out, reader.roots()));
    for (;;) {
      AE_ASSIGN_OR_RETURN(auto block, reader.next());
      if (!block) break;
      AE_TRY(w.put(block->cid, block->bytes));
    }
    AE_TRY(out.close());
    std::cout << reader.roots().size() << ' ' << w.blocksWritten() << '\n';
    return {};
  }
  if (cmd == "car-cat" && args.size() == 3) {
    AE_ASSIGN_OR_RETURN(std::FILE* in, openFile(args[1], "rb"));
    FileSource src(in);
    AE_ASSIGN_OR_RETURN(CarReader reader, CarReader::open(src));
    if (reader.roots().empty()) return fail(Errc::kInvalidArgument, "car has no root");
    MemoryBlockStore store;
    for (;;) {
      AE_ASSIGN_OR_RETURN(auto block, reader.next());
      if (!block) break;
      AE_TRY(store.put(block->cid, block->bytes));
    }
    AE_ASSIGN_OR_RETURN(std::FILE* f, openFile(args[2], "wb"));
    FileSink out(f);
    AE_ASSIGN_OR_RETURN(std::uint64_t n, exportFile(reader.roots()[0], store, out));
    AE_TRY(out.close());
    std::cout << n << '\n';
    return {};
  }
  return fail(Errc::kInvalidArgument, "unknown command or wrong arguments: " + cmd);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto st = run(args);
  if (!st) {
    std::cerr << "error: " << st.error().toString() << '\n';
    return 1;
  }
  return 0;
}
