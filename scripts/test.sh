#!/usr/bin/env bash
# Every test: the Rust workspace with every feature on (the optional ones have their own tests).
# Extra arguments go to cargo test, e.g. `scripts/test.sh --test net_udp`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --all-features "$@"

# The Python package asyncio-rs (CPython's asyncio on our loop), when no arguments narrow the
# run, on each CPython version this machine has; ASYNCIO_RS_SKIP_PYTHON=1 leaves it out.
if [ $# -eq 0 ] && [ -z "${ASYNCIO_RS_SKIP_PYTHON:-}" ]; then
  echo "== [${SECONDS}s] the Python front (scripts/test_python.sh)"
  scripts/test_python.sh
  # The other CPython versions this machine has (3.12 to 3.14), each with its own build of
  # the package: the wheel is per version, not abi3.
  source scripts/pythons.sh
  for py in $(pythons); do
    v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    [ "$v" = "$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')" ] && continue
    echo "== [${SECONDS}s] the Python front on CPython $v"
    PYTHON=$py VENV=target/pyvenv-$v scripts/test_python.sh
  done
fi
