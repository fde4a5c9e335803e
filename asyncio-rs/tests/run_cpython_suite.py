"""Runs CPython's own test.test_asyncio files against asyncio_rs, as uvloop does, and prints
the pass rate per file.

- test_events: its event-loop mixin tests (EventLoopTestsMixin and SubprocessTestsMixin)
  in a subclass whose create_event_loop returns asyncio_rs.EventLoop; the file's other
  classes test asyncio's own Handle, policy and helpers and are not run.
- The other files run whole, with asyncio_rs.EventLoopPolicy set, so every loop they get
  from asyncio.new_event_loop / asyncio.run / IsolatedAsyncioTestCase is ours. Tests that
  build asyncio's own test loop (test_utils.TestLoop) do not touch ours: the column
  "on ours" counts the tests during which an asyncio_rs loop was made.

Each file runs in its own process with a time limit. The failures, with the first line of
their reason, go to target/asyncio-rs-cpython-suite.txt.
Usage: run_cpython_suite.py [FILE...]   (default: the list below)
"""

import json
import os
import subprocess
import sys
import time

FILES = [
    "test_events",
    "test_futures",
    "test_futures2",
    "test_tasks",
    "test_locks",
    "test_queues",
    "test_timeouts",
    "test_taskgroups",
    "test_waitfor",
    "test_context",
    "test_pep492",
    "test_runners",
    "test_streams",
    "test_sock_lowlevel",
    "test_server",
    "test_buffered_proto",
    "test_protocols",
]
TIME_LIMIT = 240
REPORT = os.path.join(os.path.dirname(__file__), "..", "..", "target", "asyncio-rs-cpython-suite.txt")


def load(name):
    import asyncio
    import unittest

    import asyncio_rs
    from test.test_asyncio import utils as test_utils

    loader = unittest.TestLoader()
    if name == "test_events":
        from test.test_asyncio import test_events

        class AsyncioRsEventLoopTests(
            test_events.UnixEventLoopTestsMixin,
            test_events.SubprocessTestsMixin,
            test_utils.TestCase,
        ):
            def create_event_loop(self):
                return asyncio_rs.EventLoop()

        return loader.loadTestsFromTestCase(AsyncioRsEventLoopTests)
    module = __import__(f"test.test_asyncio.{name}", fromlist=["*"])
    suite = loader.loadTestsFromModule(module)
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


def main(files):
    rows, report = [], []
    started = time.monotonic()
    for name in files:
        t0 = time.monotonic()
        try:
            out = subprocess.run(
                [sys.executable, __file__, "--one", name],
                capture_output=True, text=True, timeout=TIME_LIMIT,
            )
            line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
            res = json.loads(line) if line.startswith("{") else None
            if res is None:
                res = {"total": 0, "passed": 0, "skipped": 0, "on_ours": 0,
                       "failed": [(name, "the run crashed: " + out.stderr.strip()[-300:])], "skips": []}
        except subprocess.TimeoutExpired:
            res = {"total": 0, "passed": 0, "skipped": 0, "on_ours": 0,
                   "failed": [(name, f"timed out after {TIME_LIMIT}s")], "skips": []}
        ran = res["total"] - res["skipped"]
        pct = 100.0 * res["passed"] / ran if ran else 0.0
        rows.append((name, res["passed"], ran, res["skipped"], res["on_ours"], pct, time.monotonic() - t0))
        report.append(f"## {name}: {res['passed']}/{ran} passed, {res['skipped']} skipped")
        report += [f"FAIL {t}: {r}" for t, r in res["failed"]]
        report += [f"SKIP {t}: {r}" for t, r in res["skips"]]
    print(f"{'file':<22}{'passed':>8}{'ran':>6}{'rate':>8}{'skipped':>9}{'on ours':>9}{'secs':>7}")
    for name, passed, ran, skipped, ours, pct, secs in rows:
        print(f"{name:<22}{passed:>8}{ran:>6}{pct:>7.1f}%{skipped:>9}{ours:>9}{secs:>7.1f}")
    passed = sum(r[1] for r in rows)
    ran = sum(r[2] for r in rows)
    print(f"{'all':<22}{passed:>8}{ran:>6}{100.0 * passed / max(ran, 1):>7.1f}%"
          f"   ({time.monotonic() - started:.0f} s; failures in {os.path.normpath(REPORT)})")
    os.makedirs(os.path.dirname(REPORT), exist_ok=True)
    with open(REPORT, "w") as f:
        f.write("\n".join(report) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        res = run_one(sys.argv[2])
        sys.stdout.flush()
        print(json.dumps(res))
    else:
        main(sys.argv[1:] or FILES)
