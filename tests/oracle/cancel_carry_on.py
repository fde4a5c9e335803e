# A worker that suppresses its cancellation and carries on; a timeout whose block cleans up.
import asyncio


async def worker():
    for i in range(3):
        print(f"worker: step {i}")
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            left = asyncio.current_task().uncancel()
            print(f"worker: step {i} cancelled, carrying on; cancelling() = {left}")
    print(f"worker: done, cancelling() = {asyncio.current_task().cancelling()}")
    return "finished"


async def slow():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        print("slow: cleaning up")
        await asyncio.sleep(0.05)
        print("slow: cleaned up")
        raise


async def main():
    task = asyncio.create_task(worker())
    for _ in range(3):
        await asyncio.sleep(0.1)
        print("main: cancel, cancelling() =", task.cancel() and task.cancelling())
    print("main: worker returned", await task, "cancelled:", task.cancelled())
    try:
        async with asyncio.timeout(0.1):
            await slow()
    except TimeoutError:
        print("main: timed out, cancelling() =", asyncio.current_task().cancelling())


asyncio.run(main())
