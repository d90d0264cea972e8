"""64 MiB bodies both ways stream through with back-pressure: the gateway's memory stays flat."""
import hashlib
import http.client
import json
import threading
import time

import psutil
import pytest

SIZE = 64 * 1024 * 1024
PIECE = bytes(range(256)) * 256          # the origin's 64 KiB pattern
MAX_GROWTH = 16 * 1024 * 1024            # "a few buffers", far below the 64 MiB body


def _expected_sha(n: int) -> str:
    sha = hashlib.sha256()
    while n > 0:
        sha.update(PIECE[:n])
        n -= len(PIECE)
    return sha.hexdigest()


class RssWatch:
    """Samples the resident set size of the gateway's processes (all of them: with a supervisor
    the work happens in a child) in a thread; `stop()` gives peak minus start."""

    def __init__(self, pids: list):
        self.procs = [psutil.Process(pid) for pid in pids]
        self.start = self._rss()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.005)

    def _rss(self) -> int:
        return sum(proc.memory_info().rss for proc in self.procs)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak - self.start


@pytest.mark.parametrize("mode", ["big", "bigchunked"])
def test_64mib_download_streams(gw, mode):
    client = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=20)
    client.request("GET", f"/dp/v1/{mode}?n={SIZE}")
    watch = RssWatch(gw.pids())
    resp = client.getresponse()
    assert resp.status == 200
    # read nothing for a while: the origin keeps sending, the gateway must stop reading it
    time.sleep(0.6)
    sha = hashlib.sha256()
    got = 0
    while True:
        data = resp.read(1 << 20)
        if not data:
            break
        got += len(data)
        sha.update(data)
    growth = watch.stop()
    client.close()
    assert got == SIZE
    assert sha.hexdigest() == _expected_sha(SIZE)
    assert growth < MAX_GROWTH, f"gateway RSS grew by {growth / 2**20:.1f} MiB"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_64mib_upload_streams(gw, origin, chunked):
    before = origin.count()

    def body():
        for _ in range(SIZE // len(PIECE)):
            yield PIECE

    watch = RssWatch(gw.pids())
    client = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=20)
    # the origin waits before reading: the gateway must stop reading the client meanwhile
    headers = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(SIZE)}
    client.request("POST", "/dp/v1/sink/up?ms=600", body=body(), headers=headers, encode_chunked=chunked)
    resp = client.getresponse()
    answer = json.loads(resp.read())
    growth = watch.stop()
    client.close()
    assert resp.status == 200
    assert answer["body_len"] == SIZE
    assert answer["body_sha"] == _expected_sha(SIZE)
    assert growth < MAX_GROWTH, f"gateway RSS grew by {growth / 2**20:.1f} MiB"
    assert len(origin.records(since=before)) == 1
