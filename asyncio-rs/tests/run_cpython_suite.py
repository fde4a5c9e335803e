"""Runs CPython's own test.test_asyncio files against asyncio_rs, as uvloop does, and prints
the pass rate per file.

- A file's loop-variant classes (those defining create_event_loop or new_loop, such as
  test_events' EPollEventLoopTests with its event-loop and subprocess mixins) run once, in
  a subclass whose factory returns asyncio_rs.EventLoop; the select/poll/kqueue/proactor
  variants, which would repeat the same tests, are left out.
- Every other class runs with asyncio_rs.EventLoopPolicy set, so each loop it gets from
  asyncio.new_event_loop / asyncio.run / IsolatedAsyncioTestCase is ours. Tests that build
  asyncio's own test loop (test_utils.TestLoop) or test asyncio's pure-Python classes do
  not touch ours: the column "on ours" counts the tests during which an asyncio_rs loop
  was made.

Each file runs in its own process with a time limit, JOBS files at a time (default: the
number of CPUs; the files' tests mostly wait on sockets and timers). The failures and
skips, with the first line of their reason, go to target/asyncio-rs-cpython-suite-X.Y.md
(Markdown). The exit status is 1 when a file's run crashed or timed out (an interpreter
crash is always our bug); single test failures are reported, not fatal, as some of these
tests are timing-sensitive.
Usage: run_cpython_suite.py [FILE...]   (default: every file but the Windows ones)
"""

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

# Every test file of this Python's test.test_asyncio but the Windows ones (the proactor loop
# and the Windows utilities), read off the package, so that 3.12's test_eager_task_factory,
# 3.13's test_staggered and 3.14's test_graph and test_tools are in when they exist.
WINDOWS_ONLY = ("test_windows_events", "test_windows_utils", "test_proactor_events")


def all_files():
    import test.test_asyncio as package

    folder = os.path.dirname(package.__file__)
    return sorted(f[:-3] for f in os.listdir(folder)
                  if f.startswith("test_") and f.endswith(".py") and f[:-3] not in WINDOWS_ONLY)


TIME_LIMIT = 240
REPORT = os.path.join(os.path.dirname(__file__), "..", "..", "target",
                      "asyncio-rs-cpython-suite-%d.%d.md" % sys.version_info[:2])


def _keeps(name):
    """Whether a loop-variant class is the one run on our loop: the epoll / selector
    variant; the select, poll, kqueue and proactor ones would run the same tests again."""
    if "Proactor" in name or "Kqueue" in name:
        return False
    return not (name.startswith(("Select", "Poll")) and not name.startswith("Selector"))


# Where asyncio_rs differs from asyncio's loop on purpose, by class.method: run as skips with
# the reason, so that they are listed with the others.
DEVIATIONS = {
    "GenericWatcherTests.test_create_subprocess_fails_with_inactive_watcher":
        "asyncio_rs reaps children on the Rust loop's pidfd watcher and, as uvloop, does not "
        "use the policy's child watcher",
    "PidfdChildWatcherTests.test_pidfd_closed_when_waitpid_raises":
        "(3.14) mocks os.waitpid for asyncio's pidfd watcher's _do_wait and waits until it is "
        "called; asyncio_rs reaps in Rust, never through os.waitpid, so the test would spin",
    "TestSSL.test_remote_shutdown_receives_trailing_data_on_slow_socket":
        "(3.14) reads _SelectorSocketTransport's _read_ready_cb and swaps its _sock for a "
        "wrapper whose send() it fakes; asyncio_rs's native transport has neither (it "
        "writes the fd from Rust), so the test's mocked write raises and its server waits "
        "forever",
    "SslProtoHandshakeTests.test_connection_lost_when_busy":
        "(3.14) makes a socket transport over a mock socket (fileno() 12345, a mocked "
        "send()); asyncio_rs's native transport reads and writes the real fd from Rust",
    "SubprocessThreadedWatcherTests.test_pid_not_reaped_before_exit_published":
        "(3.14) looks for the thread of asyncio's ThreadedChildWatcher (loop._watcher."
        "_threads); asyncio_rs reaps children on the Rust loop's pidfd watcher, with no thread",
}


def _skip_deviations(cls):
    """`cls`, or a subclass of it whose deliberate deviations are skipped with their reason."""
    skips = {m.split(".")[1]: r for m, r in DEVIATIONS.items() if m.split(".")[0] == cls.__name__}
    if not skips:
        return cls

    def skipping(reason):
        # Skipped from inside the test, so that setUp and tearDown still run: some of
        # CPython's tests rely on the state an earlier test's tearDown leaves behind.
        return lambda self: self.skipTest(reason)

    return type(cls.__name__, (cls,), {
        "__module__": cls.__module__,
        **{m: skipping(r) for m, r in skips.items() if hasattr(cls, m)},
    })


def load(name):
    import unittest

    import asyncio_rs

    module = __import__(f"test.test_asyncio.{name}", fromlist=["*"])
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for cls_name, cls in sorted(vars(module).items()):
        if not (isinstance(cls, type) and issubclass(cls, unittest.TestCase)):
            continue
        factory = next((m for m in ("create_event_loop", "new_loop") if m in cls.__dict__), None)
        if factory is not None:
            if not _keeps(cls_name):
                continue
            # The file's loop-variant class, making our loop instead.
            cls = type(cls_name, (cls,), {factory: lambda self: asyncio_rs.EventLoop(),
                                          "__module__": cls.__module__})
        suite.addTests(loader.loadTestsFromTestCase(_skip_deviations(cls)))
    return suite


def run_one(name):
    import unittest

    import asyncio_rs

    made = [0]
    init = asyncio_rs.EventLoop.__init__

    def counting_init(self, *a, **k):
        made[0] += 1
        init(self, *a, **k)

    asyncio_rs.EventLoop.__init__ = counting_init
    suite = load(name)

    class Result(unittest.TestResult):
        def __init__(self):
            super().__init__()
            self.passed = 0
            self.on_ours = 0
            self._before = 0

        def startTest(self, test):
            self._before = made[0]
            super().startTest(test)

        def stopTest(self, test):
            if made[0] > self._before:
                self.on_ours += 1
            super().stopTest(test)

        def addSuccess(self, test):
            self.passed += 1

    import asyncio

    result = Result()
    asyncio.set_event_loop_policy(asyncio_rs.EventLoopPolicy())
    suite.run(result)

    def reason(err):
        text = err.strip().splitlines()
        return text[-1][:200] if text else ""

    return {
        "total": result.testsRun,
        "passed": result.passed,
        "skipped": len(result.skipped),
        "on_ours": result.on_ours,
        "failed": [(t.id(), reason(e)) for t, e in result.failures + result.errors]
        + [(t.id(), "unexpected success") for t in result.unexpectedSuccesses],
        "skips": [(t.id(), r) for t, r in result.skipped],
    }


def run_file(name):
    """One file's run in its own process: its result and its wall time."""
    t0 = time.monotonic()
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--one", name],
            capture_output=True, text=True, timeout=TIME_LIMIT,
        )
        line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
        res = json.loads(line) if line.startswith("{") else None
        if res is None:
            res = {"total": 0, "passed": 0, "skipped": 0, "on_ours": 0, "broken": True,
                   "failed": [(name, "the run crashed: " + out.stderr.strip()[-300:])], "skips": []}
    except subprocess.TimeoutExpired:
        res = {"total": 0, "passed": 0, "skipped": 0, "on_ours": 0, "broken": True,
               "failed": [(name, f"timed out after {TIME_LIMIT}s")], "skips": []}
    return res, time.monotonic() - t0


def main(files):
    rows, report, broken = [], [], []
    started = time.monotonic()
    jobs = int(os.environ.get("JOBS") or os.cpu_count() or 1)
    # The slowest files first, so that the last one to start is a short one.
    order = sorted(files, key=lambda f: f not in ("test_events", "test_tasks", "test_ssl"))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = dict(zip(order, pool.map(run_file, order)))
    failures, skips = [], []
    for name in files:
        res, secs = results[name]
        if res.get("broken"):
            broken.append(name)
        ran = res["total"] - res["skipped"]
        pct = 100.0 * res["passed"] / ran if ran else 0.0
        rows.append((name, res["passed"], ran, res["skipped"], res["on_ours"], pct, secs))
        failures += [f"- FAIL `{t}`: {r}" for t, r in res["failed"]]
        skips += [f"- `{t}`: {' '.join(r.split())}" for t, r in res["skips"]]
    print(f"{'file':<22}{'passed':>8}{'ran':>6}{'rate':>8}{'skipped':>9}{'on ours':>9}{'secs':>7}")
    for name, passed, ran, skipped, ours, pct, secs in rows:
        print(f"{name:<22}{passed:>8}{ran:>6}{pct:>7.1f}%{skipped:>9}{ours:>9}{secs:>7.1f}")
    passed = sum(r[1] for r in rows)
    ran = sum(r[2] for r in rows)
    print(f"{'all':<22}{passed:>8}{ran:>6}{100.0 * passed / max(ran, 1):>7.1f}%"
          f"   ({time.monotonic() - started:.0f} s; failures in {os.path.normpath(REPORT)})")
    # The same, as Markdown: the table, then every failure and skip with its reason.
    version = sys.version.split()[0]
    report = [f"## CPython {version}: {passed}/{ran} passed", "",
              "| file | passed | ran | rate | skipped | ran on our loop |", "|---|---|---|---|---|---|"]
    report += [f"| {n} | {p} | {r} | {pct:.1f}% | {sk} | {o} |" for n, p, r, sk, o, pct, _ in rows]
    report += ["", f"Failures: {len(failures)}.", *failures, "",
               f"Skipped: {len(skips)}.", *skips]
    os.makedirs(os.path.dirname(REPORT), exist_ok=True)
    with open(REPORT, "w") as f:
        f.write("\n".join(report) + "\n")
    for line in failures:
        print(line)
    if broken:
        print(f"crashed or timed out: {', '.join(broken)}")
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        res = run_one(sys.argv[2])
        sys.stdout.flush()
        print(json.dumps(res))
    else:
        sys.exit(main(sys.argv[1:] or all_files()))
