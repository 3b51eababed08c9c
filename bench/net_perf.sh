#!/usr/bin/env bash
# Loopback throughput and connection set-up over /perf/1.0.0 (libp2p/specs perf/perf.md), with
# go-libp2p v0.48.0 (tests/interop/go) as the peer and the baseline, side by side:
#   go -> go (the reference), aether -> aether, aether -> go, go -> aether.
# Single stream, TCP + Noise + Yamux; each figure is the median of RUNS transfers of BYTES.
# usage: bench/net_perf.sh <build dir> [bytes=268435456] [runs=5]
set -euo pipefail
BUILD=${1:?usage: bench/net_perf.sh <build dir> [bytes] [runs]}
BYTES=${2:-$((256 << 20))}
RUNS=${3:-5}
HERE=$(cd "$(dirname "$0")/.." && pwd)
TOOL="$BUILD/tests/aether_net_tool"
GOPEER="$BUILD/aether-libp2p-go-peer"
[ -x "$TOOL" ] || { echo "net_perf: $TOOL missing (build the aether_net_tool target)" >&2; exit 1; }
(cd "$HERE/tests/interop/go" && GOFLAGS=-mod=readonly go build -o "$GOPEER" .)
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

start_listener() {  # start_listener <name> <binary>; sets LISTEN_ADDR (no subshell: it holds the fifo)
  mkfifo "$WORK/$1.in"
  "$2" listen 3600 < "$WORK/$1.in" > "$WORK/$1.out" 2> "$WORK/$1.err" &
  PIDS+=($!)
  exec {fd}> "$WORK/$1.in"
  for _ in $(seq 1 300); do grep -q multiaddr "$WORK/$1.out" 2>/dev/null && break; sleep 0.1; done
  LISTEN_ADDR=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["multiaddr"])' "$WORK/$1.out")
}

start_listener go "$GOPEER"; GO_ADDR=$LISTEN_ADDR
start_listener aether "$TOOL"; AE_ADDR=$LISTEN_ADDR

summary() {  # summary <json file> <label>
  python3 - "$1" "$2" "$BYTES" <<'PY'
import json, statistics, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
n = int(sys.argv[3])
if not d.get("ok"):
    print(f"{sys.argv[2]:<18} failed: {d.get('error')}"); sys.exit(0)
up = [t for t in d["upload_s"]]
down = [t for t in d["download_s"]]
gbps = lambda ts: 8 * n / statistics.median(ts) / 1e9
print(f"{sys.argv[2]:<18} upload {gbps(up):6.2f} Gb/s   download {gbps(down):6.2f} Gb/s")
PY
}

connect_median() {  # connect_median <client> <addr>: median connect_ms over 20 fresh clients
  local all=()
  for _ in $(seq 1 20); do
    all+=("$("$1" perf "$2" 0 0 1 | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["connect_ms"])')")
  done
  printf '%s\n' "${all[@]}" | python3 -c 'import statistics,sys; v=[float(x) for x in sys.stdin]; print(f"{statistics.median(v):.2f} ms (p90 {sorted(v)[int(len(v)*0.9)-1]:.2f})")'
}

echo "== /perf/1.0.0 single-stream throughput on loopback, median of $RUNS x $((BYTES >> 20)) MiB each way"
echo "   (libp2p perf suite's published medians between two hosts: js 2.0, rust 1.4, go 0.87 Gb/s over TCP)"
for pair in "go->go:$GOPEER:$GO_ADDR" "aether->aether:$TOOL:$AE_ADDR" "aether->go:$TOOL:$GO_ADDR" "go->aether:$GOPEER:$AE_ADDR"; do
  label=${pair%%:*}; rest=${pair#*:}; client=${rest%%:*}; addr=${rest#*:}
  "$client" perf "$addr" "$BYTES" 0 "$RUNS" > "$WORK/up.json"
  "$client" perf "$addr" 0 "$BYTES" "$RUNS" > "$WORK/down.json"
  python3 - "$WORK/up.json" "$WORK/down.json" > "$WORK/merged.json" <<'PY'
import json, sys
u = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
d = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])
print(json.dumps({"ok": u.get("ok") and d.get("ok"), "error": u.get("error") or d.get("error"),
                  "upload_s": u.get("upload_s"), "download_s": d.get("download_s")}))
PY
  summary "$WORK/merged.json" "$label"
done

echo "== connection establishment (TCP + multistream + Noise XX + Yamux), median of 20 fresh dials"
echo "go->go             $(connect_median "$GOPEER" "$GO_ADDR")"
echo "aether->aether     $(connect_median "$TOOL" "$AE_ADDR")"
echo "aether->go         $(connect_median "$TOOL" "$GO_ADDR")"
echo "go->aether         $(connect_median "$GOPEER" "$AE_ADDR")"
