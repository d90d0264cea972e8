"""The steps nearly every pipeline runs, as Step classes the compiled build turns into C calls:
set-header with constant values, and forward-request. Their policies' compile() choose them."""
from gwcore.pipeline.runner import Step


class SetHeaderValues(Step):
    """set-header override with values known at load: remove the header, add the values."""

    __slots__ = ("key", "values", "to_request")

    def __init__(self, key: bytes, values: list, to_request: bool):
        self.key = key                # lower-case name
        self.values = values          # the values as they go on the wire
        self.to_request = to_request  # the request (inbound, backend), else the response

    def run(self, ctx):
        context = ctx  # typed in the .pxd: the fields below are C struct fields
        if self.to_request:
            headers = context.request.headers
        else:
            headers = context.response.headers
        headers._remove(self.key)
        headers._add(self.key, self.values)


class Forward(Step):
    """forward-request: the exchange sends what the context says; the Run waits for the answer."""

    __slots__ = ("timeout",)

    plain_forward = True  # nothing needs the answer's head: see Program.streams

    def __init__(self, timeout):
        self.timeout = timeout        # None: the backend's own timeout

    def run(self, ctx):
        context = ctx
        return context._exchange.forward(context, self.timeout)
