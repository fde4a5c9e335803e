# The Python side of tests/combinators_cpython_order.rs: the turn in which each combinator
# resumes, seen against a task that prints on every turn of the loop. Keep the two in step.
# (`as_completed` is left out: its turns changed between 3.11 and 3.13.)
import asyncio


async def ticker(n):
    for i in range(n):
        print("tick", i)
        await asyncio.sleep(0)


async def child(n, fail=False, turns=0, delay=0):
    for _ in range(turns):
        await asyncio.sleep(0)
    if delay:
        await asyncio.sleep(delay)
    print("child", n)
    if fail:
        raise ValueError(n)
    return n


async def main():
    t = asyncio.create_task(ticker(60))
    print("gather", await asyncio.gather(child(1), child(2, turns=2)))
    try:
        await asyncio.gather(child(3, fail=True), child(4, turns=3))
    except ValueError as e:
        print("gather raised", e)
    print("shield", await asyncio.shield(child(5)))
    ta = asyncio.create_task(child(16, turns=1))
    tb = asyncio.create_task(child(17))
    print("gather tasks", await asyncio.gather(ta, tb))
    t1 = asyncio.create_task(child(18, turns=2))
    t2 = asyncio.create_task(child(19))
    done, pending = await asyncio.wait([t1, t2])
    print("wait all", len(done))
    print("gather ok", await asyncio.gather(child(20, turns=1), child(21)))
    a, b = await asyncio.gather(child(22, turns=1), child(23))
    print("gather pair", a, b)
    late = asyncio.create_task(child(7, turns=4))
    done, pending = await asyncio.wait(
        [asyncio.create_task(child(6, turns=1)), late], return_when=asyncio.FIRST_COMPLETED
    )
    print("wait", len(done), len(pending))
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(child(10, fail=True, turns=1))
            tg.create_task(child(11, turns=10))
            print("body waits")
            for i in range(5):
                await asyncio.sleep(0)
                print("body", i)
    except* ValueError as eg:
        print("group raised", len(eg.exceptions))
    async with asyncio.TaskGroup() as tg:
        tg.create_task(child(12, turns=2))
        tg.create_task(child(13))
    print("group done")
    await t
    try:
        print(await asyncio.wait_for(child(14, delay=0.5), 0.05))
    except TimeoutError:
        print("wait_for timed out")
    try:
        async with asyncio.timeout(0.05):
            await child(15, delay=0.5)
    except TimeoutError:
        print("timeout expired")


asyncio.run(main())
