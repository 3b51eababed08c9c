#!/usr/bin/env bash
# Interop: src/net (aether_net_tool) against go-libp2p v0.48.0 (tests/interop/go), TCP + Noise +
# Yamux + /ipfs/ping/1.0.0 + /ipfs/id/1.0.0 + /perf/1.0.0, both directions, plus a dial that must fail on a
# wrong peer id.
# usage: libp2p_go.sh <aether_net_tool> <build dir>
source "$(cd "$(dirname "$0")" && pwd)/lib/go_peer.sh"

json_field() {  # json_field <file> <field>
  python3 -c 'import json,sys
for line in open(sys.argv[1]):
    line=line.strip()
    if line.startswith("{"):
        print(json.loads(line).get(sys.argv[2], "")); break' "$1" "$2"
}

# check_py <description> <python expression over `d` (the JSON object of file $2)> <file> [line filter]
check_json() {
  local what=$1 expr=$2 file=$3 filter=${4:-}
  if python3 - "$file" "$filter" "$expr" <<'PY'
import json, sys
path, filt, expr = sys.argv[1], sys.argv[2], sys.argv[3]
for line in open(path):
    line = line.strip()
    if not line.startswith("{"):
        continue
    d = json.loads(line)
    if filt and filt not in d:
        continue
    sys.exit(0 if eval(expr) else 1)
sys.exit(1)
PY
  then ok "$what"; else bad "$what"; echo "  in: $(cat "$file")"; fi
}

wait_for_line() {  # wait_for_line <file> (up to 30 s)
  for _ in $(seq 1 300); do
    [ -s "$1" ] && grep -q '^{' "$1" && return 0
    sleep 0.1
  done
  return 1
}

build_go_peer

# Listeners read stdin until EOF: a fifo held open by this script keeps them alive.
start_listener() {  # start_listener <name> <cmd...>; sets LISTEN_OUT
  local name=$1; shift
  mkfifo "$WORK/$name.in"
  "$@" listen 120 < "$WORK/$name.in" > "$WORK/$name.out" 2> "$WORK/$name.err" &
  PIDS+=($!)
  exec {fd}> "$WORK/$name.in"
  LISTEN_OUT="$WORK/$name.out"
}

# 1. our dialer -> go listener
echo "== aether dialer -> go-libp2p listener"
start_listener go "$GOPEER"
if wait_for_line "$LISTEN_OUT"; then
  ADDR=$(json_field "$LISTEN_OUT" multiaddr)
  GO_ID=$(json_field "$LISTEN_OUT" peer_id)
  echo "go listener: $ADDR"
  if timeout 60 "$TOOL" dial "$ADDR" > "$WORK/dial1.out" 2> "$WORK/dial1.err"; then
    cat "$WORK/dial1.out"
    if [ "$(json_field "$WORK/dial1.out" peer_id)" = "$GO_ID" ]; then
      ok "aether -> go: ping RTTs (ms) $(json_field "$WORK/dial1.out" rtts_ms)"
      GO_BARE=${ADDR%/p2p/*}
      check_json "aether identified go: agent $(json_field "$WORK/dial1.out" remote_agent), id+ping protocols, listen address $GO_BARE" \
        "'/ipfs/id/1.0.0' in d['remote_protocols'] and '/ipfs/ping/1.0.0' in d['remote_protocols'] and '$GO_BARE' in d['remote_addrs'] and d['remote_agent'] != '' and d['observed'].startswith('/ip4/127.0.0.1/tcp/')" \
        "$WORK/dial1.out"
      sleep 0.5
      check_json "go identified aether: agent aether/interop, our id/push/ping protocols" \
        "d['agent'] == 'aether/interop' and {'/ipfs/id/1.0.0', '/ipfs/id/push/1.0.0', '/ipfs/ping/1.0.0'} <= set(d['protocols'] or [])" \
        "$LISTEN_OUT" identified
    else
      bad "aether -> go: wrong peer id in output"
    fi
  else
    cat "$WORK/dial1.out" "$WORK/dial1.err"; bad "aether -> go dial/ping"
  fi

  PERF_BYTES=$((16 << 20))
  if timeout 120 "$TOOL" perf "$ADDR" $PERF_BYTES $PERF_BYTES > "$WORK/perf1.out" 2> "$WORK/perf1.err"; then
    check_json "aether perf client -> go perf server: 16 MiB up, 16 MiB down" \
      "d['ok'] and d['upload_bytes'] == $PERF_BYTES and d['download_bytes'] == $PERF_BYTES" "$WORK/perf1.out"
  else
    cat "$WORK/perf1.out" "$WORK/perf1.err"; bad "aether perf -> go"
  fi

  # 3. our dialer expecting a wrong peer id must fail during the Noise handshake.
  echo "== aether dialer with a wrong expected peer id -> go-libp2p listener"
  WRONG=12D3KooWLjuAspLQH8mXjLBN1guNXBsCmpih9TgqymuV4GDYoh7t
  if timeout 60 "$TOOL" dial-expect "$ADDR" "$WRONG" > "$WORK/dial3.out" 2> "$WORK/dial3.err"; then
    cat "$WORK/dial3.out"; bad "wrong peer id: dial succeeded"
  else
    cat "$WORK/dial3.out"
    if grep -q "peer id mismatch" "$WORK/dial3.out" && grep -q "$WRONG" "$WORK/dial3.out"; then
      ok "wrong peer id rejected with a clear error"
    else
      cat "$WORK/dial3.err"; bad "wrong peer id: failed without the expected error"
    fi
  fi
else
  cat "$WORK/go.err"; bad "go listener did not start"
fi

# 2. go dialer -> our listener
echo "== go-libp2p dialer -> aether listener"
start_listener aether "$TOOL"
if wait_for_line "$LISTEN_OUT"; then
  ADDR=$(json_field "$LISTEN_OUT" multiaddr)
  echo "aether listener: $ADDR"
  if timeout 60 "$GOPEER" dial "$ADDR" > "$WORK/dial2.out" 2> "$WORK/dial2.err"; then
    cat "$WORK/dial2.out"
    if [ "$(json_field "$WORK/dial2.out" ok)" = "True" ]; then
      ok "go -> aether: ping RTTs (ms) $(json_field "$WORK/dial2.out" rtts_ms)"
      OUR_BARE=${ADDR%/p2p/*}
      if timeout 120 "$GOPEER" perf "$ADDR" $((16 << 20)) $((16 << 20)) > "$WORK/perf2.out" 2> "$WORK/perf2.err"; then
        check_json "go perf client -> aether perf server: 16 MiB up, 16 MiB down" \
          "d['ok'] and d['upload_bytes'] == 16777216 and d['download_bytes'] == 16777216" "$WORK/perf2.out"
      else
        cat "$WORK/perf2.out" "$WORK/perf2.err"; bad "go perf -> aether"
      fi
      check_json "go identified aether (we listen): agent, protocols, listen address $OUR_BARE, observed address" \
        "d['identify']['agent'] == 'aether/interop' and {'/ipfs/id/1.0.0', '/ipfs/ping/1.0.0'} <= set(d['identify']['protocols']) and '$OUR_BARE' in d['identify']['listen_addrs'] and d['identify']['observed'].startswith('/ip4/127.0.0.1/tcp/')" \
        "$WORK/dial2.out"
    else
      bad "go -> aether: unexpected output"
    fi
  else
    cat "$WORK/dial2.out" "$WORK/dial2.err" "$WORK/aether.err"; bad "go -> aether dial/ping"
  fi
else
  cat "$WORK/aether.err"; bad "aether listener did not start"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
