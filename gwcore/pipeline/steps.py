"""Helpers the policies' compile() methods share: message targets, values on the wire, answers."""
from gwcore.pipeline.context import Body
from gwcore.pipeline.errors import PolicyError
from gwcore.pipeline.expressions import Expression, evaluate, is_dynamic

REQUEST_SECTIONS = frozenset({"inbound", "backend"})


def message_of(section: str):
    """The message a statement in `section` works on: the request before the backend, else the response."""
    if section in REQUEST_SECTIONS:
        return _request
    return _response


def _request(ctx):
    return ctx.request


def _response(ctx):
    return ctx.response


def as_text(value) -> str:
    """A value as policies put it on the wire: booleans as APIM writes them, None as empty."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def header_value(value) -> bytes:
    """A header value; CR, LF and NUL would split or smuggle a header, so they are an error."""
    data = as_text(value).encode("utf-8")
    if b"\r" in data or b"\n" in data or b"\0" in data:
        raise PolicyError(500, "Expression evaluation failed. A header value may not contain CR, LF or NUL.",
                          "ExpressionValueEvaluationFailure", source="set-header")
    return data


def evaluator(c, raw):
    """(value, dynamic): a compiled value and whether it must be evaluated per request."""
    value = c.value(raw)
    dynamic = is_dynamic(value)
    if dynamic and "body" in getattr(value, "source", ""):
        c.reads_body()
    return value, dynamic


def _evaluator(value):
    """The fastest function of the context giving a dynamic value."""
    if isinstance(value, Expression):
        return value.evaluate
    return lambda ctx: evaluate(value, ctx)


def each_value(c, raws, convert):
    """A function of the context giving `convert` of every value of `raws`; constants converted once."""
    compiled = [evaluator(c, raw) for raw in raws]
    if not any(dynamic for _, dynamic in compiled):
        fixed = [convert(value) for value, _ in compiled]
        values = lambda ctx: fixed  # noqa: E731
        values.constant = fixed     # for a step that can do without the call
        return values
    parts = [(_evaluator(value), True) if dynamic else (value, False) for value, dynamic in compiled]
    return lambda ctx: [convert(value(ctx) if dynamic else value) for value, dynamic in parts]


def one_value(c, raw, convert=lambda v: v):
    """A function of the context giving `convert(value)`; a constant is converted once, at load."""
    value, dynamic = evaluator(c, raw)
    if dynamic:
        ev = _evaluator(value)
        return lambda ctx: convert(ev(ctx))
    fixed = convert(value)
    return lambda ctx: fixed


def answer(ctx, status: int, body: bytes = b"", content_type: bytes = None, headers: tuple = ()) -> None:
    """Make context.response a gateway-made answer."""
    response = ctx.response
    response.status_code = status
    response.reason = None
    items = [] if content_type is None else [(b"content-type", content_type)]
    items.extend(headers)
    response.headers._items[:] = items
    response.body = Body(body)
