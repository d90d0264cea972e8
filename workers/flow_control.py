"""Pause/resume reading of one transport for several independent reasons at once."""

# Reasons, as bits: the peer's write buffer is full, a pipelined request waits its turn,
# body received before the upstream was ready has reached its high-water mark.
PEER_FULL, PIPELINE, PENDING_BODY = 1, 4, 2


class FlowControl:
    """Reading stays paused while any reason holds; joins back-pressure across two connections."""

    __slots__ = ("transport", "reasons")

    def __init__(self, transport):
        self.transport = transport
        self.reasons = 0

    def pause_reading(self, reason: int) -> None:
        if not self.reasons:
            self.transport.pause_reading()
        self.reasons |= reason

    def resume_reading(self, reason: int) -> None:
        if self.reasons & reason:
            self.reasons &= ~reason
            if not self.reasons and not self.transport.is_closing():
                self.transport.resume_reading()
