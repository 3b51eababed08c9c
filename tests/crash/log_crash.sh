#!/usr/bin/env bash
# Crash safety of signed-stream appends: SIGKILL the writer (aether_log_crash_tool append) at a
# random moment, ITERATIONS times (default 200). An append is acknowledged when the writer printed
# "ack <seq>" — it does so only after Stream::append returned, i.e. after the batch's synced vault
# commit. After every kill the checker reopens the vault and the stream: every acknowledged seq
# must be present, the signed head must verify and agree with the index (the Merkle root over all
# leaves is recomputed), and every entry not checked before must verify in full (payload, seq,
# prev link, inclusion proof against the signed root). Every 25 kills and at the end the whole
# stream is checked in full (after a vault GC run straight after the kill) and as an export (verifyExport: seq 0..size-1 once each, prev chain,
# Merkle root, signature): no gap, no fork.
# usage: log_crash.sh <aether_log_crash_tool> [iterations]
set -u
TOOL=${1:?usage: log_crash.sh <aether_log_crash_tool> [iterations]}
ITERATIONS=${2:-200}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
SEED=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "log_crash: author seed $SEED"

failed=0
acked=-1
checked=0   # entries [0, checked) were verified in full after an earlier kill
killed_before_first_ack=0
for i in $(seq 1 "$ITERATIONS"); do
  "$TOOL" append "$WORK" "$SEED" > "$WORK/out" 2> "$WORK/err" &
  pid=$!
  # 20..119 ms: the tool needs ~20 ms to open the vault; kills land before, during and
  # between appends.
  sleep "0.$(printf '%03d' $((20 + RANDOM % 100)))"
  kill -9 "$pid" 2> /dev/null
  wait "$pid" 2> /dev/null
  # Only complete lines count (a line cut by the kill has no newline).
  last=$(python3 -c 'import sys
data = open(sys.argv[1]).read()
lines = data.split("\n")[:-1]
acks = [int(l.split()[1]) for l in lines if l.startswith("ack ")]
print(acks[-1] if acks else "")' "$WORK/out")
  if [ -n "$last" ]; then
    if [ "$last" -lt "$acked" ]; then
      echo "FAIL: iteration $i: the writer acknowledged seq $last after seq $acked"
      failed=$((failed + 1))
    fi
    acked=$last
  else
    killed_before_first_ack=$((killed_before_first_ack + 1))
    if [ -s "$WORK/err" ]; then
      echo "FAIL: iteration $i: the writer failed: $(cat "$WORK/err")"
      failed=$((failed + 1))
      break
    fi
  fi
  from=$checked
  if [ $((i % 25)) -eq 0 ]; then
    from=0
    # GC before anything reopens the stream: the pins alone must keep what was acknowledged.
    if ! "$TOOL" gc "$WORK" > "$WORK/gc" 2>&1; then
      echo "FAIL: iteration $i: gc: $(cat "$WORK/gc")"
      failed=$((failed + 1))
      break
    fi
  fi
  if ! "$TOOL" check "$WORK" "$SEED" "$acked" "$from" > "$WORK/check" 2>&1; then
    echo "FAIL: iteration $i (acked $acked, from $from): $(cat "$WORK/check")"
    failed=$((failed + 1))
    break
  fi
  checked=$(cut -d' ' -f2 "$WORK/check")
done
if [ "$failed" -eq 0 ] && ! "$TOOL" check "$WORK" "$SEED" "$acked" 0 > "$WORK/check" 2>&1; then
  echo "FAIL: final full check: $(cat "$WORK/check")"
  failed=$((failed + 1))
fi
echo "$ITERATIONS kills: last acknowledged seq $acked, $(cut -d' ' -f2 "$WORK/check") entries on disk," \
     "$killed_before_first_ack runs killed before their first ack; $failed failures"
[ "$failed" -eq 0 ]
