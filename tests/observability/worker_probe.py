"""Run one Worker in this process, send it one proxied request, print what OpenTelemetry it imported.

    python worker_probe.py CONFIG   ->  {"status": "200", "tracing": false, "otel": [...]}
"""
import asyncio
import json
import socket
import sys

del sys.path[0]  # the installed gwcore, not a source tree next to this file

import uvloop  # noqa: E402

from gwcore.config import load_plan  # noqa: E402
from gwcore.observability import tracing  # noqa: E402
from gwcore.workers.server import Worker  # noqa: E402

TRACEPARENT = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def one_request(address) -> bytes:
    reader, writer = await asyncio.open_connection(*address)
    writer.write(b"GET /svc/probe HTTP/1.1\r\nHost: probe\r\ntraceparent: " + TRACEPARENT + b"\r\n"
                 b"Connection: close\r\n\r\n")
    data = await reader.read()
    writer.close()
    return data


def main() -> None:
    plan = load_plan(sys.argv[1])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    worker = Worker(plan, sock, loop)
    worker.set_observers(tracing.setup(plan.settings))  # what the worker process does after the fork
    loop.run_until_complete(worker.start())
    answer = loop.run_until_complete(one_request(sock.getsockname()))
    worker.stop()
    print(json.dumps({"status": answer.split(b" ", 2)[1].decode(), "tracing": worker.tracing is not None,
                      "otel": sorted(m for m in sys.modules if m.startswith("opentelemetry"))}))


if __name__ == "__main__":
    main()
