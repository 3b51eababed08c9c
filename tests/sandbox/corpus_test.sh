#!/usr/bin/env bash
# The malicious-guest corpus (tests/sandbox/guests/README.md) through `aether run`: every guest is
# contained with a typed, human-readable error or refusal, and the node stays healthy after each.
# usage: corpus_test.sh <aether binary> <guests build dir>
set -u
AETHER=${1:?usage: corpus_test.sh <aether> <guests build dir>}
GUESTS=${2:?usage: corpus_test.sh <aether> <guests build dir>}
HERE=$(cd "$(dirname "$0")" && pwd)
CORPUS="$HERE/guests"
WORK=$(mktemp -d)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
export AETHER_HOME="$WORK/home"
unset AETHER_PASSPHRASE
"$AETHER" init --insecure-dev > /dev/null 2>&1 || { echo "FAIL: init"; exit 1; }

passed=0
failed=0
ok() { echo "PASS: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }

# expect <name> <exit code> <stderr/stdout regex> <aether args...>
expect() {
  local name=$1 code=$2 pattern=$3; shift 3
  "$AETHER" "$@" > "$WORK/out" 2> "$WORK/err" < /dev/null
  local rc=$?
  if [ "$rc" -eq "$code" ] && cat "$WORK/out" "$WORK/err" | grep -Eq -- "$pattern"; then
    ok "$name: $(grep -Eo -- "$pattern" "$WORK/out" "$WORK/err" | head -1 | cut -d: -f2-)"
  else
    bad "$name (exit $rc, want $code; want /$pattern/)"
    sed 's/^/  | /' "$WORK/out" "$WORK/err" | head -20
  fi
  healthy "$name"
}

# The node still works: identity readable, a well-behaved component runs.
healthy() {
  if "$AETHER" id show > /dev/null 2>&1 &&
     "$AETHER" run "$GUESTS/hello_component.wasm" 2>/dev/null | grep -q "Hello from a sandboxed Wasm component"; then
    :
  else
    bad "node unhealthy after $1"
  fi
}

expect "infinite loop" 1 "limit-exceeded: guest ran out of fuel" run --fuel 50000000 "$CORPUS/spin.wat"
expect "infinite loop, fuel off: the epoch deadline" 1 "limit-exceeded: guest ran past its time limit of 300 ms" run --fuel 0 --time-limit 300 "$CORPUS/spin.wat"
expect "memory.grow bomb (16 MiB = 256 pages)" 1 "guest returned status 256" run "$CORPUS/membomb.wat"
expect "deep recursion" 1 "wasm: .*(call stack exhausted|stack overflow)" run "$CORPUS/recursion.wat"
expect "table growth bomb (10 000 elements)" 1 "guest returned status 10000" run "$CORPUS/tablebomb.wat"
expect "not WebAssembly" 1 "wasm: .*is not a WebAssembly component or module" run "$CORPUS/garbage.wasm"

# Every gated host call without a capability: refused, each one audited.
expect "host calls without capabilities" 0 "kv.set denied needs kv.write on app/probe" run "$GUESTS/probe_component.wasm"
n=$(grep -c " denied needs " "$WORK/out" 2>/dev/null || true)
"$AETHER" run "$GUESTS/probe_component.wasm" > "$WORK/out" 2> "$WORK/err"
n=$(grep -c " denied needs " "$WORK/out")
if [ "$n" -eq 11 ] && [ "$(grep -c '^aether: denied: ' "$WORK/err")" -eq 11 ]; then
  ok "all 11 gated host functions refused and reported"
else
  bad "expected 11 refusals, got $n"; cat "$WORK/out"
fi
if [ -s "$AETHER_HOME/audit.log" ] && grep -q '"allowed":false' "$AETHER_HOME/audit.log"; then
  ok "refusals are in the node's audit log ($(grep -c '"allowed":false' "$AETHER_HOME/audit.log") lines)"
else
  bad "no refusal in $AETHER_HOME/audit.log"
fi

# HTTP: a loopback server on the probe's origin; a grant for another origin must not reach it.
python3 - "$WORK/requests" > /dev/null 2>&1 <<'PY' &
import http.server, sys
log = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        open(log, "a").write(self.path + "\n")
        body = b"hello from loopback"
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", 18901), H).serve_forever()
PY
SERVER_PID=$!
for _ in $(seq 1 50); do python3 -c 'import socket; socket.create_connection(("127.0.0.1", 18901), 0.2)' 2>/dev/null && break; sleep 0.1; done
expect "HTTP to a non-allow-listed origin" 0 "http.fetch denied needs http.get on http://127.0.0.1:18901/probe" \
  run --yes --grant "http.get http://127.0.0.1:18902/*" "$GUESTS/probe_component.wasm"
if [ ! -s "$WORK/requests" ]; then ok "the loopback server saw no request"; else bad "the server was reached: $(cat "$WORK/requests")"; fi
expect "HTTP to the allow-listed origin" 0 "http.fetch ok" \
  run --yes --grant "http.get http://127.0.0.1:18901/*" "$GUESTS/probe_component.wasm"
if [ "$(wc -l < "$WORK/requests" 2>/dev/null)" -eq 1 ]; then ok "exactly one request reached the server"; else bad "server requests: $(cat "$WORK/requests" 2>/dev/null)"; fi

# The filesystem: no preopens, so absolute paths and ../ climbs all fail.
expect "filesystem escapes" 0 "/etc/passwd refused" run "$GUESTS/escape_component.wasm"
if ! grep -q OPENED "$WORK/out" && [ "$(grep -c refused "$WORK/out")" -eq 10 ] && grep -q "note.txt failed" "$WORK/out"; then
  ok "all 10 escape attempts refused, and no mount to write to"
else
  bad "an escape attempt succeeded"; cat "$WORK/out"
fi
[ ! -e /tmp/aether-escape-write ] && ok "nothing written outside the sandbox" || bad "/tmp/aether-escape-write exists"

# With "fs.write /data/*": /data is mounted from the app's own directory; ../, absolute paths
# and a symlink planted in the mount still lead nowhere.
expect "filesystem escapes from a granted mount" 0 "write /data/note.txt ok" \
  run --yes --grant "fs.write /data/*" "$GUESTS/escape_component.wasm"
if ! grep -q OPENED "$WORK/out" && [ "$(grep -c refused "$WORK/out")" -eq 10 ]; then
  ok "all 10 escape attempts refused with /data mounted"
else
  bad "an escape attempt succeeded with /data mounted"; cat "$WORK/out"
fi
note=$(find "$AETHER_HOME/apps" -path '*/files/data/note.txt' 2>/dev/null | head -1)
[ -n "$note" ] && grep -q "written by the escape guest" "$note" && ok "the write landed in the app's directory (${note#$AETHER_HOME/})" \
  || bad "no note.txt under $AETHER_HOME/apps"
[ ! -e "$AETHER_HOME/apps/escape-component/files/outside.txt" ] && [ ! -e /tmp/aether-escape-write ] && ok "nothing written outside the mount" \
  || bad "a file was written outside the mount"

# Writes past the fs quota: a policy gives the app 1 MiB; every write path stops there (EDQUOT),
# the refusal is reported as limit-exceeded, and the app's directory holds at most 1 MiB.
cat > "$WORK/quota-policy.toml" <<'TOML'
[defaults]
fs_quota = "1MiB"

[[allow]]
right = "fs.write"
resource = "/data/*"
TOML
expect "writes past the fs quota" 0 "wasi:filesystem fs.write /data/\\*: limit-exceeded: [0-9]+ filesystem writes were refused: the app's file storage quota of 1048576 bytes is used up" \
  run --policy "$WORK/quota-policy.toml" --grant "fs.write /data/*" "$GUESTS/fsbomb_component.wasm"
if [ "$(grep -c 'Quota exceeded' "$WORK/out")" -ge 5 ] && grep -q "overwrite in place: ok" "$WORK/out"; then
  ok "every write path stopped with EDQUOT: $(grep '^sequential' "$WORK/out")"
else
  bad "a write path was not stopped by the quota"; cat "$WORK/out"
fi
files_dir="$AETHER_HOME/apps/fsbomb-component/files"
sizes=$(find "$files_dir" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
blocks=$(du -s --block-size=1 "$files_dir" | cut -f1)
if [ "$sizes" -le 1048576 ] && [ "$blocks" -le $((1048576 + 8192)) ]; then
  ok "the app's directory holds $sizes bytes in files, $blocks bytes on disk (quota 1048576)"
else
  bad "the app's directory holds $sizes bytes in files, $blocks on disk: over the 1 MiB quota"
fi

# Signed streams: the app appends to its own stream, signed by its own DID; the node's CLI
# verifies it; without the grant nothing is written.
expect "streams.append to the app's own stream" 0 "append notes 2" \
  run --yes --grant "streams.append notes" --grant "streams.read notes" "$GUESTS/streams_component.wasm"
grep -q "append other denied needs streams.append on other" "$WORK/out" && ok "an ungranted stream name is refused" \
  || bad "append to 'other' was not refused"
app_stream=$("$AETHER" log list 2>/dev/null | grep -o 'did:key:[A-Za-z0-9]*/notes' | head -1)
if [ -n "$app_stream" ] && [ "${app_stream%/notes}" != "$("$AETHER" --json id show 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["did"])' 2>/dev/null)" ]; then
  ok "the stream is the app's own: $app_stream"
else
  bad "no app stream in 'aether log list' (or it is the node's)"
fi
expect "aether log verify of the app's stream" 0 "3 entries, signature, seq/prev chain and Merkle root verified" log verify "$app_stream"
expect "aether log show of the app's stream" 0 "entry 1" log show "$app_stream"
expect "streams without the grant" 0 "append notes denied needs streams.append on notes" run "$GUESTS/streams_component.wasm"
expect "nothing was appended without the grant" 0 "3 entries" log verify "$app_stream"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
