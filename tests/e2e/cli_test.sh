#!/usr/bin/env bash
# End-to-end test of the `aether` binary: every command's --help, init / up / id / cid / run,
# JSON output, and the error paths a user hits (no home, wrong passphrase, bad module).
# Usage: cli_test.sh <path to aether>
set -uo pipefail
AETHER=${1:?usage: cli_test.sh <aether binary>}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HOME="$work/home"   # never touch the real ~/.aether
mkdir -p "$HOME"
unset AETHER_HOME AETHER_PASSPHRASE
passed=0
failed=0

check() {  # check <name> <command...>: command must succeed
  local name=$1; shift
  if "$@" >"$work/out" 2>"$work/err"; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $name"; sed 's/^/  stdout: /' "$work/out"; sed 's/^/  stderr: /' "$work/err"; fi
}
check_fails() {  # check_fails <name> <expected exit> <stderr regex> <command...>
  local name=$1 want=$2 regex=$3; shift 3
  "$@" >"$work/out" 2>"$work/err" </dev/null
  local rc=$?
  if [ "$rc" -eq "$want" ] && grep -qE "$regex" "$work/err"; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: $name (exit $rc, want $want; stderr must match /$regex/)"; sed 's/^/  stderr: /' "$work/err"; fi
}
expect_eq() {  # expect_eq <name> <actual> <expected>
  if [ "$2" = "$3" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $1: got '$2', want '$3'"; fi
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# --help on every command
for cmd in "" init up id "id show" "id did-doc" "id new" cid run version; do
  check "help: aether $cmd" "$AETHER" $cmd --help
done

# No node yet: clear errors
check_fails "id show without a node" 1 "no node at .*aether init" "$AETHER" id show
check_fails "up without passphrase or tty" 1 "AETHER_PASSPHRASE" "$AETHER" up
check_fails "unknown command" 2 "subcommand|frobnicate" "$AETHER" frobnicate
check_fails "cid of a missing file" 2 "does not exist|not exist" "$AETHER" cid "$work/nope"

# Passphrase-sealed node via AETHER_PASSPHRASE; `up` creates it, prints the DID and runs hello
export AETHER_HOME="$work/node"
check "up creates the node" env AETHER_PASSPHRASE=s3cret "$AETHER" up
did=$(grep -o 'did:key:z6Mk[1-9A-HJ-NP-Za-km-z]*' "$work/out" | head -1)
[ -n "$did" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: up printed no DID"; cat "$work/out"; }
grep -q "Hello from a sandboxed Wasm component! The node hosting me is $did." "$work/out" \
  && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: hello guest greeting missing"; cat "$work/out"; }
check "up reuses the node" env AETHER_PASSPHRASE=s3cret "$AETHER" --json up
expect_eq "second up: same DID" "$(json "['did']" <"$work/out")" "$did"
expect_eq "second up: not created" "$(json "['created']" <"$work/out")" "False"
expect_eq "second up: guest status" "$(json "['hello']['status']" <"$work/out")" "0"
check "id show" "$AETHER" id show
expect_eq "id show prints the DID" "$(cat "$work/out")" "$did"
check "id show --json" "$AETHER" --json id show
expect_eq "id show --json did" "$(json "['did']" <"$work/out")" "$did"
check "did-doc" "$AETHER" id did-doc
expect_eq "did-doc id" "$(json "['id']" <"$work/out")" "$did"
key=$(sha256sum "$AETHER_HOME/keystore/node.key")
check_fails "wrong passphrase" 1 "auth-failed" env AETHER_PASSPHRASE=wrong "$AETHER" up
expect_eq "keystore unchanged after wrong passphrase" "$(sha256sum "$AETHER_HOME/keystore/node.key")" "$key"
check_fails "init over an existing node" 1 "already" env AETHER_PASSPHRASE=x "$AETHER" init
expect_eq "keystore unchanged after second init" "$(sha256sum "$AETHER_HOME/keystore/node.key")" "$key"
check_fails "did-doc of a bad did" 1 "malformed|unsupported" "$AETHER" id did-doc did:key:zNotAKey0

# Insecure dev node: warned about on stderr, never asks
check "init --insecure-dev" "$AETHER" --home "$work/dev" init --insecure-dev
grep -q "INSECURE" "$work/err" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: no insecure warning"; }
check "id new" "$AETHER" --json id new --out "$work/alice" --insecure-dev
[ -f "$work/alice/node.key" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: id new wrote no keystore"; }

# cid: the expected value is what `ipfs add --cid-version=1 --raw-leaves` prints for "hello\n"
# (a well-known CID; tests/interop/cid_multibase.mjs cross-checks CIDs with multiformats).
printf 'hello\n' >"$work/hello.txt"
check "cid" "$AETHER" cid "$work/hello.txt"
expect_eq "cid of hello\\n" "$(cat "$work/out")" "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am"

# run: a WAT module through the sandbox, and a broken one
cat >"$work/hi.wat" <<'WAT'
(module
  (import "aether" "print" (func $print (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "hi from wat\n")
  (func (export "run") (result i32) (call $print (i32.const 0) (i32.const 12))))
WAT
check "run wat" "$AETHER" --home "$work/dev" run "$work/hi.wat"
expect_eq "run output" "$(cat "$work/out")" "hi from wat"
echo "(module (func (export \"run\") (loop (br 0))))" >"$work/spin.wat"
check_fails "run: fuel exhausted" 1 "ran out of fuel" "$AETHER" run --fuel 10000 "$work/spin.wat"
echo "not wasm" >"$work/bad.wasm"
check_fails "run: bad module" 1 "wasm" "$AETHER" run "$work/bad.wasm"
check "version" "$AETHER" version

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
