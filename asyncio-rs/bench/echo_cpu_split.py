"""The echo servers' CPU per request split into user and system time: asyncio_rs against uvloop.

The same servers and client as echo_bench.py (server on core 1, client on core 0), 64 B
requests on 1 and 64 connections; each server's threads' utime and stime
(/proc/PID/task/*/stat, in clock ticks) over the client's measured window, the lower of REPS
windows. The kernel's share (loopback TCP, wake-ups) is the same work for every loop; the
user share is the loop's and the handler's.

Usage: echo_cpu_split.py [secs=5] [reps=2] [kinds=protocol,streams] [loops=ours,uvloop]
"""

import os
import sys

import echo_bench

TICK = os.sysconf("SC_CLK_TCK")


def ticks(pid):
    """(user, system) clock ticks of every thread of `pid`."""
    user = system = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        user += int(fields[11])
        system += int(fields[12])
    return user, system


def window(client, loop, kind, conns, secs):
    """µs of user and system time per request over one measured window."""
    got = echo_bench.measured(client, loop, kind, conns, 64, secs, ticks)
    if got is None:
        raise RuntimeError(f"the {loop} {kind} server failed")
    ops, _, (u0, s0), (u1, s1) = got
    per = 1e6 / TICK / max(ops, 1)
    return (u1 - u0) * per, (s1 - s0) * per


def main():
    opts = dict(a.split("=", 1) for a in sys.argv[1:])
    secs, reps = int(opts.get("secs", 5)), int(opts.get("reps", 2))
    kinds = opts.get("kinds", "protocol,streams").split(",")
    loops = opts.get("loops", "ours,uvloop").split(",")
    client = echo_bench.build_client()
    print(f"{'server':9} {'conns':>5} {'loop':8} {'user µs':>9} {'system µs':>10}")
    for kind in kinds:
        for conns in (1, 64):
            for loop in loops:
                runs = [window(client, loop, kind, conns, secs) for _ in range(reps)]
                user = min(r[0] for r in runs)
                system = min(r[1] for r in runs)
                print(f"{kind:9} {conns:5} {loop:8} {user:9.2f} {system:10.2f}")


if __name__ == "__main__":
    main()
