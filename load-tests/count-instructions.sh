#!/usr/bin/env bash
# Counts the user-space instructions a server spends per fanned-out action, with valgrind's
# callgrind: a number that does not move with the machine's noise (the same build, inputs and
# environment give the same count to within a fraction of a percent), unlike rates and
# latencies on a shared machine. It leaves out the kernel's work (the socket writes), which is
# the same for every peer: one write per delivery.
#
# The server runs under callgrind twice, for a short and a long fan-out at the same rate; the
# difference between the two totals, divided by the difference in actions, is the cost of an
# action in steady state, without start-up, connecting and joining.
#
# Usage: load-tests/count-instructions.sh [baseline|roundtable] [SERVER_BINARY]
# Needs valgrind (Debian package valgrind) and a release build of the load tool and the peer:
#   cargo build --release -p roundtable-load-tests -p roundtable-server
set -euo pipefail
cd "$(dirname "$0")/.."

peer="${1:-roundtable}"
case "$peer" in
  baseline | roundtable) ;;
  *) echo "usage: $0 [baseline|roundtable] [SERVER_BINARY]" >&2; exit 2 ;;
esac
target="${CARGO_TARGET_DIR:-target}/release"
server="${2:-$target/$peer}"
tool="$target/roundtable-load"
for needed in "$server" "$tool"; do
  [ -x "$needed" ] || { echo "error: $needed is missing; build with: cargo build --release -p roundtable-load-tests -p roundtable-server" >&2; exit 1; }
done
command -v valgrind >/dev/null || { echo "error: valgrind is missing (Debian package valgrind)" >&2; exit 1; }

rooms=10 room_size=20 rate=100 short=5 long=25
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/wrapped" <<EOF
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.%p" "$(realpath "$server")" "\$@" 2>>"$work/valgrind.log"
EOF
chmod +x "$work/wrapped"

total() { # total SECONDS: the server's instruction count over a fan-out of that length
  rm -f "$work"/callgrind.*
  "$tool" fanout --peer "$peer" --"$peer"-bin "$work/wrapped" --rooms "$rooms" --room-size "$room_size" \
    --rate "$rate" --duration "$1" --json "$work/fanout.json" >/dev/null 2>"$work/fanout.err" \
    || { echo "error: the fan-out under valgrind failed:" >&2; tail -5 "$work/fanout.err" >&2; exit 1; }
  grep -h '^totals:' "$work"/callgrind.* | awk '{print $2}'
}

short_total=$(total "$short")
long_total=$(total "$long")
actions=$(( (long - short) * rate ))
echo "$peer: $(( (long_total - short_total) / actions )) instructions per action" \
  "($rooms rooms x $room_size members, $rate actions/s; ${short} s: $short_total, ${long} s: $long_total)"
