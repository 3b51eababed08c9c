#!/usr/bin/env bash
# Loopback throughput and connection set-up over /perf/1.0.0 (libp2p/specs perf/perf.md), Aether
# side by side with go-libp2p v0.48.0 (tests/interop/go) and js-libp2p 3.3.11
# (tests/interop/js-libp2p, Node; its perf protocol is written in peer.mjs, as @libp2p/perf is not
# published for libp2p 3) as peers and baselines: every client against every server, so the
# diagonal is each implementation against itself (go -> go, js -> js: the references).
# Single stream, TCP + Noise + Yamux; each throughput figure is the median of RUNS transfers of
# BYTES, each connect figure the median of 20 fresh client processes.
# usage: bench/net_perf.sh <build dir> [bytes=268435456] [runs=5]
#   IMPLS="aether go js" (default) picks the columns; js is left out when its node_modules are
#   missing (scripts/install-deps).
set -euo pipefail
BUILD=${1:?usage: bench/net_perf.sh <build dir> [bytes] [runs]}
BYTES=${2:-$((256 << 20))}
RUNS=${3:-5}
HERE=$(cd "$(dirname "$0")/.." && pwd)
TOOL="$BUILD/tests/aether_net_tool"
GOPEER="$BUILD/aether-libp2p-go-peer"
JSDIR="$HERE/tests/interop/js-libp2p"
IMPLS=${IMPLS:-aether go js}
[ -x "$TOOL" ] || { echo "net_perf: $TOOL missing (build the aether_net_tool target)" >&2; exit 1; }
if [[ " $IMPLS " == *" go "* ]]; then
  (cd "$HERE/tests/interop/go" && GOFLAGS=-mod=readonly go build -o "$GOPEER" .)
fi
if [[ " $IMPLS " == *" js "* ]] && [ ! -d "$JSDIR/node_modules/libp2p" ]; then
  echo "net_perf: $JSDIR/node_modules missing (scripts/install-deps): js-libp2p left out" >&2
  IMPLS=${IMPLS//js/}
fi
read -r -a IMPL <<< "$IMPLS"
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

peer() {  # peer <impl> <args...>: runs that implementation's interop peer, killed after LIMIT s
  local impl=$1; shift
  case $impl in
    aether) timeout "${LIMIT:-600}" "$TOOL" "$@" ;;
    go) timeout "${LIMIT:-600}" "$GOPEER" "$@" ;;
    js) timeout "${LIMIT:-600}" node --import "$JSDIR/polyfill.mjs" "$JSDIR/peer.mjs" "$@" ;;
  esac
}

declare -A ADDR UP DOWN CONN
start_listener() {  # start_listener <impl> (no subshell: this shell holds the fifo open)
  mkfifo "$WORK/$1.in"
  if [ "$1" = js ]; then
    LIMIT=0 peer js listen < "$WORK/$1.in" > "$WORK/$1.out" 2> "$WORK/$1.err" &
  else
    LIMIT=0 peer "$1" listen 3600 < "$WORK/$1.in" > "$WORK/$1.out" 2> "$WORK/$1.err" &
  fi
  PIDS+=($!)
  exec {fd}> "$WORK/$1.in"
  for _ in $(seq 1 300); do grep -q multiaddr "$WORK/$1.out" 2>/dev/null && break; sleep 0.1; done
  ADDR[$1]=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["multiaddr"])' "$WORK/$1.out")
}
for s in "${IMPL[@]}"; do start_listener "$s"; done

gbps() {  # gbps <json file> <upload_s|download_s>: median Gb/s, or "failed"
  python3 - "$1" "$2" "$BYTES" <<'PY'
import json, statistics, sys
try:
    d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
    print(f"{8 * int(sys.argv[3]) / statistics.median(d[sys.argv[2]]) / 1e9:.2f}" if d.get("ok") else "failed")
except Exception:
    print("failed")
PY
}

connect_median() {  # connect_median <client> <addr>: median connect_ms over 20 fresh clients
  for _ in $(seq 1 20); do
    LIMIT=30 peer "$1" perf "$2" 0 0 1 | python3 -c 'import json,sys
d = json.loads(sys.stdin.read().strip().splitlines()[-1]); print(d["connect_ms"]) if d.get("ok") else None' || true
  done > "$WORK/connect.txt"
  python3 -c 'import statistics,sys
v = sorted(float(x) for x in open(sys.argv[1]) if x.strip())
print(f"{statistics.median(v):.2f} (p90 {v[int(len(v) * 0.9) - 1]:.2f})" if len(v) == 20 else "failed")' "$WORK/connect.txt"
}

table() {  # table <title> <array name>
  local -n cells=$2
  echo "$1"
  printf '  %-16s' "client \\ server"; for s in "${IMPL[@]}"; do printf '%-20s' "$s"; done; echo
  for c in "${IMPL[@]}"; do
    printf '  %-16s' "$c"; for s in "${IMPL[@]}"; do printf '%-20s' "${cells[$c,$s]}"; done; echo
  done
}

echo "== /perf/1.0.0 single stream on loopback: median of $RUNS x $((BYTES >> 20)) MiB each way; connection set-up (TCP + multistream + Noise XX + Yamux) median of 20"
echo "   (libp2p perf suite's published medians between two hosts: js 2.0, rust 1.4, go 0.87 Gb/s over TCP)"
for c in "${IMPL[@]}"; do
  for s in "${IMPL[@]}"; do
    peer "$c" perf "${ADDR[$s]}" "$BYTES" 0 "$RUNS" > "$WORK/up.json" 2> "$WORK/up.err" || true
    peer "$c" perf "${ADDR[$s]}" 0 "$BYTES" "$RUNS" > "$WORK/down.json" 2> "$WORK/down.err" || true
    UP[$c,$s]=$(gbps "$WORK/up.json" upload_s)
    DOWN[$c,$s]=$(gbps "$WORK/down.json" download_s)
    CONN[$c,$s]=$(connect_median "$c" "${ADDR[$s]}")
    echo "  $c -> $s: upload ${UP[$c,$s]} Gb/s, download ${DOWN[$c,$s]} Gb/s, connect ${CONN[$c,$s]} ms" >&2
  done
done
table "== upload, Gb/s (client sends)" UP
table "== download, Gb/s (server sends)" DOWN
table "== connect, ms (median, p90)" CONN
