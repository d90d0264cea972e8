"""Loads a config file into a Plan, or raises ConfigError listing every problem with its place."""
import os
from typing import Annotated, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from gwcore.config.errors import ConfigError
from gwcore.config.named_values import resolve_named_values
from gwcore.config.overrides import apply_overrides, environment_overrides
from gwcore.config.plan import compile_plan
from gwcore.config.references import check_references
from gwcore.config.schema import Config, Model
from gwcore.config.source import parse_source, read_source
from gwcore.config.statements import ParseContext, allowed_in, parse_policies, parse_statements
from gwcore.policies.base import BASE, inner_model, pydantic_message
from gwcore.policies.fields import scope_of


def load_plan(file: str, cli_overrides: dict = None, environ=None, generation: int = 1, text: str = None,
              behaviour: bool = True):
    """Read, validate and compile `file`. `cli_overrides` maps gateway keys to values
    (e.g. {"listen": "127.0.0.1:9000"}); they beat GWCORE_GATEWAY__* which beat the file.
    With `text`, that is the file's content (a snapshot the supervisor validated).
    `behaviour=False` stops after the schema: no policy steps are compiled (schema tests)."""
    environ = os.environ if environ is None else environ
    source = read_source(file) if text is None else parse_source(text, file)
    data = source.data
    if not isinstance(data, dict):
        raise ConfigError([source.problem((), "the top level must be a mapping (gateway, apis, backends, ...)")])
    overrides = environment_overrides(environ)
    for key, value in (cli_overrides or {}).items():
        if value is not None:
            overrides[("gateway", key)] = (value, f"command line --{key}")
    data = apply_overrides(data, source, overrides)
    problems: list = []
    data = resolve_named_values(data, source, problems, environ)
    first = list(problems)
    checked = _validate_and_check(data, source, problems)
    if problems:
        raise ConfigError(_without_cascades(problems, first, source))
    config, policies = checked
    if not behaviour:
        return compile_plan(config, policies, source=file, generation=generation)
    found: list = []
    plan = compile_plan(config, policies, source=file, generation=generation, problems=found)
    if found:
        unique = dict.fromkeys((tuple(path), message) for path, message in found)  # shared statements once
        raise ConfigError([source.problem(path, message) for path, message in unique])
    return plan


def _without_cascades(found: list, first: list, source) -> list:
    """Drop later problems about a value whose {{named value}} already failed to resolve."""
    unresolved = source.unresolved
    keep = {id(p) for p in first}
    return [p for p in found if id(p) in keep
            or not any(tuple(p.path[:len(u)]) == u for u in unresolved)]


def _validate_and_check(data: dict, source, problems: list):
    """(Config, parsed policies); or None when the schema fails. Problems go to `problems`;
    after a schema failure policies and references are still checked, so one run lists every mistake."""
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            problems.append(source.problem(err["loc"], _message(err)))
        policies = _parse_all_policies(data, source, problems)
        partial = _partial_config(data)
        # names of entries that failed validation still count as defined (no cascade of "not defined")
        defined = {key: set(data[key]) for key in ("backends", "apis", "products", "fragments")
                   if isinstance(data.get(key), dict)}
        problems += check_references(partial, source, defined)
        _check_fragments(partial, policies, source, problems, defined.get("fragments"))
        return None
    policies = _parse_all_policies(data, source, problems)
    problems += check_references(config, source)
    _check_fragments(config, policies, source, problems)
    return config, policies


def _parse_all_policies(data: dict, source, problems: list) -> dict:
    """{("global",): sections, ("product", p): ..., ("api", a): ..., ("operation", a, i): ...}."""
    out = {("global",): parse_policies(data.get("policies"), ("policies",), source, problems)}
    for kind, key in (("product", "products"), ("api", "apis")):
        for name, entry in _mapping(data.get(key)).items():
            if isinstance(entry, dict):
                out[(kind, name)] = parse_policies(entry.get("policies"), (key, name, "policies"), source, problems)
    for name, api in _mapping(data.get("apis")).items():
        operations = api.get("operations") if isinstance(api, dict) else None
        for index, op in enumerate(operations if isinstance(operations, list) else []):
            if isinstance(op, dict):
                where = ("apis", name, "operations", index, "policies")
                out[("operation", name, index)] = parse_policies(op.get("policies"), where, source, problems)
    fragments = {}
    for name, statements in _mapping(data.get("fragments")).items():
        ctx = ParseContext(source, problems, section=None)
        fragments[name] = parse_statements(statements, ("fragments", name), ctx, nested=True)
    out[("fragments",)] = fragments
    return out


def _partial_config(data: dict):
    """A Config of the entries that validate on their own, for cross checks after a failure."""
    fields = {}
    for name, field in Config.model_fields.items():
        model = inner_model(field.annotation, Model)
        raw = data.get(name)
        if isinstance(raw, dict) and model is not None and name != "gateway":
            good = {}
            for key, entry in raw.items():
                salvaged = _salvage(model, entry)
                if salvaged is not None:
                    good[key] = salvaged
            fields[name] = good
        elif name == "fragments" and isinstance(raw, dict):
            fields[name] = raw
    return Config.model_construct(**fields)


# Fields whose default could itself clash with another API's route (revision 1, no version, ...):
# an entry wrong in one of them is left out of the cross checks rather than guessed at.
_ROUTE_FIELDS = frozenset({"path", "revision", "current", "version", "version_scheme", "version_header",
                           "version_query"})


def _salvage(model, entry):
    """`entry` validated, or with its wrong fields left out (an API with one bad operation still
    has its backend checked); None when even that fails. Lists are left out whole, never shortened,
    so the index of every item still checked is its index in the file."""
    try:
        return model.model_validate(entry)
    except ValidationError as exc:
        if not isinstance(entry, dict):
            return None
        wrong = {err["loc"][0] for err in exc.errors() if err["loc"]}
        if any(not err["loc"] for err in exc.errors()) or wrong & _ROUTE_FIELDS:
            return None
    try:
        return model.model_validate({k: v for k, v in entry.items() if k not in wrong})
    except ValidationError:
        return None


def _check_fragments(config, policies, source, problems, defined=None):
    """Every include-fragment names a fragment that exists; no fragment includes itself; what a
    fragment holds may stand in the section and at the scope where it is included."""
    names = set(config.fragments) if defined is None else set(defined)
    fragments = policies.get(("fragments",), {})
    for sections in policies.values():  # fragments are {name: statements}, alike in shape
        for statements in sections.values():
            for statement in walk_statements(statements):
                if statement.policy_name == "include-fragment" and statement.fragment_id not in names:
                    problems.append(source.problem(statement.path, f"fragment {statement.fragment_id!r} is not"
                                                   f" defined in fragments"))
    cycles = set()
    for name in fragments:
        cycle = _fragment_cycle(name, fragments, (name,))
        if cycle is not None and frozenset(cycle[1]) not in cycles:  # one report per cycle
            cycles.add(frozenset(cycle[1]))
            path, chain = cycle
            problems.append(source.problem(path, "fragment includes itself: " + " -> ".join(chain)))
    for scope, sections in policies.items():
        if scope == ("fragments",):
            continue
        for section, statements in sections.items():
            for statement in walk_statements(statements):
                if statement.policy_name == "include-fragment":
                    _check_included(statement.fragment_id, statement.path, section, fragments, source, problems)


def _fragment_cycle(name, fragments, chain):
    """(path of the include that closes a cycle back to chain[0], names) or None."""
    for statement in walk_statements(fragments.get(name, ())):
        if statement.policy_name != "include-fragment":
            continue
        target = statement.fragment_id
        if target == chain[0]:
            return statement.path, chain + (target,)
        if target not in chain and target in fragments:
            found = _fragment_cycle(target, fragments, chain + (target,))
            if found is not None:
                return found
    return None


def _check_included(name, where, section, fragments, source, problems, seen=()):
    """The statements of fragment `name` (and of fragments it includes), judged at the include
    standing at `where` in `section`."""
    if name in seen or name not in fragments:
        return
    scope = scope_of(where)
    for statement in walk_statements(fragments[name]):
        cls = type(statement)
        if not allowed_in(cls, section):
            problems.append(source.problem(where, f"fragment {name!r} holds {statement.policy_name},"
                                           f" which may not stand in the {section} section"))
        elif scope is not None and scope not in getattr(cls, "scopes", (scope,)):
            problems.append(source.problem(where, f"fragment {name!r} holds {statement.policy_name},"
                                           f" which may not stand at {scope} scope"))
        elif statement.policy_name == "include-fragment":
            _check_included(statement.fragment_id, where, section, fragments, source, problems, seen + (name,))


def walk_statements(statements):
    """Every statement, nested ones included (base markers skipped)."""
    for statement in statements:
        if statement is BASE:
            continue
        yield statement
        for steps in statement.children():
            yield from walk_statements(steps)


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def _message(err: dict) -> str:
    """Operator wording for one pydantic error of the config's own (snake_case) keys."""
    if err.get("type") == "extra_forbidden":
        model = _model_at(err["loc"])
        return f"unknown key; known keys: {', '.join(sorted(model.model_fields))}"
    return pydantic_message(err)


def _model_at(loc):
    """The schema model a pydantic location points into (to list its keys on an unknown one).
    Walks the annotations, so a map entry named like a field (an API called `operations`)
    is not mistaken for that field."""
    annotation = Config
    for part in loc[:-1]:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                break
            annotation = field.annotation
        elif get_origin(annotation) in (dict, list, tuple) and get_args(annotation):
            annotation = get_args(annotation)[-1]  # the part is a map key or a list index
        else:
            break
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return Config


def _unwrap(annotation):
    """Optional[X] and Annotated[X, ...] -> X."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union:
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation

