// CAR v1 writer and verifying streaming reader (docs/formats/unixfs-car.md).
#include <algorithm>
#include <cstring>
#include <string>

#include "store/store.h"

namespace aether::store {

using codec::Cid;

Result<CarWriter> CarWriter::create(ByteSink& out, std::span<const Cid> roots) {
  codec::Value::List list;
  list.reserve(roots.size());
  for (const Cid& c : roots) list.emplace_back(c);
  codec::Value::Map header;
  header.emplace("roots", codec::Value(std::move(list)));
  header.emplace("version", codec::Value(1));
  AE_ASSIGN_OR_RETURN(Bytes encoded, codec::encodeDagCbor(codec::Value(std::move(header))));
  Bytes prefix;
  varintAppend(prefix, encoded.size());
  AE_TRY(out.write(prefix));
  AE_TRY(out.write(encoded));
  return CarWriter(out);
}

Status CarWriter::put(const Cid& cid, ByteView block) {
  scratch_.clear();
  const Bytes cid_bytes = cid.toBytes();
  varintAppend(scratch_, cid_bytes.size() + block.size());
  append(scratch_, cid_bytes);
  AE_TRY(out_->write(scratch_));
  AE_TRY(out_->write(block));
  ++blocks_;
  return {};
}

// ---- reader ---------------------------------------------------------------------------------------

// Makes at least `want` unread bytes available unless the input ends first. Returns whether any
// unread byte is available at all. The buffer only grows (to the largest section seen).
Result<bool> CarReader::fill(std::size_t want) {
  if (end_ - pos_ >= want) return true;
  if (pos_ > 0) {
    std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  if (buf_.size() < want) buf_.resize(std::max<std::size_t>(want, 64 * 1024));
  while (!eof_ && end_ < want) {
    auto n = in_->read(std::span<std::uint8_t>(buf_.data() + end_, buf_.size() - end_));
    if (!n) return withContext(std::move(n).error(), "car: read");
    if (*n > buf_.size() - end_) return fail(Errc::kInternal, "car: byte source returned more than asked");
    if (*n == 0) eof_ = true;
    end_ += *n;
  }
  return end_ > pos_;
}

// nullopt: clean end of input before the first byte.
Result<std::optional<std::uint64_t>> CarReader::readVarint() {
  AE_ASSIGN_OR_RETURN(const bool any, fill(kMaxVarintBytes + 1));
  if (!any) return std::optional<std::uint64_t>();
  auto v = varintDecode(ByteView(buf_).subspan(pos_, end_ - pos_));
  if (!v) return withContext(std::move(v).error(), "car: length");
  pos_ += v->length;
  return std::optional<std::uint64_t>(v->value);
}

Result<Bytes> CarReader::readExactly(std::size_t n, std::string_view what) {
  AE_TRY(fill(n));
  if (end_ - pos_ < n) {
    return fail(Errc::kTruncated, "car: " + std::string(what) + " needs " + std::to_string(n) + " bytes, " +
                                      std::to_string(end_ - pos_) + " left");
  }
  Bytes out(buf_.begin() + static_cast<std::ptrdiff_t>(pos_), buf_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
  pos_ += n;
  return out;
}

Result<CarReader> CarReader::open(ByteSource& in, const CarLimits& limits) {
  CarReader r(in, limits);
  AE_ASSIGN_OR_RETURN(auto len, r.readVarint());
  if (!len) return fail(Errc::kTruncated, "car: empty input");
  if (*len == 0) return fail(Errc::kMalformed, "car: zero-length header");
  if (*len > limits.max_header) {
    return fail(Errc::kLimitExceeded, "car: header of " + std::to_string(*len) + " bytes");
  }
  AE_ASSIGN_OR_RETURN(Bytes header_bytes, r.readExactly(static_cast<std::size_t>(*len), "header"));
  auto header = codec::decodeDagCbor(header_bytes);
  if (!header) {
    Error e = std::move(header).error();
    if (e.code != Errc::kLimitExceeded) e.code = Errc::kMalformed;
    return withContext(std::move(e), "car header");
  }
  const codec::Value::Map* map = header->asMap();
  if (map == nullptr) return fail(Errc::kMalformed, "car header: not a map");
  const codec::Value* version = header->find("version");
  if (version == nullptr) return fail(Errc::kMalformed, "car header: no version");
  const auto v = version->asUint64();
  if (!v) return fail(Errc::kMalformed, "car header: version is not an unsigned integer");
  if (*v == 2) return fail(Errc::kUnsupported, "car: version 2 (only CARv1 is read)");
  if (*v != 1) return fail(Errc::kMalformed, "car: version " + std::to_string(*v));
  const codec::Value* roots = header->find("roots");
  if (roots == nullptr || roots->asList() == nullptr) return fail(Errc::kMalformed, "car header: roots is not a list");
  if (map->size() != 2) return fail(Errc::kMalformed, "car header: keys other than roots and version");
  for (const codec::Value& root : *roots->asList()) {
    const Cid* c = root.asLink();
    if (c == nullptr) return fail(Errc::kMalformed, "car header: a root is not a CID");
    r.roots_.push_back(*c);
  }
  return r;
}

Result<std::optional<CarBlock>> CarReader::next() {
  AE_ASSIGN_OR_RETURN(auto len, readVarint());
  if (!len) return std::optional<CarBlock>();
  if (*len == 0) return fail(Errc::kMalformed, "car: zero-length section");
  if (*len > limits_.max_section) {
    return fail(Errc::kLimitExceeded, "car: section of " + std::to_string(*len) + " bytes");
  }
  AE_ASSIGN_OR_RETURN(Bytes section, readExactly(static_cast<std::size_t>(*len), "section"));
  std::size_t used = 0;
  auto cid = Cid::readPrefix(section, &used);
  if (!cid) {
    Error e = std::move(cid).error();
    if (e.code != Errc::kUnsupported) e.code = Errc::kMalformed;
    return withContext(std::move(e), "car section CID");
  }
  section.erase(section.begin(), section.begin() + static_cast<std::ptrdiff_t>(used));
  auto ok = verifyBlock(*cid, section);
  if (!ok) return withContext(std::move(ok).error(), "car");
  return std::optional<CarBlock>(CarBlock{std::move(*cid), std::move(section)});
}

}  // namespace aether::store
