"""Field types shared by the policy schemas: values that may be @(expressions), names, lists, child elements."""
import base64
import binascii
import re
from dataclasses import dataclass
from typing import Annotated, ClassVar, Optional
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, PlainValidator

from gwcore.config.durations import parse_duration
from gwcore.pipeline.expressions import is_expression  # one definition of "an @(expression)"
from gwcore.policies.base import SCOPES, Value, kebab, scope_of  # noqa: F401 - imported from here too

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


@dataclass(frozen=True)
class Label:
    """How docs/policies.md names a field's type (pydantic sees it only as metadata)."""

    text: str


# ---- expressions ------------------------------------------------------------------------------

def _check_expression_shape(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith("@{"):
        raise ValueError("multi-statement @{ ... } expressions are not supported; write a single @( ... ) expression")
    if stripped.startswith("@(") and not stripped.endswith(")"):
        raise ValueError("this starts like an @(expression) but does not end with ); the whole value must be"
                         " one @( ... )")
    return text


def _written_as_expression(text: str) -> bool:
    """True when `text` is meant as an expression (starts with @( or @{); a malformed one is an error."""
    if text.strip().startswith(("@(", "@{")):
        _check_expression_shape(text)
        return True
    return False


def _no_expression(text: str) -> str:
    if text.strip().startswith(("@(", "@{")):
        raise ValueError("policy expressions are not allowed in this attribute; write a literal value")
    return text


def _scalar_text(value, what: str = "a text value") -> str:
    """str as is; numbers as their text; anything else is an operator mistake."""
    if isinstance(value, bool):
        raise ValueError(f"expected {what}, got {str(value).lower()}; quote it if you mean the text")
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    raise ValueError(f"expected {what}, not {_kind(value)}")


def _kind(value) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"a {type(value).__name__}"


# ---- scalar value types -----------------------------------------------------------------------

def _scalar_value(value):
    if value is None or isinstance(value, (dict, list, tuple)):
        raise ValueError(f"expected a text, number or @(expression), not {_kind(value)}")
    if isinstance(value, str):
        _check_expression_shape(value)
    return value


def _text(value) -> str:
    text = _no_expression(_scalar_text(value))
    if not text.strip():
        raise ValueError("must not be empty")
    return text


def _text_or_expression(value) -> str:
    text = _check_expression_shape(_scalar_text(value))
    if not text.strip():
        raise ValueError("must not be empty")
    return text


def _any_text(value) -> str:
    return _check_expression_shape(_scalar_text(value))


def _flag(value):
    """A boolean literal (true/false, also as text from a named value) or an @(expression)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if is_expression(value):
            return value
        _check_expression_shape(value)
    raise ValueError(f"expected true, false or an @(expression), got {value!r}")


def header_name(value) -> str:
    name = _no_expression(_scalar_text(value, "a header name"))
    if not _TOKEN.match(name):
        raise ValueError(f"{name!r} is not a valid header name (letters, digits and !#$%&'*+.^_`|~-)")
    return name


def _header_name_or_expression(value) -> str:
    name = _scalar_text(value, "a header name")
    return name if _written_as_expression(name) else header_name(name)


def _method(value) -> str:
    method = _scalar_text(value, "an HTTP method")
    if _written_as_expression(method):
        return method
    if not _TOKEN.match(method):
        raise ValueError(f"{method!r} is not an HTTP method (e.g. GET, POST)")
    return method.upper()


def _http_url(value) -> str:
    url = _scalar_text(value, "a URL")
    if _written_as_expression(url):
        return url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// URL with a host")
    return url


Text = Annotated[str, PlainValidator(_text), Label("text")]
"""A non-empty literal; @(expressions) are refused (APIM: "policy expressions aren't allowed")."""
TextOrExpr = Annotated[str, PlainValidator(_text_or_expression), Label("text or @(expression)")]
AnyText = Annotated[str, PlainValidator(_any_text), Label("text or @(expression)")]
"""Like TextOrExpr but may be empty (a replacement string, a body)."""
Scalar = Annotated[Value, PlainValidator(_scalar_value), Label("value or @(expression)")]
"""A `Value`: text, number or boolean literal, or an @(expression)."""
Flag = Annotated[Value, PlainValidator(_flag), Label("boolean or @(expression)")]
HeaderName = Annotated[str, PlainValidator(header_name), Label("header name")]
HeaderNameOrExpr = Annotated[str, PlainValidator(_header_name_or_expression), Label("header name or @(expression)")]
Method = Annotated[str, PlainValidator(_method), Label("HTTP method or @(expression)")]
HttpUrl = Annotated[str, PlainValidator(_http_url), Label("http(s) URL or @(expression)")]


def _number(value, what: str, integer: bool):
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list, tuple)):
        raise ValueError(f"expected {what}, got {value!r}")
    if isinstance(value, str):
        try:
            value = float(value.strip()) if not integer else int(value.strip())
        except ValueError:
            raise ValueError(f"expected {what}, got {value!r}") from None
    if integer and isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"expected {what}, got {value!r}")
        value = int(value)
    return value


def _range_text(ge, le) -> str:
    if ge is not None and le is not None:
        return f"from {ge} to {le}"
    if ge is not None:
        return f"at least {ge}"
    return f"at most {le}"


def integer(ge: Optional[int] = None, le: Optional[int] = None, expressions: bool = False):
    """An integer type limited to [ge, le]; with `expressions`, an @(expression) is accepted too."""
    what = "a whole number" + (f" {_range_text(ge, le)}" if ge is not None or le is not None else "")

    def check(value):
        if expressions and isinstance(value, str) and _written_as_expression(value):
            return value
        number = _number(value, what + (" or an @(expression)" if expressions else ""), integer=True)
        if (ge is not None and number < ge) or (le is not None and number > le):
            raise ValueError(f"must be {_range_text(ge, le)}, got {number}")
        return number

    label = "integer" + (f" {ge}–{le}" if ge is not None and le is not None else
                         f" ≥ {ge}" if ge is not None else f" ≤ {le}" if le is not None else "")
    label += " or @(expression)" if expressions else ""
    return Annotated[Value, PlainValidator(check), Label(label)]


def duration(gt: Optional[float] = None, le: Optional[float] = None, expressions: bool = False):
    """Seconds written 30, 30s, 500ms, 5m (see gwcore.config.durations); optionally an @(expression)."""

    def check(value):
        if expressions and isinstance(value, str) and _written_as_expression(value):
            return value
        seconds = parse_duration(value)
        if gt is not None and seconds <= gt:
            raise ValueError(f"must be more than {gt:g} seconds, got {seconds:g}")
        if le is not None and seconds > le:
            raise ValueError(f"must be at most {le:g} seconds, got {seconds:g}")
        return seconds

    limits = ([f"> {gt:g}"] if gt is not None else []) + ([f"≤ {le:g}"] if le is not None else [])
    label = "seconds" + (f" ({', '.join(limits)})" if limits else "") + (" or @(expression)" if expressions else "")
    return Annotated[Value, PlainValidator(check), Label(label)]


Status = integer(100, 599)
StatusOrExpr = integer(100, 599, expressions=True)


def base64_text(value: str, urlsafe: bool = False) -> str:
    """Check that `value` decodes as (standard or URL-safe) base64; returns it unchanged."""
    text = value.strip()
    padded = text + "=" * (-len(text) % 4)
    try:
        if urlsafe:
            base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        else:
            base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        kind = "base64url" if urlsafe else "base64"
        raise ValueError(f"is not valid {kind} text") from None
    if not text:
        raise ValueError("must not be empty")
    return value


def thumbprint(value) -> str:
    """A certificate thumbprint: 40 (SHA-1) or 64 (SHA-256) hex digits; colons and spaces are ignored."""
    text = _scalar_text(value, "a thumbprint")
    if _written_as_expression(text):
        return text
    digits = re.sub(r"[\s:]", "", text)
    if not re.fullmatch(r"[0-9A-Fa-f]{40}|[0-9A-Fa-f]{64}", digits):
        raise ValueError(f"{text!r} is not a certificate thumbprint (40 or 64 hex digits)")
    return digits.upper()


Thumbprint = Annotated[str, PlainValidator(thumbprint), Label("thumbprint (hex) or @(expression)")]


# ---- lists and child elements -----------------------------------------------------------------

def as_list(value, child: Optional[str] = None) -> list:
    """Repeated XML children as a YAML list: one item or a list; `{child: items}` (the XML wrapper
    spelled out) is accepted as well when `child` names the wrapped element."""
    if value is None:
        return []
    if child is not None and isinstance(value, dict) and set(value) == {child}:
        value = value[child]
        if value is None:
            return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def as_element(model, value):
    """`set-body: text` means `set-body: {value: text}` for an element holding only text."""
    field = getattr(model, "text_field", None)
    if field is not None and value is not None and not isinstance(value, dict):
        return {field: value}
    return value


def many(item, child: Optional[str] = None, at_least: int = 0):
    """A list field of repeated children; items may be models (with scalar shorthand) or scalar types."""

    def coerce(value):
        items = as_list(value, child)
        if isinstance(item, type) and issubclass(item, BaseModel):
            items = [as_element(item, v) for v in items]
        return items

    def count(items: tuple) -> tuple:
        # after the items validated, so a bad item is not reported twice
        if len(items) < at_least:
            raise ValueError(f"list at least {at_least} item{'s' if at_least > 1 else ''} here")
        return items

    validators = (BeforeValidator(coerce),) + ((AfterValidator(count),) if at_least else ())
    return Annotated[(tuple[item, ...], *validators)]


def one(model):
    """A single child element, with the scalar shorthand for elements holding only text."""
    return Annotated[model, BeforeValidator(lambda value: as_element(model, value))]


class Element(BaseModel):
    """A child element of a policy (e.g. ip-filter's address-range): kebab-case attribute names."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=kebab,
                              populate_by_name=True, arbitrary_types_allowed=True)

    # The attribute an element holding only text is written into (`- key: abc` -> {value: abc}).
    text_field: ClassVar[Optional[str]] = None


def exactly_one(obj, names: tuple, what: str = "") -> None:
    """Raise a clear error unless exactly one of the attributes `names` (python names) is set."""
    given = [kebab(n) for n in names if getattr(obj, n) is not None]
    spelled = ", ".join(kebab(n) for n in names[:-1]) + f" or {kebab(names[-1])}"
    if not given:
        raise ValueError(f"{what or 'this policy'} needs one of {spelled}")
    if len(given) > 1:
        raise ValueError(f"{' and '.join(given)} exclude each other; keep only one of {spelled}")


# ---- scopes (SCOPES and scope_of are in base.py, beside the statement's path) ------------------


class ScopeRestricted:
    """Mixin for policies APIM allows only at some scopes (`scopes` lists them)."""

    scopes: ClassVar[tuple] = SCOPES

    @classmethod
    def parse(cls, raw, path, ctx):
        scope = scope_of(path)
        if scope is not None and scope not in cls.scopes:
            names = {"global": "global `policies`", "product": "a product", "api": "an API",
                     "operation": "an operation"}
            allowed = [names[s] for s in cls.scopes]
            allowed = ", ".join(allowed[:-1]) + " or " + allowed[-1] if len(allowed) > 1 else allowed[0]
            ctx.report(path, f"{cls.policy_name} may not stand at {scope} scope; put it in the policies of "
                       f"{allowed}")
            return None
        return super().parse(raw, path, ctx)


def only_children(statement, allowed: frozenset, ctx, what: str) -> bool:
    """Report every direct child statement of `statement` whose policy is not in `allowed`."""
    ok = True
    for steps in statement.children():
        for child in steps:
            name = getattr(child, "policy_name", "base")
            if name not in allowed:
                ctx.report(child.path, f"{name} may not stand directly inside {statement.policy_name}; {what}")
                ok = False
    return ok


__all__ = [
    "Label", "is_expression", "Text", "TextOrExpr", "AnyText", "Scalar", "Flag", "HeaderName", "HeaderNameOrExpr",
    "header_name", "Method", "HttpUrl", "Status", "StatusOrExpr", "Thumbprint", "integer", "duration", "base64_text",
    "thumbprint", "as_list", "as_element", "many", "one", "Element", "exactly_one", "SCOPES", "scope_of",
    "ScopeRestricted", "only_children",
]
