"""Runs the seed's Python programs (../shared/seed/programs) on asyncio_rs and on CPython's
own loop, and checks they print the same. Clock times (HH:MM:SS) and ephemeral ports are
masked. The echo client and server run as a pair, ours against ours. The programs mostly
sleep, so they all run at once (the two echo pairs one after the other, on one port).
Exit status 1 when a program prints something else on our loop."""

import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = os.environ.get(
    "SEED_PROGRAMS",
    os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "seed", "programs")),
)
ON_OURS = "import asyncio_rs, runpy, sys; asyncio_rs.install(); runpy.run_path(sys.argv[1], run_name='__main__')"
ON_CPYTHON = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')"


def masked(text):
    text = re.sub(r"\d\d:\d\d:\d\d", "HH:MM:SS", text)
    return re.sub(r"('127\.0\.0\.1', )\d+", r"\1PORT", text)


def run(code, program, timeout=60):
    out = subprocess.run([sys.executable, "-c", code, program], capture_output=True,
                         text=True, timeout=timeout)
    return masked(out.stdout), out.returncode


def echo_pair(code):
    server = subprocess.Popen([sys.executable, "-u", "-c", code, os.path.join(SEED, "echo_server.py")],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        first = server.stdout.readline()
        client, _ = run(code, os.path.join(SEED, "echo_client.py"))
        time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            rest, _ = server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            rest, _ = server.communicate()
    return masked(first + rest), client


def main():
    if not os.path.isdir(SEED):
        print(f"no seed programs at {SEED}: skipped")
        return 0
    bad = 0
    programs = sorted(p for p in os.listdir(SEED) if p.endswith(".py") and not p.startswith("echo_"))
    with ThreadPoolExecutor(max_workers=2 * len(programs) + 1) as pool:
        echo = pool.submit(lambda: (echo_pair(ON_CPYTHON), echo_pair(ON_OURS)))
        runs = [(name, pool.submit(run, ON_CPYTHON, os.path.join(SEED, name)),
                 pool.submit(run, ON_OURS, os.path.join(SEED, name))) for name in programs]
        for name, cpython, ours in runs:
            (want, want_rc), (got, got_rc) = cpython.result(), ours.result()
            same = want == got and want_rc == got_rc
            bad += not same
            print(f"{'same' if same else 'DIFFERENT':<10} {name}")
            if not same:
                print(f"  CPython (exit {want_rc}):\n{want}  asyncio_rs (exit {got_rc}):\n{got}")
        want, got = echo.result()
    same = want == got
    bad += not same
    print(f"{'same' if same else 'DIFFERENT':<10} echo_server.py + echo_client.py")
    if not same:
        print(f"  CPython: {want}\n  asyncio_rs: {got}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
