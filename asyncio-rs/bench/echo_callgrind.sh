#!/usr/bin/env bash
# Instructions per request of the echo servers of echo_bench.py on each loop, under callgrind
# (deterministic while other work shares the machine): the server runs under callgrind until
# CONNS client connections of N (then 2N) requests each have ended; Ir(2N) - Ir(N), divided by
# CONNS*N, so start-up, imports and connection set-up cancel out.
# Usage: asyncio-rs/bench/echo_callgrind.sh [PYTHON] [N] [CONNS] [SIZES] [LOOPS]
# (KINDS="streams" or "protocol" runs one of the two servers; both by default)
set -euo pipefail
# One hash seed for every run: with a random one, start-up's cost (dict layouts, string
# hashes) moves by millions of instructions from run to run, which Ir(2N) - Ir(N) would keep.
export PYTHONHASHSEED=0
PY=$(realpath -s "${1:-$(dirname "$0")/../../target/pyvenv/bin/python}")
cd "$(dirname "$0")"
N=${2:-100}
CONNS=${3:-64}
SIZES=${4:-64 16384}
LOOPS=${5:-ours uvloop rloop asyncio}
client=${TMPDIR:-/tmp}/asyncio-rs-echo-client
cc -O2 -pthread -o "$client" echo_client.c
ir() { # LOOP KIND SIZE REQUESTS
  local out port
  out=$(mktemp)
  coproc SERVER { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$PY" echo_bench.py serve "$1" "$2" "$CONNS" 2>"$out"; }
  if ! read -r -t 120 port <&"${SERVER[0]}" || [ -z "$port" ]; then
    kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; rm -f "$out"; echo 0; return
  fi
  "$client" "$port" "$CONNS" "$3" "-$4" >/dev/null
  wait "$SERVER_PID" || true
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out"
  rm -f "$out"
}
printf '%-9s %6s' server size; for l in $LOOPS; do printf '%12s' "$l"; done
echo "   (instructions per request; × ours)"
for kind in ${KINDS:-streams protocol}; do
  for size in $SIZES; do
    printf '%-9s %6s' "$kind" "$size"
    base=
    for l in $LOOPS; do
      a=$(ir "$l" "$kind" "$size" "$N"); b=$(ir "$l" "$kind" "$size" $((2 * N)))
      if [ -z "$a" ] || [ -z "$b" ] || [ "$a" = 0 ] || [ "$b" = 0 ]; then printf '%12s' failed; continue; fi
      per=$(((b - a) / (CONNS * N)))
      if [ -z "$base" ]; then base=$per; fi
      printf '%12s' "$per($(awk "BEGIN{printf \"%.2f\", $per/$base}"))"
    done
    echo
  done
done
