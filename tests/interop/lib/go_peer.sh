# Shared by the go-libp2p interop scripts (sourced): arguments, a work dir cleaned on exit
# (with the PIDS it started), PASS/FAIL counters, and the Go peer built from tests/interop/go.
# Sets TOOL, BUILD, HERE, GOPEER, WORK, PIDS, passed, failed; defines ok, bad, build_go_peer.
set -u
TOOL=${1:?usage: $(basename "$0") <aether_net_tool> <build dir>}
BUILD=${2:?usage: $(basename "$0") <aether_net_tool> <build dir>}
HERE=$(cd "$(dirname "$0")" && pwd)
GOPEER="$BUILD/aether-libp2p-go-peer"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
passed=0
failed=0
ok() { echo "PASS: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }

build_go_peer() {
  echo "== building the go-libp2p peer"
  if ! (cd "$HERE/go" && GOFLAGS=-mod=readonly go build -o "$GOPEER" .); then
    echo "FAIL: go build"; echo "0 passed, 1 failed"; exit 1
  fi
}
