#!/usr/bin/env bash
# Crash safety of `aether vault add`: SIGKILL the writer at a random moment, ITERATIONS times
# (default 200). An add is acknowledged when the command printed its CID — it does so only after
# the vault is synced (docs/storage.md). After every kill: the vault opens cleanly, every
# acknowledged add is still pinned and every block of every pinned DAG is present and verifies
# (`aether vault verify`: decrypt + re-hash against the CID), and the newest acknowledged add
# reads back byte for byte; every 25 iterations and at the end, every acknowledged add is read
# back byte for byte.
# usage: vault_crash.sh <aether binary> [iterations]
set -u
AETHER=${1:?usage: vault_crash.sh <aether binary> [iterations]}
ITERATIONS=${2:-200}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export AETHER_HOME="$WORK/home"
unset AETHER_PASSPHRASE
"$AETHER" init --insecure-dev > /dev/null 2>&1 || { echo "FAIL: init"; exit 1; }

failed=0
acked=()   # "cid file" pairs
killed_before_ack=0
check_one() {  # check_one <cid> <file>
  if ! "$AETHER" vault get "$1" 2> "$WORK/get.err" | cmp -s - "$2"; then
    echo "FAIL: acknowledged $1 ($2) does not read back: $(cat "$WORK/get.err")"
    failed=$((failed + 1))
  fi
}
check_all() {
  for pair in "${acked[@]}"; do check_one ${pair}; done
}

for i in $(seq 1 "$ITERATIONS"); do
  f="$WORK/f$i"
  size=$(( (RANDOM * 32768 + RANDOM) % 1500000 + 1 ))
  head -c "$size" /dev/urandom > "$f"
  "$AETHER" --json vault add "$f" > "$WORK/out" 2> "$WORK/err" &
  pid=$!
  # 0..89 ms: many kills land inside the import, the rest after the acknowledgement.
  sleep "0.$(printf '%03d' $((RANDOM % 90)))"
  kill -9 "$pid" 2> /dev/null
  wait "$pid" 2> /dev/null
  cid=$(python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1]))["cid"])
except Exception: pass' "$WORK/out")
  if [ -n "$cid" ]; then
    acked+=("$cid $f")
    check_one "$cid" "$f"
  else
    killed_before_ack=$((killed_before_ack + 1))
    rm -f "$f"
  fi
  if ! "$AETHER" --json vault verify > "$WORK/verify" 2> "$WORK/verify.err"; then
    echo "FAIL: iteration $i: the vault does not open or verify after SIGKILL: $(cat "$WORK/verify.err")"
    failed=$((failed + 1))
    break
  fi
  "$AETHER" --json vault pins > "$WORK/pins" 2> /dev/null
  missing=$(python3 -c 'import json,sys
pins = set(json.load(open(sys.argv[1])))
print(" ".join(c for c in sys.argv[2:] if c not in pins))' "$WORK/pins" "${acked[@]%% *}")
  if [ -n "$missing" ]; then
    echo "FAIL: iteration $i: acknowledged adds are no longer pinned: $missing"
    failed=$((failed + 1))
  fi
  if [ $((i % 25)) -eq 0 ]; then check_all; fi
done
check_all
# gc must not lose acknowledged (pinned) content either.
"$AETHER" vault gc > /dev/null 2>&1 || { echo "FAIL: gc"; failed=$((failed + 1)); }
check_all
echo "$ITERATIONS kills: ${#acked[@]} adds acknowledged before the kill, $killed_before_ack killed mid-add; $failed failures"
[ "$failed" -eq 0 ]
