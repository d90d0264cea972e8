"""Reload: validating the config in the supervisor, the snapshots workers load, the state file."""
import os
import tempfile
import time

import orjson

from gwcore.config import ConfigError, load_plan
from gwcore.supervisor import scaling
from gwcore.supervisor.notify import sd_notify, write_atomically
from gwcore.supervisor.slots import tls_listen


class ConfigState:
    """The config text serving now, its generation, and how the last reload went."""

    def __init__(self, file: str, overrides: dict, state_file: str = None):
        self.file = file
        self.overrides = overrides
        self.state_file = state_file
        self.rundir = tempfile.mkdtemp(prefix="gwcore-")
        self.generation = 0
        self.plan = None
        self.snapshots = {}          # generation -> path of the exact text validated
        self.loaded_at = 0.0
        self.reloads = {"ok": 0, "failed": 0}
        self.last_reload = None
        self._written = None

    @property
    def snapshot(self) -> str:
        return self.snapshots[self.generation]

    def read(self):
        """Validate the file as it is now: (plan, text, []) or (None, None, problems)."""
        try:
            with open(self.file, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            return None, None, [f"{self.file}: cannot read the file: {exc.strerror}"]
        try:
            plan = load_plan(self.file, cli_overrides=self.overrides, generation=self.generation + 1, text=text)
        except ConfigError as exc:
            return None, None, [str(p) for p in exc.problems]
        return plan, text, []

    def commit(self, plan, text: str) -> None:
        """Serve `plan` from now on. Workers compile the very text validated here, never the
        file, which may have changed again since."""
        snapshot = os.path.join(self.rundir, f"config.{plan.generation}")
        write_atomically(snapshot, text)
        self.generation = plan.generation
        self.plan = plan
        self.loaded_at = plan.loaded_at
        self.snapshots[self.generation] = snapshot

    def prune(self, oldest_needed: int) -> None:
        """Delete snapshots older than `oldest_needed`: no live worker can still ask for them
        (a booting worker reads the one it was started with; a serving one may have
        unread config messages naming newer ones)."""
        for generation in [g for g in self.snapshots if g < oldest_needed and g != self.generation]:
            try:
                os.unlink(self.snapshots.pop(generation))
            except OSError:
                pass

    def record(self, problems: list) -> None:
        """Count a reload, for the state file `gwcore reload` reads."""
        self.reloads["failed" if problems else "ok"] += 1
        self.last_reload = {"ok": not problems, "at": time.time(), "generation": self.generation,
                            "problems": problems}

    def write_state(self, workers: list, graceful: float) -> None:
        """Write `<pidfile>.state` when something in it changed (not on every heartbeat)."""
        if not self.state_file:
            return
        state = {"pid": os.getpid(), "generation": self.generation, "graceful": graceful,
                 "reloads": self.reloads, "last_reload": self.last_reload, "workers": workers}
        data = orjson.dumps(state).decode()
        if data != self._written:
            write_atomically(self.state_file, data)
            self._written = data

    def message(self) -> dict:
        return {"t": "config", "generation": self.generation, "snapshot": self.snapshot,
                "file": self.file, "loaded_at": self.loaded_at, "overrides": self.overrides}

    def cleanup(self) -> None:
        for name in os.listdir(self.rundir):
            os.unlink(os.path.join(self.rundir, name))
        os.rmdir(self.rundir)
        if self.state_file and self._written is not None:  # ours only: not a running gateway's
            try:
                os.unlink(self.state_file)
            except OSError:
                pass


def reload(sup) -> None:
    """SIGHUP: validate the file; apply it everywhere, or keep serving the old one (and say why).

    Valid: every serving worker gets the new generation (it swaps Plans between requests);
    a changed worker count adds or retires slots; a changed listen address opens the new
    slots before anything counts as taken, so a reload that cannot listen is refused whole.
    """
    sd_notify("RELOADING=1")
    old = sup.settings
    plan, text, problems = sup.config.read()
    fresh = []
    tls = tls_listen(plan.settings) if plan is not None else None
    if not problems and (plan.settings.listen != old.listen or tls != tls_listen(old)):
        # the workers serve the sockets they were started with: a new TLS address needs new slots too
        target = sup.worker_count(plan.settings) if plan.settings.workers != old.workers else sup.target
        try:  # bound before the config counts as taken: a reload that cannot listen is refused
            fresh = sup.slots.open_many(plan.settings.listen, target, tls)
        except OSError as exc:
            problems = [f"{sup.config.file}: gateway.listen: cannot listen on {plan.settings.listen}"
                        f"{' and ' + tls if tls else ''}: {exc.strerror or exc}"]
    if problems:
        sup.config.record(problems)
        for problem in problems:
            sup.log.error("reload refused: %s", problem)
        sup.log.error("reload refused (%d problem(s)): still serving generation %d",
                      len(problems), sup.config.generation)
        sd_notify("READY=1")
        return
    sup.config.commit(plan, text)
    sup.config.record([])
    sup.health.use_plan(plan)
    sup.admin.configure(plan.settings.admin)
    sup.log.info("reloaded %s: generation %d; %s", sup.config.file, sup.config.generation, plan.summary())
    for worker in sup.slots.workers():
        if worker.state == "ready":  # booting ones get it when they say they are ready
            worker.channel.send(sup.config.message())
    sup.reload_waiting = sup.config.generation
    if fresh:
        scaling.move(sup, fresh)
    elif plan.settings.workers != old.workers:
        sup.target = sup.worker_count(plan.settings)
        scaling.scale(sup)
