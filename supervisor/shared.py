"""Shared memory every worker inherits: the file descriptors the supervisor creates before spawning.

Two memfds: the host's rate-limit and quota table (gwcore/state/shm.py), so limits are exact
across every worker of the host; and the health board (gwcore/upstream/health.py), where the
supervisor's one health checker publishes member verdicts every worker reads. Workers are started with exec, not fork,
so an anonymous mmap would not reach them; a file descriptor does. The supervisor passes
every fd returned here to every worker (pass_fds and one `--shared-fd N` each) and closes
them when it stops; the worker hands them to its Worker as `shared_fds`.
"""
import os

from gwcore.state.shm import SharedTable
from gwcore.upstream.health import HealthBoard

TABLE_SLOTS = 65536
HEALTH_SLOTS = 4096   # members with a health check, over every backend (16 bytes each)
_kept = []  # the regions themselves: they live as long as the supervisor


def create(plan) -> list:
    """File descriptors to share with every worker of `plan`: [state table, health board] (in that order)."""
    table = SharedTable.create(TABLE_SLOTS)
    board = HealthBoard.create(HEALTH_SLOTS)
    _kept.extend((table, board))
    return [table.fd, board.fd]


def health_board():
    """The health board create() made (the supervisor's health checker writes it)."""
    return next(region for region in _kept if isinstance(region, HealthBoard))


def close(fds: list) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
