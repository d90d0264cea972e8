"""Shared memory every worker inherits: the file descriptors the supervisor creates before spawning.

The state issue (gwcore/state/) fills `create`: for example a memfd holding the local
rate-limit table. Workers are started with exec, not fork, so an anonymous mmap would not
reach them; a file descriptor does. The supervisor passes every fd returned here to every
worker (pass_fds and one `--shared-fd N` each) and closes them when it stops; the worker
hands them to its Worker as `shared_fds`.
"""
import os


def create(plan) -> list:
    """File descriptors (ints, inheritable or not) to share with every worker of `plan`."""
    return []


def close(fds: list) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
