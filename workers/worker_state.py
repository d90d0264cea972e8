"""What every request reads of its worker, declared in one place: Worker (server.py) derives from it.

Compiled (worker_state.pxd beside it), these are C struct fields and the request id a C call; a
Worker's other attributes live in its __dict__. This module imports nothing of workers/: the
compiled exchange modules import it for the type, whichever of them is imported first.
"""


class WorkerState:
    """The fields of a Worker that exchanges read per request (Worker sets them)."""

    __slots__ = ("loop", "plan", "limits", "timeouts", "request_id_header", "skip_request_headers",
                 "special_headers", "upstreams", "state", "observe", "access_log", "connections", "draining",
                 "requests", "_rid_prefix", "_rid_counter")

    def new_request_id(self) -> bytes:
        """Unique per worker without a syscall: a random prefix and a counter."""
        self._rid_counter += 1
        return b"%s-%x" % (self._rid_prefix, self._rid_counter)
