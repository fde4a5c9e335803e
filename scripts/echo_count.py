#!/usr/bin/env python3
"""Per-request costs of the echo servers, counted rather than timed.

Runs one `echo server KIND` (pinned to core 1) under a fixed `echo client pingpong` load
(pinned to core 0) and reports, per request (one echoed message):

  syscalls  the server's syscalls by type (`perf stat -e 'syscalls:sys_enter_*'`)
  time      the server's user and system CPU time (/proc/PID/stat)
  sched     the server's task clock, context switches, migrations and page faults (`perf
            stat`), or the events named in $SCHED_EVENTS (e.g. sched:sched_wakeup); perf
            attaches a little after the window opens, so these read a little low
  callgrind the server's user-space instructions (valgrind callgrind, toggled on for the
            client's window only), with the top functions
  perf      where the server's CPU time goes, kernel included: `perf record -e cpu-clock`
            samples over the client's window, each symbol's share of the measured ns per
            request (run as root; on a VM the sampling itself costs the server CPU, and
            samples bunch where interrupts are re-enabled)

  scripts/echo_count.py MODE KIND CONNS SIZE [SECS]

MODE is syscalls, time, sched, callgrind or perf; KIND is an `echo server` kind (asyncio,
tokio-ct, epoll, ...). The bench binary is found with `cargo bench --bench echo --no-run`, or
given in $ECHO_BIN. Loopback only; every run is bounded by SECS.
"""

import json
import os
import signal
import subprocess
import sys
import time

PERF_PERIOD_NS = 250_000
PERF_STAT_OUT = "/tmp/echo_count.perf"
PERF_RECORD_OUT = "/tmp/echo_count.perf.data"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def bench_bin():
    if os.environ.get("ECHO_BIN"):
        return os.environ["ECHO_BIN"]
    out = subprocess.run(
        ["cargo", "bench", "--bench", "echo", "--no-run", "--message-format=json"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "echo" \
                and msg.get("executable"):
            return msg["executable"]
    raise SystemExit("no echo bench binary")


def cpu_times(pid):
    """(user, system) seconds of all the process's threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tck, int(fields[12]) / tck


def sched_ns(pid):
    """CPU time of all the process's threads in ns, as the bench samples it."""
    total = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{t}/schedstat") as f:
            total += int(f.read().split()[0])
    return total


def callgrind_calls(path, name):
    """How many times the function `name` was called, from a callgrind output file."""
    names, total, target = {}, 0, None
    with open(path) as f:
        for line in f:
            if line.startswith(("fn=", "cfn=")):
                ref = line.split("=", 1)[1].strip()
                if ref.startswith("("):
                    ident, _, rest = ref.partition(")")
                    if rest.strip():
                        names[ident] = rest.strip()
                    ref = names.get(ident, "")
                if line.startswith("cfn="):
                    target = ref
            elif line.startswith("calls=") and target == name:
                total += int(line.split("=", 1)[1].split()[0])
    return total


def main():
    mode, kind, conns, size = sys.argv[1:5]
    secs = float(sys.argv[5]) if len(sys.argv) > 5 else 3.0
    exe = bench_bin()
    argv = [exe, "server", kind]
    out_file = f"/tmp/echo_count.{kind}.{conns}x{size}.callgrind"
    if mode == "callgrind":
        extra = os.environ.get("CALLGRIND_OPTS", "").split()  # e.g. --cache-sim=yes
        argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no", *extra,
                f"--callgrind-out-file={out_file}"] + argv
    server = subprocess.Popen(["taskset", "-c", "1"] + argv, stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        client = subprocess.Popen(
            ["taskset", "-c", "0", exe, "client", "pingpong", f"127.0.0.1:{port}", conns, size,
             str(secs)], stdout=subprocess.PIPE, text=True)
        assert client.stdout.readline().strip() == "start"
        perf, perf_out = None, None
        # A failed perf must not leave the last run's output to be read as this one's.
        for stale in (PERF_STAT_OUT, PERF_RECORD_OUT):
            if os.path.exists(stale):
                os.remove(stale)
        if mode in ("syscalls", "sched"):
            events = "syscalls:sys_enter_*" if mode == "syscalls" else os.environ.get(
                "SCHED_EVENTS", "task-clock,context-switches,cpu-migrations,page-faults")
            perf_out = PERF_STAT_OUT
            perf = subprocess.Popen(
                ["perf", "stat", "-x", ",", "-o", perf_out, "-e", events, "-p",
                 str(server.pid)], stdout=subprocess.DEVNULL)
        elif mode == "perf":
            perf_out = PERF_RECORD_OUT
            perf = subprocess.Popen(
                ["perf", "record", "-q", "-e", "cpu-clock", "-c", str(PERF_PERIOD_NS), "-o",
                 perf_out, "-p", str(server.pid)], stdout=subprocess.DEVNULL)
        elif mode == "callgrind":
            subprocess.run(["callgrind_control", "-z", str(server.pid)], capture_output=True)
            subprocess.run(["callgrind_control", "-i", "on", str(server.pid)],
                           capture_output=True)
        t0, s0 = cpu_times(server.pid), sched_ns(server.pid)
        done = client.stdout.readline().split()
        t1, s1 = cpu_times(server.pid), sched_ns(server.pid)
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait()
            if not os.path.exists(perf_out):
                raise SystemExit(f"perf failed (exit {perf.returncode}); see its message above")
        elif mode == "callgrind":
            subprocess.run(["callgrind_control", "-i", "off", str(server.pid)],
                           capture_output=True)
            subprocess.run(["callgrind_control", "-d", str(server.pid)], capture_output=True)
        client.wait()
        ops = int(done[1])
        print(f"{kind} {conns}x{size}: {ops} ops in {float(done[2]):.2f}s "
              f"({ops / float(done[2]):.0f}/s)")
        if mode == "time":
            print(f"  cpu {(s1 - s0) / ops:.0f} ns/op; user {1e6 * (t1[0] - t0[0]) / ops:.2f} us/op, "
                  f"sys {1e6 * (t1[1] - t0[1]) / ops:.2f} us/op")
        elif mode == "sched":
            with open(PERF_STAT_OUT) as f:
                for line in f:
                    parts = line.strip().split(",")
                    if len(parts) > 2 and parts[0].replace(".", "").isdigit():
                        print(f"  {parts[2]:16} {float(parts[0]) / ops:10.4f}/op")
        elif mode == "syscalls":
            total = 0.0
            rows = []
            with open(PERF_STAT_OUT) as f:
                for line in f:
                    parts = line.strip().split(",")
                    if len(parts) < 3 or not parts[0].isdigit():
                        continue
                    n = int(parts[0])
                    if n:
                        rows.append((n, parts[2].replace("syscalls:sys_enter_", "")))
            # perf attaches a little after the client's window opens: count per echoed
            # message by the sends, one per message for a small echo, as well as per op.
            sends = sum(n for n, name in rows if name in ("sendto", "write", "writev"))
            print(f"  {'':16} {'per op':>8} {'per send':>9}")
            for n, name in sorted(rows, reverse=True):
                total += n
                print(f"  {name:16} {n / ops:8.3f} {n / sends:9.3f}")
            print(f"  {'total':16} {total / ops:8.3f} {total / sends:9.3f}")
        elif mode == "perf":
            report = subprocess.run(
                ["perf", "report", "-i", PERF_RECORD_OUT, "--no-children", "--sort", "sym",
                 "--stdio", "-F", "sample,sym"],
                capture_output=True, text=True, check=True).stdout
            rows = [line.split(None, 1) for line in report.splitlines()
                    if line.strip() and line.split()[0].isdigit()]
            total = sum(int(n) for n, _ in rows)
            if not total:
                raise SystemExit("perf recorded no samples")
            # On a VM the samples cover only about three quarters of the CPU time measured
            # over the window (cpu-clock samples are lost while interrupts are off, and perf
            # attaches late): each symbol gets its share of the measured time.
            cpu = (s1 - s0) / ops
            print(f"  cpu {cpu:.0f} ns/op over the window; {total} samples, "
                  f"covering {total * PERF_PERIOD_NS / ops / cpu:.0%} of it")
            for n, sym in sorted(rows, key=lambda r: -int(r[0]))[:45]:
                print(f"  {int(n) / total * cpu:8.1f}  {int(n) / total:6.1%}  {sym.strip()[:100]}")
        elif mode == "callgrind":
            time.sleep(0.5)
            files = sorted(f for f in os.listdir("/tmp")
                           if f.startswith(os.path.basename(out_file)))
            path = "/tmp/" + files[-1]
            ann = subprocess.run(["callgrind_annotate", "--inclusive=no", path],
                                 capture_output=True, text=True).stdout
            lines = ann.splitlines()
            # callgrind is switched on a little after the client's window opens: count per
            # echoed message by the sends, one per message for a small echo (libc's `send`,
            # or a `syscall` sendto+recvfrom pair where the server makes them directly).
            ops = callgrind_calls(path, "send") or callgrind_calls(path, "syscall") // 2 or ops
            for line in lines:
                if "PROGRAM TOTALS" in line:
                    ir = int(line.split()[0].replace(",", ""))
                    print(f"  user instructions {ir / ops:.0f}/op over {ops} echoes ({path})")
            start = next(i for i, l in enumerate(lines) if "file:function" in l)
            for line in lines[start + 2:start + 42]:
                if line.strip() and line.split()[0][0].isdigit():
                    parts = line.split(None, 2)
                    ir = int(parts[0].replace(",", ""))
                    print(f"  {ir / ops:8.0f}  {parts[-1][:110]}")
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
