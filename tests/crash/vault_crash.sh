#!/usr/bin/env bash
# Crash safety of `aether vault add`: SIGKILL the writer at a random moment, ITERATIONS times
# (default 200). An add is acknowledged when the command printed its CID — it does so only after
# the vault's write-ahead log is synced (docs/storage.md). After every kill the vault must open
# cleanly and the newest acknowledged add must read back byte for byte; every 25 iterations and
# at the end, every acknowledged add is read back.
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
  size=$(( (RANDOM * 32768 + RANDOM) % 3000000 + 1 ))
  head -c "$size" /dev/urandom > "$f"
  "$AETHER" --json vault add "$f" > "$WORK/out" 2> "$WORK/err" &
  pid=$!
  # 0..119 ms: many kills land inside the import, the rest after the acknowledgement.
  sleep "0.$(printf '%03d' $((RANDOM % 120)))"
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
  if ! "$AETHER" vault stats > /dev/null 2> "$WORK/stats.err"; then
    echo "FAIL: iteration $i: the vault does not open after SIGKILL: $(cat "$WORK/stats.err")"
    failed=$((failed + 1))
    break
  fi
  if [ $((i % 25)) -eq 0 ]; then check_all; fi
done
check_all
# gc must not lose acknowledged (pinned) content either.
"$AETHER" vault gc > /dev/null 2>&1 || { echo "FAIL: gc"; failed=$((failed + 1)); }
check_all
echo "$ITERATIONS kills: ${#acked[@]} adds acknowledged before the kill, $killed_before_ack killed mid-add; $failed failures"
[ "$failed" -eq 0 ]
