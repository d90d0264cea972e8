"""A worker process: `python -m gwcore.workers.main`, spawned by the supervisor for one slot."""
import argparse
import asyncio
import dataclasses
import faulthandler
import logging
import os
import signal
import socket
import sys
import time

import orjson

from gwcore.observability import metrics
from gwcore.supervisor import WORKER_BOOT_ERROR
from gwcore.supervisor.channel import Channel

log = logging.getLogger("gwcore.worker")
# GWCORE_TEST_HOOKS=1 (tests only) lets SIGUSR2 block the event loop, to test the watchdog, and
# GWCORE_TEST_BOOT_DELAY=S hold the worker S seconds before it says it is ready.
TEST_HOOKS = os.environ.get("GWCORE_TEST_HOOKS") == "1"


def load(file: str, snapshot: str, overrides: dict, generation: int, loaded_at: float):
    """The Plan from the supervisor's validated snapshot of `file`."""
    from gwcore.config import load_plan
    with open(snapshot, encoding="utf-8") as f:
        text = f.read()
    plan = load_plan(file, cli_overrides=overrides, generation=generation, text=text)
    return dataclasses.replace(plan, loaded_at=loaded_at)


class WorkerProcess:
    """Runs one Worker: control messages, heartbeats, signals, drain."""

    def __init__(self, worker, channel: Channel):
        self.worker = worker
        self.loop = worker.loop
        self.channel = channel
        self.stopping = self.loop.create_future()

    def run(self) -> int:
        loop = self.loop
        loop.add_signal_handler(signal.SIGTERM, self._stop, True)
        loop.add_signal_handler(signal.SIGINT, self._stop, False)
        loop.add_signal_handler(signal.SIGQUIT, self._stop, False)
        loop.add_signal_handler(signal.SIGUSR1, self.worker.reopen_logs)
        # The supervisor's own signals: one sent to a worker by mistake must not kill it.
        for signum in (signal.SIGHUP, signal.SIGUSR2, signal.SIGTTIN, signal.SIGTTOU):
            loop.add_signal_handler(signum, lambda: None)
        if TEST_HOOKS:
            loop.add_signal_handler(signal.SIGUSR2, self._block_loop_for_tests)
        loop.add_reader(self.channel.fileno(), self._on_control)
        if TEST_HOOKS and os.environ.get("GWCORE_TEST_BOOT_DELAY"):  # a slow boot, to watch /readyz
            time.sleep(float(os.environ["GWCORE_TEST_BOOT_DELAY"]))
        self.channel.send({"t": "ready", "generation": self.worker.plan.generation, "pid": os.getpid()})
        self._heartbeat()
        graceful, leave_group = loop.run_until_complete(self.stopping)
        loop.remove_reader(self.channel.fileno())
        if graceful:
            loop.run_until_complete(self.worker.drain(self.worker.timeouts.graceful, leave_group))
        else:
            self.worker.stop()
        self.channel.send(self._beat())  # the last counts: totals stay exact across a replacement
        if self.worker.tracing is not None:
            self.worker.tracing.shutdown()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
        return 0

    def _stop(self, graceful: bool, leave_group: bool = False) -> None:
        if not self.stopping.done():
            self.stopping.set_result((graceful, leave_group))
        elif not graceful:  # a fast stop during a graceful drain: close everything now
            self.worker.stop()

    def _heartbeat(self) -> None:
        """Sent from inside the event loop: a stuck loop stops it, and the supervisor notices."""
        self.channel.send(self._beat())
        # several beats per deadline, so one late beat on a busy machine is not a miss
        interval = min(1.0, self.worker.plan.settings.heartbeat_timeout / 4)
        self.loop.call_later(interval, self._heartbeat)

    def _beat(self) -> dict:
        """A heartbeat: the request count, what the metrics counted since the last one, the gauges."""
        worker = self.worker
        beat = {"t": "heartbeat", "requests": worker.requests, "gauges": metrics.gauges(worker)}
        if worker.metrics is not None:
            beat["metrics"] = worker.metrics.take()
        return beat

    def _block_loop_for_tests(self) -> None:
        """Test hook: block the event loop the way an endless policy would."""
        log.warning("test hook: blocking the event loop")
        while True:
            time.sleep(1)

    def _on_control(self) -> None:
        try:
            messages = self.channel.receive()
        except ValueError:
            messages = None
        if messages is None:  # the supervisor is gone: finish what we have and leave
            self.loop.remove_reader(self.channel.fileno())
            self._stop(True)
            return
        for message in messages:
            kind = message.get("t")
            if kind == "config":
                self._apply(message)
            elif kind == "reopen":
                self.worker.reopen_logs()
            elif kind == "retire":  # the slot closes: take its socket out of the group, then drain
                self._stop(True, leave_group=True)

    def _apply(self, message: dict) -> None:
        try:
            plan = load(message["file"], message["snapshot"], message["overrides"],
                        message["generation"], message["loaded_at"])
            self.worker.use_plan(plan)
        except Exception as exc:  # whatever it is, keep serving the Plan we have
            log.exception("cannot apply configuration generation %s", message["generation"])
            self.channel.send({"t": "reloaded", "generation": message["generation"], "ok": False,
                               "error": str(exc)[:2000]})
            return
        self.channel.send({"t": "reloaded", "generation": plan.generation, "ok": True})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="gwcore-worker")
    parser.add_argument("--slot", type=int, required=True)
    parser.add_argument("--listen-fd", type=int, required=True)
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--tls-fd", type=int, help="the slot's TLS listening socket (gateway.tls)")
    parser.add_argument("--shared-fd", type=int, action="append", default=[],
                        help="shared memory from the supervisor (see supervisor/shared.py); repeated")
    parser.add_argument("--config", required=True)
    parser.add_argument("--snapshot", required=True)
    parser.add_argument("--generation", type=int, required=True)
    parser.add_argument("--loaded-at", type=float, required=True)
    parser.add_argument("--overrides", default="{}")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format=f"%(asctime)s gwcore[%(process)d] worker {args.slot} %(levelname)s %(message)s")
    faulthandler.enable()  # SIGABRT from the watchdog prints where the loop is stuck
    try:
        # imported here, so that a broken install is a boot error the supervisor stops on
        import uvloop
        from gwcore.workers.server import Worker, tune_collector
        plan = load(args.config, args.snapshot, orjson.loads(args.overrides), args.generation, args.loaded_at)
        sock = socket.socket(fileno=args.listen_fd)
        sock.setblocking(False)
        tls_sock = socket.socket(fileno=args.tls_fd) if args.tls_fd is not None else None
        if tls_sock is not None:
            tls_sock.setblocking(False)
        control = socket.socket(fileno=args.control_fd)
        control.setblocking(False)
        loop = uvloop.new_event_loop()
        asyncio.set_event_loop(loop)
        worker = Worker(plan, sock, loop, slot=args.slot, shared_fds=args.shared_fd, tls_sock=tls_sock)
        # after the fork (exec) and before serving: an SDK set up in the supervisor would not export
        from gwcore.observability import tracing
        worker.set_observers(tracing.setup(plan.settings))
        loop.run_until_complete(worker.start())
        tune_collector()
    except Exception:
        log.exception("worker could not start")
        return WORKER_BOOT_ERROR
    return WorkerProcess(worker, Channel(control)).run()


if __name__ == "__main__":
    sys.exit(main())
