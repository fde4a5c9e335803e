#!/usr/bin/env bash
# Instructions per UDP echo round trip (two datagrams: client to server and back, both on
# the one loop) of udp_bench.py on each loop, under callgrind: Ir(2N) - Ir(N), divided by N,
# so the interpreter's start-up and imports cancel out.
# Usage: asyncio-rs/bench/udp_callgrind.sh [PYTHON] [N]
set -euo pipefail
# One hash seed for every run: with a random one, start-up's cost (dict layouts, string
# hashes) moves by millions of instructions from run to run, which Ir(2N) - Ir(N) would keep.
export PYTHONHASHSEED=0
cd "$(dirname "$0")"
PY=${1:-../../target/pyvenv/bin/python}
N=${2:-5000}
ir() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$PY" udp_bench.py --one "$1" "$2" 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
loops=$("$PY" -c 'import udp_bench; print(" ".join(udp_bench.LOOPS))')
echo "UDP echo, 64 B: instructions per round trip"
for l in $loops; do
  a=$(ir "$l" "$N"); b=$(ir "$l" $((2 * N)))
  if [ -z "$a" ] || [ -z "$b" ]; then printf '%-14s %12s\n' "$l" "failed"; continue; fi
  printf '%-14s %12d\n' "$l" $(((b - a) / N))
done
