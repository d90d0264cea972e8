"""Helpers of the end-to-end policy tests: what the origin saw, waiting for a condition."""
from harness import wait_for


def received(origin, since: int) -> list:
    """The requests the origin recorded from index `since` on."""
    return origin.records(since)


def eventually(predicate, timeout: float = 10.0, interval: float = 0.02):
    """The first true value of predicate() within `timeout` seconds (else its last value)."""
    return wait_for(predicate, timeout, interval)


def header_values(echo: dict, name: str) -> list:
    """Every value of request header `name` the origin received, in order (echo = answer.json())."""
    return [value for key, value in echo["headers"] if key == name]
