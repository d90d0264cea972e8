"""Length-prefixed JSON messages over a socketpair between the supervisor and one worker."""
import socket
import struct

import orjson

_HEADER = struct.Struct("!I")
MAX_MESSAGE = 1 << 20


class Channel:
    """Both ends use it: `send` a dict, `feed` received bytes, get whole messages back."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self._buffer = b""

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, message: dict) -> bool:
        """Send without blocking for long; False if the peer is gone or not reading."""
        data = orjson.dumps(message)
        try:
            self.sock.settimeout(1.0)
            self.sock.sendall(_HEADER.pack(len(data)) + data)
            return True
        except OSError:
            return False
        finally:
            try:
                self.sock.setblocking(False)
            except OSError:
                pass

    def receive(self):
        """Messages available now; None when the peer has closed its end."""
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return []
        except OSError:
            return None
        if not data:
            return None
        return self.feed(data)

    def feed(self, data: bytes) -> list:
        self._buffer += data
        out = []
        while len(self._buffer) >= 4:
            (size,) = _HEADER.unpack_from(self._buffer)
            if size > MAX_MESSAGE:
                raise ValueError("control message too large")
            if len(self._buffer) < 4 + size:
                break
            out.append(orjson.loads(self._buffer[4:4 + size]))
            self._buffer = self._buffer[4 + size:]
        return out

    def close(self) -> None:
        self.sock.close()
