#!/usr/bin/env bash
# End-to-end test of `aether vault`: --help of every subcommand, add / get (files and trees),
# --json output, pins and gc, CAR export / import, and the error paths (exit 1 with
# "aether: error: ...", nothing half-written: truncated CARs, CARs whose block does not match its
# CID, outputs that exist, unknown CIDs).
# Expected CIDs for "hello\n" are what `ipfs add --cid-version=1` (raw leaf) and `ipfs add`
# (CIDv0 dag-pb file) print — the CIDv0 one as ipfs-unixfs-importer 17.1.1 gives it with
# {cidVersion: 0, rawLeaves: false} — not values computed by our code;
# tests/interop/vault_cli.mjs checks many more against ipfs-unixfs-importer.
# Usage: vault_test.sh <path to aether>
set -uo pipefail
AETHER=${1:?usage: vault_test.sh <aether binary>}
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
stat_of() { "$AETHER" --json vault stats | json "['$1']"; }

for cmd in "vault" "vault add" "vault get" "vault export" "vault import" "vault pin" "vault unpin" \
           "vault pins" "vault gc" "vault stats"; do
  check "help: aether $cmd" "$AETHER" $cmd --help
done
check_fails "vault without a subcommand" 2 "subcommand" "$AETHER" vault

export AETHER_HOME="$work/node"
check_fails "vault before init" 1 "^aether: error: .*aether init" "$AETHER" vault stats
check "init" "$AETHER" init --insecure-dev

# add / get: "hello\n" has well-known CIDs.
printf 'hello\n' >"$work/hello.txt"
check "add" "$AETHER" vault add "$work/hello.txt"
expect_eq "add prints the CIDv1" "$(cat "$work/out")" "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am"
check "add --profile unixfs-v0-2015" "$AETHER" vault add --profile unixfs-v0-2015 "$work/hello.txt"
expect_eq "add v0 prints the CIDv0" "$(cat "$work/out")" "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"
check "add --json" "$AETHER" --json vault add --pin "$work/hello.txt"
expect_eq "add --json cid" "$(json "['cid']" <"$work/out")" "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am"
expect_eq "add --json size" "$(json "['size']" <"$work/out")" "6"
expect_eq "add --json pinned" "$(json "['pinned']" <"$work/out")" "True"
check "get" "$AETHER" vault get bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am
expect_eq "get gives the bytes back" "$(cat "$work/out")" "hello"
check "get v0" "$AETHER" vault get QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN
expect_eq "get v0 gives the bytes back" "$(cat "$work/out")" "hello"

head -c 3000000 /dev/urandom >"$work/big.bin"
check "add a 3 MB file" "$AETHER" vault add "$work/big.bin"
big=$(cat "$work/out")
check "get -o file" "$AETHER" vault get "$big" -o "$work/big.out"
cmp -s "$work/big.bin" "$work/big.out" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: get -o differs"; }
check "get to stdout" bash -c "'$AETHER' vault get '$big' | cmp -s - '$work/big.bin'"

# Directory trees.
mkdir -p "$work/tree/sub/deeper" "$work/tree/empty"
printf 'a' >"$work/tree/a.txt"
: >"$work/tree/sub/zero"
head -c 300000 /dev/urandom >"$work/tree/sub/deeper/r.bin"
check_fails "add a directory without -r" 1 "^aether: error: .*-r" "$AETHER" vault add "$work/tree"
check "add -r" "$AETHER" vault add -r "$work/tree"
tree=$(cat "$work/out")
check "get -o a tree" "$AETHER" vault get "$tree" -o "$work/tree.out"
check "tree round trip" diff -r "$work/tree" "$work/tree.out"
check_fails "get a directory to stdout" 1 "^aether: error: .*directory.*-o" "$AETHER" vault get "$tree"
check_fails "get -o over an existing path" 1 "^aether: error: .*exists" "$AETHER" vault get "$big" -o "$work/big.out"
ln -s "$work/hello.txt" "$work/tree/link"
check_fails "add -r refuses symlinks" 1 "^aether: error: .*symlink" "$AETHER" vault add -r "$work/tree"
rm "$work/tree/link"

# Errors.
check_fails "get an unknown CID" 1 "^aether: error: not-found" "$AETHER" vault get bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy
check_fails "get a malformed CID" 1 "^aether: error: " "$AETHER" vault get not-a-cid
check_fails "unknown profile" 1 "^aether: error: .*unknown profile" "$AETHER" vault add --profile nope "$work/hello.txt"
check_fails "add a missing file" 1 "^aether: error: " "$AETHER" vault add "$work/nope"
check_fails "pin an absent block" 1 "^aether: error: not-found" "$AETHER" vault pin bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy
check_fails "export an unknown CID" 1 "^aether: error: not-found" "$AETHER" vault export bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy "$work/x.car"
[ ! -e "$work/x.car" ] && [ ! -e "$work/x.car.partial" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: failed export left a file"; }

# Pins and gc.
check "pins" "$AETHER" --json vault pins
expect_eq "pins lists every pinned root" "$(json "[:]" <"$work/out" | tr -d "[]' " | tr ',' '\n' | sort | tr '\n' ' ')" \
  "$(printf '%s\n' QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am "$big" "$tree" | sort | tr '\n' ' ')"
expect_eq "stats pins" "$(stat_of pins)" "4"
head -c 5000 /dev/urandom >"$work/loose.bin"
check "add --no-pin" "$AETHER" --json vault add --no-pin "$work/loose.bin"
loose=$(json "['cid']" <"$work/out")
expect_eq "add --no-pin reports pinned false" "$(json "['pinned']" <"$work/out")" "False"
blocks_before=$(stat_of blocks)
check "gc" "$AETHER" --json vault gc
expect_eq "gc removes the unpinned add" "$(json "['blocks_removed']" <"$work/out")" "1"
expect_eq "gc frees its bytes" "$(json "['bytes_freed']" <"$work/out")" "5000"
expect_eq "stats after gc" "$(stat_of blocks)" "$((blocks_before - 1))"
check_fails "gc'd block is gone" 1 "not-found" "$AETHER" vault get "$loose"
check "pinned content survives gc" bash -c "'$AETHER' vault get '$big' | cmp -s - '$work/big.bin'"
check "unpin" "$AETHER" vault unpin "$big"
check_fails "unpin twice" 1 "^aether: error: not-found" "$AETHER" vault unpin "$big"
check "gc after unpin" "$AETHER" --json vault gc
expect_eq "gc removes the 3 MB file (root + 12 leaves)" "$(json "['blocks_removed']" <"$work/out")" "13"
check "pin again is refused once gone" bash -c "! '$AETHER' vault pin '$big' 2>/dev/null"

# Space quotas.
check "quota set" "$AETHER" --json vault quota user 4000
expect_eq "quota shows the limit" "$(json "['quota']" <"$work/out")" "4000"
head -c 3000 /dev/urandom >"$work/q1.bin"
head -c 3000 /dev/urandom >"$work/q2.bin"
check "add within the space quota" "$AETHER" vault add --space user "$work/q1.bin"
expect_eq "space usage" "$("$AETHER" --json vault quota user | json "['bytes']")" "3000"
blocks_before=$(stat_of blocks)
check_fails "add past the space quota" 1 "^aether: error: limit-exceeded: .*user" "$AETHER" vault add --space user "$work/q2.bin"
expect_eq "refused add wrote nothing" "$(stat_of blocks)" "$blocks_before"
check "the same file without a space" "$AETHER" vault add "$work/q2.bin"
check "quota 0 = unlimited" "$AETHER" vault quota user 0
grep -q "unlimited" "$work/out" && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: quota 0 not shown as unlimited"; }
check "help: aether vault quota" "$AETHER" vault quota --help

# CAR export / import into another node.
check "export" "$AETHER" vault export "$tree" "$work/tree.car"
export AETHER_HOME="$work/node2"
check "init node 2" "$AETHER" init --insecure-dev
carsize=$(stat -c %s "$work/tree.car")
head -c $((carsize - 7)) "$work/tree.car" >"$work/trunc.car"
check_fails "truncated CAR" 1 "^aether: error: truncated" "$AETHER" vault import "$work/trunc.car"
expect_eq "truncated CAR wrote nothing" "$(stat_of blocks)" "0"
# Flip the last byte (inside the last block's data): its CID no longer matches.
python3 - "$work/tree.car" "$work/bad.car" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read()); b[-1] ^= 1; open(sys.argv[2], 'wb').write(b)
PY
check_fails "CAR with a mismatched block" 1 "^aether: error: integrity" "$AETHER" vault import "$work/bad.car"
expect_eq "mismatched CAR wrote nothing" "$(stat_of blocks)" "0"
printf 'not a car' >"$work/junk.car"
check_fails "junk CAR" 1 "^aether: error: " "$AETHER" vault import "$work/junk.car"
expect_eq "junk CAR wrote nothing" "$(stat_of blocks)" "0"
check "import" "$AETHER" vault import "$work/tree.car"
expect_eq "import prints the root" "$(cat "$work/out")" "$tree"
expect_eq "import pins the root" "$("$AETHER" vault pins)" "$tree"
check "imported tree reads back" "$AETHER" vault get "$tree" -o "$work/tree2.out"
check "imported tree is identical" diff -r "$work/tree" "$work/tree2.out"
check "re-export" "$AETHER" vault export "$tree" "$work/tree2.car"
check "re-exported CAR is identical" cmp "$work/tree.car" "$work/tree2.car"

echo "vault e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
