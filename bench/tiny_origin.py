"""A minimal keep-alive HTTP/1.1 origin for the accuracy harness: every GET gets 200 and a short JSON.

    python bench/tiny_origin.py PORT

The harness needs an origin that is never the bottleneck and needs nothing installed (nginx is
for the side-by-side benchmark); one uvloop process answering from a callback does.
"""
import asyncio
import sys

import uvloop

BODY = b'{"ok":true}'
ANSWER = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(BODY), BODY)


class Answer(asyncio.Protocol):
    """Answers each complete request head; the gateway sends GETs without bodies, maybe pipelined."""

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        heads = self.buffer.count(b"\r\n\r\n")
        if heads:
            self.buffer = self.buffer.rsplit(b"\r\n\r\n", 1)[1]
            self.transport.write(ANSWER * heads)


async def serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Answer, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(serve(int(sys.argv[1])))
