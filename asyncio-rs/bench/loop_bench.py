"""Hot paths of an event loop, on asyncio's own loop, asyncio_rs, uvloop and rloop (when installed),
in one run: each case alternates the loops round after round and keeps each loop's best
round, then prints the time per operation and the ratio to asyncio_rs.

- call_soon chain: a callback that calls call_soon on itself, N times.
- call_later+cancel: N timers armed and cancelled, with a turn of the loop every 1000.
- sleep(0) switch: 10 tasks each awaiting asyncio.sleep(0) N/10 times.

Usage: loop_bench.py [N] [ROUNDS]
       loop_bench.py --one LOOP CASE N   (one run, for callgrind: callgrind.sh runs it)
"""

import asyncio
import sys
import time

from _loops import loops

LOOPS = loops()


def call_soon_chain(loop, n):
    left = [n]

    def step():
        left[0] -= 1
        if left[0]:
            loop.call_soon(step)
        else:
            loop.stop()

    loop.call_soon(step)
    loop.run_forever()


def call_later_cancel(loop, n):
    async def main():
        for i in range(n):
            loop.call_later(10.0, step).cancel()
            if i % 1000 == 0:
                await asyncio.sleep(0)

    def step():
        raise AssertionError("cancelled timer ran")

    loop.run_until_complete(main())


def sleep0_switch(loop, n):
    async def worker(k):
        for _ in range(k):
            await asyncio.sleep(0)

    async def main():
        await asyncio.gather(*(worker(n // 10) for _ in range(10)))

    loop.run_until_complete(main())


CASES = [("call_soon chain", call_soon_chain), ("call_later+cancel", call_later_cancel),
         ("sleep(0) switch", sleep0_switch)]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    print(f"n={n}, best of {rounds} rounds, loops alternating; ns per operation")
    print(f"{'case':<20}" + "".join(f"{name:>12}" for name in LOOPS) + "   ratios to asyncio_rs")
    for label, case in CASES:
        best = {name: float("inf") for name in LOOPS}
        for _ in range(rounds):
            for name, factory in LOOPS.items():
                loop = factory()
                try:
                    t0 = time.perf_counter()
                    case(loop, n)
                    best[name] = min(best[name], time.perf_counter() - t0)
                finally:
                    loop.close()
        ours = best["asyncio_rs"]
        row = "".join(f"{best[name] / n * 1e9:>12.0f}" for name in LOOPS)
        ratios = ", ".join(f"{name} {best[name] / ours:.2f}x" for name in LOOPS if name != "asyncio_rs")
        print(f"{label:<20}{row}   {ratios}")


def one(loop_name, case_name, n):
    case = dict((label.split()[0], f) for label, f in CASES)[case_name]
    loop = LOOPS[loop_name]()
    case(loop, n)
    loop.close()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        one(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
