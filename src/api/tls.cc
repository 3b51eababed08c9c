// The node's self-signed TLS certificate (OpenSSL 3 X509 API) and its pinned fingerprint.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "api/api.h"
#include "api/internal.h"

namespace aether::api {

namespace fs = std::filesystem;

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

constexpr std::string_view kTlsDir = "tls";
constexpr std::string_view kCertFile = "cert.pem";
constexpr std::string_view kKeyFile = "key.pem";

std::unexpected<Error> sslFail(std::string_view what) {
  return fail(Errc::kCrypto, "tls: " + std::string(what) + " failed");
}

std::string bioString(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

Result<std::string> readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::kIo, "cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return fail(Errc::kIo, "cannot read " + path.string());
  std::string s = ss.str();
  if (s.size() > 64 * 1024) return fail(Errc::kLimitExceeded, path.string() + " is larger than 64 KiB");
  return s;
}

Result<std::string> fingerprintOf(X509* cert) {
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert, &der);
  if (n <= 0) return sslFail("i2d_X509");
  const auto digest = crypto::sha256(ByteView(der, static_cast<std::size_t>(n)));
  OPENSSL_free(der);
  return "sha256:" + hexEncode(digest);
}

Result<TlsCertificate> generate() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return sslFail("P-256 key generation");
  X509Ptr cert(X509_new());
  if (!cert) return sslFail("X509_new");
  if (X509_set_version(cert.get(), 2) != 1) return sslFail("X509_set_version");
  Bytes serial = crypto::randomBytes(16);
  serial[0] &= 0x7f;  // positive
  serial[0] |= 0x01;  // and no leading zero byte
  BnPtr bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return sslFail("serial number");
  }
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600) == nullptr) {
    return sslFail("validity");
  }
  if (X509_set_pubkey(cert.get(), key.get()) != 1) return sslFail("X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("aether node"), -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1) {
    return sslFail("subject name");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  const std::pair<int, const char*> exts[] = {
      {NID_subject_alt_name, "IP:127.0.0.1,IP:::1,DNS:localhost"},
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, "serverAuth"},
  };
  for (const auto& [nid, value] : exts) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr) return sslFail("X509V3_EXT_conf_nid");
    const int ok = X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
    if (ok != 1) return sslFail("X509_add_ext");
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) return sslFail("X509_sign");

  BioPtr certBio(BIO_new(BIO_s_mem()));
  BioPtr keyBio(BIO_new(BIO_s_mem()));
  if (!certBio || !keyBio || PEM_write_bio_X509(certBio.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(keyBio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return sslFail("PEM encoding");
  }
  TlsCertificate out;
  out.certPem = bioString(certBio.get());
  out.keyPem = bioString(keyBio.get());
  AE_ASSIGN_OR_RETURN(out.fingerprint, fingerprintOf(cert.get()));
  return out;
}

}  // namespace

Status writeFileAtomic(const fs::path& path, std::string_view data, int mode) {
  const fs::path tmp = path.string() + ".tmp." + hexEncode(crypto::randomBytes(6));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return fail(Errc::kIo, "cannot create " + tmp.string());
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail(Errc::kIo, "cannot write " + tmp.string());
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return fail(Errc::kIo, "cannot sync " + tmp.string());
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return fail(Errc::kIo, "cannot rename " + tmp.string() + " to " + path.string());
  }
  const int dfd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

Status makePrivateDir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(Errc::kIo, "cannot create " + dir.string() + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) return fail(Errc::kIo, "cannot chmod 0700 " + dir.string());
  return {};
}

Result<TlsCertificate> loadTlsCertificate(const fs::path& home) {
  const fs::path dir = home / kTlsDir;
  std::error_code ec;
  const bool haveCert = fs::exists(dir / kCertFile, ec);
  const bool haveKey = fs::exists(dir / kKeyFile, ec);
  if (!haveCert && !haveKey) return fail(Errc::kNotFound, "no TLS certificate in " + dir.string());
  if (!haveCert || !haveKey) {
    return fail(Errc::kMalformed, dir.string() + " holds only one of cert.pem and key.pem; move it away to regenerate");
  }
  TlsCertificate out;
  AE_ASSIGN_OR_RETURN(out.certPem, readFile(dir / kCertFile));
  AE_ASSIGN_OR_RETURN(out.keyPem, readFile(dir / kKeyFile));
  BioPtr certBio(BIO_new_mem_buf(out.certPem.data(), static_cast<int>(out.certPem.size())));
  BioPtr keyBio(BIO_new_mem_buf(out.keyPem.data(), static_cast<int>(out.keyPem.size())));
  if (!certBio || !keyBio) return sslFail("BIO_new_mem_buf");
  X509Ptr cert(PEM_read_bio_X509(certBio.get(), nullptr, nullptr, nullptr));
  if (!cert) return fail(Errc::kMalformed, (dir / kCertFile).string() + " is not a PEM certificate");
  PkeyPtr key(PEM_read_bio_PrivateKey(keyBio.get(), nullptr, nullptr, nullptr));
  if (!key) return fail(Errc::kMalformed, (dir / kKeyFile).string() + " is not a PEM private key");
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return fail(Errc::kMalformed, "the TLS key in " + dir.string() + " does not match its certificate");
  }
  AE_ASSIGN_OR_RETURN(out.fingerprint, fingerprintOf(cert.get()));
  return out;
}

Result<TlsCertificate> ensureTlsCertificate(const fs::path& home) {
  auto loaded = loadTlsCertificate(home);
  if (loaded || loaded.error().code != Errc::kNotFound) return loaded;
  const fs::path dir = home / kTlsDir;
  AE_TRY(makePrivateDir(dir));
  AE_ASSIGN_OR_RETURN(TlsCertificate fresh, generate());
  // Key first: a crash between the two writes leaves a key without a certificate, which
  // loadTlsCertificate reports instead of silently pairing a new key with an old certificate.
  AE_TRY(writeFileAtomic(dir / kKeyFile, fresh.keyPem, 0600));
  AE_TRY(writeFileAtomic(dir / kCertFile, fresh.certPem, 0644));
  return fresh;
}

}  // namespace aether::api
