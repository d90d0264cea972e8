"""Liveness and resource checks: heartbeats (SIGABRT, then SIGKILL), RSS and request limits."""
import os
import random
import signal
import time

import psutil

BOOT_TIMEOUT = 60.0
RSS_EVERY = 5.0
KILL_AFTER_ABORT = 3.0


class Watchdog:
    def __init__(self, supervisor):
        self.supervisor = supervisor
        self._next_rss = 0.0

    def jitter(self, settings) -> int:
        return random.randint(0, settings.max_requests_jitter) if settings.max_requests_jitter else 0

    def check(self, settings) -> None:
        now = time.monotonic()
        check_rss = settings.max_rss and now >= self._next_rss
        if check_rss:
            self._next_rss = now + RSS_EVERY
        for worker in self.supervisor.slots.workers():
            if worker.process.poll() is not None:
                continue
            limit = BOOT_TIMEOUT if worker.state == "booting" else settings.heartbeat_timeout
            silent = now - worker.last_heartbeat
            if silent > limit:
                self._escalate(worker, silent)
                continue
            if worker.state != "ready" or worker.recycle_reason:
                continue
            if settings.max_requests and worker.requests >= settings.max_requests + worker.requests_jitter:
                self.supervisor.recycle(worker, "max_requests")
            elif check_rss and _rss(worker.pid) > settings.max_rss:
                self.supervisor.recycle(worker, "rss")

    def _escalate(self, worker, silent: float) -> None:
        """A stuck loop: SIGABRT (a traceback, a core) first, SIGKILL if it is still there."""
        log = self.supervisor.log
        if worker.kill_stage == 0:
            log.error("worker %d (slot %d) silent for %.1fs: SIGABRT", worker.pid, worker.slot.index, silent)
            _signal(worker.pid, signal.SIGABRT)
            worker.kill_stage = 1
            worker.last_heartbeat = time.monotonic() - self.supervisor.settings.heartbeat_timeout + KILL_AFTER_ABORT
        elif worker.kill_stage == 1:
            log.error("worker %d still alive after SIGABRT: SIGKILL", worker.pid)
            _signal(worker.pid, signal.SIGKILL)
            worker.kill_stage = 2


def _rss(pid: int) -> int:
    try:
        return psutil.Process(pid).memory_info().rss
    except psutil.Error:
        return 0


def _signal(pid: int, signum) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
