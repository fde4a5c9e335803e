#!/usr/bin/env bash
# Runs every benchmark by hand (never in `cargo test`/CI): the runtime workloads and sleep
# lateness, the network workloads (echo), memory per idle task and per idle connection, the
# sync queue; saves each output under target/bench/ and draws benchmarks.svg from them.
# `pairs` (not in the default set: about 32 minutes) measures the echo server's CPU per request
# against raw epoll and tokio ct in alternating rounds (scripts/echo_pair.py, 120 rounds each),
# which the host's drift moves far less than the medians of the echo bench: our server both
# with `read_into` a kept buffer and with `read(n)`, the Python pattern.
# uvloop is installed with pip into target/pyvenv when the package index allows (the echo
# bench skips it otherwise).
#
#   scripts/bench.sh            # everything (about 11 minutes on 2 cores)
#   scripts/bench.sh echo       # only the named benches
#   scripts/bench.sh pairs      # the alternating echo pairs
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench
mkdir -p "$out"

if [ ! -x target/pyvenv/bin/python ] || ! target/pyvenv/bin/python -c 'import uvloop' 2>/dev/null; then
  python3 -m venv target/pyvenv && target/pyvenv/bin/pip install --quiet uvloop \
    || echo "uvloop could not be installed; the echo bench skips it" >&2
fi

benches=("$@")
[ ${#benches[@]} -eq 0 ] && benches=(runtime echo memory sync_queue)
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), nproc $(nproc)"
  echo "kernel: $(uname -sr)"
  echo "rustc: $(rustc --version)"
  echo "python: $(python3 --version 2>&1), uvloop $(target/pyvenv/bin/python -c 'import uvloop; print(uvloop.__version__)' 2>/dev/null || echo none)"
} | tee "$out/machine.txt"
pairs() {
  python3 scripts/echo_pair.py epoll epoll 64 64
  for size in 64 1024 16384; do
    python3 scripts/echo_pair.py asyncio-into epoll 64 "$size"
  done
  python3 scripts/echo_pair.py asyncio epoll 64 64
  python3 scripts/echo_pair.py asyncio-into tokio-ct 64 64
  python3 scripts/echo_pair.py asyncio tokio-ct 64 64
}
for b in "${benches[@]}"; do
  if [ "$b" = pairs ]; then
    echo "== scripts/echo_pair.py   (load: $(cut -d' ' -f1-3 /proc/loadavg))" | tee "$out/pairs.txt"
    pairs 2>&1 | tee -a "$out/pairs.txt"
    continue
  fi
  echo "== cargo bench --bench $b   (load: $(cut -d' ' -f1-3 /proc/loadavg))" | tee "$out/$b.txt"
  cargo bench --quiet --bench "$b" 2>&1 | tee -a "$out/$b.txt"
  # The chart reads the echo medians from the run they came with, not from a later one.
  if [ "$b" = echo ]; then cp target/echo-results.tsv "$out/"; fi
done
python3 scripts/chart.py "$out" benchmarks.svg
