#!/usr/bin/env bash
# Instructions per accepted connection of accept_bench.py's server on each loop, under
# callgrind: the server runs until N (then 2N) connect+close connections were lost;
# Ir(2N) - Ir(N), divided by N, so start-up and imports cancel out.
# Usage: asyncio-rs/bench/accept_callgrind.sh [PYTHON] [N] [LOOPS]
set -euo pipefail
# One hash seed for every run: with a random one, start-up's cost (dict layouts, string
# hashes) moves by millions of instructions from run to run, which Ir(2N) - Ir(N) would keep.
export PYTHONHASHSEED=0
PY=$(realpath -s "${1:-$(dirname "$0")/../../target/pyvenv/bin/python}")
cd "$(dirname "$0")"
N=${2:-500}
LOOPS=${3:-ours uvloop rloop asyncio}
ir() { # LOOP CONNECTIONS
  local out port
  out=$(mktemp)
  coproc SERVER { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$PY" accept_bench.py serve "$1" "$2" 2>"$out"; }
  if ! read -r -t 120 port <&"${SERVER[0]}" || [ -z "$port" ]; then
    kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; rm -f "$out"; echo 0; return
  fi
  "$PY" accept_bench.py client "$port" "$2"
  wait "$SERVER_PID" || true
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out"
  rm -f "$out"
}
printf '%-8s' accept; for l in $LOOPS; do printf '%14s' "$l"; done
echo "   (instructions per connection; × ours)"
printf '%-8s' "$N"
base=
for l in $LOOPS; do
  a=$(ir "$l" "$N"); b=$(ir "$l" $((2 * N)))
  if [ -z "$a" ] || [ -z "$b" ] || [ "$a" = 0 ] || [ "$b" = 0 ]; then printf '%14s' failed; continue; fi
  per=$(((b - a) / N))
  if [ -z "$base" ]; then base=$per; fi
  printf '%14s' "$per($(awk "BEGIN{printf \"%.2f\", $per/$base}"))"
done
echo
