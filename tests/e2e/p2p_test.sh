#!/usr/bin/env bash
# End-to-end: two `aether daemon`s on loopback with their peer overlays, driven only through the
# CLI: peer id/dial/ping/ls/known, pubsub sub/pub/peers, dht put/get/provide/providers, the admin
# token, the peer store surviving a restart, clean SIGTERM.
# Usage: p2p_test.sh <path to aether>
set -uo pipefail
AETHER=${1:?usage: p2p_test.sh <aether binary>}
work=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
export HOME="$work/home"
mkdir -p "$HOME"
unset AETHER_HOME
export AETHER_PASSPHRASE="p2p test passphrase"
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
check() {  # check <name> <command...>: must succeed; output in $work/out
  local name=$1; shift
  if "$@" >"$work/out" 2>"$work/err"; then ok; else bad "$name"; sed 's/^/  stdout: /' "$work/out"; sed 's/^/  stderr: /' "$work/err"; fi
}
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }

for cmd in peer "peer id" "peer dial" "peer ping" "peer ls" "peer known" pubsub "pubsub sub" "pubsub pub" "pubsub peers" dht "dht put" "dht get" "dht provide" "dht providers"; do
  check "help: aether $cmd" "$AETHER" $cmd --help
done

"$AETHER" --home "$work/a" init >/dev/null 2>&1 && "$AETHER" --home "$work/b" init >/dev/null 2>&1 || { echo "FAIL: init"; exit 1; }

start() {  # start <name>: runs the daemon of home $work/<name>; sets PORT_<name>, P2P_<name>
  "$AETHER" --home "$work/$1" daemon --listen 127.0.0.1:0 --p2p-listen /ip4/127.0.0.1/tcp/0 >"$work/$1.out" 2>"$work/$1.err" &
  PIDS+=($!)
  eval "PID_$1=$!"
  for _ in $(seq 1 100); do grep -q '^p2p:' "$work/$1.out" 2>/dev/null && break; sleep 0.1; done
  eval "PORT_$1=$(grep -o 'port=[0-9]*' "$work/$1.out" | cut -d= -f2)"
  eval "P2P_$1=$(grep '^p2p:' "$work/$1.out" | head -1 | cut -d' ' -f2)"
}
start a
start b
[ -n "$P2P_a" ] && [ -n "$P2P_b" ] && ok || { bad "daemons print their p2p address"; cat "$work/a.out" "$work/a.err"; exit 1; }
A() { "$AETHER" --home "$work/a" --json "$@" --api "127.0.0.1:$PORT_a"; }
B() { "$AETHER" --home "$work/b" --json "$@" --api "127.0.0.1:$PORT_b"; }

check "peer id" A peer id
[ "$(field "$work/out" '["peer_id"]')" = "${P2P_a##*/}" ] && ok || bad "peer id matches the printed address"
grep -q '/meshsub/1.2.0' "$work/out" && grep -q '/aether/kad/1.0.0' "$work/out" && ok || bad "peer id lists gossipsub and kad"

check "dial b from a" A peer dial "$P2P_b"
[ "$(field "$work/out" '["peer"]')" = "${P2P_b##*/}" ] && ok || bad "dial reports b's peer id"
check "ping b by address" A peer ping "$P2P_b" -n 3
[ "$(field "$work/out" '["rtts_ms"].__len__()')" = 3 ] && ok || bad "three round trips"
sleep 0.5
check "ping a by known peer id from b" B peer ping "${P2P_a##*/}" -n 1
check "peer ls" A peer ls
grep -q "${P2P_b##*/}" "$work/out" && ok || bad "a lists b as connected"

# A wrong peer id in the address is refused with a clear error.
wrong="${P2P_b%/p2p/*}/p2p/${P2P_a##*/}"
if A peer dial "$wrong" >"$work/out" 2>"$work/err"; then bad "dial with the wrong peer id must fail"; else
  grep -qiE "auth|peer id|expected" "$work/err" && ok || { bad "wrong peer id error is clear"; cat "$work/err"; }
fi

# Pubsub: b subscribes and waits for 2 messages a publishes.
B pubsub sub news -n 2 --timeout 30 >"$work/sub.out" 2>"$work/sub.err" &
subpid=$!
A pubsub sub news -n 0 --timeout 1 >/dev/null 2>&1   # a joins too (so the mesh forms both ways)
for _ in $(seq 1 50); do B pubsub peers news >"$work/peers.out" 2>/dev/null && grep -q "${P2P_a##*/}" "$work/peers.out" && break; sleep 0.1; done
grep -q "${P2P_a##*/}" "$work/peers.out" && ok || bad "b sees a in the topic"
check "publish 1" A pubsub pub news "hello from a"
check "publish 2" A pubsub pub news "second message"
if wait $subpid; then ok; else bad "subscriber got 2 messages"; cat "$work/sub.err"; fi
[ "$(grep -c '"data"' "$work/sub.out")" = 2 ] && grep -q 'hello from a' "$work/sub.out" && grep -q "${P2P_a##*/}" "$work/sub.out" && ok ||
  { bad "the messages arrive with their author"; cat "$work/sub.out"; }

# DHT: a record a stores is found by b; a provider record too.
check "dht put" A dht put greeting "hello dht"
key=$(field "$work/out" '["key"]')
[ "$(field "$work/out" '["stored_on"]')" -ge 1 ] && ok || bad "the record is stored on b"
check "dht get from b" B dht get "$key"
[ "$(field "$work/out" '["value"]')" = "hello dht" ] && ok || bad "b reads a's record"
cid=bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy
check "dht provide" A dht provide "$cid"
check "dht providers from b" B dht providers "$cid"
grep -q "${P2P_a##*/}" "$work/out" && ok || bad "b finds a as provider"

# The admin token guards the routes.
if curl -sk "https://127.0.0.1:$PORT_a/v1/p2p/id" | grep -q '"status":401'; then ok; else bad "no token -> 401"; fi
if curl -sk -H "Authorization: Bearer $(printf '0%.0s' $(seq 1 64))" "https://127.0.0.1:$PORT_a/v1/p2p/id" | grep -q '"status":401'; then ok; else bad "wrong token -> 401"; fi
[ "$(stat -c %a "$work/a/api-token")" = 600 ] && ok || bad "api-token is 0600"

# Peer store: b remembers a across a restart.
kill -TERM "$PID_b"
if wait "$PID_b"; then ok; else bad "b stops cleanly on SIGTERM"; cat "$work/b.err"; fi
grep -q 'msg=stopped' "$work/b.err" && ok || bad "b logged its stop"
start b
check "peer known after restart" B peer known
grep -q "${P2P_a##*/}" "$work/out" && grep -q '/ipfs/ping/1.0.0' "$work/out" && ok || { bad "b remembers a and its protocols"; cat "$work/out"; }
# b redials its known peers at start.
for _ in $(seq 1 50); do B peer ls >"$work/out" 2>/dev/null && grep -q "${P2P_a##*/}" "$work/out" && break; sleep 0.1; done
grep -q "${P2P_a##*/}" "$work/out" && ok || bad "b redialled a after the restart"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
