#!/usr/bin/env bash
# Interop: net::Pubsub (aether_pubsub_tool) against go-libp2p-pubsub v0.18.0 (tests/interop/go):
# GossipSub (StrictSign, go's defaults) and FloodSub, each with either side listening, 100
# messages each way on a shared topic: all delivered, none duplicated, on both sides.
# usage: libp2p_go_pubsub.sh <aether_pubsub_tool> <build dir>
source "$(cd "$(dirname "$0")" && pwd)/lib/go_peer.sh"
COUNT=100
build_go_peer

wait_for_line() {  # wait_for_line <file> (up to 30 s)
  for _ in $(seq 1 300); do
    [ -s "$1" ] && grep -q '^{' "$1" && return 0
    sleep 0.1
  done
  return 1
}

# check <what> <result file> : received == COUNT, duplicates == 0, missing empty
check() {
  if python3 - "$2" "$COUNT" "$router" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("{")]
d = json.loads(lines[-1])
n = int(sys.argv[2])
ok = d.get("ok") and d.get("received") == n and d.get("duplicates") == 0 and not d.get("missing")
# Our side: with GossipSub the go peer must be in our mesh (its GRAFT/ours accepted) when we publish.
if "mesh_at_publish" in d and sys.argv[3] == "gossip":
    ok = ok and d["mesh_at_publish"] == 1
print("   ", {k: d.get(k) for k in ("received", "duplicates", "missing", "mesh_at_publish", "self_deliveries", "wire_duplicates", "error") if k in d})
sys.exit(0 if ok else 1)
PY
  then ok "$1"; else bad "$1"; cat "$2"; fi
}

for router in gossip flood; do
  for listener in go aether; do
    topic="aether-interop-$router-$listener"
    rm -f "$WORK"/*.out "$WORK"/*.err
    if [ "$listener" = go ]; then
      "$GOPEER" pubsub "$router" listen "$topic" "$COUNT" go ae >"$WORK/l.out" 2>"$WORK/l.err" &
    else
      "$TOOL" exchange "$router" listen "$topic" "$COUNT" ae go >"$WORK/l.out" 2>"$WORK/l.err" &
    fi
    lpid=$!; PIDS+=("$lpid")
    if ! wait_for_line "$WORK/l.out"; then
      bad "$router: $listener listener did not start"; cat "$WORK/l.err"; continue
    fi
    addr=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["multiaddr"])' "$WORK/l.out")
    echo "== $router, $listener listens on $addr"
    if [ "$listener" = go ]; then
      timeout 120 "$TOOL" exchange "$router" "$addr" "$topic" "$COUNT" ae go >"$WORK/d.out" 2>"$WORK/d.err"
    else
      timeout 120 "$GOPEER" pubsub "$router" "$addr" "$topic" "$COUNT" go ae >"$WORK/d.out" 2>"$WORK/d.err"
    fi
    wait "$lpid"
    if [ "$listener" = go ]; then
      check "$router: go listens, aether dials: aether received $COUNT from go" "$WORK/d.out"
      check "$router: go listens, aether dials: go received $COUNT from aether" "$WORK/l.out"
    else
      check "$router: aether listens, go dials: aether received $COUNT from go" "$WORK/l.out"
      check "$router: aether listens, go dials: go received $COUNT from aether" "$WORK/d.out"
    fi
  done
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -eq 8 ]
