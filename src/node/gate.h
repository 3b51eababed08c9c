// Private to src/node: the gate an app run hands the sandbox. Every host call is checked against
// the app's UCAN by the node's TokenVerifier (a cache lookup after the first full verification).
#pragma once

#include <string>
#include <string_view>

#include "cap/cap.h"
#include "sandbox/sandbox.h"

namespace aether::node {

class TokenGate final : public sandbox::Gate {
 public:
  // `verifier` must outlive the gate. An empty token denies everything.
  TokenGate(cap::TokenVerifier& verifier, std::string token, std::string holder)
      : verifier_(verifier), token_(std::move(token)), holder_(std::move(holder)) {}

  // The resource is normalized (cap::normalizeResource) before the check; for http.* rights the
  // URL's query is dropped first (a query is not part of a resource). Unparseable resources are
  // refused, never passed through.
  Status check(std::string_view right, std::string_view resource) override;

 private:
  cap::TokenVerifier& verifier_;
  std::string token_;
  std::string holder_;
};

}  // namespace aether::node
