# The Python side of tests/contextvars_cpython.rs: a request id in a context variable, through
# create_task, gather, call_soon, call_later, to_thread and Context.run. Keep the two in step.
import asyncio
import contextvars

request_id = contextvars.ContextVar("request_id", default=0)


def show(where):
    print(where, request_id.get())


async def child(n):
    show(f"child {n} start")
    request_id.set(request_id.get() * 10 + n)
    await asyncio.sleep(0)
    show(f"child {n} end")
    return request_id.get()


async def handle(rid):
    request_id.set(rid)
    loop = asyncio.get_running_loop()
    loop.call_soon(show, f"call_soon in {rid}")
    loop.call_later(0.5, show, f"call_later in {rid}")
    t = asyncio.create_task(child(1))
    r = await asyncio.gather(child(2), child(3))
    print(f"handle {rid} gather", r)
    print(f"handle {rid} task", await t)
    show(f"handle {rid} after")
    await asyncio.sleep(1.0)
    return rid


async def main():
    show("main start")
    print("handled", await asyncio.gather(handle(1), handle(2)))
    show("main end")
    ctx = contextvars.copy_context()
    ctx.run(request_id.set, 99)
    print("ctx", ctx[request_id], "outside", request_id.get())
    token = request_id.set(5)
    t = asyncio.create_task(child(4))
    request_id.reset(token)
    print("task saw", await t, "main now", request_id.get())
    print("to_thread", await asyncio.to_thread(request_id.get))
    request_id.set(7)
    print("to_thread", await asyncio.to_thread(request_id.get))


request_id.set(3)
asyncio.run(main())
show("after run")
