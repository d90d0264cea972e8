"""Policy tests: schema checks on loaded configs, and end-to-end runs through a real gateway process."""
import http.client
import json
import textwrap
from dataclasses import dataclass

import pytest
import yaml
from harness import GatewayProcess, free_port

from gwcore.config import ConfigError, load_plan
from gwcore.config.errors import format_path

HEAD = """\
backends:
  b: {url: "http://127.0.0.1:9"}
apis:
  a:
    path: a
    backend: b
    subscription_required: false
"""
MARK = "# <-"


@dataclass
class Found:
    """One reported problem, with the line the test marked with `# <-`."""

    line: int
    column: int
    path: str
    message: str
    marked_line: int


class PolicyHarness:
    """Writes `statements` (YAML list text) into one section at one scope, and loads the file."""

    def __init__(self, write_config):
        self.write_config = write_config
        self.text = ""

    def config(self, statements: str, section: str = "inbound", scope: str = "api") -> str:
        body = textwrap.indent(textwrap.dedent(statements).strip("\n"), "  ")
        policies = f"policies:\n  {section}:\n{textwrap.indent(body, '  ')}\n"
        if scope == "api":
            text = HEAD + textwrap.indent(policies, "    ")
        elif scope == "operation":
            text = HEAD + "    operations:\n      - id: op\n        method: GET\n        url_template: /x\n" \
                + textwrap.indent(policies, "        ")
        elif scope == "product":
            text = HEAD + "products:\n  p:\n    apis: [a]\n    subscription_required: false\n" \
                + textwrap.indent(policies, "    ")
        elif scope == "global":
            text = HEAD + policies
        else:
            raise ValueError(scope)
        self.text = text
        return self.write_config(text)

    def load(self, statements: str, section: str = "inbound", scope: str = "api") -> tuple:
        """The statements of `section` as the Plan holds them for the API's (or operation's) pipeline."""
        plan = load_plan(self.config(statements, section, scope), behaviour=False)
        operation = plan.apis["a"].operations["op" if scope == "operation" else "*"]
        pipeline = operation.pipeline("p" if scope == "product" else None)
        return getattr(pipeline, section.replace("-", "_"))

    def statement(self, statements: str, section: str = "inbound", scope: str = "api"):
        """The first statement of the section (a policy config object)."""
        return self.load(statements, section, scope)[0]

    def errors(self, statements: str, section: str = "inbound", scope: str = "api") -> list:
        path = self.config(statements, section, scope)
        with pytest.raises(ConfigError) as info:
            load_plan(path, behaviour=False)
        marked = [n for n, line in enumerate(self.text.splitlines(), 1) if MARK in line]
        return [Found(p.line, p.column, format_path(p.path), p.message, marked[0] if marked else 0)
                for p in info.value.problems]

    def error(self, statements: str, section: str = "inbound", scope: str = "api") -> Found:
        """The one problem the config has; the test marks its expected line with `# <-`."""
        found = self.errors(statements, section, scope)
        assert len(found) == 1, found
        return found[0]

    @staticmethod
    def at(section: str = "inbound", index: int = 0, scope: str = "api") -> str:
        """The formatted path of statement `index` of `section` as this harness writes it."""
        prefix = {"api": "apis.a.policies", "operation": "apis.a.operations[0].policies",
                  "product": "products.p.policies", "global": "policies"}[scope]
        return f"{prefix}.{section}[{index}]"


@pytest.fixture
def policies(write_config):
    return PolicyHarness(write_config)


# ---- end to end: a real gateway process with policies, in front of the recording origin

class Client:
    """HTTP calls to one gateway: (status, headers with lower-case names, body bytes)."""

    def __init__(self, gateway):
        self.gateway = gateway

    def __call__(self, method: str, path: str, headers: dict = None, body: bytes = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.gateway.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return Answer(resp.status, resp.reason, {k.lower(): v for k, v in resp.getheaders()},
                          resp.getheaders(), data)
        finally:
            conn.close()

    def get(self, path: str, **kwargs):
        return self("GET", path, **kwargs)


@dataclass
class Answer:
    status: int
    reason: str
    headers: dict
    header_list: list
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def echo(self) -> dict:
        """What the origin received (its JSON echo), with the request headers as a dict."""
        data = self.json()
        data["headers"] = dict(data["headers"])
        return data




@pytest.fixture(scope="module")
def serve(origin, tmp_path_factory):
    """serve(yaml) -> Client of a gateway running `yaml`, with backend `origin` added (write
    `{origin}` for the origin's port elsewhere). Gateways live for the test module."""
    started = []

    def start(text: str, name: str = "gw", workers: int = 1) -> Client:
        port = free_port()
        directory = tmp_path_factory.mktemp(name)
        config = yaml.safe_load(textwrap.dedent(text).replace("{origin}", str(origin.port)))
        config.setdefault("gateway", {}).update(listen=f"127.0.0.1:{port}", workers=workers, access_log="off")
        config.setdefault("backends", {})["origin"] = {"url": f"http://127.0.0.1:{origin.port}/api",
                                                       "timeout": "5s"}
        gateway = GatewayProcess(directory, yaml.safe_dump(config, sort_keys=False), port, name)
        started.append(gateway)
        return Client(gateway)

    yield start
    for gateway in started:
        gateway.kill()
