#!/usr/bin/env bash
# GossipSub delivery latency across 20 nodes on loopback, side by side: 20 Aether nodes
# (aether_pubsub_tool mesh: one process, one thread) vs 20 go-libp2p-pubsub v0.18.0 nodes
# (tests/interop/go pubsub-mesh: one process). Same topology rule (each node dials up to 4
# random earlier ones), same load (100 messages, 20 ms apart, from random nodes); latency is
# publish -> delivery at each of the 19 other nodes.
# usage: bench/net_gossip.sh <build dir> [nodes=20] [messages=100]
set -euo pipefail
BUILD=$(cd "${1:?usage: bench/net_gossip.sh <build dir> [nodes] [messages]}" && pwd)
NODES=${2:-20}
MESSAGES=${3:-100}
HERE=$(cd "$(dirname "$0")/.." && pwd)
TOOL="$BUILD/tests/aether_pubsub_tool"
GOPEER="$BUILD/aether-libp2p-go-peer"
[ -x "$TOOL" ] || { echo "net_gossip: $TOOL missing (build the aether_pubsub_tool target)" >&2; exit 1; }
(cd "$HERE/tests/interop/go" && GOFLAGS=-mod=readonly go build -o "$GOPEER" .)
ae=$("$TOOL" mesh "$NODES" "$MESSAGES" 0)
go=$("$GOPEER" pubsub-mesh "$NODES" "$MESSAGES")
python3 - "$ae" "$go" <<'PY'
import json, sys
a, g = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"gossip delivery latency, {a['nodes']} nodes, {a['messages']} messages ({a['latency_samples']} deliveries):")
print(f"  {'':<22}{'p50 ms':>8}{'p99 ms':>8}{'missing':>9}")
print(f"  {'aether':<22}{a['latency_p50_ms']:>8.2f}{a['latency_p99_ms']:>8.2f}{a['round1_missing_deliveries']:>9}")
print(f"  {'go-libp2p-pubsub':<22}{g['latency_p50_ms']:>8.2f}{g['latency_p99_ms']:>8.2f}{g['missing']:>9}")
PY
