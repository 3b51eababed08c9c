#!/usr/bin/env bash
# The developer loop from a clean directory: aether init NAME --template c, aether build,
# aether run . --yes, aether dev (rebuilds after an edit), consent and grant refusals, audit.
# usage: devloop_test.sh <aether binary>
set -u
AETHER=$(realpath "${1:?usage: devloop_test.sh <aether binary>}")
INTEROP_DIR=$(cd "$(dirname "$0")/../interop" && pwd)
WORK=$(mktemp -d)
DEV_PID=
trap '[ -n "$DEV_PID" ] && kill $DEV_PID 2>/dev/null; rm -rf "$WORK"' EXIT
export AETHER_HOME="$WORK/home"
unset AETHER_PASSPHRASE
passed=0
failed=0
ok() { echo "PASS: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }

"$AETHER" init --insecure-dev > /dev/null 2>&1 || { echo "FAIL: node init"; exit 1; }
cd "$WORK"
if "$AETHER" init hello --template c > out 2>&1 && [ -f hello/aether.toml ] && [ -f hello/src/main.c ] && [ -f hello/wit/host.wit ]; then
  ok "init hello --template c"
else
  bad "init hello --template c"; cat out
fi
"$AETHER" init hello --template c > out 2>&1 && bad "init over an existing dir succeeded" || grep -q "already exists" out && ok "init refuses an existing directory"
"$AETHER" init Bad_Name --template c > out 2>&1 && bad "bad app name accepted" || ok "bad app name refused: $(head -1 out)"
"$AETHER" init x --template rust > out 2>&1 && bad "unknown template accepted" || ok "unknown template refused"
cd hello
if "$AETHER" build > out 2>&1 && [ -f build/hello.wasm ]; then ok "build: $(tail -1 out)"; else bad "build"; cat out; fi
if "$AETHER" run . --yes > out 2> err && grep -q "Hello from hello! I am did:key:z6Mk.*, run #1." out; then
  ok "run . --yes: $(cat out)"
else
  bad "run . --yes"; cat out err
fi
"$AETHER" run . --yes > out 2> err && grep -q "run #2" out && ok "its kv state persists between runs" || bad "second run"
"$AETHER" run . > out 2> err < /dev/null && bad "ran without consent" || { grep -q "nobody can consent" err && ok "no TTY and no --yes: refused"; }
"$AETHER" run . --yes --grant "kv.write other/*" > out 2> err && bad "grant beyond the manifest accepted" || { grep -q "permission-denied" err && ok "--grant beyond the manifest refused"; }
"$AETHER" run . --yes --grant "kv.read app/*" > out 2> err
if grep -q "aether: denied: kv.set kv.write app/runs" err && grep '"function":"kv.set"' "$AETHER_HOME/audit.log" | grep -q '"allowed":false'; then
  ok "a host call outside the grant is refused and audited"
else
  bad "denied call not reported"; cat out err
fi

# Consent on a terminal (a pty from util-linux `script`): "n" keeps the app from starting, "y" runs it.
if command -v script > /dev/null; then
  printf 'n\n' | script -qec "'$AETHER' run ." /dev/null > tty.out 2>&1
  if grep -q "Allow and run" tty.out && grep -q "kv.write app/\*" tty.out && grep -q "consent refused" tty.out &&
     ! grep -q "Hello from" tty.out; then
    ok "TTY consent: the prompt lists the capabilities, 'n' refuses"
  else
    bad "TTY consent refusal"; cat tty.out
  fi
  printf 'y\n' | script -qec "'$AETHER' run ." /dev/null > tty.out 2>&1
  grep -q "Hello from hello" tty.out && ok "TTY consent: 'y' runs the app" || { bad "TTY consent 'y'"; cat tty.out; }
else
  echo "SKIP: no script(1) for a pty: TTY consent not tested"
fi

# --json and --epoch-ms (the wall-clock limit, enforced by epoch interruption).
if "$AETHER" run . --yes --json --epoch-ms 5000 > out 2> err && grep -q '"output": "Hello from hello' out &&
   grep -q '"denials": \[\]' out && grep -q '"fuel_used": [1-9]' out && grep -q '"status": 0' out; then
  ok "--json run reports output, status, fuel_used, denials"
else
  bad "--json run"; cat out err
fi

# The token the run minted, validated by an independent UCAN library (tests/interop/app_token.mjs).
if command -v node > /dev/null && [ -d "$INTEROP_DIR/node_modules/@ucans/ucans" ]; then
  json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }
  "$AETHER" run . --yes --json > run.json 2> err
  NODE_DID=$("$AETHER" --json id show 2> /dev/null | json_field did)
  TOKEN=$(json_field token < run.json)
  APP_DID=$(json_field app_did < run.json)
  if (cd "$INTEROP_DIR" && node app_token.mjs "$TOKEN" "$NODE_DID" "$APP_DID" "kv.read app/*" "kv.write app/*") > tok.out 2>&1; then
    ok "the app's token validates with @ucans/ucans: $(cat tok.out)"
  else
    bad "app token vs @ucans/ucans"; cat tok.out run.json
  fi
else
  echo "SKIP: node or tests/interop/node_modules missing: the app token is not checked with @ucans/ucans"
fi

# Missing tools are named.
AETHER_TOOLS_DIR="$WORK/no-tools" "$AETHER" build > out 2> err && bad "build without tools succeeded" ||
  { grep -q "not-found: .*no-tools/wit-bindgen is missing" err && ok "build names a missing tool: $(cat err)" || { bad "missing tool message"; cat err; }; }
AETHER_WASM_CC="$WORK/no-clang" "$AETHER" build > out 2> err && bad "build without a compiler succeeded" ||
  { grep -q "no-clang (the C compiler for wasm32-wasi) is missing" err && ok "build names a missing compiler" || { bad "missing compiler message"; cat err; }; }

# A stale build is pointed out (the run still goes ahead with what was built).
touch src/main.c
"$AETHER" run . --yes > out 2> err
grep -q "build/hello.wasm is older than the app's sources: run \`aether build\`" err && grep -q "Hello from hello" out &&
  ok "run warns about a stale build" || { bad "stale build warning"; cat out err; }

# aether dev: first cycle runs the app, an edit triggers a rebuild and a rerun.
"$AETHER" dev --yes --cycles 2 > dev.out 2> dev.err &
DEV_PID=$!
for _ in $(seq 1 100); do grep -q "waiting for changes" dev.err && break; sleep 0.1; done
sleep 1.1  # a later mtime than the first build saw
sed -i 's/Hello from/Edited hello from/' src/main.c
for _ in $(seq 1 200); do grep -q "Edited hello from" dev.out && break; sleep 0.1; done
if grep -q "Edited hello from hello" dev.out && [ "$(grep -c "aether dev: building" dev.err)" -eq 2 ]; then
  ok "dev rebuilt after the edit: $(grep Edited dev.out)"
else
  bad "dev did not rebuild"; cat dev.out dev.err
fi
wait $DEV_PID 2>/dev/null
DEV_PID=
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
