# A worker that catches its cancellation, says goodbye on its socket, and re-raises.
import asyncio


async def worker(writer, started):
    writer.write(b"hello\n")
    await writer.drain()
    started.set()
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        print("worker: cancelled, saying goodbye")
        writer.write(b"goodbye\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        print("worker: goodbye sent")
        raise


async def main():
    received = []
    closed = asyncio.Event()

    async def serve(reader, writer):
        while line := await reader.readline():
            received.append(line.decode().strip())
        writer.close()
        closed.set()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    started = asyncio.Event()
    task = asyncio.create_task(worker(writer, started))
    await started.wait()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        print("main: worker cancelled:", task.cancelled())
    await closed.wait()
    print("server received:", received)
    server.close()
    await server.wait_closed()


asyncio.run(main())
