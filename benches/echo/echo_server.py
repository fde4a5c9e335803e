# Workload 11: the seed's echo server (programs/echo_server.py) in CPython asyncio or uvloop,
# looped so one connection carries many messages, reading up to 64 KiB as the Rust servers do,
# and without its prints. `python echo_server.py [uvloop]` prints the port it serves on.
import asyncio
import sys


async def handle_echo(reader, writer):
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


async def main():
    server = await asyncio.start_server(handle_echo, '127.0.0.1', 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if len(sys.argv) > 1 and sys.argv[1] == 'uvloop':
    import uvloop
    uvloop.run(main())
else:
    asyncio.run(main())
