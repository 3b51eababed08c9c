#!/usr/bin/env bash
# Interop: our Kademlia DHT (src/net, aether_net_tool) against go-libp2p-kad-dht v0.42.1
# (tests/interop/go), with each implementation as the long-lived DHT server in turn and fresh
# nodes of both joining through it:
#   /aether/kad/1.0.0  "aether" signed records: PUT by one implementation, GET by the other
#   /ipfs/kad/1.0.0    "pk" records (go-libp2p-kad-dht allows only pk/ipns there) both ways,
#                      provider records: ADD_PROVIDER by one, GET_PROVIDERS by the other
# usage: libp2p_go_dht.sh <aether_net_tool> <build dir>
source "$(cd "$(dirname "$0")" && pwd)/lib/go_peer.sh"
field() { python3 -c 'import json,sys
try: print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]).get(sys.argv[2], ""))
except Exception: print("")' "$1" "$2"; }

build_go_peer

# run <name> <cmd...>: runs with a timeout, output in $WORK/<name>.out
run() {
  local name=$1; shift
  timeout 60 "$@" > "$WORK/$name.out" 2> "$WORK/$name.err"
}

for server in go aether; do
  if [ $server = go ]; then BIN=$GOPEER; else BIN=$TOOL; fi
  mkfifo "$WORK/$server.in"
  "$BIN" dht-listen 300 < "$WORK/$server.in" > "$WORK/$server.listen" 2> "$WORK/$server.listen.err" &
  PIDS+=($!)
  exec {fd}> "$WORK/$server.in"
  for _ in $(seq 1 300); do grep -q multiaddr "$WORK/$server.listen" 2>/dev/null && break; sleep 0.1; done
  ADDR=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["multiaddr"])' "$WORK/$server.listen" 2>/dev/null)
  if [ -z "$ADDR" ]; then cat "$WORK/$server.listen.err"; bad "$server DHT server did not start"; continue; fi
  echo "== $server DHT server: $ADDR"

  for writer in aether go; do
    if [ $writer = go ]; then W=$GOPEER; R=$TOOL; reader=aether; else W=$TOOL; R=$GOPEER; reader=go; fi
    payload="hello-from-$writer-via-$server"
    if run put "$W" dht-put "$ADDR" greeting "$payload"; then
      key=$(field "$WORK/put.out" key)
      if run get "$R" dht-get "$ADDR" "$key" && [ "$(field "$WORK/get.out" payload)" = "$payload" ]; then
        ok "server $server: /aether record PUT by $writer, GET by $reader"
      else
        cat "$WORK/get.out" "$WORK/get.err"; bad "server $server: /aether record PUT by $writer, GET by $reader"
      fi
    else
      cat "$WORK/put.out" "$WORK/put.err"; bad "server $server: $writer dht-put"
    fi

    if run putpk "$W" dht-put-pk "$ADDR"; then
      pid=$(field "$WORK/putpk.out" peer_id)
      if run getpk "$R" dht-get-pk "$ADDR" "$pid" && [ "$(field "$WORK/getpk.out" ok)" = "True" ]; then
        ok "server $server: /pk record of $writer found by $reader and hashes to its peer id"
      else
        cat "$WORK/getpk.out" "$WORK/getpk.err"; bad "server $server: /pk record PUT by $writer, GET by $reader"
      fi
    else
      cat "$WORK/putpk.out" "$WORK/putpk.err"; bad "server $server: $writer dht-put-pk"
    fi

    # A CID of our own making for each case, so providers never mix.
    cid=$(python3 -c 'import hashlib,base64,sys
d=hashlib.sha256(sys.argv[1].encode()).digest()
b=bytes([1,0x55,0x12,0x20])+d
print("b"+base64.b32encode(b).decode().lower().rstrip("="))' "$payload")
    if run prov "$W" dht-provide "$ADDR" "$cid"; then
      provider=$(field "$WORK/prov.out" peer_id)
      if run provs "$R" dht-providers "$ADDR" "$cid" && python3 -c 'import json,sys
d=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); sys.exit(0 if d.get("ok") and sys.argv[2] in d["providers"] else 1)' "$WORK/provs.out" "$provider"; then
        ok "server $server: $writer provides $cid, $reader finds it"
      else
        cat "$WORK/provs.out" "$WORK/provs.err"; bad "server $server: provider by $writer found by $reader"
      fi
    else
      cat "$WORK/prov.out" "$WORK/prov.err"; bad "server $server: $writer dht-provide"
    fi
  done
  exec {fd}>&-
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -eq 12 ]
