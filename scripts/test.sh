#!/usr/bin/env bash
# Every test: the Rust workspace with every feature on (the optional ones have their own tests).
# Extra arguments go to cargo test, e.g. `scripts/test.sh --test net_udp`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --all-features "$@"

# The Python package asyncio-rs (CPython's asyncio on our loop), when no arguments narrow the
# run, on python3 and on the newest other CPython the machine has; ASYNCIO_RS_SKIP_PYTHON=1
# leaves it out.
if [ $# -eq 0 ] && [ -z "${ASYNCIO_RS_SKIP_PYTHON:-}" ]; then
  echo "== [${SECONDS}s] the Python front (scripts/test_python.sh)"
  scripts/test_python.sh
  # The newest other CPython this machine has (3.12 to 3.14), with its own build of the
  # package (the wheel is per version, not abi3); ASYNCIO_RS_ALL_PYTHONS=1 runs every one.
  source scripts/pythons.sh
  default=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  others=()
  for py in $(pythons); do
    v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    [ "$v" = "$default" ] && continue
    # scripts/cpython314.sh's interpreter: only when asked for every version (not in CI).
    [ -z "${ASYNCIO_RS_ALL_PYTHONS:-}" ] && [[ $py == "$cpython314_prefix"/* ]] && continue
    others+=("$v=$py")
  done
  if [ -z "${ASYNCIO_RS_ALL_PYTHONS:-}" ] && [ "${#others[@]}" -gt 1 ]; then
    others=("${others[-1]}")
  fi
  for other in "${others[@]}"; do
    echo "== [${SECONDS}s] the Python front on CPython ${other%%=*}"
    PYTHON=${other#*=} VENV=target/pyvenv-${other%%=*} scripts/test_python.sh
  done
fi
