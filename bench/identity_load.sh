#!/usr/bin/env bash
# Load on the identity service (issue 5): CLIENTS concurrent clients (each its own did:key and
# keep-alive TLS 1.3 connection, certificate pinned) run challenge -> attest against a live
# `aether daemon` on loopback for SECONDS; prints requests/s, p50/p99 latency, errors and the
# daemon's RSS before, after, and after a second identical run (growth = a leak). Then
# durability under load: every client registers a DID document while the daemon gets SIGTERM
# mid-run; after a restart every registration that was acknowledged (201) must resolve.
# The load generator is Go (tests/interop/go, identity-load mode).
# usage: bench/identity_load.sh <build dir> [clients=1000] [seconds=60]
set -euo pipefail
BUILD=$(cd "${1:?usage: bench/identity_load.sh <build dir> [clients] [seconds]}" && pwd)
CLIENTS=${2:-1000}
SECONDS_=${3:-60}
HERE=$(cd "$(dirname "$0")/.." && pwd)
AETHER="$BUILD/src/cli/aether"
GOPEER="$BUILD/aether-libp2p-go-peer"
(cd "$HERE/tests/interop/go" && GOFLAGS=-mod=readonly go build -o "$GOPEER" .)
WORK=$(mktemp -d)
DPID=""
cleanup() { [ -n "$DPID" ] && kill "$DPID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
export AETHER_PASSPHRASE="identity load bench"
"$AETHER" --home "$WORK/node" init --insecure-dev >/dev/null 2>&1 || "$AETHER" --home "$WORK/node" init >/dev/null

start_daemon() {
  "$AETHER" --home "$WORK/node" daemon --listen 127.0.0.1:0 --no-p2p --rate-limit 0 >"$WORK/d.out" 2>"$WORK/d.err" &
  DPID=$!
  for _ in $(seq 1 100); do grep -q 'port=' "$WORK/d.out" 2>/dev/null && break; sleep 0.1; done
  PORT=$(grep -o 'port=[0-9]*' "$WORK/d.out" | cut -d= -f2)
  FP=$(grep tls-fingerprint "$WORK/d.out" | cut -d' ' -f2)
}
rss() { awk '/VmRSS/ {print $2}' "/proc/$DPID/status"; }

start_daemon
rss0=$(rss)
"$GOPEER" identity-load "https://127.0.0.1:$PORT" "$FP" "$CLIENTS" "$SECONDS_" >"$WORK/run1.json"
rss1=$(rss)
"$GOPEER" identity-load "https://127.0.0.1:$PORT" "$FP" "$CLIENTS" "$SECONDS_" >"$WORK/run2.json"
rss2=$(rss)
nonces=$(curl -sk "https://127.0.0.1:$PORT/metrics" | awk '/^aether_identity_nonce_cache_size/ {print $2}')
python3 - "$WORK/run1.json" "$WORK/run2.json" "$rss0" "$rss1" "$rss2" "$nonces" <<'PY'
import json, sys
r1, r2 = (json.load(open(p)) for p in sys.argv[1:3])
rss0, rss1, rss2 = (int(x) / 1024 for x in sys.argv[3:6])
print(f"challenge -> attest, {r1['clients']} concurrent clients, {r1['seconds']:.0f} s per run, loopback, TLS 1.3:")
for name, r in (("run 1", r1), ("run 2", r2)):
    print(f"  {name}: {r['requests']} requests, {r['errors']} errors, {r['rps']:.0f} req/s, "
          f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, {r['flows']} completed flows")
    if r["errors"]:
        print("    e.g.", r["error_samples"][:3])
print(f"  daemon RSS: {rss0:.1f} MiB before, {rss1:.1f} MiB after run 1, {rss2:.1f} MiB after run 2; "
      f"outstanding nonces after: {sys.argv[6]}")
PY

# Durability: registrations under load, SIGTERM after half the time, restart, resolve all.
DUR=$(( SECONDS_ < 20 ? SECONDS_ : 20 ))
"$GOPEER" identity-load "https://127.0.0.1:$PORT" "$FP" "$CLIENTS" "$DUR" register >"$WORK/reg.json" &
LPID=$!
sleep $(( DUR / 2 ))
kill -TERM "$DPID"
wait "$DPID" || true
DPID=""
wait "$LPID" || true
start_daemon
python3 - "$WORK/reg.json" "$PORT" "$FP" <<'PY'
import json, ssl, sys, urllib.request, urllib.parse, hashlib
d = json.load(open(sys.argv[1]))
dids = d.get("registered") or []
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
missing = 0
for did in dids:
    url = f"https://127.0.0.1:{sys.argv[2]}/v1/identity/" + urllib.parse.quote(did, safe=":")
    with urllib.request.urlopen(url, context=ctx) as r:
        cert = r.fp.raw._sock.getpeercert(binary_form=True)
        assert "sha256:" + hashlib.sha256(cert).hexdigest() == sys.argv[3], "certificate pin"
        doc = json.load(r)
        if doc.get("id") != did or "authentication" not in doc:
            missing += 1
print(f"SIGTERM under load: {len(dids)} registrations acknowledged before the stop, "
      f"{len(dids) - missing} resolve after the restart, {missing} lost")
sys.exit(1 if missing or not dids else 0)
PY
