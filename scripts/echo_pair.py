#!/usr/bin/env python3
"""Two echo servers measured in alternation, for a CPU-per-request ratio that the host's
drift moves as little as possible.

On the shared 2-core VM, every server's CPU per request moves by tens of percent from one
second to the next (raw epoll's own included), so a handful of samples cannot show a 5%
difference. This runs the two servers in short, back-to-back windows many times (A B, B A,
A B, ...), each under the same `echo client pingpong` load (client pinned to core 0, servers
to core 1), and takes the ratio within each round: a drift slower than a round cancels out.
It reports the median of the per-round ratios with a bootstrap 90% confidence interval for
that median, and the median CPU per request of each server. An A/A run (the same kind twice) shows the
method's own spread. (Running both servers at the same time was tried: their batching then
diverges, and an A/A run differed by up to 40%.)

  scripts/echo_pair.py KIND_A KIND_B CONNS SIZE [SECS] [ROUNDS]

KIND is an `echo server` kind (asyncio, protocol, tokio-ct, epoll, smol, ...), or KIND@PATH for the
kind in another build of the bench binary (to compare two builds). The bench binary is found
with `cargo bench --bench echo --no-run`, or given in $ECHO_BIN. Loopback only; each window is
bounded by SECS (default 1), ROUNDS defaults to 120: with 30, two runs of raw epoll against
itself gave −3.4% and +3.9% with intervals 8–20 points wide; with 120, +0.4% (−1.6 to +1.7).
"""

import os
import random
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from echo_count import bench_bin, cpu_times, sched_ns  # noqa: E402


def start_server(exe, kind):
    # KIND@PATH runs KIND from another build of the bench (an A/B of two builds).
    kind, _, other = kind.partition("@")
    server = subprocess.Popen(["taskset", "-c", "1", other or exe, "server", kind],
                              stdout=subprocess.PIPE, text=True)
    return server, int(server.stdout.readline())


def start_client(exe, port, conns, size, secs):
    client = subprocess.Popen(
        ["taskset", "-c", "0", exe, "client", "pingpong", f"127.0.0.1:{port}", str(conns),
         str(size), str(secs)], stdout=subprocess.PIPE, text=True)
    assert client.stdout.readline().strip() == "start"
    return client


def cpu_per_op(exe, server, conns, size, secs):
    """The server's CPU ns per request over one client window, and its user and system
    seconds and requests (for totals over all rounds: the tick counts are too coarse for one
    window)."""
    proc, port = server
    client = start_client(exe, port, conns, size, secs)
    c0, t0 = sched_ns(proc.pid), cpu_times(proc.pid)
    done = client.stdout.readline().split()
    c1, t1 = sched_ns(proc.pid), cpu_times(proc.pid)
    client.wait()
    ops = int(done[1])
    return (c1 - c0) / ops, (t1[0] - t0[0], t1[1] - t0[1], ops)


def median_ci(xs, level=0.9, resamples=2000):
    """The median of `xs` and a bootstrap confidence interval for it (percentile method,
    fixed seed so a rerun of the same numbers prints the same interval)."""
    rng = random.Random(7)
    meds = sorted(statistics.median(rng.choices(xs, k=len(xs))) for _ in range(resamples))
    cut = int((1 - level) / 2 * resamples)
    return meds[cut], statistics.median(xs), meds[-cut - 1]


def main():
    kind_a, kind_b, conns, size = sys.argv[1:5]
    secs = float(sys.argv[5]) if len(sys.argv) > 5 else 1.0
    rounds = int(sys.argv[6]) if len(sys.argv) > 6 else 120
    exe = bench_bin()
    servers = [start_server(exe, kind_a), start_server(exe, kind_b)]
    try:
        a_ns, b_ns, ratios = [], [], []
        totals = [[0.0, 0.0, 0], [0.0, 0.0, 0]]
        for r in range(rounds):
            order = (0, 1) if r % 2 == 0 else (1, 0)
            cpu = {i: cpu_per_op(exe, servers[i], conns, size, secs) for i in order}
            a_ns.append(cpu[0][0])
            b_ns.append(cpu[1][0])
            ratios.append(cpu[0][0] / cpu[1][0])
            for i in (0, 1):
                for k in range(3):
                    totals[i][k] += cpu[i][1][k]
        lo, mid, hi = median_ci(ratios)
        pct = lambda x: f"{100 * (x - 1):+.1f}%"  # noqa: E731
        print(f"{kind_a} vs {kind_b}, {conns} conn x {size} B, {rounds} rounds of {secs:g} s: "
              f"CPU/op {pct(mid)} (90% CI of the median {pct(lo)} to {pct(hi)}); medians "
              f"{statistics.median(a_ns) / 1000:.2f} vs {statistics.median(b_ns) / 1000:.2f} us/op")
        for kind, (user, system, ops) in zip((kind_a, kind_b), totals):
            print(f"  {kind}: user {1e6 * user / ops:.2f} us/op, system {1e6 * system / ops:.2f}"
                  f" us/op over all rounds")
    finally:
        for s, _ in servers:
            s.kill()
            s.wait()


if __name__ == "__main__":
    main()
