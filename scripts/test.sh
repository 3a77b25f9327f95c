#!/usr/bin/env bash
# Installs what the tests need when it is missing, then runs every test: formatting, clippy
# with warnings denied, unit, integration, Redis and browser end-to-end tests.
# Usage: ./scripts/test.sh   (from anywhere in the repository)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n==> %s\n' "$*"; }

# --- What the tests need -------------------------------------------------------------------
# A clean build of everything the tests compile writes about 8 GiB under target/ (measured on
# a fresh clone, 12-06). Say so at once, rather than after minutes of compiling, when the disk
# cannot hold it. The build is not incremental unless CARGO_INCREMENTAL says so: the command's
# usual run is CI's, on a fresh clone, where incremental compilation's caches only add disk
# (they took the same clean build to about 19 GiB with the dependencies' full debug
# information, which Cargo.toml's dev profile now leaves out).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
target_dir="${CARGO_TARGET_DIR:-target}"
mkdir -p "$target_dir"
free_mib=$(($(df -Pk "$target_dir" | awk 'NR == 2 {print $4}') / 1024))
if [ "$free_mib" -lt 10240 ]; then
  if [ -d "$target_dir/debug" ]; then
    echo "warning: only $free_mib MiB free on the disk holding $target_dir; the build may run out of space." >&2
  else
    echo "error: only $free_mib MiB free on the disk holding $target_dir, and a clean test build writes about 8 GiB. Free some space and run this again." >&2
    exit 1
  fi
fi

apt_updated=no
need_package() { # need_package COMMAND DEBIAN_PACKAGE WHY
  if ! command -v "$1" >/dev/null 2>&1; then
    if ! command -v apt-get >/dev/null 2>&1; then
      echo "error: $1 is missing and apt-get is not available to install the Debian package $2. $3" >&2
      exit 1
    fi
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    if [ "$apt_updated" = no ]; then
      say "apt-get update"
      if ! $sudo apt-get update -qq; then
        echo "error: apt-get update failed, so $2 cannot be installed. $3" >&2
        exit 1
      fi
      apt_updated=yes
    fi
    say "installing $2 (for $1)"
    if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$2" >/dev/null \
        || ! command -v "$1" >/dev/null 2>&1; then
      echo "error: could not install the Debian package $2, which provides $1. $3" >&2
      exit 1
    fi
  fi
}
need_package redis-server redis-server \
  "The Redis tests start their own redis-server (they stop and restart it to test outages), so they cannot run without it: install redis-server and run this again."
need_package redis-cli redis-tools \
  "The Redis Cluster tests join six redis-server processes into a cluster with redis-cli --cluster create: install redis-tools and run this again."
need_package chromium chromium \
  "The browser end-to-end tests run in headless Chromium: install chromium and run this again."
export ROUNDTABLE_TEST_CHROMIUM="${ROUNDTABLE_TEST_CHROMIUM:-$(command -v chromium)}"

if [ -f web-client/package.json ]; then
  if [ ! -d web-client/node_modules ] || [ web-client/package-lock.json -nt web-client/node_modules ]; then
    say "npm ci (web-client test tools)"
    (cd web-client && npm ci --no-audit --no-fund)
  fi
fi

# --- Rust ----------------------------------------------------------------------------------
say "cargo fmt --check"
cargo fmt --all --check

say "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

say "cargo test (unit, property, integration, store conformance, crash, Redis)"
# Built first, then run under a time limit: a test that hangs ends the run with a message
# instead of holding it forever (the test harness names each test running longer than 60 s).
cargo test --workspace --lib --bins --tests --no-run
rust_minutes="${ROUNDTABLE_TEST_MINUTES:-30}"
cargo_log=$(mktemp)
status_file=$(mktemp)
trap 'rm -f "$cargo_log" "$status_file"' EXIT
(
  # timeout runs the tests in a process group of its own, which Ctrl-C at the terminal does
  # not reach: the trap passes it on.
  timeout --kill-after=30s "${rust_minutes}m" cargo test --workspace --lib --bins --tests 2>&1 &
  tests=$!
  trap 'kill -TERM -- "-$tests" 2>/dev/null' INT TERM
  status=0
  wait "$tests" || status=$?
  if [ "$status" -gt 128 ] && kill -0 "$tests" 2>/dev/null; then
    wait "$tests" || status=$?
  fi
  echo "$status" >"$status_file"
) | tee "$cargo_log"
rust_status=$(cat "$status_file")
if [ "$rust_status" -eq 124 ]; then
  echo "error: the Rust tests did not finish within $rust_minutes minutes (ROUNDTABLE_TEST_MINUTES), so one hangs: the test harness names each test running longer than 60 s ('has been running for over 60 seconds') above." >&2
  exit 1
elif [ "$rust_status" -eq 137 ]; then
  echo "error: the Rust tests were killed: they outlived the time limit of $rust_minutes minutes by 30 s, or the system ended them (out of memory?)." >&2
  exit 1
fi
[ "$rust_status" -eq 0 ] || exit "$rust_status"
rust_passed=$(grep -Eo '^test result: [a-z]+\. [0-9]+ passed' "$cargo_log" | awk '{s+=$4} END {print s+0}')
rust_failed=$(grep -Eo '[0-9]+ failed;' "$cargo_log" | awk '{s+=$1} END {print s+0}')

# --- Browser -------------------------------------------------------------------------------
browser_passed=0
browser_failed=0
if [ -f web-client/package.json ]; then
  say "type-check the web client (tsc --noEmit --checkJs)"
  (cd web-client && npm run --silent typecheck)
  say "browser end-to-end tests (headless Chromium against the real server)"
  cargo build --bin roundtable
  browser_log=$(mktemp)
  trap 'rm -f "$cargo_log" "$status_file" "$browser_log"' EXIT
  (cd web-client && npm test) 2>&1 | tee "$browser_log"
  # Node's test runner ends with "# pass N" / "# fail N" (or "ℹ pass N" with the spec reporter).
  browser_passed=$(grep -Eo '^(# |ℹ )pass [0-9]+' "$browser_log" | awk '{s+=$NF} END {print s+0}')
  browser_failed=$(grep -Eo '^(# |ℹ )fail [0-9]+' "$browser_log" | awk '{s+=$NF} END {print s+0}')
  echo "screenshots: target/screenshots/"
fi

say "all tests passed"
echo "rust: ${rust_passed} passed, ${rust_failed} failed"
echo "browser: ${browser_passed} passed, ${browser_failed} failed"
