"""The steps nearly every pipeline runs, as Step classes the compiled build turns into C calls:
set-header with constant values, and forward-request (their policies' compile() choose them);
and, for a pipeline made of nothing else, the same header edits applied without a Run."""
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


class HeaderEdits:
    """Constant set-header statements folded into one edit of a header list: what several
    SetHeaderValues steps in a row do, applied by the exchange without a context (static_edits)."""

    __slots__ = ("names", "pairs")

    def __init__(self, steps):
        values = {}
        for step in steps:  # a later statement on the same name replaces the earlier, at the end
            values.pop(step.key, None)
            values[step.key] = step.values
        self.names = frozenset(values)
        self.pairs = [(key, value) for key, items in values.items() for value in items]

    def apply(self, headers: list) -> None:
        """Remove every header of these names from `headers`, then add the values at the end."""
        names = self.names
        for index in range(len(headers) - 1, -1, -1):
            if headers[index][0] in names:
                del headers[index]
        headers.extend(self.pairs)


def static_edits(program):
    """(request edits, answer edits) of a Program that does nothing but set headers to constant
    values around one plain forward-request; either is None when it has no statement. The
    exchange then forwards and answers as for a plain operation, editing the two header lists as
    it goes, with no context or Run per request (nginx's proxy_set_header and add_header).
    False for any other Program."""
    inbound, backend, outbound, on_error = program.sections
    if on_error or program.request_body or program.response_body or program.preflight is not None:
        return False
    if not backend or type(backend[-1]) is not Forward:
        return False
    to_request = inbound + backend[:-1]
    if not all(type(step) is SetHeaderValues and step.to_request for step in to_request):
        return False
    if not all(type(step) is SetHeaderValues and not step.to_request for step in outbound):
        return False
    return (HeaderEdits(to_request) if to_request else None), (HeaderEdits(outbound) if outbound else None)
