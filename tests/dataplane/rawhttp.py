"""A minimal raw-socket HTTP/1.1 client for the end-to-end tests: exact bytes out, parsed answers in."""
import socket
from dataclasses import dataclass, field


class Closed(Exception):
    """The connection ended before a complete response."""


@dataclass
class Response:
    status: int
    reason: str
    version: str
    headers: list = field(default_factory=list)   # (lower-case name, value) as str
    body: bytes = b""
    raw_head: bytes = b""

    def header(self, name: str):
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def all(self, name: str) -> list:
        return [value for key, value in self.headers if key == name]

    def json(self):
        import json
        return json.loads(self.body)


class Conn:
    """One client connection with a read buffer."""

    def __init__(self, port: int, timeout: float = 5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _more(self) -> None:
        try:
            data = self.sock.recv(1 << 20)
        except ConnectionResetError:
            data = b""
        if not data:
            raise Closed(f"connection closed; unparsed: {self.buf[:200]!r}")
        self.buf += data

    def _until(self, marker: bytes) -> bytes:
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                out, self.buf = self.buf[:i], self.buf[i + len(marker):]
                return out
            self._more()

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def response(self, head_request: bool = False) -> Response:
        """Read one response (an interim 1xx counts as one)."""
        head = self._until(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        version, status, reason = (lines[0].decode("latin-1").split(" ", 2) + [""])[:3]
        headers = []
        for line in lines[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name.strip().lower(), value.strip()))
        resp = Response(int(status), reason, version, headers, b"", head + b"\r\n\r\n")
        code = resp.status
        if head_request or 100 <= code < 200 or code in (204, 304):
            return resp
        te = resp.header("transfer-encoding")
        if te is not None and "chunked" in te.lower():
            parts = []
            while True:
                size = int(self._until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    while self._until(b"\r\n"):
                        pass  # trailers
                    break
                parts.append(self._exact(size))
                self._until(b"\r\n")
            resp.body = b"".join(parts)
        elif resp.header("content-length") is not None:
            resp.body = self._exact(int(resp.header("content-length")))
        else:
            while True:
                try:
                    self._more()
                except Closed:
                    break
            resp.body, self.buf = self.buf, b""
        return resp

    def closed_by_peer(self, timeout: float = 2.0) -> bool:
        """True when the peer closes the connection (FIN or reset) within `timeout` and sends
        nothing more; False when it stays open or sends more bytes."""
        if self.buf:
            return False
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        return data == b""


def roundtrip(port: int, data: bytes, timeout: float = 5.0):
    """Send `data` on a new connection; (first response, whether the gateway closed after it)."""
    with Conn(port, timeout) as conn:
        conn.send(data)
        resp = conn.response()
        return resp, conn.closed_by_peer()

