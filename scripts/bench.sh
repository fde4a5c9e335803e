#!/usr/bin/env bash
# Runs every benchmark by hand (never in `cargo test`/CI): the runtime workloads and sleep
# lateness, the network workloads (echo), memory per idle task and per idle connection, the
# sync queue; saves each output under target/bench/ and draws benchmarks.svg from them.
# uvloop is installed with pip into target/pyvenv when the package index allows (the echo
# bench skips it otherwise).
#
#   scripts/bench.sh            # everything (about 11 minutes on 2 cores)
#   scripts/bench.sh echo       # only the named benches
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
for b in "${benches[@]}"; do
  echo "== cargo bench --bench $b   (load: $(cut -d' ' -f1-3 /proc/loadavg))" | tee "$out/$b.txt"
  cargo bench --quiet --bench "$b" 2>&1 | tee -a "$out/$b.txt"
  # The chart reads the echo medians from the run they came with, not from a later one.
  if [ "$b" = echo ]; then cp target/echo-results.tsv "$out/"; fi
done
python3 scripts/chart.py "$out" benchmarks.svg
