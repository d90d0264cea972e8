"""What every request reads of its worker, declared in one place: Worker (server.py) derives from it.

Compiled (worker_state.pxd beside it), these are C struct fields and the request id a C call; a
Worker's other attributes live in its __dict__. This module imports nothing of workers/: the
compiled exchange modules import it for the type, whichever of them is imported first.
"""


class WorkerState:
    """The fields of a Worker that exchanges read per request (Worker sets them)."""

    __slots__ = ("loop", "plan", "limits", "timeouts", "request_id_header", "skip_request_headers",
                 "special_headers", "upstreams", "state", "observe", "access_log", "connections", "draining",
                 "requests", "_rid_prefix", "_rid_counter",
                 "max_header_bytes", "max_header_count", "max_uri_bytes", "max_body_bytes",
                 "header_read_timeout", "body_read_timeout", "keepalive_idle_timeout")

    def use_limits_and_timeouts(self, limits, timeouts) -> None:
        """Keep the limits and timeouts requests read as plain numbers: reading them off the
        settings models (pydantic) costs an attribute hook per read, several times per request."""
        self.limits = limits
        self.max_header_bytes = limits.max_header_bytes
        self.max_header_count = limits.max_header_count
        self.max_uri_bytes = limits.max_uri_bytes
        self.max_body_bytes = limits.max_body_bytes
        self.timeouts = timeouts
        self.header_read_timeout = timeouts.header_read
        self.body_read_timeout = timeouts.body_read
        self.keepalive_idle_timeout = timeouts.keepalive_idle

    def new_request_id(self) -> bytes:
        """Unique per worker without a syscall: a random prefix and a counter."""
        self._rid_counter += 1
        return b"%s-%x" % (self._rid_prefix, self._rid_counter)
