"""TLS tests: certificates made per session, gateways with a TLS listener, a client that sends SNI."""
import http.client
import socket
import ssl

import pytest
import yaml
from certs import CA
from harness import GatewayProcess, free_port


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """A CA with server certificates for two names, two client certificates; a second, foreign CA."""
    directory = tmp_path_factory.mktemp("pki")
    ca = CA(directory)
    foreign = CA(directory, "foreign-ca", "someone else's CA")

    class Pki:
        pass
    pki = Pki()
    pki.dir, pki.ca, pki.foreign = directory, ca, foreign
    pki.api = ca.issue("api", "api.example.com", ["api.example.com", "*.example.com"])
    pki.other = ca.issue("other", "other.test", ["other.test"])
    pki.alice = ca.issue("alice", "alice", client=True)
    pki.bob = ca.issue("bob", "bob", client=True)
    pki.mallory = foreign.issue("mallory", "alice", client=True)   # the right name from the wrong CA
    return pki


def start_tls_gateway(directory, pki, origin_port: int, client_mode: str = "optional", apis: dict = None,
                      name: str = "tls", certificates: list = None, crl=None) -> GatewayProcess:
    """A gateway with a TLS listener (its port as `.tls_port`) in front of the recording origin."""
    port, tls_port = free_port(), free_port()
    tls = {"listen": f"127.0.0.1:{tls_port}",
           "certificates": certificates or [
               {"hostnames": ["api.example.com", "*.example.com"], "cert": str(pki.api.cert), "key": str(pki.api.key)},
               {"hostnames": ["other.test"], "cert": str(pki.other.cert), "key": str(pki.other.key)}]}
    if client_mode != "off":
        tls["client_certificates"] = {"mode": client_mode, "ca": str(pki.ca.cert)}
        if crl is not None:
            tls["client_certificates"]["crl"] = str(crl)
    config = {
        "gateway": {"listen": f"127.0.0.1:{port}", "workers": 1, "access_log": "off", "tls": tls},
        "backends": {"origin": {"url": f"http://127.0.0.1:{origin_port}/api", "timeout": "5s"}},
        "apis": {"open": {"path": "open", "backend": "origin", "subscription_required": False}, **(apis or {})},
    }
    gw = GatewayProcess(directory, yaml.safe_dump(config, sort_keys=False), port, name)
    gw.tls_port = tls_port
    return gw


def client_context(pki, cert=None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.ca.cert))
    if cert is not None:
        ctx.load_cert_chain(str(cert.cert), str(cert.key))
    return ctx


class TlsConnection:
    """One TLS connection to the gateway, with `server_name` as SNI (None: no SNI); keep-alive requests."""

    def __init__(self, port: int, ctx: ssl.SSLContext, server_name="api.example.com", session=None):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        if server_name is None:
            ctx.check_hostname = False
        self.sock = ctx.wrap_socket(raw, server_hostname=server_name, session=session)

    def get(self, path: str, host: str = "api.example.com"):
        """(status, headers dict, body bytes)."""
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        resp = http.client.HTTPResponse(self.sock)
        resp.begin()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body

    def peer_cn(self) -> str:
        return dict(x[0] for x in self.sock.getpeercert()["subject"])["commonName"]

    def close(self):
        self.sock.close()
