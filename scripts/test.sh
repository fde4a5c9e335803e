#!/usr/bin/env bash
# Every test: the Rust workspace with every feature on (the optional ones have their own tests).
# Extra arguments go to cargo test, e.g. `scripts/test.sh --test net_udp`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --all-features "$@"

# The Python package asyncio-rs (CPython's asyncio on our loop), when no arguments narrow the
# run; ASYNCIO_RS_SKIP_PYTHON=1 leaves it out.
if [ $# -eq 0 ] && [ -z "${ASYNCIO_RS_SKIP_PYTHON:-}" ]; then
  echo "== [${SECONDS}s] the Python front (scripts/test_python.sh)"
  scripts/test_python.sh
fi
