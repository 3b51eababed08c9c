#!/usr/bin/env bash
# End to end: the identity CLI over the running daemon's API — `aether id login|resolve|register`,
# `aether cred issue` and `aether cred verify [--daemon]` — with the listen address taken from <home>/config.toml ([api] listen)
# or --listen, and the errors a user hits when no daemon runs.
# Usage: id_cli_test.sh <path to aether>
set -uo pipefail
AETHER=${1:?usage: id_cli_test.sh <aether binary>}
work=$(mktemp -d)
DPID=""
cleanup() { [ -n "$DPID" ] && kill "$DPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export HOME="$work/home"
mkdir -p "$HOME"
unset AETHER_HOME AETHER_PASSPHRASE
H="$work/node"
passed=0
failed=0
check() {  # check <name> <command...>: must succeed; stdout in $work/out
  local name=$1; shift
  if "$@" >"$work/out" 2>"$work/err" </dev/null; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $name"; sed 's/^/  stdout: /' "$work/out"; sed 's/^/  stderr: /' "$work/err"; fi
}
check_fails() {  # check_fails <name> <expected exit> <stderr regex> <command...>
  local name=$1 want=$2 regex=$3; shift 3
  "$@" >"$work/out" 2>"$work/err" </dev/null
  local rc=$?
  if [ "$rc" -eq "$want" ] && grep -qE "$regex" "$work/err"; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $name (exit $rc, want $want; stderr must match /$regex/)"; sed 's/^/  stderr: /' "$work/err"; fi
}
expect_eq() { if [ "$2" = "$3" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $1: got '$2', want '$3'"; fi; }
# The claims of a JWT (payload, base64url-decoded), as JSON, indexed by $2 (python syntax).
claims() { python3 -c "import base64,json,sys; p=sys.argv[1].split('.')[1]; print(json.loads(base64.urlsafe_b64decode(p+'='*(-len(p)%4)))$2)" "$1"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for cmd in "id login" "id resolve" "id register" "cred issue" "cred verify" daemon; do
  check "help: aether $cmd" "$AETHER" $cmd --help
done

"$AETHER" --home "$H" init --insecure-dev >/dev/null 2>&1 || { echo "FAIL: init"; exit 1; }
DID=$("$AETHER" --home "$H" id show 2>/dev/null)
PORT=$(free_port)
printf '\n[api]\nlisten = "127.0.0.1:%s"\n' "$PORT" >>"$H/config.toml"

# No daemon yet: the clients say so, naming the address they tried (from config.toml).
check_fails "resolve without a daemon" 1 "no aether daemon is listening on 127.0.0.1:$PORT.*aether daemon" \
  "$AETHER" --home "$H" id resolve "$DID"
check_fails "login without a daemon" 1 "no aether daemon is listening on 127.0.0.1:$PORT" "$AETHER" --home "$H" id login
check_fails "bad --listen" 2 "not a port number" "$AETHER" --home "$H" id resolve "$DID" --listen 127.0.0.1:http

# The daemon listens where config.toml says.
"$AETHER" --home "$H" daemon --no-p2p >"$work/d.out" 2>"$work/d.err" &
DPID=$!
for _ in $(seq 1 100); do grep -q 'port=' "$work/d.out" 2>/dev/null && break; sleep 0.1; done
expect_eq "daemon port from config.toml" "$(grep -o 'port=[0-9]*' "$work/d.out" | cut -d= -f2)" "$PORT"
check_fails "second daemon" 1 "another aether daemon is running" "$AETHER" --home "$H" daemon --no-p2p

check "resolve the node" "$AETHER" --home "$H" --json id resolve "$DID"
expect_eq "resolved id" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/out")" "$DID"
check "resolve with --listen" "$AETHER" --home "$H" id resolve "$DID" --listen "127.0.0.1:$PORT"
check_fails "resolve elsewhere" 1 "no aether daemon is listening on 127.0.0.1:1" \
  "$AETHER" --home "$H" id resolve "$DID" --listen 127.0.0.1:1
check_fails "resolve unknown" 1 "HTTP 404" "$AETHER" --home "$H" id resolve did:example:nobody

# login with the node key: a Bearer token for this node.
check "login (node key)" "$AETHER" --home "$H" id login
TOKEN=$(cat "$work/out")
expect_eq "token iss" "$(claims "$TOKEN" '["iss"]')" "$DID"
expect_eq "token sub" "$(claims "$TOKEN" '["sub"]')" "$DID"
expect_eq "token aud" "$(claims "$TOKEN" '["aud"]')" "$DID"

# login with a separate identity, presenting a role credential the node issued to it.
check "id new" "$AETHER" --home "$H" id new --out "$work/alice" --insecure-dev
ALICE=$("$AETHER" --home "$H" --json id login --key "$work/alice" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["did"])')
case "$ALICE" in did:key:z6Mk*) passed=$((passed + 1)) ;; *) failed=$((failed + 1)); echo "FAIL: alice's DID: $ALICE" ;; esac
check "cred issue" "$AETHER" --home "$H" cred issue --subject "$ALICE" --scope "cred.issue *"
cp "$work/out" "$work/vc"
check "login with a credential" "$AETHER" --home "$H" id login --key "$work/alice" --credential "@$work/vc"
ATOKEN=$(cat "$work/out")
expect_eq "alice token sub" "$(claims "$ATOKEN" '["sub"]')" "$ALICE"
expect_eq "alice token grants cred.issue" \
  "$(claims "$ATOKEN" '["att"]' | python3 -c 'import ast,sys; print(any(a["can"]=="cred/issue" for a in ast.literal_eval(sys.stdin.read())))')" True
check_fails "login with another's credential" 1 "HTTP 401" "$AETHER" --home "$H" id login --credential "@$work/vc"
check_fails "login with a missing key dir" 2 "key|Directory" "$AETHER" --home "$H" id login --key "$work/nope"

# cred verify through the daemon, and offline; a tampered credential refused by both.
check "cred verify --daemon" "$AETHER" --home "$H" cred verify --daemon "$(cat "$work/vc")"
expect_eq "daemon-verified subject" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["subject"])' "$work/out" 2>/dev/null)" "$ALICE"
check "cred verify offline" "$AETHER" --home "$H" cred verify "$(cat "$work/vc")"
TAMPERED=$(python3 -c 'import sys; h,p,s=sys.argv[1].split("."); print(h+"."+p+"."+("B" if s[0]=="A" else "A")+s[1:])' "$(cat "$work/vc")")
check_fails "tampered cred verify --daemon" 1 "HTTP 401" "$AETHER" --home "$H" cred verify --daemon "$TAMPERED"
check_fails "tampered cred verify offline" 1 "signature|bad-signature" "$AETHER" --home "$H" cred verify "$TAMPERED"

# register a did:example document whose proof is made by @noble/curves + jose-free JWS code in
# Node (not by our code), with a fresh key.
INTEROP=$(cd "$(dirname "$0")/../interop" && pwd)
(cd "$INTEROP" && node --input-type=module -e '
import { ed25519 } from "@noble/curves/ed25519.js"
import { base58btc } from "multiformats/bases/base58"
import { writeFileSync } from "node:fs"
const b64 = (b) => Buffer.from(b).toString("base64url")
const sk = ed25519.utils.randomSecretKey()
const pub = ed25519.getPublicKey(sk)
const did = "did:example:cli-" + b64(pub).slice(0, 10).replace(/[^A-Za-z0-9]/g, "x")
const doc = { id: did, verificationMethod: [{ id: did + "#k1", type: "Multikey", controller: did,
  publicKeyMultibase: base58btc.encode(Uint8Array.from([0xed, 0x01, ...pub])) }], authentication: ["#k1"] }
const input = b64(JSON.stringify({ alg: "EdDSA", kid: did + "#k1", ver: 1 })) + "." + b64(JSON.stringify(doc))
const jws = input + "." + b64(ed25519.sign(new TextEncoder().encode(input), sk))
writeFileSync(process.argv[1], JSON.stringify({ did_document: doc, proof: jws }))
' "$work/reg.json") || { echo "FAIL: cannot build the registration in node"; failed=$((failed + 1)); }
REGDID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["did_document"]["id"])' "$work/reg.json" 2>/dev/null)
check "register (logs in with the node key)" "$AETHER" --home "$H" --json id register "$work/reg.json"
expect_eq "registered did" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["did"])' "$work/out" 2>/dev/null)" "$REGDID"
check "resolve the registered DID" "$AETHER" --home "$H" id resolve "$REGDID"
check_fails "register again (ver 1 is used)" 1 "HTTP 409" "$AETHER" --home "$H" id register "$work/reg.json" --token "$TOKEN"
FORGED=$(python3 -c 'import sys; h,p,s=sys.argv[1].split("."); print(h+"."+p+"."+("B" if s[0]=="A" else "A")+s[1:])' "$TOKEN")
check_fails "register with a forged token" 1 "HTTP 401" "$AETHER" --home "$H" id register "$work/reg.json" --token "$FORGED"

kill -TERM "$DPID"; wait "$DPID"; DPID=""
echo "id_cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
