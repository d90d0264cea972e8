"""In-process cost of one proxied request through the worker's Python path, with no sockets.

    python bench/microbench.py [--profile] [-n N] [--scenario NAME]

Feeds a request to HttpProtocol and a canned backend response to a pooled
UpstreamConnection over fake transports, so what is timed is parsing, routing, header
rewriting and bookkeeping: the per-request work the worker adds on top of the syscalls.
"""
import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time

import uvloop

from gwcore.config import load_plan
from gwcore.upstream.connection import UpstreamConnection
from gwcore.workers.protocol import HttpProtocol
from gwcore.workers.server import Worker, tune_collector

CONFIG = """
gateway: {access_log: "off"}
backends:
  origin: {url: "http://127.0.0.1:9/api"}
apis:
  inventory:
    path: inventory/v1
    backend: origin
    subscription_required: false
    operations:
      - {id: get-item, method: GET, url_template: "/items/{id}"}
"""
REQUEST = b"GET /inventory/v1/items/42 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
KEY = "bench-primary-key-0123456789abcdef"   # the scenarios' default subscription key
BODY = b'{"id":42,"name":"widget","price":9.99,"tags":["a","b"],"stock":true,"note":"benchmark origin"}'
RESPONSE = (b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 23 Nov 2026 03:00:00 GMT\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\nConnection: keep-alive\r\n\r\n%s"
            % (len(BODY), BODY))


class FakeTransport:
    """Enough of an asyncio transport for the protocols; remembers the last write."""

    def __init__(self):
        self.last = b""

    def write(self, data):
        self.last = data

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 40000) if name == "peername" else default

    def is_closing(self):
        return False

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass

    def close(self):
        pass

    def abort(self):
        pass


def setup(scenario: str = None):
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    if scenario:  # a benchmark scenario's config, as bench/run.py serves it
        plan = load_plan(os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios", f"{scenario}.yaml"))
    else:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(CONFIG)
        plan = load_plan(f.name)
        os.unlink(f.name)
    worker = Worker(plan, None, loop)
    client = HttpProtocol(worker)
    client.connection_made(FakeTransport())
    pool = worker.upstreams.backend_set("origin").choose()
    upstream = UpstreamConnection(pool)
    upstream.connection_made(FakeTransport())
    pool.open += 1
    pool.release(upstream)
    tune_collector()   # as the worker process does once booted
    return client, upstream


def one(client, upstream):
    client.data_received(REQUEST)
    upstream.data_received(RESPONSE)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=200_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--scenario", help="a config of bench/scenarios/ (plain, keyed, ...) instead of the"
                                           " built-in one; keyed scenarios get the default bench key")
    args = parser.parse_args()
    global REQUEST
    if args.scenario and ("keyed" in args.scenario or args.scenario.startswith("_v")):
        REQUEST = REQUEST.replace(b"\r\n\r\n", b"\r\nOcp-Apim-Subscription-Key: %s\r\n\r\n" % KEY.encode())
    client, upstream = setup(args.scenario)
    one(client, upstream)
    assert client.transport.last.startswith(b"HTTP/1.1 200 OK"), client.transport.last[:80]
    for _ in range(1000):
        one(client, upstream)
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
    start = time.perf_counter()
    for _ in range(args.n):
        one(client, upstream)
    elapsed = time.perf_counter() - start
    if args.profile:
        prof.disable()
        pstats.Stats(prof).sort_stats(os.environ.get("SORT", "tottime")).print_stats(25)
    from gwcore import fastpath
    print(f"{elapsed / args.n * 1e6:.2f} µs per request (fastpath={fastpath.IMPLEMENTATION}, n={args.n})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
