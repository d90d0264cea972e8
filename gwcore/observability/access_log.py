"""One JSON line per request (OTel/ECS field names), buffered and written in batches."""
import os
import time
from time import perf_counter
from datetime import datetime, timezone

import orjson

FLUSH_BYTES = 64 * 1024


class AccessLog:
    """Buffered JSON-lines writer to stdout or a file; never records keys or Authorization."""

    def __init__(self, fd: int, pid: int):
        self.fd = fd
        self.pid = pid
        self.buffer = []
        self.size = 0

    @classmethod
    def open(cls, target: str):
        """None for `off`; stdout for `stdout`; else append to the named file."""
        if target == "off":
            return None
        if target == "stdout":
            return cls(1, os.getpid())
        return cls(os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640), os.getpid())

    def record(self, exchange) -> None:
        now = perf_counter()
        pool = exchange.pool
        traceparent = _header(exchange.headers, b"traceparent")
        line = orjson.dumps({
            "@timestamp": datetime.fromtimestamp(time.time(), timezone.utc).isoformat(timespec="milliseconds")[:-6] + "Z",
            "http.request.method": exchange.method.decode("ascii", "replace"),
            "url.path": exchange.path or exchange.url.split(b"?", 1)[0].decode("latin-1"),
            "http.response.status_code": exchange.status,
            "event.duration": int((now - exchange.t0) * 1e9) if exchange.t0 else 0,
            "upstream.address": pool.address if pool is not None else None,
            "upstream.duration_ms": round((now - exchange.t_upstream) * 1000, 3) if exchange.t_upstream else None,
            "client.address": exchange.conn.peer.decode("ascii", "replace"),
            "api": exchange.api.name if exchange.api is not None else None,
            "operation": exchange.operation.id if exchange.operation is not None else None,
            "http.request.id": exchange.request_id.decode("latin-1"),
            "trace.id": traceparent[3:35].decode("latin-1") if traceparent and len(traceparent) >= 35 else None,
            "worker": self.pid,
        })
        self.buffer.append(line + b"\n")
        self.size += len(line) + 1
        if self.size >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            data = b"".join(self.buffer)
            self.buffer.clear()
            self.size = 0
            try:
                while data:
                    written = os.write(self.fd, data)
                    data = data[written:]
            except OSError:
                pass  # a closed stdout must not take the gateway down

    def close(self) -> None:
        self.flush()
        if self.fd > 2:
            os.close(self.fd)


def _header(headers, name: bytes):
    for key, value in headers:
        if key == name:
            return value
    return None
