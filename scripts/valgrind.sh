#!/usr/bin/env bash
# Builds as scripts/test.sh does (the workspace, every feature), so nothing is rebuilt, then
# runs under valgrind memcheck the task-core tests (spawning, cancelling, catchable
# cancellation, context variables, closing a loop), the read buffer through real sockets
# (streams_idle_memory), the fd-watch tests (the fstat/poll(2) calls under add_reader,
# AsyncFd, a pty), name lookup (getaddrinfo's list, freed on every path) and the standard I/O
# traits (reads into uninitialised memory, sendmsg); fails on any error or leak. Then the
# Python front's own tests (its FFI: contexts, handles, the GIL) when scripts/test_python.sh
# has built target/pyvenv: memory errors only, as CPython 3.11 itself reads an uninitialised
# digit in int.from_bytes(b'').
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v valgrind >/dev/null 2>&1; then
  echo "valgrind is not installed" >&2
  exit 1
fi
cargo build --workspace --tests --all-features --quiet
for test in task_core task_cancel task_catch_cancel contextvars loop_shutdown streams_idle_memory \
  loop_fd_watch net_async_fd net_pty net_getaddrinfo compat_io; do
  bin=$(cargo test --workspace --all-features --no-run --message-format=json --test "$test" 2>/dev/null \
    | grep -o '"executable":"[^"]*"' | tail -1 | cut -d'"' -f4)
  valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-possibly-lost=no \
    --quiet "$bin" --test-threads=1
done
if [ -x target/pyvenv/bin/python ]; then
  python=$PWD/target/pyvenv/bin/python
  (cd asyncio-rs/tests && PYTHONMALLOC=malloc valgrind --error-exitcode=1 --undef-value-errors=no \
    --leak-check=no --quiet "$python" -m unittest -q test_loop test_transport test_child test_threads test_sock test_datagram test_pipe test_server \
    test_streams_native)
else
  echo "valgrind: target/pyvenv is not built (scripts/test_python.sh): the Python front was not checked"
fi
echo "valgrind: clean"
