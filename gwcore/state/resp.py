"""A lean Redis connection on hiredis.Reader: a batch of packed commands out, its replies back in order."""
import asyncio
from collections import deque

import hiredis

pack_command = hiredis.pack_command


class ReplyError(Exception):
    """An error reply from Redis; its first word is the code ("NOSCRIPT", "READONLY", "ERR", ...)."""

    @property
    def code(self) -> str:
        return str(self).split(" ", 1)[0]


class RespProtocol(asyncio.Protocol):
    """Pipelined request/reply over one connection: each `execute` is answered by the next replies in order."""

    def __init__(self, on_lost=None):
        self._loop = asyncio.get_running_loop()
        self._on_lost = on_lost     # on_lost(protocol, error): the connection closed (whoever closed it)
        self._reader = hiredis.Reader(replyError=ReplyError)
        self._waiting = deque()     # [future, replies expected, replies so far], oldest first
        self.transport = None
        self.lost = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        reader = self._reader
        reader.feed(data)
        waiting = self._waiting
        while True:
            try:
                reply = reader.gets()
            except hiredis.ProtocolError as exc:
                self.transport.abort()
                self._fail(ConnectionError(f"Redis sent something that is not RESP: {exc}"))
                return
            if reply is False:
                return
            if not waiting:
                self.transport.abort()
                self._fail(ConnectionError("Redis sent a reply nobody asked for"))
                return
            entry = waiting[0]
            entry[2].append(reply)
            if len(entry[2]) == entry[1]:
                waiting.popleft()
                # a batch whose deadline passed is cancelled, but its replies still arrive and are
                # consumed here, so the ones after it stay matched to their requests
                if not entry[0].done():
                    entry[0].set_result(entry[2])

    def connection_lost(self, exc) -> None:
        error = ConnectionError(f"connection to Redis lost: {exc}" if exc else "Redis closed the connection")
        self._fail(error)
        if self._on_lost is not None:
            self._on_lost(self, error)

    def _fail(self, error: Exception) -> None:
        self.lost = True
        while self._waiting:
            future = self._waiting.popleft()[0]
            if not future.done():
                future.set_exception(error)

    def execute(self, packed: bytes, count: int) -> asyncio.Future:
        """Send `count` packed commands; the future gets their `count` replies (error replies as ReplyError)."""
        if self.lost:
            raise ConnectionError("the connection to Redis is closed")
        future = self._loop.create_future()
        self._waiting.append([future, count, []])
        self.transport.write(packed)
        return future
