"""Config problems located in their file: `FILE:LINE:COL path.in.file: message`."""
from dataclasses import dataclass


def format_path(path) -> str:
    """('apis', 'inv', 'operations', 1, 'method') -> 'apis.inv.operations[1].method'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top)"


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a config file, with where it is."""

    file: str
    line: int
    column: int
    path: tuple
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column} {format_path(self.path)}: {self.message}"


class ConfigError(Exception):
    """Every problem of one config load, reported together."""

    def __init__(self, problems):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column))
        super().__init__("\n".join(str(p) for p in self.problems))
