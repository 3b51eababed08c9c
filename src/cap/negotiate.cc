// Negotiation of what an app gets (manifest x request x space policy) and the consent text.
#include <algorithm>
#include <set>
#include <string>
#include <string_view>

#include "cap/cap.h"
#include "cap/internal.h"

namespace aether::cap {
namespace {

std::string quotedCap(const Capability& c) { return "\"" + c.toString() + "\""; }

std::string ruleSuffix(const PolicyRule& rule) {
  return rule.reason.empty() ? std::string() : ": " + terminalSafe(rule.reason);
}

void resolveLimit(std::string_view name, const std::optional<std::uint64_t>& asked,
                  const std::optional<std::uint64_t>& policyDefault,
                  const std::optional<std::uint64_t>& policyCeiling, std::uint64_t builtinDefault,
                  std::uint64_t builtinCeiling, std::string (*format)(std::uint64_t),
                  std::uint64_t& out, Denial& denial) {
  const std::uint64_t ceiling = policyCeiling.value_or(builtinCeiling);
  if (asked) {
    if (*asked > ceiling) {
      denial.refusals.push_back(Refusal{
          Refusal::Kind::kLimitAboveCeiling, std::nullopt, std::string(name),
          "limit " + std::string(name) + " = " + format(*asked) +
              " is above what this space allows (" + format(ceiling) + ")"});
      return;
    }
    out = *asked;
    return;
  }
  out = std::min(policyDefault.value_or(builtinDefault), ceiling);
}

std::string plainNumber(std::uint64_t v) { return std::to_string(v); }

// "create and change" + " " + "keys under app/" ...
std::string_view verbFor(const Capability& c) {
  const std::string_view ns = c.rightNamespace();
  const std::string_view a = c.ability();
  if (ns == "kv" || ns == "fs") {
    if (a == "read") return "read";
    if (a == "write") return "create and change";
    if (a == "delete") return "delete";
    if (a == "list") return "list";
    return "read, change, delete and list";
  }
  if (ns == "http") {
    if (a == "get") return "send HTTP GET requests to";
    if (a == "head") return "send HTTP HEAD requests to";
    if (a == "post") return "send data with HTTP POST to";
    if (a == "put") return "send data with HTTP PUT to";
    if (a == "patch") return "send data with HTTP PATCH to";
    if (a == "delete") return "send HTTP DELETE requests to";
    return "send any HTTP request to";
  }
  if (ns == "net") {
    if (a == "dial") return "open peer-to-peer connections with";
    if (a == "listen") return "accept peer-to-peer connections with";
    return "open and accept peer-to-peer connections with";
  }
  if (ns == "pubsub") {
    if (a == "publish") return "publish messages to";
    if (a == "subscribe") return "receive messages from";
    return "publish and receive messages on";
  }
  if (ns == "identity") {
    if (a == "register") return "register DID documents with the node's identity service, for";
    return "sign data with its own app key, for";
  }
  if (ns == "cred") {
    if (a == "issue") return "have the node issue verifiable credentials of type";
    if (a == "verify") return "have the node verify verifiable credentials of type";
    return "have the node issue and verify verifiable credentials of type";
  }
  if (ns == "blocks") {
    if (a == "put") return "store content-addressed blocks in your vault, for";
    if (a == "get") return "read content-addressed blocks from your vault, for";
    return "store and read content-addressed blocks in your vault, for";
  }
  if (ns == "streams") {
    if (a == "append") return "append signed entries to";
    if (a == "read") return "read signed entries of";
    return "append to and read";
  }
  if (ns == "events") return "record audit events named";
  return "use";
}

std::string objectFor(const Capability& c) {
  const std::string prefix(c.resourcePrefix());
  const bool all = c.isResourceGlob() && (prefix.empty() || prefix == "/");
  switch (c.resourceKind()) {
    case ResourceKind::kKey:
      if (all) return "all of its keys";
      return c.isResourceGlob() ? "its keys under " + prefix : "its key " + c.resource();
    case ResourceKind::kPath:
      if (all) return "all of its files";
      return c.isResourceGlob() ? "its files under " + prefix : "its file " + c.resource();
    case ResourceKind::kUrl:
      return c.isResourceGlob() ? "any URL under " + prefix : c.resource();
    case ResourceKind::kProtocol:
      if (all) return "any protocol";
      return c.isResourceGlob() ? "protocols under " + prefix : "protocol " + c.resource();
    case ResourceKind::kTopic:
      if (all) return "any topic";
      return c.isResourceGlob() ? "topics under " + prefix : "topic " + c.resource();
  }
  return c.resource();
}

}  // namespace

std::vector<Capability> Approval::capabilities() const {
  std::vector<Capability> out;
  out.reserve(grants.size());
  for (const Grant& g : grants) out.push_back(g.capability);
  return out;
}

std::string Denial::describe() const {
  std::string out;
  for (const Refusal& r : refusals) {
    if (!out.empty()) out += '\n';
    out += "refused: " + r.why;
  }
  return out;
}

Error Denial::toError() const { return Error{Errc::kPermissionDenied, describe()}; }

std::expected<Approval, Denial> negotiate(const Manifest& manifest,
                                          std::span<const Capability> requested,
                                          const Policy& policy) {
  Approval approval;
  Denial denial;
  std::set<Capability> seen;
  for (const Capability& c : requested) {
    if (!seen.insert(c).second) continue;
    const auto declared = std::find_if(
        manifest.capabilities.begin(), manifest.capabilities.end(),
        [&c](const ManifestCapability& m) { return covers(m.capability, c); });
    if (declared == manifest.capabilities.end()) {
      denial.refusals.push_back(Refusal{Refusal::Kind::kNotDeclared, c, {},
                                        quotedCap(c) + " is not declared in the app's manifest"});
      continue;
    }
    const auto deny = std::find_if(policy.deny.begin(), policy.deny.end(),
                                   [&c](const PolicyRule& r) { return overlaps(r.capability, c); });
    if (deny != policy.deny.end()) {
      denial.refusals.push_back(Refusal{Refusal::Kind::kDenied, c, {},
                                        quotedCap(c) + " is denied by the space policy rule " +
                                            quotedCap(deny->capability) + ruleSuffix(*deny)});
      continue;
    }
    const bool allowed = std::any_of(policy.allow.begin(), policy.allow.end(),
                                     [&c](const PolicyRule& r) { return covers(r.capability, c); });
    if (!allowed) {
      denial.refusals.push_back(Refusal{Refusal::Kind::kNotAllowed, c, {},
                                        quotedCap(c) + " is not allowed by any space policy rule"});
      continue;
    }
    approval.grants.push_back(Grant{c, declared->reason});
  }
  resolveLimit("memory", manifest.limits.memory, policy.defaults.memory, policy.ceilings.memory,
               kDefaultLimits.memory, kMaxLimits.memory, formatSize, approval.limits.memory, denial);
  resolveLimit("fuel", manifest.limits.fuel, policy.defaults.fuel, policy.ceilings.fuel,
               kDefaultLimits.fuel, kMaxLimits.fuel, plainNumber, approval.limits.fuel, denial);
  resolveLimit("fs_quota", manifest.limits.fsQuota, policy.defaults.fsQuota, policy.ceilings.fsQuota,
               kDefaultLimits.fsQuota, kMaxLimits.fsQuota, formatSize, approval.limits.fsQuota, denial);
  resolveLimit("cap_ttl", manifest.limits.capTtl, policy.defaults.capTtl, policy.ceilings.capTtl,
               kDefaultLimits.capTtl, kMaxLimits.capTtl, formatDuration, approval.limits.capTtl,
               denial);
  if (!denial.refusals.empty()) return std::unexpected(std::move(denial));
  std::sort(approval.grants.begin(), approval.grants.end(),
            [](const Grant& a, const Grant& b) { return a.capability < b.capability; });
  return approval;
}

std::expected<Approval, Denial> negotiate(const Manifest& manifest, const Policy& policy) {
  std::vector<Capability> all;
  for (const ManifestCapability& c : manifest.capabilities) all.push_back(c.capability);
  return negotiate(manifest, all, policy);
}

std::string describeConsent(const Manifest& manifest, const Approval& approval) {
  std::string out = terminalSafe(manifest.name) + " " + terminalSafe(manifest.version.toString());
  if (approval.grants.empty()) {
    out += " asks for no capabilities: it can compute, but not reach data, files, the network or "
           "other apps.\n";
  } else {
    out += " will be able to:\n";
    for (const Grant& g : approval.grants) {
      out += "  - " + std::string(verbFor(g.capability)) + " " +
             terminalSafe(objectFor(g.capability)) + "   [" + terminalSafe(g.capability.toString()) +
             "]\n";
      if (!g.reason.empty()) out += "      why: \"" + terminalSafe(g.reason) + "\"\n";
    }
  }
  const EffectiveLimits& l = approval.limits;
  out += "Limits: memory " + formatSize(l.memory) + ", fuel " + std::to_string(l.fuel) +
         " per call, file storage " + formatSize(l.fsQuota) + "; the grant lasts " +
         formatDuration(l.capTtl) + " before it must be renewed.\n";
  return out;
}

}  // namespace aether::cap
