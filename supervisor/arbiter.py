"""The supervisor's loop: spawn a worker per slot, dispatch signals, reap, watch, top up."""
import collections
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time

import orjson

from gwcore.supervisor import WORKER_BOOT_ERROR
from gwcore.supervisor.channel import Channel
from gwcore.supervisor.notify import remove_if_ours, sd_notify, write_atomically
from gwcore.supervisor.reload import ConfigState
from gwcore.supervisor.signals import SignalQueue
from gwcore.supervisor.slots import SlotRegistry, WorkerProcess
from gwcore.supervisor.watchdog import Watchdog

TICK = 0.25
FAST_STOP_SECONDS = 5.0
# `python -m` and `-c` put the working directory first on sys.path: started from a source
# checkout, that would import the checkout's gwcore/ (which has no workers/) instead of the
# installed package the supervisor runs from. Dropping that entry makes the worker import
# exactly what the supervisor imported.
WORKER_ENTRY = "import sys; del sys.path[0]; from gwcore.workers.main import main; sys.exit(main(sys.argv[1:]))"


class Supervisor:
    """Owns the listening sockets (one per slot, for the slot's life) and the workers."""

    def __init__(self, config_file: str, overrides: dict, pidfile: str = None):
        self.log = logging.getLogger("gwcore.supervisor")
        self.pidfile = pidfile
        self.config = ConfigState(config_file, overrides, f"{pidfile}.state" if pidfile else None)
        self.slots = SlotRegistry()
        self.watchdog = Watchdog(self)
        self.signals = None
        self.age = 0
        self.stopping = None         # None, "graceful" or "fast"
        self.stop_deadline = 0.0
        self.exit_code = 0
        self.replace_queue = collections.deque()
        self.restarts = collections.Counter()
        self.announced_ready = False

    @property
    def settings(self):
        return self.config.plan.settings

    # ------------------------------------------------------------ life

    def run(self) -> int:
        problems = self.config.load()
        if problems:
            for problem in problems:
                self.log.error("%s", problem)
            self.log.error("not started: the config has %d problem(s)", len(problems))
            return 1
        try:
            for _ in range(self.worker_count()):
                self.slots.open(self.settings.listen)
        except OSError as exc:
            self.log.error("cannot listen on %s: %s", self.settings.listen, exc.strerror or exc)
            return 1
        if self.pidfile:
            write_atomically(self.pidfile, f"{os.getpid()}\n")
        self.config.write_state()
        self.signals = SignalQueue()
        self.log.info("gwcore supervisor %d: %d worker(s) on http://%s; %s", os.getpid(),
                      len(self.slots.slots), self.settings.listen, self.config.plan.summary())
        try:
            while not self._finished():
                self.tick()
        finally:
            for slot in list(self.slots.slots.values()):
                self.slots.remove(slot)
            self.config.cleanup()
            if self.pidfile:
                remove_if_ours(self.pidfile)
                if self.config.state_file:
                    try:
                        os.unlink(self.config.state_file)
                    except OSError:
                        pass
        self.log.info("stopped")
        return self.exit_code

    def worker_count(self) -> int:
        workers = self.settings.workers
        return (os.cpu_count() or 1) if workers == "auto" else workers

    def _finished(self) -> bool:
        return self.stopping is not None and not self.slots.workers()

    def tick(self) -> None:
        readers = {w.channel.fileno(): w for w in self.slots.workers()}
        try:
            ready, _, _ = select.select([self.signals.wakeup_reader, *readers], [], [], TICK)
        except InterruptedError:
            ready = []
        for fd in ready:
            if fd is self.signals.wakeup_reader:
                self.signals.drain_wakeups()
            elif fd in readers:
                self._read(readers[fd])
        for name in self.signals.pop_all():
            getattr(self, "handle_" + name[3:].lower())()
        self.reap()
        if self.stopping is None:
            self.watchdog.check(self.settings)
            self.top_up()
        elif time.monotonic() > self.stop_deadline:
            for worker in self.slots.workers():
                self.log.warning("worker %d did not stop in time: SIGKILL", worker.pid)
                _kill(worker.pid, signal.SIGKILL)
            self.stop_deadline = time.monotonic() + 1.0

    # ------------------------------------------------------------ workers

    def spawn(self, slot) -> WorkerProcess:
        parent, child = socket.socketpair()
        self.age += 1
        argv = [sys.executable, "-c", WORKER_ENTRY, "--slot", str(slot.index),
                "--listen-fd", str(slot.sock.fileno()), "--control-fd", str(child.fileno()),
                "--config", self.config.file, "--snapshot", self.config.snapshot,
                "--generation", str(self.config.generation), "--loaded-at", repr(self.config.loaded_at),
                "--overrides", orjson.dumps(self.config.overrides).decode()]
        process = subprocess.Popen(argv, pass_fds=(slot.sock.fileno(), child.fileno()))
        child.close()
        parent.setblocking(False)
        worker = WorkerProcess(slot, self.age, process, Channel(parent))
        worker.requests_jitter = self.watchdog.jitter(self.settings)
        slot.workers.append(worker)
        return worker

    def _read(self, worker) -> None:
        messages = worker.channel.receive()
        if messages is None:
            return  # closed: reap() sees the exit
        for message in messages:
            kind = message.get("t")
            worker.last_heartbeat = time.monotonic()
            if kind == "heartbeat":
                worker.requests = message.get("requests", 0)
            elif kind == "ready":
                self._worker_ready(worker, message.get("generation", 0))
            elif kind == "reloaded":
                worker.generation = message.get("generation", worker.generation)
                if not message.get("ok"):
                    self.log.error("worker %d could not apply generation %s: %s", worker.pid,
                                   message.get("generation"), message.get("error"))

    def _worker_ready(self, worker, generation: int) -> None:
        if worker.state != "booting":
            return
        worker.state = "ready"
        worker.generation = generation
        worker.slot.quick_deaths = 0
        if generation < self.config.generation:
            worker.channel.send(self.config.message())
        for older in worker.slot.workers:
            if older is not worker and older.age < worker.age and older.state != "draining":
                self.drain(older)  # the replacement accepts: the old one may go
        if not self.announced_ready and all(s.current() and s.current().state == "ready"
                                            for s in self.slots.active()):
            self.announced_ready = True
            sd_notify("READY=1")
            self.log.info("all %d worker(s) ready", len(self.slots.active()))
        self._next_replacement()

    def drain(self, worker) -> None:
        """Let `worker` finish in-flight requests (answering them with Connection: close) and exit."""
        if worker.state != "draining":
            worker.state = "draining"
            worker.last_heartbeat = time.monotonic()
            _kill(worker.pid, signal.SIGTERM)

    def recycle(self, worker, reason: str) -> None:
        """Replace `worker` with a fresh process on the same slot, then drain it."""
        self.log.info("recycling worker %d (slot %d): %s", worker.pid, worker.slot.index, reason)
        worker.recycle_reason = reason
        self.restarts[reason] += 1
        self.spawn(worker.slot)

    def reap(self) -> None:
        now = time.monotonic()
        for slot in list(self.slots.slots.values()):
            for worker in list(slot.workers):
                code = worker.process.poll()
                if code is None:
                    continue
                slot.workers.remove(worker)
                worker.channel.close()
                if worker.state == "booting" and code == WORKER_BOOT_ERROR:
                    self.log.error("worker %d could not start (see its message above): stopping", worker.pid)
                    self.exit_code = 1
                    self._stop("fast")
                elif worker.state != "draining" and self.stopping is None:
                    how = f"signal {-code}" if code < 0 else f"exit code {code}"
                    self.log.error("worker %d (slot %d) died with %s: restarting", worker.pid, slot.index, how)
                    self.restarts["died"] += 1
                    slot.quick_deaths = slot.quick_deaths + 1 if now - worker.started < 10 else 0
                    slot.next_spawn = now + min(0.1 * 2 ** max(slot.quick_deaths - 1, 0), 10.0) \
                        if slot.quick_deaths else now
            if slot.retiring and not slot.workers:
                self.slots.remove(slot)

    def top_up(self) -> None:
        now = time.monotonic()
        for slot in self.slots.active():
            if slot.current() is None and now >= slot.next_spawn:
                self.spawn(slot)

    # ------------------------------------------------------------ signals

    def handle_hup(self) -> None:
        """Reload: validate the file; apply it everywhere, or keep serving the old one."""
        sd_notify("RELOADING=1")
        old = self.config.plan.settings
        problems = self.config.load()
        self.config.record(problems)
        if problems:
            for problem in problems:
                self.log.error("reload refused: %s", problem)
            self.log.error("reload refused (%d problem(s)): still serving generation %d",
                           len(problems), self.config.generation)
            sd_notify("READY=1")
            return
        self.log.info("reloaded %s: generation %d; %s", self.config.file, self.config.generation,
                      self.config.plan.summary())
        for worker in self.slots.workers():
            if worker.state != "draining":
                worker.channel.send(self.config.message())
        self._apply_slots(old)
        sd_notify("READY=1")

    def _apply_slots(self, old) -> None:
        """A changed listen address or worker count: add slots, retire others."""
        new = self.settings
        if new.listen != old.listen:
            try:
                fresh = [self.slots.open(new.listen) for _ in range(self.worker_count())]
            except OSError as exc:
                self.log.error("cannot listen on %s: %s; keeping %s", new.listen, exc.strerror or exc, old.listen)
                return
            for slot in self.slots.active():
                if slot not in fresh:
                    self._retire(slot)
            return
        active = self.slots.active()
        for _ in range(self.worker_count() - len(active)):
            self.slots.open(new.listen)
        for slot in active[self.worker_count():]:
            self._retire(slot)

    def _retire(self, slot) -> None:
        slot.retiring = True
        for worker in slot.workers:
            self.drain(worker)

    def handle_usr2(self) -> None:
        """Replace every worker with a fresh process, one slot at a time."""
        self.log.info("replacing all workers, one slot at a time")
        self.replace_queue.extend(self.slots.active())
        self._next_replacement()

    def _next_replacement(self) -> None:
        if any(w.state == "booting" for w in self.slots.workers()):
            return  # one at a time: wait for the replacement in progress
        while self.replace_queue:
            slot = self.replace_queue.popleft()
            if slot.index in self.slots.slots and not slot.retiring:
                self.restarts["replaced"] += 1
                self.spawn(slot)
                return

    def handle_term(self) -> None:
        """Graceful stop: workers drain within timeouts.graceful, then exit 0."""
        self._stop("graceful")

    def handle_int(self) -> None:
        """Fast stop."""
        self._stop("fast")

    handle_quit = handle_int

    def _stop(self, how: str) -> None:
        if self.stopping == "fast" or (self.stopping == how):
            return
        sd_notify("STOPPING=1")
        self.stopping = how
        self.log.info("stopping (%s)", how)
        grace = self.settings.timeouts.graceful + 2.0 if how == "graceful" else FAST_STOP_SECONDS
        self.stop_deadline = time.monotonic() + grace
        for worker in self.slots.workers():
            _kill(worker.pid, signal.SIGTERM if how == "graceful" else signal.SIGINT)
            worker.state = "draining"

    def handle_usr1(self) -> None:
        """Reopen log files (after logrotate)."""
        for worker in self.slots.workers():
            worker.channel.send({"t": "reopen"})

    def handle_ttin(self) -> None:
        """One worker more."""
        self.slots.open(self.settings.listen)

    def handle_ttou(self) -> None:
        """One worker less (never below one)."""
        active = self.slots.active()
        if len(active) > 1:
            self._retire(active[-1])

    def handle_chld(self) -> None:
        """A child exited: reap() runs right after every dispatch."""


def _kill(pid: int, signum) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def run_from_cli(args) -> int:
    """`gwcore run`: the supervisor and its workers."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s gwcore[%(process)d] %(levelname)s %(message)s")
    workers = args.workers
    if workers is not None and workers != "auto":
        workers = int(workers) if workers.isdigit() else workers
    overrides = {k: v for k, v in (("listen", args.listen), ("workers", workers)) if v is not None}
    return Supervisor(args.config, overrides, args.pidfile).run()
