#!/usr/bin/env bash
# Interop: src/net against js-libp2p 3.3.11 (tests/interop/js-libp2p: TCP, Noise, Yamux,
# identify, ping, kad-dht in server mode, gossipsub, and /perf/1.0.0 written in peer.mjs), both
# directions:
#   dial + ping with RTTs; identify (each side's view of the other: protocols, listen addresses);
#   perf: 16 MiB up and down each way;
#   a dial expecting the wrong peer id fails with a clear error;
#   Kademlia with each implementation as the DHT server: an /aether record PUT by one is found
#   by GET from the other, provider records found both ways;
#   GossipSub: 100 messages each way, all delivered, none duplicated, with either side listening.
# usage: libp2p_js.sh <aether_net_tool> <aether_pubsub_tool>
set -u
TOOL=${1:?usage: libp2p_js.sh <aether_net_tool> <aether_pubsub_tool>}
PSTOOL=${2:?usage: libp2p_js.sh <aether_net_tool> <aether_pubsub_tool>}
HERE=$(cd "$(dirname "$0")" && pwd)
JSDIR="$HERE/js-libp2p"
JS=(node --import "$JSDIR/polyfill.mjs" "$JSDIR/peer.mjs")
[ -d "$JSDIR/node_modules/libp2p" ] || { echo "FAIL: $JSDIR/node_modules missing (scripts/install-deps)"; exit 1; }
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT
passed=0
failed=0
ok() { echo "PASS: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
field() { python3 -c 'import json,sys
try: print(json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1]).get(sys.argv[2], ""))
except Exception: print("")' "$1" "$2"; }
first_addr() { python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["multiaddr"])' "$1" 2>/dev/null; }
wait_line() { for _ in $(seq 1 300); do grep -q multiaddr "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# start_listener <name> <cmd...>: holds stdin open through a fifo; sets ADDR
start_listener() {
  local name=$1; shift
  mkfifo "$WORK/$name.in"
  "$@" < "$WORK/$name.in" > "$WORK/$name.out" 2> "$WORK/$name.err" &
  PIDS+=($!)
  eval "exec {FD_$name}> \"$WORK/$name.in\""
  wait_line "$WORK/$name.out" || { bad "$name listener did not start"; cat "$WORK/$name.err"; return 1; }
  ADDR=$(first_addr "$WORK/$name.out")
}

# check_perf <what> <file> <bytes>: both directions moved exactly <bytes>; prints the Gb/s
check_perf() {
  if python3 - "$2" "$3" <<'PY'
import json, sys
d = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])
n = int(sys.argv[2])
assert d.get("ok") and d["upload_bytes"] == n and d["download_bytes"] == n, d
print("    upload %.2f Gb/s, download %.2f Gb/s, connect %.1f ms" % (8 * n / d["upload_s"][0] / 1e9, 8 * n / d["download_s"][0] / 1e9, d["connect_ms"]))
PY
  then ok "$1"; else bad "$1"; cut -c1-400 "$2"; fi
}
PERF_BYTES=$((16 << 20))

# ---- js listens: aether dials --------------------------------------------------------------
if start_listener js "${JS[@]}" listen; then
  JADDR=$ADDR; JID=${JADDR##*/}
  echo "== js listens on $JADDR"
  if timeout 60 "$TOOL" dial "$JADDR" > "$WORK/d1.out" 2> "$WORK/d1.err" &&
     python3 - "$WORK/d1.out" "$JADDR" <<'PY'
import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
assert d["ok"] and len(d["rtts_ms"]) == 5 and all(r > 0 for r in d["rtts_ms"]), d
assert "/ipfs/ping/1.0.0" in d["remote_protocols"] and "/meshsub/1.1.0" in d["remote_protocols"], d
assert "/ipfs/kad/1.0.0" in d["remote_protocols"] and "/perf/1.0.0" in d["remote_protocols"], d
assert d["remote_agent"].startswith("js-libp2p/"), d
assert sys.argv[2].split("/p2p/")[0] in d["remote_addrs"], (sys.argv[2], d["remote_addrs"])
assert d["observed"].startswith("/ip4/127.0.0.1/tcp/"), d
print("    rtts_ms", ["%.3f" % r for r in d["rtts_ms"]], "agent", d["remote_agent"], "listen", d["remote_addrs"])
PY
  then ok "aether dials js: 5 pings, identify gives js's protocols, listen address and our observed address"; else bad "aether dials js"; cat "$WORK/d1.out" "$WORK/d1.err"; fi
  # js's view of us (printed by the js listener once identify completes)
  for _ in $(seq 1 50); do grep -q identified "$WORK/js.out" && break; sleep 0.1; done
  if python3 - "$WORK/js.out" <<'PY'
import json, sys
ids = [json.loads(l) for l in open(sys.argv[1]) if '"identified"' in l]
assert ids, "no identify result"
d = ids[-1]
for p in ("/ipfs/id/1.0.0", "/ipfs/id/push/1.0.0", "/ipfs/ping/1.0.0"):
    assert p in d["protocols"], d
assert d["agent"] == "aether/interop", d
PY
  then ok "js identified aether: our protocols and agent"; else bad "js's identify of aether"; cat "$WORK/js.out"; fi
  WRONG=12D3KooWRBhwfeP2Y4TCx1SM6s9rUoHhR5STiGwxBhgFRcw3UERE
  if timeout 60 "$TOOL" dial-expect "$JADDR" "$WRONG" > "$WORK/d3.out" 2> "$WORK/d3.err"; then
    bad "wrong peer id: aether's dial to js succeeded"
  elif grep -q "peer id mismatch" "$WORK/d3.out" && grep -q "$WRONG" "$WORK/d3.out"; then
    ok "aether -> js with the wrong peer id rejected with a clear error"
  else
    bad "wrong peer id: unclear error"; cat "$WORK/d3.out"
  fi
  timeout 120 "$TOOL" perf "$JADDR" $PERF_BYTES $PERF_BYTES > "$WORK/p1.out" 2> "$WORK/p1.err"
  check_perf "aether perf client -> js perf server: 16 MiB up, 16 MiB down" "$WORK/p1.out" $PERF_BYTES
fi

# ---- aether listens: js dials --------------------------------------------------------------
if start_listener ae "$TOOL" dht-listen 600; then
  AADDR=$ADDR
  echo "== aether listens on $AADDR"
  if timeout 60 "${JS[@]}" dial "$AADDR" > "$WORK/d2.out" 2> "$WORK/d2.err" &&
     python3 - "$WORK/d2.out" "$AADDR" <<'PY'
import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
addr = sys.argv[2].split("/p2p/")[0]
assert d["ok"] and len(d["rtts_ms"]) == 5, d
i = d["identify"]
for p in ("/ipfs/id/1.0.0", "/ipfs/ping/1.0.0", "/ipfs/kad/1.0.0", "/aether/kad/1.0.0"):
    assert p in i["protocols"], i
assert addr in i["listen_addrs"], (addr, i["listen_addrs"])
print("    rtts_ms", d["rtts_ms"], "protocols", len(i["protocols"]), "listen", i["listen_addrs"])
PY
  then ok "js dials aether: 5 pings, identify reports our protocols and listen address"; else bad "js dials aether"; cat "$WORK/d2.out" "$WORK/d2.err"; fi
  WRONGADDR="${AADDR%/p2p/*}/p2p/12D3KooWRBhwfeP2Y4TCx1SM6s9rUoHhR5STiGwxBhgFRcw3UERE"
  if timeout 60 "${JS[@]}" dial "$WRONGADDR" > "$WORK/d4.out" 2> "$WORK/d4.err"; then
    bad "wrong peer id: js's dial to aether succeeded"
  elif field "$WORK/d4.out" error | head -n 1 | grep -q "${AADDR##*/}.*does not match expected.*${WRONGADDR##*/}"; then
    ok "js -> aether with the wrong peer id fails in Noise ($(field "$WORK/d4.out" error | head -n 1 | cut -c1-60)...)"
  else
    bad "wrong peer id: js's dial failed without the expected error"; cut -c1-400 "$WORK/d4.out"
  fi
  timeout 120 "${JS[@]}" perf "$AADDR" $PERF_BYTES $PERF_BYTES > "$WORK/p2.out" 2> "$WORK/p2.err"
  check_perf "js perf client -> aether perf server: 16 MiB up, 16 MiB down" "$WORK/p2.out" $PERF_BYTES
fi

# ---- Kademlia, each side as the server ----------------------------------------------------
run() { local name=$1; shift; timeout 90 "$@" > "$WORK/$name.out" 2> "$WORK/$name.err"; }
newcid() { python3 -c 'import hashlib,base64,sys
d=hashlib.sha256(sys.argv[1].encode()).digest()
print("b"+base64.b32encode(bytes([1,0x55,0x12,0x20])+d).decode().lower().rstrip("="))' "$1"; }
for server in js aether; do
  if [ $server = js ]; then SADDR=${JADDR:-}; else SADDR=${AADDR:-}; fi
  [ -n "${SADDR:-}" ] || continue
  for writer in aether js; do
    if [ $writer = js ]; then W=("${JS[@]}"); R=("$TOOL"); reader=aether; else W=("$TOOL"); R=("${JS[@]}"); reader=js; fi
    payload="hello-from-$writer-via-$server"
    if run put "${W[@]}" dht-put "$SADDR" greeting "$payload"; then
      key=$(field "$WORK/put.out" key)
      if run get "${R[@]}" dht-get "$SADDR" "$key" && [ "$(field "$WORK/get.out" payload)" = "$payload" ]; then
        ok "server $server: /aether record PUT by $writer, GET by $reader"
      else
        bad "server $server: record PUT by $writer, GET by $reader"; cat "$WORK/get.out" "$WORK/get.err" | tail -5
      fi
    else
      bad "server $server: $writer dht-put"; cat "$WORK/put.out" "$WORK/put.err" | tail -5
    fi
    cid=$(newcid "$payload")
    if run prov "${W[@]}" dht-provide "$SADDR" "$cid"; then
      provider=$(field "$WORK/prov.out" peer_id)
      if run provs "${R[@]}" dht-providers "$SADDR" "$cid" && grep -q "$provider" "$WORK/provs.out"; then
        ok "server $server: $writer provides, $reader finds it"
      else
        bad "server $server: provider by $writer found by $reader"; cat "$WORK/provs.out" "$WORK/provs.err" | tail -5
      fi
    else
      bad "server $server: $writer dht-provide"; cat "$WORK/prov.out" "$WORK/prov.err" | tail -5
    fi
  done
done

# ---- GossipSub ------------------------------------------------------------------------------
COUNT=100
check_exchange() {  # check_exchange <what> <file> <is ours>
  if python3 - "$2" "$COUNT" "$3" <<'PY'
import json, sys
d = json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1])
n = int(sys.argv[2])
ok = d.get("ok") and d.get("received") == n and d.get("duplicates") == 0 and not d.get("missing")
if sys.argv[3] == "1":
    ok = ok and d.get("mesh_at_publish") == 1
sys.exit(0 if ok else 1)
PY
  then ok "$1"; else bad "$1"; cut -c1-400 "$2"; fi
}
for listener in js aether; do
  topic="aether-js-$listener"
  if [ $listener = js ]; then
    "${JS[@]}" pubsub listen "$topic" $COUNT js ae > "$WORK/pl.out" 2> "$WORK/pl.err" &
  else
    "$PSTOOL" exchange gossip listen "$topic" $COUNT ae js > "$WORK/pl.out" 2> "$WORK/pl.err" &
  fi
  lpid=$!; PIDS+=("$lpid")
  wait_line "$WORK/pl.out" || { bad "pubsub: $listener did not start"; continue; }
  PADDR=$(first_addr "$WORK/pl.out")
  if [ $listener = js ]; then
    timeout 150 "$PSTOOL" exchange gossip "$PADDR" "$topic" $COUNT ae js > "$WORK/pd.out" 2> "$WORK/pd.err"
    wait "$lpid"
    check_exchange "gossipsub, js listens: aether received $COUNT from js (js in our mesh)" "$WORK/pd.out" 1
    check_exchange "gossipsub, js listens: js received $COUNT from aether" "$WORK/pl.out" 0
  else
    timeout 150 "${JS[@]}" pubsub "$PADDR" "$topic" $COUNT js ae > "$WORK/pd.out" 2> "$WORK/pd.err"
    wait "$lpid"
    check_exchange "gossipsub, aether listens: aether received $COUNT from js (js in our mesh)" "$WORK/pl.out" 1
    check_exchange "gossipsub, aether listens: js received $COUNT from aether" "$WORK/pd.out" 0
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -eq 19 ]
