#!/usr/bin/env bash
# Instructions per round trip of sock_bench.py's sock_recv/sock_sendall echo on each loop,
# under callgrind (deterministic while other work shares the machine): Ir(2N) - Ir(N),
# divided by N, so the interpreter's start-up and imports cancel out.
# Usage: asyncio-rs/bench/sock_callgrind.sh [PYTHON] [N]
set -euo pipefail
# One hash seed for every run: with a random one, start-up's cost (dict layouts, string
# hashes) moves by millions of instructions from run to run, which Ir(2N) - Ir(N) would keep.
export PYTHONHASHSEED=0
cd "$(dirname "$0")"
PY=${1:-../../target/pyvenv/bin/python}
N=${2:-5000}
ir() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$PY" sock_bench.py --one "$1" "$2" 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
loops=$("$PY" -c 'import sock_bench; print(" ".join(sock_bench.LOOPS))')
echo "sock_recv/sock_sendall echo, 64 B: instructions per round trip (both sides)"
for l in $loops; do
  a=$(ir "$l" "$N"); b=$(ir "$l" $((2 * N)))
  printf '%-14s%10d\n' "$l" $(((b - a) / N))
done
