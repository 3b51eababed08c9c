#!/usr/bin/env bash
# Schemathesis (PyPI, pinned; installed by scripts/install-deps into a venv under
# ~/.cache/aether) against a live `aether daemon`, driven by the OpenAPI document the daemon
# serves (/openapi.json = docs/openapi.yaml). The Bearer token is a real one: a client did:key
# runs challenge -> attest presenting a role credential from `aether cred issue` that grants
# `cred.issue *`, so the credential routes are exercised past authorization.
# Checks: no server error, status codes / content types / response bodies and headers as
# documented, schema-violating requests rejected, 405s with Allow. Not checked:
# positive_data_acceptance — a schema-valid request can still be refused for what a schema
# cannot express (a proof that does not verify, a document without a usable key), rightly 400/401.
# usage: schemathesis.sh <aether> <build dir>
set -uo pipefail
AETHER=${1:?usage: schemathesis.sh <aether> <build dir>}
BUILD=$(cd "${2:?usage: schemathesis.sh <aether> <build dir>}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
ST_VERSION=4.32.5
ST="${AETHER_CACHE:-$HOME/.cache/aether}/schemathesis-$ST_VERSION/bin/st"
[ -x "$ST" ] || { echo "FAIL: $ST missing (scripts/install-deps installs it)"; exit 1; }
GOPEER="$BUILD/aether-libp2p-go-peer"
(cd "$HERE/go" && GOFLAGS=-mod=readonly go build -o "$GOPEER" .) || { echo "FAIL: go build"; exit 1; }
WORK=$(mktemp -d)
DPID=""
cleanup() { [ -n "$DPID" ] && kill "$DPID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
"$AETHER" --home "$WORK/node" init --insecure-dev >/dev/null 2>&1 || { echo "FAIL: init"; exit 1; }
"$AETHER" --home "$WORK/node" daemon --listen 127.0.0.1:0 --no-p2p --rate-limit 0 >"$WORK/d.out" 2>"$WORK/d.err" &
DPID=$!
for _ in $(seq 1 100); do grep -q 'port=' "$WORK/d.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(grep -o 'port=[0-9]*' "$WORK/d.out" | cut -d= -f2)
FP=$(grep tls-fingerprint "$WORK/d.out" | cut -d' ' -f2)
URL="https://127.0.0.1:$PORT"
SEED=$(python3 -c 'import os; print(os.urandom(32).hex())')
DID=$("$GOPEER" identity-did "$SEED")
VC=$("$AETHER" --home "$WORK/node" cred issue --subject "$DID" --scope "cred.issue *" 2>/dev/null)
TOKEN=$("$GOPEER" identity-token "$URL" "$FP" "$SEED" "$VC")
[ -n "$TOKEN" ] || { echo "FAIL: no bearer token"; exit 1; }
echo "daemon at $URL; token for $DID"
"$ST" run "$URL/openapi.json" --tls-verify false -H "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,negative_data_rejection,unsupported_method,missing_required_header \
  --max-examples "${ST_MAX_EXAMPLES:-100}" --seed 20261125 --no-color 2>&1 | tee "$WORK/st.log" | tail -${ST_TAIL:-40}
rc=${PIPESTATUS[0]}
cases=$(grep -Eo '[0-9]+ generated' "$WORK/st.log" | tail -1)
echo "schemathesis $ST_VERSION: $cases test cases, exit $rc"
if grep -q "level=error\|handler threw" "$WORK/d.err"; then echo "FAIL: the daemon logged errors"; grep "level=error" "$WORK/d.err" | head; exit 1; fi
exit "$rc"
