"""Generates docs/policies.md from the registered policy schemas: `python -m gwcore.policies.reference`."""
import inspect
import sys
import types
from datetime import datetime
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from gwcore.config.durations import parse_duration
from gwcore.policies import load_all
from gwcore.policies.base import ON_ERROR_POLICIES, SECTIONS, PolicyConfig, Value, inner_model
from gwcore.policies.fields import SCOPES, Label

INTRO = """\
# Policy reference

Generated from the policy schemas in `gwcore/policies/` — do not edit by hand. Regenerate with:

    python -m gwcore.policies.reference > docs/policies.md

Policy names and attribute names are APIM's own, so APIM's documentation applies. The XML ↔ YAML rule
(DESIGN.md, "Config file"): an element is a key, its attributes are keys inside it, a child element is a
key too and repeated children become a list; an element holding only text is a scalar (`{value: …}` is
accepted as well); a list wrapper whose children are all one text element collapses to a list of scalars
(`allowed-origins: [a, b]`; the spelled-out `{origin: [a, b]}` is accepted too). Nested statements go under
`steps`. Seconds may be written `30`, `30s`, `500ms`, `5m` or `1h`. A value marked "@(expression)" may be an
expression over `context` (the language: docs/expressions.md); `{{named values}}` are allowed in any value.
"""


RUNS = "Status: runs in this version."
NOT_YET = ("Status: validated, not run yet — a config using it is refused at load (gwcore never skips a"
           " policy it cannot run).")


def describe(annotation, metadata=()) -> str:
    """A short type name for the table: from a Label when the schema gives one, else from the type."""
    labels = [item for item in metadata if isinstance(item, Label)]
    if labels:  # nested Annotated types flatten their metadata: the outermost label comes last
        return labels[-1].text
    if any(getattr(item, "func", None) is parse_duration for item in metadata):
        return "seconds"
    if annotation == Value:
        return "value or @(expression)"
    origin = get_origin(annotation)
    if origin is Annotated:
        return describe(get_args(annotation)[0], annotation.__metadata__)
    if origin in (Union, types.UnionType):
        return " or ".join(describe(arg) for arg in get_args(annotation) if arg is not type(None))
    if origin is Literal:
        return " \\| ".join(f"`{v}`" for v in get_args(annotation))
    if origin in (tuple, list):
        args = [a for a in get_args(annotation) if a is not Ellipsis]
        if args and args[0] is Any:
            return "list of statements"
        return f"list of {describe(args[0])}" if args else "list"
    if origin is dict:
        return "mapping"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        name = getattr(annotation, "policy_name", "")
        return f"[`{name}`](#{name}) attributes" if name else "mapping (below)"
    return {bool: "boolean", int: "integer", float: "number", str: "text", datetime: "date-time"}.get(
        annotation, getattr(annotation, "__name__", str(annotation)))


def default_text(field) -> str:
    if field.is_required():
        return "required"
    value = field.default
    if value is None or value == ():
        return ""
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    if isinstance(value, datetime):
        return f"`{value.isoformat().replace('+00:00', 'Z')}`"
    return f"`{value}`"


def child_models(model) -> list:
    """(attribute, model) for every field of `model` holding child elements with their own attributes."""
    out = []
    for name, field in model.model_fields.items():
        found = inner_model(field.annotation)
        if found is not None and not issubclass(found, PolicyConfig):
            out.append((field.alias or name, found))
    return out



def table(model) -> list:
    lines = ["| attribute | type | default | description |", "|---|---|---|---|"]
    fields = sorted(model.model_fields.items(), key=lambda item: not item[1].is_required())  # required first
    for name, field in fields:
        description = (field.description or "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `{field.alias or name}` | {describe(field.annotation, field.metadata)} | "
                     f"{default_text(field)} | {description} |")
    return lines


def summary(cls) -> str:
    return " ".join(inspect.cleandoc(cls.__doc__ or cls.summary or "").split())


def sections_text(cls) -> str:
    names = [s for s in SECTIONS if s != "on-error" and s in cls.sections]
    if cls.policy_name in ON_ERROR_POLICIES:
        names.append("on-error")
    return ", ".join(names)


def render_policy(cls) -> list:
    lines = [f"## {cls.policy_name}", "", summary(cls), "", f"Sections: {sections_text(cls)}.", "",
             RUNS if hasattr(cls, "compile") else NOT_YET]
    scopes = getattr(cls, "scopes", SCOPES)
    if tuple(scopes) != SCOPES:
        lines.append(f"Scopes: {', '.join(scopes)} only.")
    if cls.text_field:
        lines.append(f"Short form: `{cls.policy_name}: …` means `{{{cls.text_field}: …}}`.")
    lines.append("")
    if cls.policy_name == "choose":
        # choose is a list, not a mapping: show the shape of its items instead of its internal fields
        when = cls.model_fields["whens"].annotation
        lines += ["Items: `- when: {condition, steps}`, repeated; `- otherwise: [statements]` last.", ""]
        lines += table(inner_model(when)) + [""]
        return lines
    lines += table(cls) + [""]
    seen = {}
    queue = [(cls.policy_name, attr, model) for attr, model in child_models(cls)]
    while queue:
        parent, attr, model = queue.pop(0)
        title = f"{parent} › {attr}"
        if model in seen:
            lines += [f"### {title}", "", f"Same attributes as {seen[model]}.", ""]
            continue
        seen[model] = title
        lines += [f"### {title}", "", summary(model), ""] + table(model) + [""]
        queue += [(title, sub, m) for sub, m in child_models(model)]
    return lines


def render() -> str:
    registry = load_all()
    lines = [INTRO, "Policies: " + ", ".join(f"[{n}](#{n})" for n in sorted(registry)) + ".", ""]
    for name in sorted(registry):
        lines += render_policy(registry[name])
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

