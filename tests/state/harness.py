"""Helpers of the state tests: the twin modules by name, an injectable clock, a synchronous harness for any backend."""
from conftest import load_twin
from gwcore.state.base import resolve

T0 = 1_700_000_000.0   # a bucket boundary for periods of 60 s (w = 4 s) and 300 s (w = 20 s)


def twin_module(name: str):
    """The shared-table twin `py` or `c`."""
    return load_twin(name, "gwcore.state._shm_py", "gwcore.state._shm")


class FakeClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class Harness:
    """Runs backend calls to completion on the test's loop, whichever way the backend answers."""

    def __init__(self, name, backend, loop, clock, prefix=""):
        self.name = name
        self.backend = backend
        self.loop = loop
        self.clock = clock
        self.prefix = prefix    # keeps keys apart on the Redis server the tests share

    def __getattr__(self, method):
        target = getattr(self.backend, method)

        def call(key, *args, **kwargs):
            async def run():
                return await resolve(target(self.prefix + key, *args, **kwargs))
            return self.loop.run_until_complete(run())
        return call
