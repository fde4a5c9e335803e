#!/usr/bin/env bash
# Builds asyncio-rs's wheels, one per CPython version this machine has (3.11 to 3.14; not
# abi3, which lacks PyContext_Enter and vectorcall on 3.11), into target/wheels, then
# installs each into a fresh venv of its own Python and runs a program on the loop.
# Usage: scripts/wheels.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pythons.sh
mapfile -t interpreters < <(pythons)
tools=target/wheels/tools
[ -x "$tools/bin/maturin" ] || { python3 -m venv "$tools" && "$tools/bin/pip" install -q "maturin>=1.8,<2"; }
args=()
for py in "${interpreters[@]}"; do args+=(-i "$py"); done
"$tools/bin/maturin" build --release -q -m asyncio-rs/Cargo.toml -o target/wheels "${args[@]}"
for py in "${interpreters[@]}"; do
  tag=$("$py" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')
  wheel=$(ls -t target/wheels/asyncio_rs-*-"$tag"-*.whl | head -1)
  venv=target/wheels/try-$tag
  rm -rf "$venv" && "$py" -m venv "$venv"
  "$venv/bin/pip" install -q "$wheel"
  "$venv/bin/python" -c '
import asyncio, sys, asyncio_rs
async def main():
    await asyncio.sleep(0.01)
    return type(asyncio.get_running_loop()).__module__
print(sys.version.split()[0], asyncio_rs.run(main()))'
  echo "  $wheel"
done
