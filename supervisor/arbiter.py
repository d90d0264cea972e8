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

from gwcore.supervisor import scaling, shared
from gwcore.supervisor.admin import AdminServer
from gwcore.supervisor.channel import Channel
from gwcore.supervisor.health import HealthThread
from gwcore.supervisor.metrics import Totals
from gwcore.supervisor.notify import live_pid, remove_if_ours, sd_notify, write_atomically
from gwcore.supervisor.reload import ConfigState, reload
from gwcore.supervisor.signals import SignalQueue
from gwcore.supervisor.slots import SlotRegistry, WorkerProcess, tls_listen
from gwcore.supervisor.watchdog import Watchdog

TICK = 0.25
FAST_STOP_SECONDS = 5.0
# `python -m` and `-c` put the working directory first on sys.path: started from a source
# checkout, that would import the checkout's gwcore/ (which has no workers/) instead of the
# installed package the supervisor runs from. Dropping that entry makes the worker import
# exactly what the supervisor imported.
WORKER_ENTRY = "import sys; del sys.path[0]; from gwcore.workers.main import main; sys.exit(main(sys.argv[1:]))"
STOP_SIGNALS = ("SIGTERM", "SIGINT", "SIGQUIT", "SIGCHLD")


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
        self.target = 0              # slots wanted: the config's worker count, moved by TTIN/TTOU
        self.shared_fds = []         # inherited by every worker: see supervisor/shared.py
        self.health = None           # the host's health checker (supervisor/health.py)
        self.stopping = None         # None, "graceful" or "fast"
        self.stop_deadline = 0.0
        self.exit_code = 0
        self.replace_queue = collections.deque()
        self.restarts = collections.Counter()
        self.announced_ready = False
        self.reload_waiting = None   # generation to be applied everywhere before READY=1
        self.metrics = Totals()      # what the workers counted (supervisor/metrics.py)
        self.admin = AdminServer(self)

    @property
    def settings(self):
        return self.config.plan.settings

    # ------------------------------------------------------------ life

    def run(self) -> int:
        self.signals = SignalQueue()  # first: a SIGTERM during start-up is queued, not fatal
        try:
            if not self._start():
                return 1
            while not (self.stopping is not None and not self.slots.workers()):
                self.tick()
        finally:
            self._shut_down()
        self.log.info("stopped")
        return self.exit_code

    def _start(self) -> bool:
        plan, text, problems = self.config.read()
        if problems:
            for problem in problems:
                self.log.error("%s", problem)
            self.log.error("not started: the config has %d problem(s)", len(problems))
            return False
        if self.pidfile and live_pid(self.pidfile):
            self.log.error("not started: pid file %s names running process %d; stop it or remove the file",
                           self.pidfile, live_pid(self.pidfile))
            self.pidfile = None  # not ours: never remove it
            return False
        listen, tls = plan.settings.listen, tls_listen(plan.settings)
        try:
            self.slots.open_many(listen, self.worker_count(plan.settings), tls)
        except OSError as exc:
            self.log.error("not started: cannot listen on %s%s: %s", listen, f" and {tls}" if tls else "",
                           exc.strerror or exc)
            return False
        self.config.commit(plan, text)
        self.target = len(self.slots.active())
        self.shared_fds = shared.create(plan)
        self.health = HealthThread(shared.health_board())
        self.health.use_plan(plan)
        if self.pidfile:
            write_atomically(self.pidfile, f"{os.getpid()}\n")
        self.log.info("gwcore supervisor %d: %d worker(s) on http://%s%s; %s", os.getpid(), self.target,
                      listen, f" and https://{tls}" if tls else "", plan.summary())
        self.admin.configure(plan.settings.admin)  # before the workers: /readyz says 503 while they boot
        self.top_up()
        return True

    def _shut_down(self) -> None:
        if self.health is not None:
            self.health.stop()
        self.admin.close()
        for worker in self.slots.workers():  # only after an error: normally none is left
            _kill(worker.pid, signal.SIGKILL)
        for slot in list(self.slots.slots.values()):
            self.slots.remove(slot)
        shared.close(self.shared_fds)
        self.config.cleanup()
        if self.pidfile:
            remove_if_ours(self.pidfile)

    @staticmethod
    def worker_count(settings) -> int:
        workers = settings.workers
        return len(os.sched_getaffinity(0)) if workers == "auto" else workers

    def tick(self) -> None:
        readers = {w.channel.fileno(): w for w in self.slots.workers() if w.channel is not None}
        poller = select.poll()  # not select(): a thousand workers' channels pass FD_SETSIZE
        wakeup = self.signals.wakeup_reader.fileno()
        for fd in (wakeup, *readers):
            poller.register(fd, select.POLLIN)
        admin = self.admin.fds()
        for fd, events in admin.items():
            poller.register(fd, events)
        for fd, events in poller.poll(TICK * 1000):
            if fd == wakeup:
                self.signals.drain_wakeups()
            elif fd in readers:
                self._read(readers[fd])
            elif fd in admin:
                self.admin.handle(fd, events)
        self.admin.sweep()
        for name in self.signals.pop_all():
            if self.stopping is not None and name not in STOP_SIGNALS:
                self.log.info("%s ignored: stopping", name)
                continue
            getattr(self, "handle_" + name[3:].lower())()
        self.reap()
        if self.stopping is None:
            self.watchdog.check(self.settings)
            self.top_up()
            self._next_replacement()
        elif time.monotonic() > self.stop_deadline:
            for worker in self.slots.workers():
                self.log.warning("worker %d did not stop in time: SIGKILL", worker.pid)
                _kill(worker.pid, signal.SIGKILL)
            self.stop_deadline = time.monotonic() + 1.0
        self._report()

    # ------------------------------------------------------------ workers

    def spawn(self, slot):
        parent, child = socket.socketpair()
        self.age += 1
        generation = self.config.generation
        argv = [sys.executable, "-c", WORKER_ENTRY, "--slot", str(slot.index),
                "--listen-fd", str(slot.sock.fileno()), "--control-fd", str(child.fileno()),
                "--config", self.config.file, "--snapshot", self.config.snapshot,
                "--generation", str(generation), "--loaded-at", repr(self.config.loaded_at),
                "--overrides", orjson.dumps(self.config.overrides).decode()]
        for fd in self.shared_fds:
            argv += ["--shared-fd", str(fd)]
        if slot.tls_sock is not None:
            argv += ["--tls-fd", str(slot.tls_sock.fileno())]
        try:
            process = subprocess.Popen(argv, pass_fds=(*(s.fileno() for s in slot.sockets()), child.fileno(),
                                                       *self.shared_fds))
        except OSError as exc:  # no memory, no pids: try again shortly instead of crashing
            parent.close()
            self.log.error("cannot start a worker for slot %d: %s", slot.index, exc)
            slot.next_spawn = time.monotonic() + 1.0
            return None
        finally:
            child.close()
        parent.setblocking(False)
        worker = WorkerProcess(slot, self.age, process, Channel(parent), generation)
        worker.requests_jitter = self.watchdog.jitter(self.settings)
        slot.workers.append(worker)
        self.log.info("slot %d: worker %d started", slot.index, worker.pid)
        return worker

    def _read(self, worker) -> None:
        try:
            messages = worker.channel.receive()
        except ValueError:
            messages = None
        if messages is None:  # closed: reap() sees the exit; stop selecting on it meanwhile
            worker.channel.close()
            worker.channel = None
            return
        for message in messages:
            kind = message.get("t")
            worker.last_heartbeat = time.monotonic()
            if kind == "heartbeat":
                worker.requests = message.get("requests", 0)
                self.metrics.heartbeat(worker.pid, message)
            elif kind == "ready":
                self._worker_ready(worker, message.get("generation", 0))
            elif kind == "reloaded":
                generation = message.get("generation", 0)
                worker.seen = max(worker.seen, generation)
                if message.get("ok"):
                    worker.generation, worker.error = generation, None
                else:
                    worker.error = message.get("error")
                    self.log.error("worker %d could not apply generation %s (still serving %d): %s",
                                   worker.pid, generation, worker.generation, worker.error)

    def _worker_ready(self, worker, generation: int) -> None:
        if worker.state != "booting":
            return
        worker.state = "ready"
        worker.generation = generation
        worker.seen = max(worker.seen, generation)
        worker.slot.boot_failures = 0
        self.log.info("slot %d: worker %d ready (generation %d)", worker.slot.index, worker.pid, generation)
        if generation < self.config.generation:  # a reload happened while it booted
            worker.channel.send(self.config.message())
        for older in worker.slot.workers:
            if older.age < worker.age and older.state == "ready":
                self.drain(older)  # its successor accepts on the same socket: the old one may go
        if not self.announced_ready and all(s.current() and s.current().state == "ready"
                                            for s in self.slots.active()):
            self.announced_ready = True
            sd_notify("READY=1")
            self.log.info("all %d worker(s) ready", len(self.slots.active()))

    def drain(self, worker) -> None:
        """Let `worker` finish in-flight requests (answering them with Connection: close) and exit."""
        if worker.state in ("booting", "ready"):
            self.log.info("slot %d: worker %d draining", worker.slot.index, worker.pid)
            worker.state = "draining"
            _kill(worker.pid, signal.SIGTERM)

    def recycle(self, worker, reason: str) -> None:
        """Start a fresh process on the worker's slot; the old one drains once it is ready."""
        self.log.info("recycling worker %d (slot %d): %s", worker.pid, worker.slot.index, reason)
        worker.recycle_reason = reason
        self.restarts["recycled"] += 1
        self.spawn(worker.slot)

    def reap(self) -> None:
        now = time.monotonic()
        for slot in list(self.slots.slots.values()):
            for worker in list(slot.workers):
                code = worker.process.poll()
                if code is None:
                    continue
                slot.workers.remove(worker)
                if worker.channel is not None:
                    self._read(worker)  # its last heartbeat may still be unread: its final counts
                    if worker.channel is not None:
                        worker.channel.close()
                self.metrics.gone(worker.pid)
                self.watchdog.exited(worker, code, now)
            if slot.retiring and not slot.workers:
                self.slots.remove(slot)

    def top_up(self) -> None:
        now = time.monotonic()
        for slot in self.slots.active():
            if slot.current() is None and now >= slot.next_spawn:
                self.spawn(slot)

    def _report(self) -> None:
        """After each tick: forget snapshots no one needs, finish a reload, update the state file."""
        workers = self.slots.workers()
        live = [w for w in workers if w.state in ("booting", "ready")]
        self.config.prune(min((w.seen + 1 for w in live), default=self.config.generation))
        if self.reload_waiting is not None and all(
                w.seen >= self.reload_waiting for w in live if w.state == "ready"):
            self.reload_waiting = None
            sd_notify("READY=1")
        self.config.write_state([w.describe() for w in workers], self.settings.timeouts.graceful)

    # ------------------------------------------------------------ signals

    def handle_hup(self) -> None:
        """Reload: validate the file; apply it everywhere, or keep serving the old one."""
        reload(self)

    def handle_usr2(self) -> None:
        """Replace every worker with a fresh process, one slot at a time."""
        self.log.info("replacing all workers, one slot at a time")
        self.replace_queue.extend(s for s in self.slots.active() if s not in self.replace_queue)
        self._next_replacement()

    def _next_replacement(self) -> None:
        if not self.replace_queue or any(w.state == "booting" for w in self.slots.workers()):
            return  # one at a time: the replacement in progress goes first
        while self.replace_queue:
            slot = self.replace_queue.popleft()
            current = slot.current()
            if slot.index in self.slots.slots and not slot.retiring and current and current.state == "ready":
                self.restarts["replaced"] += 1
                self.spawn(slot)
                return

    def handle_term(self) -> None:
        """Graceful stop: workers drain within timeouts.graceful, then exit 0."""
        self.stop("graceful")

    def handle_int(self) -> None:
        """Fast stop."""
        self.stop("fast")

    handle_quit = handle_int

    def stop(self, how: str) -> None:
        if self.stopping == "fast" or self.stopping == how:
            return
        sd_notify("STOPPING=1")
        self.stopping = how
        self.log.info("stopping (%s)", how)
        grace = self.settings.timeouts.graceful + 2.0 if how == "graceful" else FAST_STOP_SECONDS
        self.stop_deadline = time.monotonic() + grace
        self.replace_queue.clear()
        for worker in self.slots.workers():
            if worker.state == "killed" or (how == "fast" and worker.state == "booting"):
                signum = signal.SIGKILL  # nothing to finish: a traceback from mid-import helps no one
            else:
                signum = signal.SIGTERM if how == "graceful" else signal.SIGINT
            _kill(worker.pid, signum)
            worker.state = "draining"

    def handle_usr1(self) -> None:
        """Reopen log files (after logrotate)."""
        for worker in self.slots.workers():
            if worker.channel is not None:
                worker.channel.send({"t": "reopen"})

    def handle_ttin(self) -> None:
        """One worker more."""
        self.target += 1
        scaling.scale(self)

    def handle_ttou(self) -> None:
        """One worker less (never below one)."""
        if self.target > 1:
            self.target -= 1
            scaling.scale(self)

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
