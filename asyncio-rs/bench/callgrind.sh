#!/usr/bin/env bash
# Instructions per operation of each loop_bench.py case on each loop, under callgrind
# (deterministic while other work shares the machine): Ir(2N) - Ir(N), divided by N, so the
# interpreter's start-up and imports cancel out.
# Usage: asyncio-rs/bench/callgrind.sh [PYTHON] [N]
set -euo pipefail
# One hash seed for every run: with a random one, start-up's cost (dict layouts, string
# hashes) moves by millions of instructions from run to run, which Ir(2N) - Ir(N) would keep.
export PYTHONHASHSEED=0
cd "$(dirname "$0")"
PY=${1:-../../target/pyvenv/bin/python}
N=${2:-20000}
ir() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$PY" loop_bench.py --one "$1" "$2" "$3" 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
loops=$("$PY" -c 'import loop_bench; print(" ".join(loop_bench.LOOPS))')
printf '%-18s' case; for l in $loops; do printf '%14s' "$l"; done; echo "   (instructions per operation)"
for case in call_soon call_later+cancel sleep"(0)"; do
  printf '%-18s' "$case"
  for l in $loops; do
    a=$(ir "$l" "$case" "$N"); b=$(ir "$l" "$case" $((2 * N)))
    printf '%14d' $(((b - a) / N))
  done
  echo
done
