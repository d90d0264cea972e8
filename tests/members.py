"""Backend members for pool tests: small HTTP/1.1 origins on threads of the test process, each
answering `{"member": NAME}` with a status the test sets, that can be killed and revived on their port."""
import json
import socket
import ssl
import threading


class Member:
    """One origin on 127.0.0.1:`port`. `status` answers requests, `health` answers HEALTH_PATH;
    `kill()` closes the listener and every connection (as a crashed process would), `revive()`
    listens again on the same port. With `tls` (an ssl server context) it speaks HTTPS."""

    HEALTH_PATH = "/healthz"

    def __init__(self, name: str, tls: ssl.SSLContext = None):
        self.name = name
        self.tls = tls
        self.status = 200
        self.health = 200
        self.hits = 0
        self.health_hits = 0
        self.seen = []            # (server name from SNI, client certificate subject) per TLS connection
        self.lock = threading.Lock()
        self._local = threading.local()   # the SNI name of the handshake running on this thread
        if tls is not None:
            tls.sni_callback = lambda obj, name, ctx: setattr(self._local, "sni", name)
        self.conns = set()
        self.listener = None
        self.port = 0
        self.revive()

    def revive(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def kill(self) -> None:
        listener, self.listener = self.listener, None
        _close(listener)
        with self.lock:
            conns, self.conns = list(self.conns), set()
        for conn in conns:
            _close(conn)

    def reset_counts(self) -> None:
        with self.lock:
            self.hits = self.health_hits = 0

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def _accept(self, listener) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            if listener is not self.listener:  # killed meanwhile
                _close(conn)
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn) -> None:
        if self.tls is not None:
            try:
                self._local.sni = None
                conn = self.tls.wrap_socket(conn, server_side=True)
                peer = conn.getpeercert()
                subject = dict(x[0] for x in peer["subject"]).get("commonName") if peer else None
                with self.lock:
                    self.seen.append((self._local.sni, subject))
            except (OSError, ssl.SSLError):
                _close(conn)
                return
        with self.lock:
            self.conns.add(conn)
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                target = lines[0].split(b" ")[1].decode()
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                buffer = buffer[length:]
                with self.lock:
                    if target == self.HEALTH_PATH:
                        self.health_hits += 1
                        status = self.health
                    else:
                        self.hits += 1
                        status = self.status
                body = json.dumps({"member": self.name, "target": target}).encode()
                extra = b"retry-after: 1\r\n" if status == 503 else b""
                conn.sendall(b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n%s"
                             % (status, len(body), extra, body))
        except OSError:
            pass
        finally:
            with self.lock:
                self.conns.discard(conn)
            _close(conn)


def _close(sock) -> None:
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
