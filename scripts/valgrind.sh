#!/usr/bin/env bash
# Runs under valgrind memcheck the task-core tests (spawning, cancelling, closing a loop), the
# read buffer through real sockets (streams_idle_memory), the fd-watch tests (the fstat/poll(2)
# calls under add_reader, AsyncFd) and name lookup (getaddrinfo's list, freed on every path);
# fails on any error or leak.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v valgrind >/dev/null 2>&1; then
  echo "valgrind is not installed" >&2
  exit 1
fi
cargo build --tests --quiet
for test in task_core task_cancel loop_shutdown streams_idle_memory loop_fd_watch net_async_fd net_getaddrinfo; do
  bin=$(cargo test --no-run --message-format=json --test "$test" 2>/dev/null \
    | grep -o '"executable":"[^"]*"' | tail -1 | cut -d'"' -f4)
  valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-possibly-lost=no \
    --quiet "$bin" --test-threads=1
done
echo "valgrind: clean"
