"""The base of every policy's config schema: immutable, APIM attribute names, parsed at load."""
from typing import Any, ClassVar, Optional, Union, get_args

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

SECTIONS = ("inbound", "backend", "outbound", "on-error")
# APIM allows only these in on-error (apim-semantics.md, "Policy structure").
ON_ERROR_POLICIES = frozenset({
    "choose", "set-variable", "find-and-replace", "return-response", "set-header",
    "set-method", "set-status", "send-request", "send-one-way-request", "log-to-eventhub",
    "json-to-xml", "xml-to-json", "limit-concurrency", "mock-response", "retry", "trace",
    "include-fragment", "emit-metric",
})

# A policy value: a literal, a {{named value}} already resolved, or an @(expression).
# Kept as text here; the pipeline compiles expressions when it builds the Plan's steps.
Value = Union[str, int, float, bool]
# Nested statements, already parsed into policy objects by the statement parser.
Steps = tuple[Any, ...]


def kebab(name: str) -> str:
    return name.rstrip("_").replace("_", "-")


class PolicyConfig(BaseModel):
    """Validated attributes of one policy statement; subclasses add fields and the hooks they need.

    Field `exists_action` is written `exists-action` in config, as APIM names it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=kebab,
                              populate_by_name=True, arbitrary_types_allowed=True)

    policy_name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    # `set-body: "text"` is short for `set-body: {value: "text"}` (APIM elements holding only text).
    text_field: ClassVar[Optional[str]] = None
    # Sections a statement may stand in; on-error membership is decided by ON_ERROR_POLICIES.
    sections: ClassVar[frozenset] = frozenset(SECTIONS)
    # Fields whose value is a list of nested statements (parsed before validation).
    nested_steps: ClassVar[tuple] = ()

    _path: tuple = PrivateAttr(default=())

    @property
    def path(self) -> tuple:
        """Where the statement stands in the config file, e.g. ('apis', 'x', 'policies', 'inbound', 2)."""
        return self._path

    def children(self) -> tuple:
        """The nested statement lists of this statement (choose overrides this)."""
        return tuple(getattr(self, field) for field in self.nested_steps)

    @classmethod
    def parse(cls, raw, path: tuple, ctx) -> Optional["PolicyConfig"]:
        """Build the config object from the raw YAML value; report problems to `ctx`, None if any."""
        if raw is None:
            raw = {}
        elif not isinstance(raw, dict):
            if cls.text_field is None:
                ctx.report(path, f"{cls.policy_name} takes attributes (a mapping), not {type(raw).__name__}")
                return None
            raw = {cls.text_field: raw}
        attrs = dict(raw)
        nested_ok = True
        for field in cls.nested_steps:
            alias = kebab(field)
            if alias in attrs:
                before = ctx.count()
                attrs[alias] = ctx.parse_steps(attrs[alias], path + (alias,))
                nested_ok = nested_ok and ctx.count() == before
        return cls.validate_attrs(attrs, path, ctx) if nested_ok else None

    @classmethod
    def validate_attrs(cls, attrs: dict, path: tuple, ctx):
        try:
            obj = cls.model_validate(attrs)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                ctx.report(path + tuple(err["loc"]), pydantic_message(err, model_at(cls, err["loc"])))
            return None
        obj._path = path
        return obj


def model_at(model, loc) -> type:
    """The model an error location points into (a child element's model, e.g. ip-filter's
    address-range), so an unknown attribute is answered with that element's own attributes."""
    for part in tuple(loc)[:-1]:
        fields = getattr(model, "model_fields", None)
        if not isinstance(part, str) or not fields:
            continue
        field = next((f for n, f in fields.items() if part in (n, f.alias)), None)
        inner = inner_model(field.annotation) if field is not None else None
        if inner is None:
            break
        model = inner
    return model


def inner_model(annotation, base=BaseModel):
    """The first subclass of `base` in a field's annotation (through Optional, tuple, Annotated ...)."""
    if isinstance(annotation, type) and issubclass(annotation, base):
        return annotation
    for arg in get_args(annotation):
        found = inner_model(arg, base)
        if found is not None:
            return found
    return None


def pydantic_message(err: dict, model=None) -> str:
    """Operator wording for one pydantic error."""
    kind = err.get("type")
    if kind == "extra_forbidden":
        message = "unknown attribute"
        if model is not None and hasattr(model, "model_fields"):
            names = sorted((f.alias or n) for n, f in model.model_fields.items())
            message += f"; known attributes: {', '.join(names)}"
        return message
    if kind == "missing":
        return "required, but missing"
    message = err.get("msg", "invalid")
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    return message


class Base:
    """`base`: the parent scope's statements for this section go here (expanded at load)."""

    policy_name = "base"
    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "BASE"


BASE = Base()
