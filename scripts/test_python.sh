#!/usr/bin/env bash
# The Python package asyncio-rs: builds and installs it into a venv (target/pyvenv) with pip,
# as a user would, then runs its tests: its own, the seed's Python programs on our loop
# against CPython's loop, and CPython's own test.test_asyncio files against our loop.
# Needs python3 (3.11+) with venv and pip; maturin comes from pyproject's build backend.
# Another Python: PYTHON=python3.13 VENV=target/pyvenv313 scripts/test_python.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-target/pyvenv}
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q ./asyncio-rs
# An absolute path: 3.14's site warns about a venv's python run through a relative one.
case $VENV in
  /*) python=$VENV/bin/python ;;
  *) python=$PWD/$VENV/bin/python ;;
esac
cd asyncio-rs/tests
echo "== [${SECONDS}s] asyncio-rs: own tests (PYTHONMALLOC=debug)"
PYTHONMALLOC=debug "$python" -m unittest -q test_loop test_transport test_child test_threads test_sock test_datagram test_pipe test_server test_streams_native
echo "== [${SECONDS}s] asyncio-rs: the seed's programs, our loop against CPython's"
"$python" run_seed_programs.py
echo "== [${SECONDS}s] asyncio-rs: CPython's test.test_asyncio on our loop"
# In a scratch folder: CPython's tests leave their @test_* files in the working directory.
tests=$PWD
scratch=$(mktemp -d)
(cd "$scratch" && "$python" "$tests/run_cpython_suite.py")
rm -rf "$scratch"
