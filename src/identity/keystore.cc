// The sealed keystore file (docs/formats/keystore.md).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>

#include "identity/identity.h"

namespace aether::identity {
namespace {

namespace fs = std::filesystem;

constexpr std::array<std::uint8_t, 8> kMagic = {'A', 'E', 'T', 'H', 'E', 'R', 'K', 'S'};
constexpr std::uint8_t kFormatVersion = 1;
constexpr std::uint8_t kKdfArgon2id13 = 1;
constexpr std::uint8_t kAeadXChaCha20Poly1305 = 1;

// magic 8 | version 1 | protection 1 | kdf 1 | aead 1 | opslimit 4 | memlimit KiB 4 |
// salt 16 | nonce 24 | public key 32  => 92-byte header (the AAD), then 32 + 16 sealed seed.
constexpr std::size_t kHeaderSize = 8 + 4 + 4 + 4 + crypto::kArgon2SaltSize +
                                    crypto::kXChaCha20Poly1305NonceSize +
                                    crypto::kEd25519PublicKeySize;
constexpr std::size_t kSealedSeedSize = crypto::kEd25519SeedSize + crypto::kAeadTagSize;
constexpr std::size_t kFileSize = kHeaderSize + kSealedSeedSize;
static_assert(kHeaderSize == 92 && kFileSize == 140);

constexpr KdfParams kInsecureDevKdf{1, static_cast<std::uint32_t>(crypto::kArgon2MemMin >> 10)};

struct Header {
  KeystoreProtection protection = KeystoreProtection::kSealed;
  KdfParams kdf;
  std::array<std::uint8_t, crypto::kArgon2SaltSize> salt{};
  std::array<std::uint8_t, crypto::kXChaCha20Poly1305NonceSize> nonce{};
  crypto::Ed25519PublicKey publicKey{};
};

void putU32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

std::uint32_t getU32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

Bytes encodeHeader(const Header& h) {
  Bytes out;
  out.reserve(kFileSize);
  append(out, kMagic);
  out.push_back(kFormatVersion);
  out.push_back(static_cast<std::uint8_t>(h.protection));
  out.push_back(kKdfArgon2id13);
  out.push_back(kAeadXChaCha20Poly1305);
  putU32(out, h.kdf.opslimit);
  putU32(out, h.kdf.memlimitKiB);
  append(out, h.salt);
  append(out, h.nonce);
  append(out, h.publicKey);
  return out;
}

Status checkKdfForCreate(const KdfParams& kdf) {
  if (kdf.opslimit < crypto::kArgon2OpsMin || kdf.opslimit > KdfParams::kMaxOpslimit ||
      kdf.memlimitKiB < (crypto::kArgon2MemMin >> 10) ||
      kdf.memlimitKiB > KdfParams::kMaxMemlimitKiB) {
    return fail(Errc::kInvalidArgument, "keystore: Argon2id parameters out of range (opslimit 1.." +
                                            std::to_string(KdfParams::kMaxOpslimit) +
                                            ", memlimit 8 KiB..4 GiB)");
  }
  return {};
}

Result<Header> decodeHeader(ByteView file) {
  if (file.size() < kFileSize) {
    return fail(Errc::kTruncated, "keystore: file is " + std::to_string(file.size()) +
                                      " bytes, expected " + std::to_string(kFileSize));
  }
  if (file.size() > kFileSize) {
    return fail(Errc::kTrailingData, "keystore: file is longer than " +
                                         std::to_string(kFileSize) + " bytes");
  }
  if (!std::equal(kMagic.begin(), kMagic.end(), file.begin())) {
    return fail(Errc::kMalformed, "keystore: not an Aether keystore (bad magic)");
  }
  const std::uint8_t* p = file.data() + kMagic.size();
  if (p[0] != kFormatVersion) {
    return fail(Errc::kUnsupported, "keystore: format version " + std::to_string(p[0]) +
                                        " is not supported (this build reads version 1)");
  }
  Header h;
  if (p[1] != static_cast<std::uint8_t>(KeystoreProtection::kSealed) &&
      p[1] != static_cast<std::uint8_t>(KeystoreProtection::kInsecureDev)) {
    return fail(Errc::kUnsupported, "keystore: unknown protection mode " + std::to_string(p[1]));
  }
  h.protection = static_cast<KeystoreProtection>(p[1]);
  if (p[2] != kKdfArgon2id13) {
    return fail(Errc::kUnsupported, "keystore: unknown KDF " + std::to_string(p[2]));
  }
  if (p[3] != kAeadXChaCha20Poly1305) {
    return fail(Errc::kUnsupported, "keystore: unknown cipher " + std::to_string(p[3]));
  }
  h.kdf.opslimit = getU32(p + 4);
  h.kdf.memlimitKiB = getU32(p + 8);
  if (h.kdf.opslimit < crypto::kArgon2OpsMin || h.kdf.memlimitKiB < (crypto::kArgon2MemMin >> 10)) {
    return fail(Errc::kMalformed, "keystore: Argon2id parameters below the minimum");
  }
  if (h.kdf.opslimit > KdfParams::kMaxOpslimit || h.kdf.memlimitKiB > KdfParams::kMaxMemlimitKiB) {
    return fail(Errc::kLimitExceeded, "keystore: Argon2id parameters above what we accept "
                                      "(opslimit " + std::to_string(h.kdf.opslimit) +
                                          ", memlimit " + std::to_string(h.kdf.memlimitKiB) +
                                          " KiB)");
  }
  p += 12;
  std::memcpy(h.salt.data(), p, h.salt.size());
  p += h.salt.size();
  std::memcpy(h.nonce.data(), p, h.nonce.size());
  p += h.nonce.size();
  std::memcpy(h.publicKey.data(), p, h.publicKey.size());
  if (auto ok = crypto::ed25519ValidatePublicKey(h.publicKey); !ok) {
    return withContext(std::move(ok).error(), "keystore: public key");
  }
  return h;
}

std::unexpected<Error> errnoStatus(std::string_view what, const fs::path& path, int err) {
  Errc code = Errc::kIo;
  if (err == ENOENT) code = Errc::kNotFound;
  if (err == EACCES || err == EPERM || err == EROFS) code = Errc::kPermissionDenied;
  if (err == EEXIST) code = Errc::kAlreadyExists;
  return fail(code, "keystore: " + std::string(what) + " " + path.string() + ": " +
                        std::strerror(err));
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

struct FileRead {
  Bytes bytes;
  bool looseFilePermissions = false;
};

Result<FileRead> readFile(const fs::path& path) {
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) return errnoStatus("cannot open", path, errno);
  struct stat st;
  if (::fstat(f.fd, &st) != 0) return errnoStatus("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) {
    return fail(Errc::kIo, "keystore: " + path.string() + " is not a regular file");
  }
  FileRead r;
  r.looseFilePermissions = (st.st_mode & 077) != 0;
  r.bytes.resize(kFileSize + 1);  // one more, to notice trailing data
  std::size_t have = 0;
  while (have < r.bytes.size()) {
    ssize_t n = ::read(f.fd, r.bytes.data() + have, r.bytes.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errnoStatus("cannot read", path, errno);
    if (n == 0) break;
    have += static_cast<std::size_t>(n);
  }
  r.bytes.resize(have);
  return r;
}

Status fsyncDir(const fs::path& dir) {
  Fd d;
  d.fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d.fd < 0) return errnoStatus("cannot open directory", dir, errno);
  if (::fsync(d.fd) != 0) return errnoStatus("cannot fsync directory", dir, errno);
  return {};
}

// Creates the keystore directory with mode 0700. A directory that already exists keeps its
// mode: it may be one the user named (`aether id new --out DIR`), not ours to change.
Status ensureDir(const fs::path& dir) {
  std::error_code ec;
  bool created = fs::create_directories(dir, ec);
  if (ec) return errnoStatus("cannot create directory", dir, ec.value());
  if (created && ::chmod(dir.c_str(), 0700) != 0) {
    return errnoStatus("cannot chmod 0700", dir, errno);
  }
  return {};
}

enum class Replace { kNo, kYes };

// Writes <dir>/node.key so that a crash leaves either the old state or the complete new file:
// temp file (0600, O_EXCL) -> write -> fsync -> rename (or a no-replace rename) -> fsync dir.
Status writeAtomically(const fs::path& dir, ByteView data, Replace replace, crypto::Rng& rng) {
  AE_TRY(ensureDir(dir));
  std::array<std::uint8_t, 8> tag;
  rng.fill(tag);
  const fs::path tmp = dir / ("." + std::string(Keystore::kFileName) + ".tmp-" +
                              std::to_string(::getpid()) + "-" + hexEncode(tag));
  const fs::path target = dir / Keystore::kFileName;
  {
    Fd f;
    f.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (f.fd < 0) return errnoStatus("cannot create", tmp, errno);
    std::size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(f.fd, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        Status s = errnoStatus("cannot write", tmp, errno);
        ::unlink(tmp.c_str());
        return s;
      }
      done += static_cast<std::size_t>(n);
    }
    if (::fsync(f.fd) != 0) {
      Status s = errnoStatus("cannot fsync", tmp, errno);
      ::unlink(tmp.c_str());
      return s;
    }
    int fd = f.fd;
    f.fd = -1;
    if (::close(fd) != 0) {
      Status s = errnoStatus("cannot close", tmp, errno);
      ::unlink(tmp.c_str());
      return s;
    }
  }
  int rc;
  if (replace == Replace::kYes) {
    rc = ::rename(tmp.c_str(), target.c_str());
  } else {
    rc = ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP)) {
      // Filesystems without RENAME_NOREPLACE: link() also fails if the target exists.
      rc = ::link(tmp.c_str(), target.c_str());
      if (rc == 0) ::unlink(tmp.c_str());
    }
  }
  if (rc != 0) {
    Status s = errno == EEXIST ? fail(Errc::kAlreadyExists,
                                      "keystore: " + target.string() + " already exists")
                               : errnoStatus("cannot rename into", target, errno);
    ::unlink(tmp.c_str());
    return s;
  }
  return fsyncDir(dir);
}

KeystoreInfo infoFor(const fs::path& file, const Header& h, bool loose) {
  KeystoreInfo info;
  info.path = file;
  info.protection = h.protection;
  info.kdf = h.kdf;
  info.publicKey = h.publicKey;
  info.did = didKeyFromEd25519(h.publicKey);
  info.looseFilePermissions = loose;
  return info;
}

Result<crypto::SecretBytes> deriveKey(const Header& h, ByteView passphrase) {
  return crypto::argon2id(passphrase, h.salt, h.kdf.opslimit,
                          std::size_t{h.kdf.memlimitKiB} << 10, crypto::kAeadKeySize);
}

// Seals `seed` into a complete file image.
Result<Bytes> sealFile(ByteView seed, ByteView passphrase, const KdfParams& kdf,
                       KeystoreProtection protection, const crypto::Ed25519PublicKey& publicKey,
                       crypto::Rng& rng) {
  Header h;
  h.protection = protection;
  h.kdf = kdf;
  h.publicKey = publicKey;
  rng.fill(h.salt);
  rng.fill(h.nonce);
  Bytes file = encodeHeader(h);
  AE_ASSIGN_OR_RETURN(crypto::SecretBytes key, deriveKey(h, passphrase));
  file.resize(kFileSize);
  std::span<std::uint8_t> sealed(file.data() + kHeaderSize, kSealedSeedSize);
  AE_TRY(crypto::xchacha20poly1305SealInto(key.view(), h.nonce, ByteView(file).first(kHeaderSize),
                                           seed, sealed));
  return file;
}

}  // namespace

KdfParams KdfParams::interactive() {
  return {static_cast<std::uint32_t>(crypto::kArgon2OpsInteractive),
          static_cast<std::uint32_t>(crypto::kArgon2MemInteractive >> 10)};
}

KdfParams KdfParams::moderate() {
  return {static_cast<std::uint32_t>(crypto::kArgon2OpsModerate),
          static_cast<std::uint32_t>(crypto::kArgon2MemModerate >> 10)};
}

Result<Keystore> Keystore::createFile(const fs::path& dir, ByteView seed, ByteView passphrase,
                                      const KdfParams& kdf, KeystoreProtection protection,
                                      crypto::Rng& rng) {
  AE_ASSIGN_OR_RETURN(crypto::Ed25519KeyPair keyPair, crypto::Ed25519KeyPair::fromSeed(seed));
  const fs::path file = dir / kFileName;
  std::error_code ec;
  if (fs::exists(file, ec)) {  // fail before the slow KDF; the no-replace rename is the real guard
    return fail(Errc::kAlreadyExists, "keystore: " + file.string() + " already exists");
  }
  AE_ASSIGN_OR_RETURN(Bytes image,
                      sealFile(seed, passphrase, kdf, protection, keyPair.publicKey(), rng));
  AE_TRY(writeAtomically(dir, image, Replace::kNo, rng));
  AE_ASSIGN_OR_RETURN(Header h, decodeHeader(image));
  return Keystore(infoFor(file, h, false), std::move(keyPair));
}

Result<Keystore> Keystore::importSeed(const fs::path& dir, ByteView seed, ByteView passphrase,
                                      const KdfParams& kdf, crypto::Rng& rng) {
  if (passphrase.empty()) {
    return fail(Errc::kInvalidArgument,
                "keystore: empty passphrase (use createInsecureDev for an unprotected dev key)");
  }
  AE_TRY(checkKdfForCreate(kdf));
  return createFile(dir, seed, passphrase, kdf, KeystoreProtection::kSealed, rng);
}

Result<Keystore> Keystore::create(const fs::path& dir, ByteView passphrase, const KdfParams& kdf,
                                  crypto::Rng& rng) {
  AE_ASSIGN_OR_RETURN(crypto::SecretBytes seed,
                      crypto::SecretBytes::allocate(crypto::kEd25519SeedSize));
  rng.fill(seed.mutableView());
  return importSeed(dir, seed.view(), passphrase, kdf, rng);
}

Result<Keystore> Keystore::createInsecureDev(const fs::path& dir, crypto::Rng& rng) {
  AE_ASSIGN_OR_RETURN(crypto::SecretBytes seed,
                      crypto::SecretBytes::allocate(crypto::kEd25519SeedSize));
  rng.fill(seed.mutableView());
  return createFile(dir, seed.view(), asBytes(kInsecureDevPassphrase), kInsecureDevKdf,
                    KeystoreProtection::kInsecureDev, rng);
}

Result<KeystoreInfo> Keystore::inspect(const fs::path& dir) {
  const fs::path file = dir / kFileName;
  AE_ASSIGN_OR_RETURN(FileRead read, readFile(file));
  AE_ASSIGN_OR_RETURN(Header h, decodeHeader(read.bytes));
  return infoFor(file, h, read.looseFilePermissions);
}

Result<Keystore> Keystore::unlock(const fs::path& dir, ByteView passphrase) {
  const fs::path file = dir / kFileName;
  AE_ASSIGN_OR_RETURN(FileRead read, readFile(file));
  AE_ASSIGN_OR_RETURN(Header h, decodeHeader(read.bytes));
  if (h.protection == KeystoreProtection::kInsecureDev) {
    passphrase = asBytes(kInsecureDevPassphrase);
  }
  AE_ASSIGN_OR_RETURN(crypto::SecretBytes key, deriveKey(h, passphrase));
  AE_ASSIGN_OR_RETURN(crypto::SecretBytes seed,
                      crypto::SecretBytes::allocate(crypto::kEd25519SeedSize));
  ByteView image(read.bytes);
  auto opened = crypto::xchacha20poly1305OpenInto(key.view(), h.nonce, image.first(kHeaderSize),
                                                  image.subspan(kHeaderSize),
                                                  seed.mutableView());
  if (!opened) {
    if (opened.error().code == Errc::kAuthFailed) {
      return fail(Errc::kAuthFailed, "keystore: wrong passphrase for " + file.string() +
                                         " (or the file was modified)");
    }
    return withContext(std::move(opened).error(), "keystore");
  }
  AE_ASSIGN_OR_RETURN(crypto::Ed25519KeyPair keyPair,
                      crypto::Ed25519KeyPair::fromSeed(seed.view()));
  if (keyPair.publicKey() != h.publicKey) {
    return fail(Errc::kIntegrity, "keystore: sealed seed does not match the public key in "
                                  "the header");
  }
  return Keystore(infoFor(file, h, read.looseFilePermissions), std::move(keyPair));
}

Status Keystore::changePassphrase(const fs::path& dir, ByteView oldPassphrase,
                                  ByteView newPassphrase, const KdfParams& kdf,
                                  crypto::Rng& rng) {
  if (newPassphrase.empty()) {
    return fail(Errc::kInvalidArgument, "keystore: empty new passphrase");
  }
  AE_TRY(checkKdfForCreate(kdf));
  AE_ASSIGN_OR_RETURN(Keystore current, unlock(dir, oldPassphrase));
  AE_ASSIGN_OR_RETURN(crypto::SecretBytes seed, current.keyPair().seed());
  AE_ASSIGN_OR_RETURN(Bytes image, sealFile(seed.view(), newPassphrase, kdf,
                                            KeystoreProtection::kSealed, current.publicKey(), rng));
  return writeAtomically(dir, image, Replace::kYes, rng);
}

}  // namespace aether::identity
