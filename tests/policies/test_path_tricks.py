"""Path tricks never bypass a protected API: dot segments, escaped dots, repeated slashes, escaped
slashes and backslashes, case, parameters on dot segments. The path is normalised once, then routed,
checked and forwarded in that one form (gwcore.fastpath.normalize_path)."""
import pytest
from dataplane.rawhttp import Conn

KEY = "path-tricks-key-0123456789"
MISSING = "Access denied due to missing subscription key."

E2E = f"""
backends:
  secure-backend: {{url: "http://127.0.0.1:{{origin}}/secure-backend"}}
  admin-backend: {{url: "http://127.0.0.1:{{origin}}/admin-backend"}}
  open-backend: {{url: "http://127.0.0.1:{{origin}}/open-backend"}}
apis:
  secure: {{path: secure, backend: secure-backend}}
  admin:
    path: open/admin
    backend: admin-backend
    policies:
      inbound: [{{set-header: {{name: x-admin, value: "yes"}}}}]
  open: {{path: open, backend: open-backend, subscription_required: false}}
subscriptions:
  caller: {{scope: all, primary_key: {KEY}}}
"""


@pytest.fixture(scope="module")
def gw(serve):
    return serve(E2E)


def raw(gw, target: bytes, headers: bytes = b""):
    with Conn(gw.gateway.port) as conn:
        conn.send(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
        return conn.response()


def protected(origin, since: int) -> list:
    return [r["target"] for r in origin.records(since)
            if r["target"].startswith(("/secure-backend", "/admin-backend"))]


@pytest.mark.parametrize("target", [
    b"/secure/x",
    b"/open/../secure/x",
    b"/open/%2e%2e/secure/x",
    b"/open/%2E%2E/secure/x",
    b"/open/.%2e/secure/x",
    b"/open/x/../../secure/x",
    b"//secure/x",
    b"///secure//x",
    b"/./secure/x",
    b"/secure/./x",
    b"/SECURE/x",
    b"/Secure/x",
    b"/%73ecure/x",
    b"/%53ECURE/x",
    b"/open;/../secure/x",
    b"/secure;rev=1/x",
    b"/open/admin/x",
    b"/open//admin/x",
    b"/open/x/../admin/x",
    b"/open/%61dmin/x",
    b"/OPEN/ADMIN/x",
    b"/open/./admin/x",
])
def test_keyless_calls_of_a_protected_api_are_refused_however_spelled(gw, origin, target):
    since = origin.count()
    answer = raw(gw, target)
    assert answer.status == 401, answer.body
    assert answer.json()["message"].startswith(MISSING)
    assert protected(origin, since) == []


@pytest.mark.parametrize("target", [
    b"/open/..%2fsecure/x",
    b"/open/%2e%2e%2fsecure/x",
    b"/secure%2fx",
    b"/secure%2Fx",
    b"/open%2fadmin/x",
    b"/open/..%5csecure/x",
    b"/open/..\\secure/x",
    b"/secure%00/x",
    b"/open/../../secure/x",
    b"/open/..;/secure/x",
    b"/open/.;x/../secure/x",
    b"/open/%2e%2e;/secure/x",
    b"/open/%zz/x",
    b"/open/%2",
    b"/open/\xc3\xa9",
    b"/open/x#/../../secure/x",
    b"http://x/secure/x",
    b"secure/x",
])
def test_encoded_slashes_and_malformed_paths_are_refused(gw, origin, target):
    since = origin.count()
    answer = raw(gw, target)
    assert answer.status == 400, (target, answer.status, answer.body)
    assert origin.records(since) == []


@pytest.mark.parametrize("target, forwarded", [
    (b"/open/%252e%252e/secure/x", "/open-backend/%252e%252e/secure/x"),  # an escaped %: a plain name
    (b"/open/%c0%ae%c0%ae/secure/x", "/open-backend/%C0%AE%C0%AE/secure/x"),
    (b"/open/x?/../secure/x", "/open-backend/x?/../secure/x"),             # the query is not the path
    (b"/open/x?a=../../secure", "/open-backend/x?a=../../secure"),
])
def test_what_looks_like_a_trick_stays_in_the_open_api(gw, origin, target, forwarded):
    since = origin.count()
    answer = raw(gw, target)
    assert answer.status == 200
    assert answer.json()["target"] == forwarded
    assert protected(origin, since) == []


@pytest.mark.parametrize("target, forwarded", [
    (b"/open//a/./b/../c", "/open-backend/a/c"),
    (b"/open/a/b/..", "/open-backend/a/"),
    (b"/open/%7euser/%41", "/open-backend/~user/A"),
    (b"/open/caf%c3%a9", "/open-backend/caf%C3%A9"),
    (b"/open/a%20b", "/open-backend/a%20b"),
    (b"/OPEN/Keep-Case", "/open-backend/Keep-Case"),
])
def test_the_backend_receives_the_normalised_path(gw, target, forwarded):
    answer = raw(gw, target)
    assert answer.status == 200
    assert answer.json()["target"] == forwarded


@pytest.mark.parametrize("target, forwarded", [
    (b"/open/../secure/x", "/secure-backend/x"),
    (b"//secure//x/", "/secure-backend/x/"),
    (b"/open/x/../admin/y", "/admin-backend/y"),
])
def test_with_a_key_the_normalised_path_reaches_the_protected_api(gw, target, forwarded):
    answer = raw(gw, target, f"Ocp-Apim-Subscription-Key: {KEY}\r\n".encode())
    assert answer.status == 200
    assert answer.json()["target"] == forwarded


@pytest.mark.parametrize("target", [b"/nowhere/x", b"/securex/y", b"/secure-backend/x", b"/"])
def test_no_api_matches(gw, origin, target):
    since = origin.count()
    answer = raw(gw, target)
    assert (answer.status, answer.json()) == (404, {"statusCode": 404, "message": "Resource not found"})
    assert origin.records(since) == []
