"""The base of every policy's config schema: immutable, APIM attribute names, parsed at load."""
from typing import Any, ClassVar, Optional, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from gwcore.pipeline.expressions import is_expression

SECTIONS = ("inbound", "backend", "outbound", "on-error")
SCOPES = ("global", "product", "api", "operation")
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


def scope_of(path: tuple) -> Optional[str]:
    """The scope a statement is written at, from its place in the file; None inside a fragment."""
    head = path[0] if path else None
    if head == "policies":
        return "global"
    if head == "products":
        return "product"
    if head == "apis":
        return "operation" if len(path) > 2 and path[2] == "operations" else "api"
    return None


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

    # APIM's `id` attribute, allowed on every policy element; it names the statement to on-error.
    id: Optional[str] = Field(None, description="Names this statement: when it fails, on-error reads this"
                                                " as context.last_error.policy_id (absent: empty).")

    _path: tuple = PrivateAttr(default=())

    @property
    def path(self) -> tuple:
        """Where the statement stands in the config file, e.g. ('apis', 'x', 'policies', 'inbound', 2)."""
        return self._path

    @field_validator("id", mode="before")
    @classmethod
    def _literal_id(cls, value):
        # the id is read at load, never per request: an expression could not be evaluated
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and is_expression(value):
            raise ValueError("policy expressions are not allowed in id; write a literal name")
        return value

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
