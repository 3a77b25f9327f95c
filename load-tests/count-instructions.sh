#!/usr/bin/env bash
# Counts the user-space instructions a server spends per fanned-out action, with valgrind's
# callgrind: a number that does not move with the machine's noise (the same build, inputs and
# environment give the same count to within a fraction of a percent), unlike rates and
# latencies on a shared machine. It leaves out the kernel's work (the socket writes), which is
# the same for every peer: one write per delivery.
#
# For roundtable-redis the tool's private redis-server runs under callgrind too, and its count
# per action is given apart from the server's: what the Redis store costs on each side.
#
# The server runs under callgrind twice, for a short and a long fan-out at the same rate; the
# difference between the two totals, divided by the difference in actions, is the cost of an
# action in steady state, without start-up, connecting and joining.
#
# Usage: load-tests/count-instructions.sh [baseline|roundtable|roundtable-redis] [SERVER_BINARY]
# Needs valgrind (Debian package valgrind; for roundtable-redis also redis-server) and a release
# build of the load tool and the peer:
#   cargo build --release -p roundtable-load-tests -p roundtable-server
set -euo pipefail
cd "$(dirname "$0")/.."

peer="${1:-roundtable}"
case "$peer" in
  baseline | roundtable | roundtable-redis) ;;
  *) echo "usage: $0 [baseline|roundtable|roundtable-redis] [SERVER_BINARY]" >&2; exit 2 ;;
esac
program="${peer%-redis}" # the roundtable-redis peer runs the roundtable binary
target="${CARGO_TARGET_DIR:-target}/release"
server="${2:-$target/$program}"
tool="$target/roundtable-load"
for needed in "$server" "$tool"; do
  [ -x "$needed" ] || { echo "error: $needed is missing; build with: cargo build --release -p roundtable-load-tests -p roundtable-server" >&2; exit 1; }
done
command -v valgrind >/dev/null || { echo "error: valgrind is missing (Debian package valgrind)" >&2; exit 1; }

rooms=10 room_size=20 rate="${COUNT_RATE:-100}" short=5 long=25
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/wrapped" <<EOF
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.%p" "$(realpath "$server")" "\$@" 2>>"$work/valgrind.log"
EOF
chmod +x "$work/wrapped"
redis_args=()
if [ "$peer" = roundtable-redis ]; then
  redis_server=$(command -v redis-server) || { echo "error: redis-server is missing (Debian package redis-server)" >&2; exit 1; }
  cat >"$work/redis-wrapped" <<EOF
#!/bin/sh
# The tool checks that the program runs with --version; only the real server runs under callgrind.
[ "\$1" = --version ] && exec "$redis_server" --version
exec valgrind --tool=callgrind --callgrind-out-file="$work/redis.%p" "$redis_server" "\$@" 2>>"$work/valgrind.log"
EOF
  chmod +x "$work/redis-wrapped"
  redis_args=(--redis-server-bin "$work/redis-wrapped")
fi

total() { # total SECONDS: the server's (and its redis-server's) instruction counts over a fan-out of that length
  rm -f "$work"/callgrind.* "$work"/redis.*
  "$tool" fanout "${redis_args[@]}" --peer "$peer" --"$program"-bin "$work/wrapped" --rooms "$rooms" --room-size "$room_size" \
    --rate "$rate" --duration "$1" --json "$work/fanout.json" >/dev/null 2>"$work/fanout.err" \
    || { echo "error: the fan-out under valgrind failed:" >&2; tail -5 "$work/fanout.err" >&2; exit 1; }
  # A process that forks (redis-server rewriting its append-only file) leaves a file per process.
  echo "$(cat "$work"/callgrind.* | awk '/^totals:/ {sum += $2} END {print sum}')" \
    "$(cat "$work"/redis.* 2>/dev/null | awk '/^totals:/ {sum += $2} END {print sum}')"
}

read -r short_total short_redis < <(total "$short")
read -r long_total long_redis < <(total "$long")
actions=$(( (long - short) * rate ))
echo "$peer: $(( (long_total - short_total) / actions )) instructions per action" \
  "($rooms rooms x $room_size members, $rate actions/s; ${short} s: $short_total, ${long} s: $long_total)"
if [ -n "${long_redis:-}" ]; then
  echo "$peer's redis-server: $(( (long_redis - short_redis) / actions )) instructions per action" \
    "(${short} s: $short_redis, ${long} s: $long_redis)"
fi
