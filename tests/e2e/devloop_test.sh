#!/usr/bin/env bash
# The developer loop from a clean directory: aether init NAME --template c, aether build,
# aether run . --yes, aether dev (rebuilds after an edit), consent and grant refusals, audit.
# usage: devloop_test.sh <aether binary>
set -u
AETHER=${1:?usage: devloop_test.sh <aether binary>}
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
