#!/usr/bin/env bash
# Alternating ramps: on a shared machine one ramp says little (the same build holds anything
# from one rate to twice it, minutes apart), so this runs the `ramp` scenario against several
# peer/binary pairs one after the other, round after round, and prints every round's rate held
# and each pair's median: the pairs meet the same noise in turn.
#
# Usage: load-tests/alternate-ramps.sh ROUNDS PEER:BINARY [PEER:BINARY...] [-- RAMP OPTIONS]
# e.g. (the Redis store's ramp against the embedded store's, and an older build's on Redis):
#   load-tests/alternate-ramps.sh 3 roundtable:target/release/roundtable \
#     roundtable-redis:target/release/roundtable roundtable-redis:/tmp/roundtable-old
# Needs a release build of the load tool: cargo build --release -p roundtable-load-tests -p roundtable-server
set -euo pipefail
cd "$(dirname "$0")/.."

rounds="${1:?usage: $0 ROUNDS PEER:BINARY [PEER:BINARY...] [-- RAMP OPTIONS]}"
shift
pairs=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  pairs+=("$1")
  shift
done
[ $# -gt 0 ] && shift
[ ${#pairs[@]} -gt 0 ] || { echo "error: name at least one PEER:BINARY" >&2; exit 2; }
tool="${CARGO_TARGET_DIR:-target}/release/roundtable-load"
[ -x "$tool" ] || { echo "error: $tool is missing; build with: cargo build --release -p roundtable-load-tests -p roundtable-server" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for round in $(seq 1 "$rounds"); do
  echo "round $round (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  for index in "${!pairs[@]}"; do
    peer="${pairs[$index]%%:*}"
    binary="${pairs[$index]#*:}"
    [ -x "$binary" ] || { echo "error: $binary is not an executable" >&2; exit 1; }
    "$tool" ramp --peer "$peer" --roundtable-bin "$binary" --json "$work/ramp.json" "$@" \
      >"$work/ramp.out" 2>&1 || true
    held=$(grep -m1 '"highest_rate_held"' "$work/ramp.json" 2>/dev/null \
      | sed -E 's/.*: *([0-9.]+|null).*/\1/' || true)
    [ -n "$held" ] || { echo "error: the ramp of ${pairs[$index]} wrote no result:" >&2; tail -5 "$work/ramp.out" >&2; exit 1; }
    [ "$held" = "null" ] && held=0
    printf '  %-50s %8.0f actions/s held\n' "${pairs[$index]}" "$held"
    echo "$held" >>"$work/held.$index"
  done
done
echo "medians (0: no step held):"
for index in "${!pairs[@]}"; do
  median=$(sort -n "$work/held.$index" | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}')
  printf '  %-50s %8.0f\n' "${pairs[$index]}" "$median"
done
