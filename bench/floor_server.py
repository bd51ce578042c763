"""The floor for bench/fanout.py: the least a Python server can do to fan a message out.

A bare `websockets` asyncio server with no Django, no channel layer and no database. Each
socket gets the current state on connect, like the app's DepartmentConsumer. A line on the
trigger port (plain TCP, no HTTP) moves the version on by one, serialises the state once
and hands it to `websockets.broadcast()`; the server answers the trigger with the new
version number. Started by bench/fanout.py; prints "ready" once both ports listen.

    python bench/floor_server.py --port 9001 --trigger-port 9002 --payload state.json
"""

import argparse
import asyncio
import json
import signal

from websockets.asyncio.server import broadcast, serve


async def main(port: int, trigger_port: int, payload: str) -> None:
    with open(payload, encoding="utf-8") as f:
        state = json.load(f)
    clients = set()
    current = json.dumps(state)

    async def handler(ws):
        clients.add(ws)
        try:
            await ws.send(current)
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    async def trigger(reader, writer):
        nonlocal current
        while await reader.readline():
            state["version"] += 1
            current = json.dumps(state)  # once per change, as the app's broadcaster does
            broadcast(clients, current)
            writer.write(b"%d\n" % state["version"])
            await writer.drain()
        writer.close()

    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.cancel)
    async with serve(
        handler, "127.0.0.1", port, compression=None, max_queue=4, backlog=1024
    ) as server:
        control = await asyncio.start_server(trigger, "127.0.0.1", trigger_port)
        print("ready", flush=True)
        try:
            await stop
        except asyncio.CancelledError:
            pass
        control.close()
        server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--trigger-port", type=int, required=True)
    parser.add_argument("--payload", required=True, help="JSON file with a 'version' int")
    args = parser.parse_args()
    asyncio.run(main(args.port, args.trigger_port, args.payload))
