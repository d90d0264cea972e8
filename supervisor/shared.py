"""Shared memory every worker inherits: the file descriptors the supervisor creates before spawning.

Today that is one memfd: the host's rate-limit and quota table (gwcore/state/shm.py), so
limits are exact across every worker of the host. Workers are started with exec, not fork,
so an anonymous mmap would not reach them; a file descriptor does. The supervisor passes
every fd returned here to every worker (pass_fds and one `--shared-fd N` each) and closes
them when it stops; the worker hands them to its Worker as `shared_fds`.
"""
import os

from gwcore.state.shm import SharedTable

TABLE_SLOTS = 65536
_kept = []  # the tables themselves: the region lives as long as the supervisor


def create(plan) -> list:
    """File descriptors to share with every worker of `plan`: [the state table's memfd]."""
    table = SharedTable.create(TABLE_SLOTS)
    _kept.append(table)
    return [table.fd]


def close(fds: list) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
