"""The TLS listener: certificates by SNI, ALPN, resumption, X-Forwarded-Proto, client certificates, reload."""
import json
import shutil
import signal
import ssl
import time

import pytest
import yaml
from certs import CA

from .conftest import TlsConnection, client_context, start_tls_gateway

THUMB_HEADER = '@(context.request.certificate.thumbprint if context.request.certificate != None else "none")'
APIS = {
    "who": {"path": "who", "backend": "origin", "subscription_required": False, "policies": {"inbound": [
        {"set-header": {"name": "x-client-thumbprint", "exists-action": "override", "value": THUMB_HEADER}},
        {"set-header": {"name": "x-client-subject", "exists-action": "override",
                        "value": '@(context.request.certificate.subject if context.request.certificate != None'
                                 ' else "none")'}},
        {"set-header": {"name": "x-url-scheme", "exists-action": "override", "value": "@(context.request.url.scheme)"}},
    ]}},
}


@pytest.fixture(scope="module")
def gw(pki, origin, tmp_path_factory):
    identities = [{"thumbprint": pki.alice.thumbprint}, {"common-name": "carol", "issuer-subject":
                                                         "CN=gwcore test CA, O=gwcore tests, C=US"}]
    apis = {**APIS, "vc": {"path": "vc", "backend": "origin", "subscription_required": False, "policies": {
        "inbound": [{"validate-client-certificate": {"validate-revocation": False, "identities": identities}}]}}}
    g = start_tls_gateway(tmp_path_factory.mktemp("tls"), pki, origin.port, "optional", apis)
    yield g
    g.kill()


def echo(body: bytes) -> dict:
    data = json.loads(body)
    data["headers"] = dict(data["headers"])
    return data


@pytest.mark.parametrize("name, cn", [("api.example.com", "api.example.com"), ("eu.example.com", "api.example.com"),
                                      ("other.test", "other.test"), (None, "api.example.com"),
                                      ("unknown.test", "api.example.com")])
def test_certificate_chosen_by_sni(gw, pki, name, cn):
    ctx = client_context(pki)
    ctx.check_hostname = name != "unknown.test"   # it gets the default certificate, for another name
    conn = TlsConnection(gw.tls_port, ctx, name)
    try:
        assert conn.peer_cn() == cn
        assert conn.sock.selected_alpn_protocol() in (None, "http/1.1")
        status, _, _ = conn.get("/status-0123456789abcdef")
        assert status == 200
    finally:
        conn.close()


def test_alpn_is_http11(gw, pki):
    ctx = client_context(pki)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    conn = TlsConnection(gw.tls_port, ctx)
    assert conn.sock.selected_alpn_protocol() == "http/1.1"
    conn.close()


def test_forwarded_proto_is_https_and_plain_stays_http(gw, pki):
    conn = TlsConnection(gw.tls_port, client_context(pki))
    status, _, body = conn.get("/who/x")
    conn.close()
    assert status == 200
    headers = echo(body)["headers"]
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-url-scheme"] == "https"
    assert headers["x-client-thumbprint"] == "none"
    import http.client
    plain = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=5)
    plain.request("GET", "/who/x")
    headers = echo(plain.getresponse().read())["headers"]
    assert (headers["x-forwarded-proto"], headers["x-url-scheme"]) == ("http", "http")


def test_session_resumption(gw, pki):
    ctx = client_context(pki)
    first = TlsConnection(gw.tls_port, ctx)
    assert first.get("/open/a")[0] == 200   # TLS 1.3 tickets come with the first answer
    session = first.sock.session
    first.close()
    again = TlsConnection(gw.tls_port, ctx, session=session)
    assert again.get("/open/b")[0] == 200
    assert again.sock.session_reused
    again.close()


def test_client_certificate_in_context(gw, pki):
    conn = TlsConnection(gw.tls_port, client_context(pki, pki.alice))
    status, _, body = conn.get("/who/x")
    conn.close()
    assert status == 200
    headers = echo(body)["headers"]
    assert headers["x-client-thumbprint"] == pki.alice.thumbprint
    assert headers["x-client-subject"] == "CN=alice, O=gwcore tests, C=US"


def test_optional_mode_refuses_a_certificate_of_another_ca(gw, pki):
    with pytest.raises((ssl.SSLError, ConnectionError)):
        conn = TlsConnection(gw.tls_port, client_context(pki, pki.mallory))
        conn.get("/who/x")   # TLS 1.3: the server's verdict arrives after the client's handshake


@pytest.mark.parametrize("who, status", [("alice", 200), ("bob", 401), (None, 401)])
def test_validate_client_certificate(gw, pki, who, status):
    conn = TlsConnection(gw.tls_port, client_context(pki, getattr(pki, who) if who else None))
    got, _, body = conn.get("/vc/x")
    conn.close()
    assert got == status, body
    if status == 401:
        assert json.loads(body) == {"statusCode": 401, "message": "Invalid client certificate. Access denied."}


def test_validate_client_certificate_by_issuer_and_name(gw, pki, tmp_path):
    carol = pki.ca.issue("carol", "carol", client=True)
    conn = TlsConnection(gw.tls_port, client_context(pki, carol))
    assert conn.get("/vc/x")[0] == 200
    conn.close()


def test_require_mode(pki, origin, tmp_path):
    gw = start_tls_gateway(tmp_path, pki, origin.port, "require", name="require")
    try:
        conn = TlsConnection(gw.tls_port, client_context(pki, pki.alice))
        assert conn.get("/open/x")[0] == 200
        conn.close()
        for refused in (None, pki.mallory):
            with pytest.raises((ssl.SSLError, ConnectionError)):
                conn = TlsConnection(gw.tls_port, client_context(pki, refused))
                conn.get("/open/x")
    finally:
        gw.kill()


def test_certificates_reload_on_sighup_while_a_client_keeps_its_connection(pki, origin, tmp_path):
    ca = pki.ca
    current = tmp_path / "current"
    current.mkdir()
    first = ca.issue("v1", "api.example.com", ["api.example.com"])
    shutil.copy(first.cert, current / "api.pem")
    shutil.copy(first.key, current / "api.key")
    certificates = [{"hostnames": ["api.example.com"], "cert": "current/api.pem", "key": "current/api.key"}]
    gw = start_tls_gateway(tmp_path, pki, origin.port, "off", name="reload", certificates=certificates)
    try:
        kept = TlsConnection(gw.tls_port, client_context(pki))
        assert kept.get("/open/1")[0] == 200
        assert kept.sock.getpeercert(binary_form=True) == first.der
        second = CA.issue(ca, "v2", "api.example.com", ["api.example.com"])
        shutil.copy(second.cert, current / "api.pem")
        shutil.copy(second.key, current / "api.key")
        gw.proc.send_signal(signal.SIGHUP)

        def new_handshake_sees_v2():
            conn = TlsConnection(gw.tls_port, client_context(pki))
            try:
                return conn.sock.getpeercert(binary_form=True) == second.der
            finally:
                conn.close()
        deadline = time.monotonic() + 10
        while not new_handshake_sees_v2():
            assert time.monotonic() < deadline, "new handshakes still get the old certificate"
            time.sleep(0.1)
        # the connection opened before the reload goes on, with the certificate it began with
        assert kept.get("/open/2")[0] == 200
        assert kept.sock.getpeercert(binary_form=True) == first.der
        kept.close()
    finally:
        gw.kill()


def test_revocation_list_checked_at_the_handshake(pki, origin, tmp_path):
    crl = pki.ca.revocation_list(tmp_path / "ca.crl", revoked=[pki.bob])
    apis = {"vc": {"path": "vc", "backend": "origin", "subscription_required": False,
                   "policies": {"inbound": ["validate-client-certificate"]}}}   # validate-revocation: true
    gw = start_tls_gateway(tmp_path, pki, origin.port, "optional", apis, name="crl", crl=crl)
    try:
        conn = TlsConnection(gw.tls_port, client_context(pki, pki.alice))
        assert conn.get("/vc/x")[0] == 200
        conn.close()
        with pytest.raises((ssl.SSLError, ConnectionError)):
            conn = TlsConnection(gw.tls_port, client_context(pki, pki.bob))
            conn.get("/vc/x")
    finally:
        gw.kill()


def test_reload_that_requires_client_certificates_keeps_open_connections(pki, origin, tmp_path):
    gw = start_tls_gateway(tmp_path, pki, origin.port, "off", name="tighten")
    try:
        kept = TlsConnection(gw.tls_port, client_context(pki))
        assert kept.get("/open/1")[0] == 200
        config = yaml.safe_load(gw.config.read_text())
        config["gateway"]["tls"]["client_certificates"] = {"mode": "require", "ca": str(pki.ca.cert)}
        gw.config.write_text(yaml.safe_dump(config))
        gw.proc.send_signal(signal.SIGHUP)

        def refused_without_a_certificate():
            try:
                conn = TlsConnection(gw.tls_port, client_context(pki))
                conn.get("/open/probe")
            except (ssl.SSLError, ConnectionError):
                return True
            conn.close()
            return False
        deadline = time.monotonic() + 10
        while not refused_without_a_certificate():
            assert time.monotonic() < deadline, "the new listening server never took over"
            time.sleep(0.1)
        with_cert = TlsConnection(gw.tls_port, client_context(pki, pki.alice))
        assert with_cert.get("/open/2")[0] == 200
        with_cert.close()
        assert kept.get("/open/3")[0] == 200    # began before the reload: goes on as it began
        kept.close()
    finally:
        gw.kill()
