#!/usr/bin/env bash
# Runs the task-core tests (spawning, wakers, cancelling, catchable cancellation, context
# variables, task groups, closing a loop, cross-thread wakes and submissions) and the streams'
# read buffer's unit tests under Miri,
# once with Stacked Borrows and once with Tree Borrows, side by side; fails on any undefined
# behaviour, data race, leak or failing test.
#
# Installs a nightly toolchain with Miri if there is none (MIRI_TOOLCHAIN picks another one,
# e.g. a dated nightly); if it cannot, says so and skips (fails with MIRI_REQUIRED=1). Builds in target/miri.
#
# The loop itself runs under Miri: Miri emulates epoll and eventfd, and its own clock
# (isolated, so no -Zmiri-disable-isolation) drives the timers. Miri has no timerfd, so there
# the loop keeps epoll's millisecond precision (`reactor::TimerFd::new`). No leak is
# reported, so leaks stay errors (no -Zmiri-ignore-leaks).
# Left out: the 100 000-task test of task_core spawns 1 000 under Miri (`cfg!(miri)`), and
# suites that need real sockets, processes, signals, TLS (ring's C code) or a million timers,
# which Miri cannot run or runs for many minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

toolchain=${MIRI_TOOLCHAIN:-nightly}
suites=(task_core task_cancel task_catch_cancel task_group task_wake contextvars loop_shutdown loop_runner
  loop_threadsafe runtime_multi)

if ! rustup run "$toolchain" cargo miri --version >/dev/null 2>&1 \
  || ! rustup component list --toolchain "$toolchain" --installed 2>/dev/null | grep -q '^rust-src'; then
  echo "miri: installing toolchain $toolchain with miri and rust-src"
  if rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
    install=(rustup component add --toolchain "$toolchain" miri rust-src)
  else
    install=(rustup toolchain install "$toolchain" --profile minimal -c miri,rust-src --allow-downgrade --no-self-update)
  fi
  if ! timeout 600 "${install[@]}"; then
    # A machine that cannot fetch a toolchain (only the one it came with) cannot run Miri;
    # that must not block CI, but it must be plain in the log. MIRI_REQUIRED=1 makes it fail.
    echo "miri: SKIPPED: could not install Miri on toolchain $toolchain ('${install[*]}');" \
      "the task core was NOT checked under Miri on this machine" >&2
    [ "${MIRI_REQUIRED:-0}" = 1 ] && exit 1
    exit 0
  fi
fi
cargo "+$toolchain" miri --version
# Builds the standard library for Miri once (kept in ~/.cache/miri).
cargo "+$toolchain" miri setup >/dev/null

export CARGO_TARGET_DIR=target/miri
test_args=()
for suite in "${suites[@]}"; do
  test_args+=(--test "$suite")
done
cargo "+$toolchain" miri test -j2 --quiet --no-run "${test_args[@]}" --lib

# Stacked Borrows (the default) and Tree Borrows, side by side (Miri runs on one core each).
# Both catch a waker made from a `&Header` instead of the allocation's own pointer (its last
# drop frees the task through a read-only pointer), and both catch a read of the header after
# `release` gave its reference back (a data race with the free on another thread).
logs=$CARGO_TARGET_DIR/logs
mkdir -p "$logs"
models=(stacked tree)
pids=()
for model in "${models[@]}"; do
  flags=${MIRIFLAGS:-}
  if [ "$model" = tree ]; then
    flags="$flags -Zmiri-tree-borrows"
  fi
  # Then the read buffer's unit tests (its reads into uninitialised memory), but for the
  # property test and the bulk-read one, which take minutes under Miri (they run natively).
  { MIRIFLAGS="$flags" cargo "+$toolchain" miri test --no-fail-fast "${test_args[@]}" \
      -- --test-threads=1 \
    && MIRIFLAGS="$flags" cargo "+$toolchain" miri test --lib -- streams::buffer \
      --skip the_buffer_is_a_queue_of_bytes --skip reads_ask_for_room_near_what_they_got \
      --test-threads=1; } >"$logs/$model.log" 2>&1 &
  pids+=($!)
done
failed=()
for i in "${!models[@]}"; do
  wait "${pids[$i]}" || failed+=("${models[$i]}")
done
for model in "${models[@]}"; do
  echo "-- miri, $model borrows"
  cat "$logs/$model.log"
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "miri: FAILED with ${failed[*]/%/ borrows} (undefined behaviour, a leak or a failing test: see above)" >&2
  exit 1
fi
echo "miri: clean under stacked and tree borrows"
