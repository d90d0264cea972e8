"""The accuracy harness's clients: many keep-alive connections hammering limited keys, counting every answer per key.

Keys come in waves: for `wave_seconds` every connection spreads its calls over the same few
fresh keys of each limited path, then all move on to the next few. So each key is one trial
whose limit is crossed while every connection is calling it (the moment over-admission would
happen), and each key gets far more calls than its limit (so under-admission would show too).
"""
import asyncio
import collections
import time

HEAD_END = b"\r\n\r\n"


class Tally:
    """Answers by (path, key) and status; calls that got no answer (a socket error) by path."""

    def __init__(self):
        self.by_key = collections.defaultdict(collections.Counter)
        self.failed = collections.Counter()
        self.slowest = 0.0

    def answered(self, path: str, key: str, status: int, seconds: float) -> None:
        self.by_key[(path, key)][status] += 1
        if seconds > self.slowest:
            self.slowest = seconds

    def requests(self, path: str) -> int:
        return sum(sum(counts.values()) for (p, _), counts in self.by_key.items() if p == path) + self.failed[path]


def key_for(run: str, wave: int, index: int) -> str:
    return f"{run}-w{wave}-k{index}"


async def _call(reader, writer, path: str, key: str) -> int:
    writer.write(b"GET /%s/x HTTP/1.1\r\nhost: accuracy\r\nx-key: %s\r\n\r\n" % (path.encode(), key.encode()))
    head = await reader.readuntil(HEAD_END)
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def _connection(port: int, paths, run: str, keys_per_wave: int, started: float, wave_seconds: float,
                      waves: int, offset: int, tally: Tally) -> None:
    """One client connection: calls until the last wave is over, reconnecting after a socket error."""
    turn = offset
    reader = writer = None
    while True:
        now = time.monotonic()
        wave = int((now - started) / wave_seconds)
        if wave >= waves:
            break
        path = paths[turn % len(paths)]
        key = key_for(run, wave, (turn // len(paths)) % keys_per_wave)
        turn += 1
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            status = await _call(reader, writer, path, key)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            tally.failed[path] += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)
            continue
        tally.answered(path, key, status, time.monotonic() - now)
    if writer is not None:
        writer.close()


async def hammer(ports, paths, run: str, connections: int, keys_per_wave: int, waves: int,
                 wave_seconds: float) -> tuple:
    """(Tally, seconds taken): `connections` clients spread over the gateways on `ports`."""
    tally = Tally()
    started = time.monotonic()
    await asyncio.gather(*(
        _connection(ports[i % len(ports)], paths, run, keys_per_wave, started, wave_seconds, waves, i, tally)
        for i in range(connections)))
    return tally, time.monotonic() - started
