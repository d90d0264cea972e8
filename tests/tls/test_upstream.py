"""TLS to backends: verification on by default, a custom CA, a client certificate (mutual TLS), SNI."""
import base64
import http.client
import json
import ssl

from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

import pytest
import yaml
from harness import GatewayProcess, free_port
from members import Member


@pytest.fixture(scope="module")
def secure(pki):
    """An https member with a certificate for `backend.internal`, requiring a client certificate of the test CA."""
    issued = pki.ca.issue("backend", "backend.internal", ["backend.internal"])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(issued.cert), str(issued.key))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.load_verify_locations(str(pki.ca.cert))
    member = Member("secure", tls=ctx)
    yield member
    member.kill()


@pytest.fixture(scope="module")
def gw(pki, secure, tmp_path_factory):
    url = secure.url
    backends = {
        "trusted": {"url": url, "tls": {"ca": str(pki.ca.cert), "sni": "backend.internal",
                                        "client_cert": str(pki.alice.cert), "client_key": str(pki.alice.key)}},
        "system": {"url": url, "tls": {"sni": "backend.internal"}},          # the system's CAs: not ours
        "wrong-name": {"url": url, "tls": {"ca": str(pki.ca.cert)}},          # verifies 127.0.0.1: not in it
        "unverified": {"url": url, "tls": {"verify": False}},
        "nocert": {"url": url, "tls": {"ca": str(pki.ca.cert), "sni": "backend.internal"}},
    }
    bob = pkcs12.serialize_key_and_certificates(b"bob", pki.bob.key_obj, pki.bob.cert_obj, None,
                                                BestAvailableEncryption(b"pfx-secret"))
    policy = {"authentication-certificate": {"body": base64.b64encode(bob).decode(), "password": "pfx-secret"}}
    port = free_port()
    config = {"gateway": {"listen": f"127.0.0.1:{port}", "workers": 1, "access_log": "off"},
              "backends": {name: {**b, "timeout": "3s", "connect_timeout": "2s"} for name, b in backends.items()},
              "apis": {name: {"path": name, "backend": name, "subscription_required": False} for name in backends}}
    config["apis"]["authcert"] = {"path": "authcert", "backend": "nocert", "subscription_required": False,
                                  "policies": {"inbound": [policy]}}
    g = GatewayProcess(tmp_path_factory.mktemp("upstream-tls"), yaml.safe_dump(config), port)
    yield g
    g.kill()


def get(gw, path):
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
    conn.request("GET", path)
    resp = conn.getresponse()
    return resp.status, json.loads(resp.read())


def test_custom_ca_sni_and_client_certificate(gw, secure):
    before = len(secure.seen)
    status, body = get(gw, "/trusted/x")
    assert (status, body["member"]) == (200, "secure")
    assert secure.seen[before:] == [("backend.internal", "alice")]


@pytest.mark.parametrize("api", ["system", "wrong-name"])
def test_verification_is_on_by_default(gw, api):
    assert get(gw, f"/{api}/x") == (502, {"statusCode": 502, "message": "Backend service unavailable"})


def test_verification_off(gw, secure):
    before = len(secure.seen)
    status, body = get(gw, "/unverified/x")
    assert (status, body["member"]) == (200, "secure")
    assert secure.seen[before:] == [("127.0.0.1", None)] or secure.seen[before:] == [(None, None)]


def test_authentication_certificate_presents_its_certificate(gw, secure):
    before = len(secure.seen)
    assert get(gw, "/nocert/x")[0] == 200
    assert get(gw, "/authcert/x")[0] == 200
    assert get(gw, "/nocert/y")[0] == 200       # its own pool: the plain backend's connection has no certificate
    assert secure.seen[before:] == [("backend.internal", None), ("backend.internal", "bob")]
