"""Liveness: heartbeats (SIGABRT, then SIGKILL), RSS and request limits, restarts with backoff."""
import os
import random
import signal
import time

import psutil

from gwcore.supervisor import WORKER_BOOT_ERROR

BOOT_TIMEOUT = 60.0      # a worker silent this long after spawn never finished booting
RSS_EVERY = 2.0          # reading /proc/PID/statm is cheap, but there is no need to do it each tick
KILL_AFTER_ABORT = 3.0   # time a worker gets to die of SIGABRT (and write its traceback)
LONG_LIFE = 10.0         # a worker that lived this long resets its slot's restart backoff
MAX_BACKOFF = 10.0
MAX_BOOT_FAILURES = 3    # a slot's workers dying before ready this many times in a row: stop


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
                continue  # reap() deals with it
            if worker.aborted_at is not None:
                if now - worker.aborted_at > KILL_AFTER_ABORT:
                    self._kill(worker)
                continue
            limit = BOOT_TIMEOUT if worker.state == "booting" else settings.heartbeat_timeout
            silent = now - worker.last_heartbeat
            if silent > limit:
                self._abort(worker, silent)
                continue
            if worker.state != "ready" or worker.recycle_reason:
                continue
            if settings.max_requests and worker.requests >= settings.max_requests + worker.requests_jitter:
                self.supervisor.recycle(worker, f"max_requests ({worker.requests} served)")
            elif check_rss:
                rss = _rss(worker.pid)
                if rss > settings.max_rss:
                    self.supervisor.recycle(worker, f"rss {rss >> 20} MiB > max_rss {settings.max_rss >> 20} MiB")

    def _abort(self, worker, silent: float) -> None:
        """A stuck loop: SIGABRT first (the worker's faulthandler prints where it is stuck).

        The slot does not wait for it: the worker counts as gone, and the loop's top-up
        starts a successor on the same socket at once.
        """
        self.supervisor.log.error("worker %d (slot %d) silent for %.1fs: SIGABRT", worker.pid,
                                  worker.slot.index, silent)
        _signal(worker.pid, signal.SIGABRT)
        worker.aborted_at = time.monotonic()
        worker.state = "killed"

    def _kill(self, worker) -> None:
        """Still there after SIGABRT (it blocks the signal, or is stopped): SIGKILL."""
        self.supervisor.log.error("worker %d still alive %.0fs after SIGABRT: SIGKILL", worker.pid,
                                  KILL_AFTER_ABORT)
        _signal(worker.pid, signal.SIGKILL)
        worker.aborted_at = float("inf")  # nothing stronger to send; reap() sees it go

    def exited(self, worker, code: int, now: float) -> None:
        """A worker is gone: restart its slot (at once, then with backoff), or stop if it cannot boot."""
        sup = self.supervisor
        log = sup.log
        slot = worker.slot
        how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        if worker.state == "draining" or sup.stopping is not None:
            log.info("worker %d (slot %d) exited (%s)", worker.pid, slot.index, how)
            return
        if worker.state == "killed":
            log.error("stuck worker %d (slot %d) ended (%s)", worker.pid, slot.index, how)
            return
        if worker.state == "booting":
            if slot.current() is not None:  # a replacement that failed: the old worker stays
                log.error("replacement worker %d (slot %d) could not start (%s): worker %d keeps "
                          "serving; replacing stopped", worker.pid, slot.index, how, slot.current().pid)
                sup.replace_queue.clear()
                return
            slot.boot_failures += 1
            if code == WORKER_BOOT_ERROR or slot.boot_failures >= MAX_BOOT_FAILURES:
                log.error("worker %d (slot %d) could not start (%s; its message is above): "
                          "stopping instead of restarting it in a loop", worker.pid, slot.index, how)
                sup.exit_code = 1
                sup.stop("fast")
                return
        sup.restarts["died"] += 1
        slot.quick_deaths = 0 if now - worker.started >= LONG_LIFE else slot.quick_deaths + 1
        # the first death restarts at once; one more soon after start waits, doubling each time
        delay = 0.0 if slot.quick_deaths <= 1 else min(0.5 * 2 ** (slot.quick_deaths - 2), MAX_BACKOFF)
        slot.next_spawn = now + delay
        log.error("worker %d (slot %d) died with %s: restarting%s", worker.pid, slot.index, how,
                  f" in {delay:.1f}s" if delay else "")


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
