// libFuzzer target: parseManifest, parsePolicy and the capability grammar on arbitrary text.
// Besides "no crash, no exception, no sanitizer report" it checks the promises of cap.h: every
// manifest / policy error carries a "line L, column C" location, toToml re-parses to an equal
// value and is a fixed point, and an accepted capability is its own normal form, covers itself
// and survives the UCAN mapping.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cap/cap.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void checkCapability(const aether::cap::Capability& c) {
  using namespace aether::cap;
  check(Capability::parse(c.toString()).value() == c);
  check(normalizeResource(c.right(), c.resource()).value() == c.resource());
  check(covers(c, c) && overlaps(c, c));
  const UcanCapability u = toUcan(c);
  check(fromUcan(u.with, u.can).value() == c);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aether;
  using namespace aether::cap;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto m = parseManifest(text)) {
    const std::string canonical = toToml(*m);
    auto again = parseManifest(canonical);
    check(again.has_value());
    check(*again == *m);
    check(toToml(*again) == canonical);
    for (const ManifestCapability& c : m->capabilities) checkCapability(c.capability);
    Policy everything;
    for (const RightNamespace& ns : rightNamespaces()) {
      const std::string_view all = ns.kind == ResourceKind::kPath || ns.kind == ResourceKind::kProtocol
                                       ? "/*"
                                       : ns.kind == ResourceKind::kUrl ? "" : "*";
      if (!all.empty()) {
        everything.allow.push_back({Capability::parse(std::string(ns.name) + ".*", all).value(), ""});
      }
    }
    if (auto approval = negotiate(*m, everything)) (void)describeConsent(*m, *approval);
  } else {
    check(errorLocation(m.error()).has_value());
  }

  if (auto p = parsePolicy(text)) {
    const std::string canonical = toToml(*p);
    auto again = parsePolicy(canonical);
    check(again.has_value());
    check(*again == *p);
  } else {
    check(errorLocation(p.error()).has_value());
  }

  // "RIGHT RESOURCE" on the first line.
  const std::string_view line = text.substr(0, text.find('\n'));
  if (auto c = Capability::parse(line)) checkCapability(*c);
  if (const std::size_t sp = line.find(' '); sp != std::string_view::npos) {
    if (auto n = normalizeResource(line.substr(0, sp), line.substr(sp + 1))) {
      auto c = Capability::parse(line.substr(0, sp), *n);
      check(c.has_value());
      checkCapability(*c);
    }
  }
  return 0;
}
