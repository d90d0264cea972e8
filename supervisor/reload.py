"""Reading and validating the config in the supervisor; the snapshot every worker loads."""
import os
import tempfile
import time

from gwcore.config import ConfigError, load_plan
from gwcore.supervisor.notify import write_atomically

import orjson


class ConfigState:
    """The config text serving now, its generation, and how the last reload went."""

    def __init__(self, file: str, overrides: dict, state_file: str = None):
        self.file = file
        self.overrides = overrides
        self.state_file = state_file
        self.rundir = tempfile.mkdtemp(prefix="gwcore-")
        self.generation = 0
        self.plan = None
        self.snapshot = None
        self.loaded_at = 0.0
        self.reloads = {"ok": 0, "failed": 0}
        self.last_reload = None

    def load(self):
        """Validate the file as it is now. Returns the list of problems (empty when it took)."""
        try:
            with open(self.file, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            return [f"{self.file}: cannot read the file: {exc.strerror}"]
        try:
            plan = load_plan(self.file, cli_overrides=self.overrides, generation=self.generation + 1, text=text)
        except ConfigError as exc:
            return [str(p) for p in exc.problems]
        self.generation += 1
        self.plan = plan
        self.loaded_at = plan.loaded_at
        snapshot = os.path.join(self.rundir, f"config.{self.generation}")
        write_atomically(snapshot, text)
        if self.snapshot:
            try:
                os.unlink(self.snapshot)
            except OSError:
                pass
        self.snapshot = snapshot
        return []

    def record(self, problems: list) -> None:
        """Count a reload and write the state file `gwcore reload` reads."""
        self.reloads["failed" if problems else "ok"] += 1
        self.last_reload = {"ok": not problems, "at": time.time(), "generation": self.generation,
                            "problems": problems}
        self.write_state()

    def write_state(self) -> None:
        if self.state_file:
            write_atomically(self.state_file, orjson.dumps({
                "pid": os.getpid(), "generation": self.generation, "reloads": self.reloads,
                "last_reload": self.last_reload}).decode())

    def message(self) -> dict:
        return {"t": "config", "generation": self.generation, "snapshot": self.snapshot,
                "file": self.file, "loaded_at": self.loaded_at, "overrides": self.overrides}

    def cleanup(self) -> None:
        for name in os.listdir(self.rundir):
            os.unlink(os.path.join(self.rundir, name))
        os.rmdir(self.rundir)
