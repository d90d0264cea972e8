"""The one-shot HTTP client against real local servers: framing, caps, timeouts, refusals, https."""
import asyncio
import datetime
import ipaddress
import socket
import ssl
import threading
import time

import pytest
import uvloop
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gwcore.upstream.client import ClientError, ClientTimeout, ResponseTooLarge, fetch


class RawServer:
    """A TCP server on 127.0.0.1 that answers each connection with `reply(request_bytes)` bytes
    (None: say nothing and hold the connection), then closes; it records every request it read."""

    def __init__(self, reply, tls: ssl.SSLContext = None):
        self.reply = reply
        self.tls = tls
        self.requests = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn):
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            while len(body) < length:
                body += conn.recv(65536)
            self.requests.append(data[:len(head) + 4] + body)
            answer = self.reply(data)
            if answer is None:
                self.held.append(conn)
                return
            for piece in answer if isinstance(answer, list) else [answer]:
                conn.sendall(piece)
                time.sleep(0.01)  # pieces arrive separately: the parser must join them
            conn.close()
        except (OSError, ssl.SSLError):
            conn.close()

    def url(self, path: str = "/", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def server():
    started = []

    def start(reply, tls=None) -> RawServer:
        s = RawServer(reply if callable(reply) else (lambda request: reply), tls)
        started.append(s)
        return s

    yield start
    for s in started:
        s.close()


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request):
    """Run a coroutine to the end on the default asyncio loop, then on uvloop (the workers' loop)."""
    factory = asyncio.new_event_loop if request.param == "asyncio" else uvloop.new_event_loop

    def run_(coroutine):
        loop = factory()
        try:
            return loop.run_until_complete(coroutine)
        finally:
            loop.close()

    return run_


OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\": true}"


def test_content_length_body_and_the_request_sent(server, run):
    s = server(OK)
    answer = run(fetch("GET", s.url("/path/x?q=1&r=%20"), headers=[("Accept", "application/json")]))
    assert (answer.status, answer.reason, answer.body) == (200, "OK", b'{"a": true}')
    assert answer.header("Content-Type") == "application/json"
    head = s.requests[0].decode()
    lines = head.split("\r\n")
    assert lines[0] == "GET /path/x?q=1&r=%20 HTTP/1.1"
    assert f"Host: 127.0.0.1:{s.port}" in lines
    assert "Connection: close" in lines and "Accept: application/json" in lines
    assert any(line.startswith("User-Agent: gwcore/") for line in lines)
    assert not any(line.lower().startswith("content-length") for line in lines)


def test_post_body_is_sent_with_its_length(server, run):
    s = server(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    answer = run(fetch("POST", s.url("/items"), body=b'{"n":1}', headers=[("Content-Type", "application/json")]))
    assert answer.status == 201 and answer.body == b""
    assert s.requests[0].endswith(b"Content-Length: 7\r\nContent-Type: application/json\r\n\r\n{\"n\":1}")


def test_chunked_body_in_pieces(server, run):
    s = server([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", b"lo\r\n6\r\n world\r\n",
                b"0\r\n\r\n"])
    assert run(fetch("GET", s.url())).body == b"hello world"


def test_body_until_close(server, run):
    s = server([b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst ", b"second"])
    assert run(fetch("GET", s.url())).body == b"first second"


def test_head_has_no_body_and_interim_answers_are_skipped(server, run):
    s = server(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    answer = run(fetch("HEAD", s.url()))
    assert (answer.status, answer.body, answer.header("content-length")) == (200, b"", "1000")
    s = server(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n")
    answer = run(fetch("GET", s.url()))
    assert (answer.status, answer.reason, answer.header("x-a")) == (204, "No Content", "1")


@pytest.mark.parametrize("reply", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100,
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n" + b"x" * 100 + b"\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 100,
], ids=["length", "chunked", "until-close"])
def test_response_size_cap(server, run, reply):
    s = server(reply)
    assert run(fetch("GET", s.url(), max_bytes=100)).body == b"x" * 100
    with pytest.raises(ResponseTooLarge, match="larger than 99 bytes"):
        run(fetch("GET", s.url(), max_bytes=99))


def test_timeout_when_the_server_says_nothing(server, run):
    s = server(lambda request: None)
    started = time.monotonic()
    with pytest.raises(ClientTimeout, match=r"within 0.3 s"):
        run(fetch("GET", s.url(), timeout=0.3))
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("reply, message", [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "closed the connection before the response"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "closed the connection before the response"),
    (b"SMTP ready\r\n\r\n", "malformed response"),
    (b"", "closed the connection before the response"),
], ids=["short-length", "short-chunked", "not-http", "nothing"])
def test_broken_answers(server, run, reply, message):
    s = server(reply)
    with pytest.raises(ClientError, match=message):
        run(fetch("GET", s.url()))


def test_refused_connection():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens once it is closed
    with pytest.raises(ClientError, match=f"cannot connect to 127.0.0.1:{port}"):
        asyncio.run(fetch("GET", f"http://127.0.0.1:{port}/"))


@pytest.mark.parametrize("kwargs, message", [
    ({"url": "ftp://example.com/x"}, "not an http:// or https:// URL"),
    ({"headers": [("X-A", "1\r\nX-Injected: 1")]}, "would break the request"),
    ({"headers": [("Content-Length", "5")]}, "set by the client itself"),
    ({"url": "http://127.0.0.1:9/a b"}, "may not hold spaces"),
])
def test_requests_that_would_be_unsafe_are_refused(kwargs, message):
    args = {"url": "http://127.0.0.1:9/", **kwargs}
    with pytest.raises(ValueError, match=message):
        asyncio.run(fetch("GET", args.pop("url"), **args))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (server context, client context trusting it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    directory = tmp_path_factory.mktemp("tls")
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert_file, key_file)
    client_side = ssl.create_default_context(cafile=str(cert_file))
    return server_side, client_side


def test_https(server, run, certificate):
    server_side, client_side = certificate
    s = server(OK, tls=server_side)
    answer = run(fetch("GET", s.url("/secure", scheme="https"), ssl_context=client_side))
    assert (answer.status, answer.body) == (200, b'{"a": true}')
    assert s.requests[0].startswith(b"GET /secure HTTP/1.1\r\n")


def test_https_refuses_an_untrusted_certificate(server, run, certificate):
    s = server(OK, tls=certificate[0])
    with pytest.raises(ClientError, match="CERTIFICATE_VERIFY_FAILED"):
        run(fetch("GET", s.url(scheme="https")))
