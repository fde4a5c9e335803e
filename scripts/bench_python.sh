#!/usr/bin/env bash
# The Python package's echo benchmarks: asyncio_rs against uvloop, rloop and CPython's own
# loop in one run, for the seed's streams echo server and a Protocol echo server, 64
# connections of 64 B and 16 KiB requests (asyncio-rs/bench/echo_bench.py: request rate and
# server CPU per request on the wall clock; asyncio-rs/bench/echo_callgrind.sh: instructions
# per request under callgrind, which a loaded machine does not disturb).
# Installs asyncio-rs, uvloop and rloop into the venv of scripts/test_python.sh.
# Usage: scripts/bench_python.sh [wall|callgrind]   (default both)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-target/pyvenv}
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q ./asyncio-rs uvloop rloop
what=${1:-both}
if [ "$what" != callgrind ]; then
  echo "== echo, wall clock (client on core 0, server on core 1)"
  "$VENV/bin/python" asyncio-rs/bench/echo_bench.py secs=${SECS:-2} reps=${REPS:-3}
fi
if [ "$what" != wall ]; then
  echo "== echo, callgrind"
  asyncio-rs/bench/echo_callgrind.sh "$VENV/bin/python" "${N:-40}" 64
fi
