"""Policy schema tests: a minimal config around some statements, loaded with gwcore.config.load_plan."""
import textwrap
from dataclasses import dataclass

import pytest

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
        plan = load_plan(self.config(statements, section, scope))
        operation = plan.apis["a"].operations["op" if scope == "operation" else "*"]
        pipeline = operation.pipeline("p" if scope == "product" else None)
        return getattr(pipeline, section.replace("-", "_"))

    def statement(self, statements: str, section: str = "inbound", scope: str = "api"):
        """The first statement of the section (a policy config object)."""
        return self.load(statements, section, scope)[0]

    def errors(self, statements: str, section: str = "inbound", scope: str = "api") -> list:
        path = self.config(statements, section, scope)
        with pytest.raises(ConfigError) as info:
            load_plan(path)
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
