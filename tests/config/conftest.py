"""Helpers for config tests: load a YAML text into a Plan, or collect the problems it has."""
import textwrap

import pytest

from gwcore.config import ConfigError, load_plan


class Configs:
    """Writes dedented config text with the `write_config` fixture and loads it.

    `environ` defaults to {} so the process environment (GWCORE_GATEWAY__*) never leaks in.
    Lines to be reported are marked in the text with `# <- tag`.
    """

    def __init__(self, write_config):
        self.write_config = write_config
        self.text = ""
        self.path = ""

    def write(self, text: str, name: str = "gateway.yaml") -> str:
        self.text = textwrap.dedent(text)
        self.path = self.write_config(self.text, name)
        return self.path

    def load(self, text: str, name: str = "gateway.yaml", environ=None, **kwargs):
        return load_plan(self.write(text, name), environ={} if environ is None else environ, **kwargs)

    def problems(self, text: str, name: str = "gateway.yaml", environ=None, **kwargs) -> list:
        with pytest.raises(ConfigError) as info:
            self.load(text, name, environ, **kwargs)
        assert str(info.value) == "\n".join(str(p) for p in info.value.problems)
        return info.value.problems

    def problem(self, text: str, **kwargs):
        """The single problem of `text`."""
        found = self.problems(text, **kwargs)
        assert len(found) == 1, "\n".join(map(str, found))
        return found[0]

    def line(self, tag: str = "") -> int:
        """The line of the last text marked `# <-` (or `# <- tag`)."""
        marker = "# <-" + (f" {tag}" if tag else "")
        lines = [n for n, line in enumerate(self.text.splitlines(), 1)
                 if line.rstrip().endswith(marker) or (not tag and "# <-" in line)]
        assert len(lines) == 1, (marker, lines)
        return lines[0]


@pytest.fixture
def cfg(write_config):
    return Configs(write_config)
