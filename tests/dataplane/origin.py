"""A raw-socket test origin: records the exact bytes of every request and answers as its path says.

Run as `python origin.py` ; it binds 127.0.0.1 on a free port and prints `PORT <n>` when ready.
The answer is chosen by the first path segment that names a mode (see `MODES`); any other
path gets the JSON echo. Query parameters tune a mode: `n` (bytes), `ms` (delay),
`linger_close` (ms after the answer before the origin closes the idle connection); in
`status` mode, `code` (the status of the JSON echo) and `h-NAME=value` (response headers); in
`shape` mode (one fixed answer, SHAPE_HEAD and SHAPE_BODY, however it is sent), `how`: `whole`
(one write), `split` (head, a pause, body), `chunked` (chunks with pauses), and `conn`: `close`
(the answer says Connection: close, yet the origin keeps the connection open), `named` (Connection
names X-Shape-Secret, which the answer carries), `length` (Connection names Content-Length),
`headbody` (a body even after HEAD).

Control, sent straight to the origin (never recorded):
  GET /__record?since=N   JSON list of the records from index N on
  GET /__conns            JSON {"opened": [conn ids], "closed": [conn ids, in closing order]}
"""
import hashlib
import itertools
import json
import socket
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

PATTERN = bytes(range(256)) * 256  # 64 KiB; big bodies repeat it
KEEP_BODY = 64 * 1024              # raw body bytes kept in a record
MODES = frozenset([
    "json", "chunked", "big", "bigchunked", "slow", "twocl", "clte", "barecr", "obsfold",
    "close", "silent", "204", "304", "hop", "sink", "stale", "teold", "status", "shape",
])
# The `shape` answer: the same end-to-end fields and body however it is framed and written;
# values with inner and trailing blanks and an empty one, repeated names, odd-case names.
SHAPE_HEAD = (b"HTTP/1.1 201 Made It\r\n"
              b"Content-Type: text/plain; charset=utf-8\r\n"
              b"X-Shape: one\r\n"
              b"X-Empty:\r\n"
              b"X-Spaced: a  b \t \r\n"
              b"set-cookie: a=1; Path=/\r\n"
              b"Set-Cookie: b=2\r\n"
              b"ETAG: \"e-1\"\r\n")
SHAPE_BODY = b"shape body\r\n\r\nHTTP/1.1 200 OK\r\nnot a head\x00\xff"


def pattern_body(n: int):
    """The bytes of a big body, in pieces, without holding it all."""
    while n > 0:
        piece = PATTERN[:n]
        n -= len(piece)
        yield piece


class Closed(Exception):
    """The peer closed (or reset) the connection."""


class Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _more(self, size=65536):
        try:
            data = self.sock.recv(size)
        except OSError:
            data = b""
        if not data:
            raise Closed()
        self.buf += data

    def until(self, marker: bytes, limit: int = 1 << 20) -> bytes:
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                out, self.buf = self.buf[:i + len(marker)], self.buf[i + len(marker):]
                return out
            if len(self.buf) > limit:
                raise Closed()
            self._more()

    def upto(self, n: int) -> bytes:
        """At most n bytes, at least one."""
        if not self.buf:
            self._more(min(max(n, 1), 1 << 20))
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


class Body:
    """Incremental view of a request body: length, hash, the first raw bytes."""

    def __init__(self):
        self.length = 0
        self.sha = hashlib.sha256()
        self.raw = bytearray()
        self.text = bytearray()   # the first decoded bytes, echoed back in the JSON answer

    def raw_bytes(self, data: bytes):
        if len(self.raw) < KEEP_BODY:
            self.raw += data[:KEEP_BODY - len(self.raw)]

    def decoded(self, data: bytes):
        self.length += len(data)
        self.sha.update(data)
        if len(self.text) < KEEP_BODY:
            self.text += data[:KEEP_BODY - len(self.text)]


class Origin:
    def __init__(self):
        self.records = []
        self.opened = []
        self.closed = []
        self.lock = threading.Lock()
        self.ids = itertools.count(1)

    def serve(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(256)
        print(f"PORT {listener.getsockname()[1]}", flush=True)
        while True:
            sock, _ = listener.accept()
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self.connection, args=(sock,), daemon=True).start()

    def connection(self, sock):
        cid = next(self.ids)
        with self.lock:
            self.opened.append(cid)
        reader = Reader(sock)
        served = 0
        try:
            while True:
                if not self.exchange(sock, reader, cid, served):
                    break
                served += 1
        except (Closed, OSError):
            pass
        finally:
            try:
                sock.close()
            except OSError:
                pass
            with self.lock:
                self.closed.append(cid)

    def exchange(self, sock, reader, cid, served) -> bool:
        """One request and its answer; False when the connection is to be closed."""
        head = reader.until(b"\r\n\r\n")
        lines = head[:-4].split(b"\r\n")
        method, target, version = lines[0].split(b" ", 2)
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers.append((name.strip().lower().decode("latin-1"), value.strip().decode("latin-1")))
        hdict = {}
        for name, value in headers:
            hdict.setdefault(name, value)
        target_s = target.decode("latin-1")
        if target_s.startswith("/__"):
            return self.control(sock, target_s)
        record = {"conn": cid, "n": served, "head": head.decode("latin-1"), "method": method.decode(),
                  "target": target_s, "complete": False, "body_len": 0, "body_sha": None, "body_raw": ""}
        with self.lock:
            self.records.append(record)
        parts = urlsplit(target_s)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        mode = next((s for s in parts.path.split("/") if s in MODES), "json")

        if mode == "stale" and served > 0:
            return False  # a kept-alive connection the origin has given up on
        if mode == "sink" and "ms" in query:
            time.sleep(int(query["ms"]) / 1000)
        body = Body()
        if "chunked" in hdict.get("transfer-encoding", "").lower():
            while True:
                line = reader.until(b"\r\n")
                body.raw_bytes(line)
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    body.raw_bytes(reader.until(b"\r\n"))
                    break
                left = size
                while left:
                    data = reader.upto(left)
                    left -= len(data)
                    body.raw_bytes(data)
                    body.decoded(data)
                body.raw_bytes(reader.exact(2))
        elif hdict.get("content-length"):
            left = int(hdict["content-length"])
            while left:
                data = reader.upto(left)
                left -= len(data)
                body.raw_bytes(data)
                body.decoded(data)
        record.update(complete=True, body_len=body.length, body_sha=body.sha.hexdigest(),
                      body_raw=bytes(body.raw).decode("latin-1"))

        close = (version == b"HTTP/1.0" and hdict.get("connection", "").lower() != "keep-alive") \
            or hdict.get("connection", "").lower() == "close"
        head_only = method == b"HEAD"
        if mode == "close":
            return False
        if mode == "silent":
            try:
                while sock.recv(65536):
                    pass
            except OSError:
                pass
            return False
        if mode == "slow":
            time.sleep(int(query.get("ms", "500")) / 1000)

        conn_hdr = b"Connection: close\r\n" if close else b""
        if mode in ("json", "slow", "sink", "stale", "status"):
            payload = json.dumps({
                "conn": cid, "n": served, "method": record["method"], "target": target_s,
                "headers": headers, "body_len": body.length, "body_sha": record["body_sha"],
                "query": query, "body": body.text.decode("latin-1"),
            }).encode()
            code = int(query.get("code", "200")) if mode == "status" else 200
            extra = "".join(f"{k[2:]}: {v}\r\n" for k, v in query.items() if k.startswith("h-")).encode()
            out = (b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s%s\r\n"
                   % (code, len(payload), extra, conn_hdr))
            sock.sendall(out if head_only else out + payload)
        elif mode == "chunked":
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
                         + conn_hdr + b"\r\n")
            if not head_only:
                for piece in (b"hello ", b"chunked ", b"world"):
                    sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                    time.sleep(0.01)
                sock.sendall(b"0\r\n\r\n")
        elif mode == "big":
            n = int(query["n"])
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         b"Content-Length: %d\r\n%s\r\n" % (n, conn_hdr))
            if not head_only:
                for piece in pattern_body(n):
                    sock.sendall(piece)
        elif mode == "bigchunked":
            n = int(query["n"])
            sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n" + conn_hdr + b"\r\n")
            for piece in pattern_body(n):
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            sock.sendall(b"0\r\n\r\n")
        elif mode == "twocl":
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello")
        elif mode == "clte":
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"5\r\nhello\r\n0\r\n\r\n")
        elif mode == "teold":
            sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"5\r\nhello\r\n0\r\n\r\n")
        elif mode == "barecr":
            sock.sendall(b"HTTP/1.1 200 OK\r\nX-Bad: a\rb\r\nContent-Length: 5\r\n\r\nhello")
        elif mode == "obsfold":
            sock.sendall(b"HTTP/1.1 200 OK\r\nX-Fold: a\r\n folded\r\nContent-Length: 5\r\n\r\nhello")
        elif mode == "204":
            sock.sendall(b"HTTP/1.1 204 No Content\r\nX-Origin: 204\r\n" + conn_hdr + b"\r\n")
        elif mode == "304":
            sock.sendall(b"HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 11\r\n"
                         + conn_hdr + b"\r\n")
        elif mode == "shape":
            how, conn = query.get("how", "whole"), query.get("conn", "")
            head = SHAPE_HEAD + {"close": b"Connection: close\r\n",
                                 "named": b"Connection: X-Shape-Secret, keep-alive\r\nX-Shape-Secret: s\r\n",
                                 "length": b"Connection: Content-Length\r\n",
                                 }.get(conn, b"") + conn_hdr
            send_body = not head_only or conn == "headbody"
            if how == "chunked":
                sock.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
                if send_body:
                    for piece in (SHAPE_BODY[:7], SHAPE_BODY[7:]):
                        time.sleep(0.02)
                        sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                    sock.sendall(b"0\r\n\r\n")
            else:
                head += b"Content-Length: %d\r\n\r\n" % len(SHAPE_BODY)
                if how == "split":
                    sock.sendall(head)
                    time.sleep(0.05)
                    head = b""
                sock.sendall(head + SHAPE_BODY if send_body else head)
        elif mode == "hop":
            payload = b"hop"
            sock.sendall(
                b"HTTP/1.1 200 OK\r\nConnection: X-Resp-Hop, keep-alive\r\nKeep-Alive: timeout=5\r\n"
                b"X-Resp-Hop: secret\r\nProxy-Connection: keep-alive\r\nTrailer: X-Trail\r\n"
                b"Upgrade: h2c\r\nTE: trailers\r\nProxy-Authorization: Basic c2VjcmV0\r\n"
                b"X-Resp-Kept: yes\r\nContent-Length: 3\r\n\r\n" + payload)
        if mode in ("twocl", "clte", "teold", "barecr", "obsfold"):
            return False
        if "linger_close" in query:
            time.sleep(int(query["linger_close"]) / 1000)
            return False
        return not close

    def control(self, sock, target: str) -> bool:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/__record":
            with self.lock:
                payload = json.dumps(self.records[int(query.get("since", "0")):]).encode()
        elif parts.path == "/__conns":
            with self.lock:
                payload = json.dumps({"opened": self.opened, "closed": self.closed}).encode()
        else:
            payload = b"{}"
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n%s" % (len(payload), payload))
        return False


if __name__ == "__main__":
    sys.setswitchinterval(0.001)
    Origin().serve()
