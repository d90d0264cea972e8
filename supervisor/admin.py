"""The admin listener: a small non-blocking HTTP/1.1 server run from the supervisor's poll loop.

Nothing here blocks: sockets are non-blocking, requests are read and answered whole in
memory, and every answer closes its connection. So a slow or hostile client can cost the
loop a few microseconds per event, never a stall of signal handling or supervision.
"""
import errno
import hmac
import select
import socket
import time
from urllib.parse import parse_qs, urlsplit

from gwcore.supervisor import admin_views
from gwcore.supervisor.slots import _split

MAX_HEAD = 16384
MAX_CONNECTIONS = 64
IDLE_SECONDS = 10.0
RETRY_SECONDS = 5.0
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
           431: "Request Header Fields Too Large", 500: "Internal Server Error", 503: "Service Unavailable"}


class _Connection:
    __slots__ = ("sock", "inbox", "outbox", "since")

    def __init__(self, sock):
        self.sock = sock
        self.inbox = b""
        self.outbox = b""
        self.since = time.monotonic()


class AdminServer:
    """Owns the listening socket (bound at start and on reloads) and its connections."""

    def __init__(self, sup):
        self.sup = sup
        self.log = sup.log
        self.address = None
        self.token = None
        self.sock = None
        self.connections = {}        # fd -> _Connection
        self._next_try = 0.0
        self._complained = None

    # ------------------------------------------------------------ the listening socket

    def configure(self, admin) -> None:
        """Use the settings' admin section: (re)bind when the address changed; take the token."""
        self.token = admin.token.encode("utf-8") if admin.token else None
        if admin.listen != self.address:
            self.close()
            self.address = admin.listen
            self._next_try = 0.0
            self._complained = None
            self._open()

    def _open(self) -> None:
        """Bind, or say why not and try again in a few seconds: the data plane must not wait on,
        or stop for, the admin port (it may still be held by a gateway that is stopping)."""
        if self.address is None or self.sock is not None or time.monotonic() < self._next_try:
            return
        family, host, port = _split(self.address)
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(128)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            self._next_try = time.monotonic() + RETRY_SECONDS
            if self._complained != exc.errno:
                self._complained = exc.errno
                self.log.error("admin listener: cannot listen on %s: %s; /metrics and /readyz are unavailable"
                               " (trying again every %.0f s; set gateway.admin.listen to a free port, or off)",
                               self.address, exc.strerror or exc, RETRY_SECONDS)
            return
        self.sock = sock
        self.log.info("admin listener on http://%s (metrics, healthz, readyz, admin)%s", self.address,
                      "; token required" if self.token else "")

    def close(self) -> None:
        for conn in list(self.connections.values()):
            self._drop(conn)
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    # ------------------------------------------------------------ the poll loop's side

    def fds(self) -> dict:
        """{fd: poll events} to wait on this tick."""
        out = {}
        if self.sock is not None:
            out[self.sock.fileno()] = select.POLLIN
        for fd, conn in self.connections.items():
            out[fd] = select.POLLOUT if conn.outbox else select.POLLIN
        return out

    def handle(self, fd: int, events: int) -> None:
        if self.sock is not None and fd == self.sock.fileno():
            return self._accept()
        conn = self.connections.get(fd)
        if conn is None:
            return
        if conn.outbox:
            return self._write(conn)
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            return self._drop(conn)
        conn.inbox += data
        end = conn.inbox.find(b"\r\n\r\n")
        if end < 0:
            if len(conn.inbox) > MAX_HEAD:
                self._answer(conn, 431, "text/plain", b"request head too large\n")
            return
        self._answer(conn, *self._respond(conn.inbox[:end].decode("latin-1")))

    def sweep(self) -> None:
        """Once a tick: drop connections that sat too long, retry a listener that could not bind."""
        now = time.monotonic()
        for conn in [c for c in self.connections.values() if now - c.since > IDLE_SECONDS]:
            self._drop(conn)
        if self.sock is None:
            self._open()

    # ------------------------------------------------------------ requests

    def _accept(self) -> None:
        for _ in range(16):
            try:
                sock, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    return
                raise
            if len(self.connections) >= MAX_CONNECTIONS:
                sock.close()
                continue
            sock.setblocking(False)
            self.connections[sock.fileno()] = _Connection(sock)

    def _respond(self, head: str):
        """(status, content type, body, method) for one request head."""
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            return 400, "text/plain", b"bad request line\n", "GET"
        method, target, _ = parts
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if method not in ("GET", "HEAD"):
            return 405, "text/plain", b"only GET and HEAD\n", method
        url = urlsplit(target)
        path = url.path
        if path != "/healthz" and self.token is not None and not self._authorized(headers.get("authorization", "")):
            return 401, "application/json", b'{"message":"a Bearer token is required"}\n', method
        try:
            status, content_type, body = admin_views.answer(self.sup, path, parse_qs(url.query, keep_blank_values=True))
        except Exception:  # a bug in one view must not take the supervisor down
            self.log.exception("admin listener: %s failed", path)
            status, content_type, body = 500, "text/plain", b"internal error; see the supervisor's log\n"
        return status, content_type, body, method

    def _authorized(self, value: str) -> bool:
        scheme, _, token = value.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode("utf-8"), self.token)

    def _answer(self, conn, status: int, content_type: str, body: bytes, method: str = "GET") -> None:
        head = (f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}\r\ncontent-type: {content_type}\r\n"
                f"content-length: {len(body)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n")
        conn.outbox = head.encode("latin-1") + (b"" if method == "HEAD" else body)
        self._write(conn)

    def _write(self, conn) -> None:
        try:
            sent = conn.sock.send(conn.outbox)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return self._drop(conn)
        conn.outbox = conn.outbox[sent:]
        if not conn.outbox:
            self._drop(conn)

    def _drop(self, conn) -> None:
        self.connections.pop(conn.sock.fileno(), None)
        conn.sock.close()
