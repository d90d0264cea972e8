"""A `gwcore run` with its admin listener on a free port and APIs that feed every metric family."""
import http.client
import json
import socket
import urllib.request

from promtext import parse

from .conftest import Gateway, free_port


def observed_config(port: int, origin_port: int, token: str = None, gateway: dict = None) -> str:
    """svc: plain; limited: rate-limit-by-key, emit-metric, trace; cached: cache-lookup/store."""
    settings = {"listen": f"127.0.0.1:{port}", "workers": 2, "access_log": "off", "request_id_header": "x-rid-0",
                "timeouts": {"header_read": "5s", "keepalive_idle": "30s", "graceful": "10s"},
                "admin": {"token": token}, **(gateway or {})}
    return json.dumps({
        "gateway": settings,
        "backends": {"origin": {"url": f"http://127.0.0.1:{origin_port}/g0", "timeout": "10s"}},
        "apis": {
            "svc": {"path": "svc", "backend": "origin", "subscription_required": False},
            "limited": {"path": "limited", "backend": "origin", "subscription_required": False, "policies": {
                "inbound": ["base",
                            {"rate-limit-by-key": {"calls": 3, "renewal-period": 60,
                                                   "counter-key": "@(context.request.headers.get(\"x-who\", \"\"))"}},
                            {"emit-metric": {"name": "probe-hits", "dimension": [
                                {"name": "API ID"},
                                {"name": "tier", "value": "@(context.request.headers.get(\"x-tier\", \"none\"))"}]}},
                            {"trace": {"source": "probe", "severity": "information",
                                       "message": "@(\"saw \" + context.request.url.path)",
                                       "metadata": [{"name": "tier", "value": "gold"}]}}]}},
            "cached": {"path": "cached", "backend": "origin", "subscription_required": False, "policies": {
                "inbound": ["base", {"cache-lookup": {"vary-by-developer": False, "vary-by-developer-groups": False}}],
                "outbound": ["base", {"cache-store": {"duration": 60}}]}},
        },
    }, indent=1)


class AdminGateway(Gateway):
    """Gateway (tests/supervisor/conftest.py) with the admin listener on its own free port."""

    def __init__(self, directory, origin_port, *, token: str = None, gateway: dict = None, env: dict = None,
                 **options):
        self.admin_port = free_port()
        self.token = token
        self.extra = gateway or {}
        # the environment beats the file: tests/conftest.py turns the admin listener off by default
        env = {"GWCORE_GATEWAY__ADMIN__LISTEN": f"127.0.0.1:{self.admin_port}", **(env or {})}
        super().__init__(directory, origin_port, env=env, **options)

    def write_config(self, text: str = None, **changes) -> None:
        if text is None:
            text = observed_config(self.port, self.origin_port, self.token, {**self.extra, **changes.get("gateway", {})})
        super().write_config(text)

    def admin(self, path: str, token: str = None, timeout: float = 5.0):
        """(status, body bytes, content type) of GET `path` on the admin listener."""
        client = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=timeout)
        try:
            client.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
            answer = client.getresponse()
            return answer.status, answer.read(), answer.getheader("content-type", "")
        finally:
            client.close()

    def admin_json(self, path: str, token: str = None):
        status, body, _ = self.admin(path, token)
        return status, json.loads(body)

    def scrape(self, token: str = None) -> dict:
        status, body, content_type = self.admin("/metrics", token)
        assert status == 200 and content_type.startswith("text/plain; version=0.0.4"), (status, body[:200])
        return parse(body.decode())[0]


def send(port: int, path: str, headers: dict = None) -> int:
    """One request on a new connection (so SO_REUSEPORT spreads them over the workers): its status."""
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        client.request("GET", path, headers=headers or {})
        answer = client.getresponse()
        answer.read()
        return answer.status
    finally:
        client.close()


def admin_refuses_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except OSError:
        return True


def raw_get(url: str, timeout: float = 2.0):
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return answer.status, answer.read()
