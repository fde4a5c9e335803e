"""Per-call cost of loop.create_future() and loop.create_task(coro) (the task run to its end).

Under callgrind, two sizes, the difference over the extra calls (start-up cancels out; at
10,000 calls its noise swamps the difference, so use more):
    for n in 20000 60000; do PYTHONHASHSEED=0 valgrind --tool=callgrind \\
      --callgrind-out-file=/dev/null PY future_bench.py LOOP create_future $n; done
LOOP: asyncio, asyncio_rs, uvloop, rloop; the second word: create_future or create_task.
"""

import asyncio
import sys

from _loops import loops

LOOPS = loops()


async def nop():
    pass


def run(loop, kind, n):
    if kind == "create_future":
        create_future = loop.create_future
        for _ in range(n):
            create_future()
        return

    async def main():
        create_task = loop.create_task
        for _ in range(n // 100):
            for _ in range(100):
                create_task(nop())
            await asyncio.sleep(0)
        await asyncio.sleep(0)

    loop.run_until_complete(main())


if __name__ == "__main__":
    loop = LOOPS[sys.argv[1]]()
    run(loop, sys.argv[2], int(sys.argv[3]))
    loop.close()
