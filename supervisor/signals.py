"""Signal handlers that only enqueue; the supervisor's loop dispatches handle_<name>()."""
import collections
import signal
import socket

HANDLED = ("SIGHUP", "SIGTERM", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGTTIN", "SIGTTOU", "SIGCHLD")


class SignalQueue:
    """Queue of received signal names plus a socket that wakes the supervisor's select()."""

    def __init__(self):
        self.pending = collections.deque()
        self.wakeup_reader, self._wakeup_writer = socket.socketpair()
        self.wakeup_reader.setblocking(False)
        self._wakeup_writer.setblocking(False)
        signal.set_wakeup_fd(self._wakeup_writer.fileno(), warn_on_full_buffer=False)
        for name in HANDLED:
            signal.signal(getattr(signal, name), self._enqueue)

    def _enqueue(self, signum, frame):
        self.pending.append(signal.Signals(signum).name)

    def drain_wakeups(self) -> None:
        try:
            while self.wakeup_reader.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def pop_all(self) -> list:
        names = []
        while self.pending:
            names.append(self.pending.popleft())
        return names
