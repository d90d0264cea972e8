"""A worker process: `python -m gwcore.workers.main`, spawned by the supervisor for one slot."""
import argparse
import asyncio
import dataclasses
import logging
import os
import signal
import socket
import sys

import orjson
import uvloop

from gwcore.config import ConfigError, load_plan
from gwcore.supervisor import WORKER_BOOT_ERROR
from gwcore.supervisor.channel import Channel
from gwcore.workers.server import Worker

HEARTBEAT_SECONDS = 1.0
log = logging.getLogger("gwcore.worker")


def load(file: str, snapshot: str, overrides: dict, generation: int, loaded_at: float):
    """The Plan from the supervisor's validated snapshot of `file`."""
    with open(snapshot, encoding="utf-8") as f:
        text = f.read()
    plan = load_plan(file, cli_overrides=overrides, generation=generation, text=text)
    return dataclasses.replace(plan, loaded_at=loaded_at)


class WorkerProcess:
    """Runs one Worker: control messages, heartbeats, signals, drain."""

    def __init__(self, worker: Worker, channel: Channel):
        self.worker = worker
        self.loop = worker.loop
        self.channel = channel
        self.stopping = self.loop.create_future()

    def run(self) -> int:
        loop = self.loop
        loop.add_signal_handler(signal.SIGTERM, self._stop, True)
        loop.add_signal_handler(signal.SIGINT, self._stop, False)
        loop.add_signal_handler(signal.SIGQUIT, self._stop, False)
        loop.add_signal_handler(signal.SIGHUP, lambda: None)  # the supervisor reloads, not us
        loop.add_signal_handler(signal.SIGUSR1, self.worker.reopen_logs)
        loop.add_reader(self.channel.fileno(), self._on_control)
        self.channel.send({"t": "ready", "generation": self.worker.plan.generation, "pid": os.getpid()})
        self._heartbeat()
        graceful = loop.run_until_complete(self.stopping)
        loop.remove_reader(self.channel.fileno())
        if graceful:
            loop.run_until_complete(self.worker.drain(self.worker.timeouts.graceful))
        else:
            self.worker.stop()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
        return 0

    def _stop(self, graceful: bool) -> None:
        if not self.stopping.done():
            self.stopping.set_result(graceful)

    def _heartbeat(self) -> None:
        """Sent from inside the event loop: a stuck loop stops it, and the supervisor notices."""
        self.channel.send({"t": "heartbeat", "requests": self.worker.requests})
        self.loop.call_later(HEARTBEAT_SECONDS, self._heartbeat)

    def _on_control(self) -> None:
        messages = self.channel.receive()
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

    def _apply(self, message: dict) -> None:
        try:
            plan = load(message["file"], message["snapshot"], message["overrides"],
                        message["generation"], message["loaded_at"])
        except (ConfigError, OSError) as exc:
            self.channel.send({"t": "reloaded", "generation": message["generation"], "ok": False,
                               "error": str(exc)[:2000]})
            return
        self.worker.use_plan(plan)
        self.channel.send({"t": "reloaded", "generation": plan.generation, "ok": True})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="gwcore-worker")
    parser.add_argument("--slot", type=int, required=True)
    parser.add_argument("--listen-fd", type=int, required=True)
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--snapshot", required=True)
    parser.add_argument("--generation", type=int, required=True)
    parser.add_argument("--loaded-at", type=float, required=True)
    parser.add_argument("--overrides", default="{}")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format=f"%(asctime)s gwcore[%(process)d] worker {args.slot} %(levelname)s %(message)s")
    try:
        plan = load(args.config, args.snapshot, orjson.loads(args.overrides), args.generation, args.loaded_at)
        sock = socket.socket(fileno=args.listen_fd)
        sock.setblocking(False)
        control = socket.socket(fileno=args.control_fd)
        control.setblocking(False)
        loop = uvloop.new_event_loop()
        asyncio.set_event_loop(loop)
        worker = Worker(plan, sock, loop, slot=args.slot)
        loop.run_until_complete(worker.start())
    except Exception:
        log.exception("worker could not start")
        return WORKER_BOOT_ERROR
    return WorkerProcess(worker, Channel(control)).run()


if __name__ == "__main__":
    sys.exit(main())
