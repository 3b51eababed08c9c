#!/usr/bin/env bash
# Local network test (issue 6): 20 Aether nodes on loopback form a GossipSub mesh; 100 messages
# published from random nodes reach all 19 others (p50/p99 delivery latency printed); every node
# finds a DHT record one of them stored; after 5 nodes are killed, 100 more reach all survivors.
# usage: mesh_test.sh <aether_pubsub_tool>
set -u
TOOL=${1:?usage: mesh_test.sh <aether_pubsub_tool>}
out=$("$TOOL" mesh 20 100 5)
echo "$out"
python3 - "$out" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
checks = [
    ("ran to the end", d.get("ok") is True and not d.get("error")),
    ("every node has a mesh (degree >= 1)", d.get("mesh_degree_min", 0) >= 1),
    ("round 1: all 100 messages reached all 19 others", d.get("round1_fully_delivered") == 100 and d.get("round1_missing_deliveries") == 0),
    ("round 1: 1900 latency samples", d.get("latency_samples") == 1900),
    ("every node found the DHT record", d.get("dht_found") == 20),
    ("5 nodes killed", d.get("killed") == 5),
    ("round 2: all 100 messages reached all 14 survivors", d.get("round2_fully_delivered") == 100 and d.get("round2_missing_deliveries") == 0),
    ("no message delivered twice to an application", d.get("app_duplicates") == 0),
    ("no invalid or malformed traffic", d.get("invalid") == 0 and d.get("malformed") == 0),
]
failed = 0
for what, good in checks:
    print(("PASS: " if good else "FAIL: ") + what)
    failed += 0 if good else 1
print(f"delivery latency p50 {d.get('latency_p50_ms')} ms, p99 {d.get('latency_p99_ms')} ms; after the kills p50 {d.get('round2_latency_p50_ms')} ms, p99 {d.get('round2_latency_p99_ms')} ms")
print(f"{len(checks) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
