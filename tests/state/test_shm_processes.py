"""The shared table across real processes: exact limits under contention, and no stripe left locked by a dead one."""
import os
import signal
import struct
import subprocess
import sys
import time

import pytest

from state.harness import T0

MODULES = {"py": "gwcore.state._shm_py", "c": "gwcore.state._shm"}

# Each worker attaches the inherited fd through LocalBackend, as a gateway worker does, so the
# key digest (seeded from the table) must agree across processes too.
HAMMER = """
import importlib, sys, time
from gwcore.state.local import LocalBackend
table = importlib.import_module(sys.argv[1]).SharedTable.attach(int(sys.argv[2]))
backend = LocalBackend(table)
limit, attempts, start_at = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
time.sleep(max(0.0, start_at - time.time()))    # sleep, not spin: four spinners would starve the boot of the others
began = time.time()
admitted = sum(backend.rate_limit("one-key", limit, 300).allowed for _ in range(attempts))
print(admitted, began, time.time())
"""


def spawn(code, tmp_path, *args, fds=()):
    # cwd elsewhere: the worktree's own gwcore/ has no compiled twin and must not shadow the installed one
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], pass_fds=fds, cwd=tmp_path,
                            stdout=subprocess.PIPE, text=True)


def test_four_processes_admit_exactly_the_limit(shm_twin, tmp_path):
    table = shm_twin.SharedTable.create(1024)
    c = shm_twin.LOCK_KIND == 1
    module = MODULES["c" if c else "py"]
    limit = 200_000 if c else 20_000    # some 100 ms of calls per process on either twin
    start_at = time.time() + 3.0    # all four start hammering together, once booted (even on a busy machine)
    workers = [spawn(HAMMER, tmp_path, module, table.fd, limit, limit // 2, start_at, fds=(table.fd,))
               for _ in range(4)]
    results = []
    for worker in workers:
        out, _ = worker.communicate(timeout=100)
        assert worker.returncode == 0
        admitted, began, ended = out.split()
        results.append((int(admitted), float(began), float(ended)))
    assert sum(r[0] for r in results) == limit, results
    # and they did run at the same time: every run overlaps the slowest-starting one
    last_start = max(r[1] for r in results)
    assert sum(r[2] > last_start for r in results) >= 2, results
    table.close()


HOLD_LOCKF = """
import fcntl, os, sys, time
fd = int(sys.argv[1])
fcntl.lockf(fd, fcntl.LOCK_EX, 1, 4096, os.SEEK_SET)    # stripe 0, as the Python twin locks it
print("locked", flush=True)
time.sleep(60)
"""

HOLD_PID = """
import sys, time
print("locked", flush=True)
time.sleep(60)
"""

WAIT_FOR_STRIPE = """
import importlib, sys
table = importlib.import_module(sys.argv[1]).SharedTable.attach(int(sys.argv[2]))
print(table.window((0, 1), 5, 60.0, 1, float(sys.argv[3]))[0], flush=True)
"""


def test_a_process_killed_holding_a_stripe_does_not_wedge_it(shm_twin, tmp_path):
    table = shm_twin.SharedTable.create(64)
    c = shm_twin.LOCK_KIND == 1
    if c:
        holder = spawn(HOLD_PID, tmp_path)
        # as if the holder were inside its critical section: its pid in stripe 0's lock word
        os.pwrite(table.fd, struct.pack("=I", holder.pid), 4096)
    else:
        holder = spawn(HOLD_LOCKF, tmp_path, table.fd, fds=(table.fd,))
    assert holder.stdout.readline().strip() == "locked"
    waiter = spawn(WAIT_FOR_STRIPE, tmp_path, MODULES["c" if c else "py"], table.fd, T0, fds=(table.fd,))
    with pytest.raises(subprocess.TimeoutExpired):
        waiter.wait(timeout=0.5)    # the stripe is taken: the waiter waits
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    out, _ = waiter.communicate(timeout=20)
    assert out.strip() == "1"
    assert table.window((0, 1), 5, 60.0, 0, T0)[2] == 4     # the waiter's call was counted
    table.close()
