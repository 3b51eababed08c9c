#include "base/base.h"

#include <gtest/gtest.h>

#include <random>

namespace aether {
namespace {

struct VarintCase {
  const char* name;
  const char* hex;
  Errc expected;
};

// Table of inputs every multiformats varint parser must reject.
const VarintCase kBadVarints[] = {
    {"empty", "", Errc::kTruncated},
    {"lone continuation", "80", Errc::kTruncated},
    {"truncated two byte", "ff", Errc::kTruncated},
    {"truncated eight byte", "ffffffffffffffff", Errc::kTruncated},
    {"non-minimal zero", "8000", Errc::kNonCanonical},
    {"non-minimal one", "8100", Errc::kNonCanonical},
    {"non-minimal 127", "ff00", Errc::kNonCanonical},
    {"non-minimal three byte", "818000", Errc::kNonCanonical},
    {"ten bytes", "ffffffffffffffffff01", Errc::kOverflow},
    {"nine continuation bytes", "ffffffffffffffffff", Errc::kOverflow},
    {"ten byte zero padded", "80808080808080808000", Errc::kOverflow},
};

TEST(Varint, RejectsBadInput) {
  for (const auto& c : kBadVarints) {
    auto bytes = hexDecode(c.hex);
    ASSERT_TRUE(bytes) << c.name;
    auto r = varintDecode(*bytes);
    ASSERT_FALSE(r) << c.name << " decoded to " << r->value;
    EXPECT_EQ(r.error().code, c.expected) << c.name << ": " << r.error().toString();
  }
}

// Vectors from the multiformats unsigned-varint spec's examples.
TEST(Varint, SpecExamples) {
  const std::pair<std::uint64_t, const char*> kCases[] = {
      {1, "01"}, {127, "7f"}, {128, "8001"}, {255, "ff01"}, {300, "ac02"}, {16384, "808001"},
      {kMaxVarintValue, "ffffffffffffffff7f"},
  };
  for (auto [value, hex] : kCases) {
    EXPECT_EQ(hexEncode(varintEncode(value)), hex);
    auto d = varintDecode(*hexDecode(hex));
    ASSERT_TRUE(d) << hex;
    EXPECT_EQ(d->value, value);
    EXPECT_EQ(d->length, std::string_view(hex).size() / 2);
    EXPECT_EQ(varintSize(value), d->length);
  }
}

TEST(Varint, DecodesPrefixOnly) {
  auto d = varintDecode(*hexDecode("ac02ff"));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->value, 300u);
  EXPECT_EQ(d->length, 2u);
}

TEST(Varint, RandomRoundTrip) {
  const auto seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 10000; ++i) {
    std::uint64_t v = rng() >> (rng() % 64);
    v &= kMaxVarintValue;
    auto enc = varintEncode(v);
    auto d = varintDecode(enc);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->value, v);
    EXPECT_EQ(d->length, enc.size());
  }
}

TEST(Hex, RejectsBadInput) {
  const char* kBad[] = {"0", "abc", "0g", "g0", "zz", " 00", "00 ", "0x00", "-1", "\xff\xff"};
  for (const char* h : kBad) {
    auto r = hexDecode(h);
    ASSERT_FALSE(r) << h;
    EXPECT_EQ(r.error().code, Errc::kMalformed);
  }
}

TEST(Hex, RoundTripMixedCase) {
  auto b = hexDecode("00FFaB10");
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, (Bytes{0x00, 0xff, 0xab, 0x10}));
  EXPECT_EQ(hexEncode(*b), "00ffab10");
}

Result<int> half(int x) {
  if (x % 2) return fail(Errc::kInvalidArgument, "odd");
  return x / 2;
}
Result<int> quarter(int x) {
  AE_ASSIGN_OR_RETURN(int h, half(x));
  AE_ASSIGN_OR_RETURN(int q, half(h));
  return q;
}
Status checkEven(int x) {
  AE_TRY(half(x));
  return {};
}

TEST(Result, MacrosPropagate) {
  EXPECT_EQ(*quarter(8), 2);
  EXPECT_EQ(quarter(6).error().code, Errc::kInvalidArgument);
  EXPECT_TRUE(checkEven(2));
  EXPECT_EQ(checkEven(3).error().toString(), "invalid-argument: odd");
}

TEST(Utf8, AcceptsWellFormedRejectsTheRest) {
  const char* kGood[] = {"", "ascii", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf"};
  for (const char* g : kGood) EXPECT_TRUE(isValidUtf8(g)) << hexEncode(asBytes(g));
  // RFC 3629 / Unicode table 3-7: overlongs, surrogates, > U+10FFFF, stray and missing continuations.
  const char* kBad[] = {"\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
                        "\xf0\x80\x80\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\x80", "\xbf", "\xc3",
                        "\xe2\x82", "\xf0\x9f\x98", "\xc3\x28", "\xff", "\xfe"};
  for (const char* b : kBad) EXPECT_FALSE(isValidUtf8(b)) << hexEncode(asBytes(b));
}

TEST(Bytes, ConstantTimeEqual) {
  EXPECT_TRUE(constantTimeEqual(asBytes("abc"), asBytes("abc")));
  EXPECT_FALSE(constantTimeEqual(asBytes("abc"), asBytes("abd")));
  EXPECT_FALSE(constantTimeEqual(asBytes("abc"), asBytes("ab")));
}

}  // namespace
}  // namespace aether
