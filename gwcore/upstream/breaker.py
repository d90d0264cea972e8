"""A member's circuit breaker, per worker: enough failures within an interval keep it out for trip_duration."""
from collections import deque


def retry_after_seconds(headers: list):
    """A Retry-After header in seconds (delay-seconds only; an HTTP date is not trusted), or None."""
    for name, value in headers:
        if name == b"retry-after":
            value = value.strip()
            return float(int(value)) if value.isdigit() and len(value) < 9 else None
    return None


class Breaker:
    """Closed while fewer than `count` failures fall within `interval` seconds; then open (the member
    gets no requests) until `trip_duration` has passed, or as long as the failing answer's
    Retry-After says when accept_retry_after is set. Times are the worker loop's clock."""

    __slots__ = ("count", "interval", "trip", "ranges", "reasons", "accept_retry_after", "failures", "open_until")

    def __init__(self, config):
        condition = config.failure_condition
        self.count = condition.count
        self.interval = condition.interval
        self.ranges = condition.ranges
        self.reasons = frozenset(condition.error_reasons)
        self.trip = config.trip_duration
        self.accept_retry_after = config.accept_retry_after
        self.failures = deque(maxlen=condition.count)   # times of the last `count` failures
        self.open_until = 0.0

    def is_open(self, now: float) -> bool:
        return now < self.open_until

    def answered(self, status: int, headers: list, now: float) -> None:
        """The member answered `status`: a failure if it falls in status_code_ranges."""
        for low, high in self.ranges:
            if low <= status <= high:
                return self._failure(now, headers)

    def error(self, reason: str, now: float) -> None:
        """The member could not be reached or did not answer in time (reason: connection | timeout)."""
        if reason in self.reasons:
            self._failure(now, ())

    def _failure(self, now: float, headers) -> None:
        if now < self.open_until:
            return  # answers still arriving from requests sent before it tripped
        failures = self.failures
        failures.append(now)
        if len(failures) == self.count and now - failures[0] <= self.interval:
            trip = self.trip
            if self.accept_retry_after:
                asked = retry_after_seconds(headers)
                if asked is not None:
                    trip = asked
            self.open_until = now + trip
            failures.clear()
