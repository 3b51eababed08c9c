// Node::openVault: the vault lives in <home>/vault under a key derived from the node key.
#include "node/node.h"

namespace aether::node {

Result<std::unique_ptr<store::Vault>> Node::openVault(const store::VaultOptions& options) const {
  AE_ASSIGN_OR_RETURN(crypto::SecretBytes seed, key().seed());
  AE_ASSIGN_OR_RETURN(crypto::SecretBytes vault_key, store::vaultKeyFromSeed(seed.view()));
  return store::Vault::open(home() / "vault", vault_key.view(), options);
}

}  // namespace aether::node
