// `aether cred issue|verify`: verifiable credentials (VC-JWT, W3C VC data model 1.1) signed by
// the node key — the operator's way to grant roles (docs/identity.md, "Credentials and scopes").
#include <iostream>
#include <iterator>

#include "cli/cli.h"
#include "identity/identity.h"

namespace aether::cli {
namespace {

struct IssueArgs {
  std::string subject;
  std::string type = "AetherRoleCredential";
  std::vector<std::string> claims;  // key=value
  std::vector<std::string> scopes;  // "RIGHT RESOURCE"
  std::int64_t ttl_days = 30;
};

int cmdIssue(const Globals& g, const IssueArgs& a) {
  api::CredentialRequest req;
  req.subject = a.subject;
  req.type = a.type;
  req.ttlSeconds = a.ttl_days * 24 * 3600;
  for (const auto& kv : a.claims) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      reportError(Error{Errc::kInvalidArgument, "--claim wants KEY=VALUE, got " + kv});
      return kExitUsage;
    }
    req.claims[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (!a.scopes.empty()) {
    nlohmann::json scopes = nlohmann::json::array();
    for (const auto& s : a.scopes) {
      auto c = cap::Capability::parse(s);
      if (!c) return reportError(Error{c.error().code, "--scope \"" + s + "\": " + c.error().message});
      scopes.push_back(c->toString());
    }
    req.claims["scopes"] = scopes;
  }
  auto n = openNode(g);
  if (!n) return reportError(n.error());
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto vc = api::issueVcJwt(n->key(), req, now, crypto::randomBytes(16));
  if (!vc) return reportError(vc.error());
  if (g.json) {
    printJson({{"credential", *vc}, {"issuer", n->did()}, {"subject", req.subject}, {"type", req.type}});
  } else {
    std::cout << *vc << "\n";
  }
  return 0;
}

struct VerifyArgs {
  std::string jwt;
  bool daemon = false;  // POST /v1/credentials/verify on the running daemon instead of offline
  ClientArgs client;
};

int cmdVerify(const Globals& g, const VerifyArgs& a) {
  std::string jwt = a.jwt;
  if (jwt == "-") {
    jwt.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  while (!jwt.empty() && (jwt.back() == '\n' || jwt.back() == '\r' || jwt.back() == ' ')) jwt.pop_back();
  if (a.daemon) {
    // The daemon resolves registered issuers too; every token may verify (cred.verify *).
    auto token = nodeBearerToken(g, a.client);
    if (!token) return token.error();
    return callDaemon(g, a.client,
                      api::HttpRequest{"POST", "/v1/credentials/verify", "application/json",
                                       nlohmann::json{{"credential", jwt}}.dump(), "Bearer " + *token});
  }
  // Offline: issuers are did:key (the node's own credentials); other DIDs need the daemon.
  api::DidResolver resolve = [](std::string_view did) -> Result<nlohmann::json> {
    if (!did.starts_with("did:key:")) {
      return fail(Errc::kUnsupported, "offline verification resolves did:key issuers only; use POST /v1/credentials/verify for " + std::string(did));
    }
    return identity::didDocument(did);
  };
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto v = api::verifyVcJwt(jwt, resolve, now);
  if (!v) return reportError(v.error());
  printJson({{"verified", true},
             {"issuer", v->issuer},
             {"subject", v->subject},
             {"id", v->id},
             {"type", v->types},
             {"claims", v->claims},
             {"expires", v->expiresAt}});
  return 0;
}

}  // namespace

void addCredCommands(CLI::App& app, Globals& g, int& rc) {
  auto* cred = app.add_subcommand("cred", "Verifiable credentials (VC-JWT) signed by the node key");
  cred->require_subcommand(1);
  static IssueArgs issue_args;
  auto* issue = cred->add_subcommand(
      "issue", "Issue a VC-JWT to SUBJECT, signed by the node key (asks for the passphrase); prints the JWT");
  issue->add_option("--subject", issue_args.subject, "The subject's DID")->required();
  issue->add_option("--type", issue_args.type, "Credential type (besides VerifiableCredential)")->capture_default_str();
  issue->add_option("--claim", issue_args.claims, "A claim of credentialSubject, KEY=VALUE; repeatable");
  issue->add_option("--scope", issue_args.scopes,
                    "An API scope the credential grants at attest (\"RIGHT RESOURCE\", e.g. \"cred.issue MemberCredential\"); repeatable");
  issue->add_option("--ttl-days", issue_args.ttl_days, "Lifetime in days")->capture_default_str()->check(CLI::Range(1, 3650));
  issue->callback([&g, &rc] { rc = cmdIssue(g, issue_args); });
  static VerifyArgs verify_args;
  auto* verify = cred->add_subcommand(
      "verify", "Verify a VC-JWT offline (did:key issuers), or with --daemon through the running daemon, and print its claims");
  verify->add_option("credential", verify_args.jwt, "The JWT, or - for standard input")->required();
  verify->add_flag("--daemon", verify_args.daemon,
                   "Ask the running daemon (POST /v1/credentials/verify; logs in with the node key first)");
  addClientOptions(verify, verify_args.client);
  verify->callback([&g, &rc] { rc = cmdVerify(g, verify_args); });
}

}  // namespace aether::cli
