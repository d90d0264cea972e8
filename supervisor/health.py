"""The host's one health checker: gwcore.upstream.health.HealthChecker in an event loop on a thread of the supervisor.

The supervisor's own loop is poll() over signals and worker channels; the checks wait on
sockets of their own, so they get a thread with an asyncio loop. Only the board in shared
memory connects it to the workers.
"""
import asyncio
import threading

from gwcore.upstream.health import HealthChecker


class HealthThread:
    """Starts with the first Plan; `use_plan` on every reload; `stop` at shutdown."""

    def __init__(self, board):
        self.board = board
        self.loop = None
        self.checker = None
        self.thread = None

    def use_plan(self, plan) -> None:
        """Check the members of `plan`; the thread is started the first time a backend has a health_check."""
        if self.thread is None:
            if not any(b.health_check is not None for b in plan.backends.values()):
                return
            self.loop = asyncio.new_event_loop()
            self.checker = HealthChecker(self.board, self.loop)
            ready = threading.Event()
            self.thread = threading.Thread(target=self._run, args=(ready,), name="gwcore-health", daemon=True)
            self.thread.start()
            ready.wait()
        self.loop.call_soon_threadsafe(self.checker.use_plan, plan)

    def _run(self, ready) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(ready.set)
        self.loop.run_forever()

    def stop(self) -> None:
        if self.thread is None:
            return
        self.loop.call_soon_threadsafe(self.checker.stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=2.0)
        self.thread = None
