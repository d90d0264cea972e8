"""Resolves `{{name}}` in every config string from `named_values` (literal or `{env: VAR}`)."""
import re

_REF = re.compile(r"\{\{\s*([A-Za-z0-9._-]+)\s*\}\}")


def resolve_named_values(data: dict, source, problems: list, environ) -> dict:
    """Return `data` with references replaced; a missing name or variable is a located problem."""
    raw = data.get("named_values") or {}
    if not isinstance(raw, dict):
        return data  # the schema reports the wrong shape
    values = {}
    failed = set()  # defined but wrong: reported once here, not again at every use
    from_environment = set()
    for name, spec in raw.items():
        path = ("named_values", name)
        if isinstance(spec, dict):
            if set(spec) - {"env", "default"} or "env" not in spec:
                problems.append(source.problem(path, "a named value is a literal or {env: VARIABLE, default: ...}"))
                failed.add(str(name))
                continue
            value = environ.get(str(spec["env"]))
            if value is not None:
                from_environment.add(str(name))  # taken as is: a secret may hold "{{"
            else:
                value = spec.get("default")
            if value is None:
                problems.append(source.problem(path, f"environment variable {spec['env']} is not set and no default is given"))
                failed.add(str(name))
                continue
        elif isinstance(spec, (list,)) or spec is None:
            problems.append(source.problem(path, "a named value is a literal or {env: VARIABLE, default: ...}"))
            failed.add(str(name))
            continue
        else:
            value = spec
        values[str(name)] = value if isinstance(value, str) else _plain(value)
    _expand_nested(values, from_environment, failed, source, problems)
    out = {}
    for key, value in data.items():
        out[key] = value if key == "named_values" else _walk(value, (key,), values, failed, source, problems)
    return out


def _expand_nested(values: dict, verbatim: set, failed: set, source, problems: list) -> None:
    """A named value written in the file may use other named values; a cycle or an undefined
    name is a problem at the named value. Values from the environment are taken verbatim."""
    done = set(verbatim)

    def expand(name, chain):
        if name in done:
            return name not in failed
        ok = True

        def substitute(match):
            nonlocal ok
            ref = match.group(1)
            if ref in chain:
                if ok:
                    problems.append(source.problem(("named_values", name), "named values refer to each other in a"
                                                   " cycle: " + " -> ".join(chain[chain.index(ref):] + (ref,))))
                ok = False
            elif ref not in values:
                if ref not in failed:
                    problems.append(source.problem(("named_values", name),
                                                   f"named value {{{{{ref}}}}} is not defined in named_values"))
                ok = False
            elif expand(ref, chain + (ref,)):
                return values[ref]
            else:
                ok = False
            return match.group(0)

        values[name] = _REF.sub(substitute, values[name])
        done.add(name)
        if not ok:
            failed.add(name)
        return ok

    for name in list(values):
        expand(name, (name,))
    for name in failed:
        values.pop(name, None)


def _plain(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _walk(node, path, values, failed, source, problems, liquid=False):
    if isinstance(node, dict):
        # set-body's Liquid template writes its own output tags {{ context.x }} {{ item }}: there a
        # name that is no named value is left to the template (named values are still replaced)
        template = node.get("template") == "liquid"
        return {k: _walk(v, path + (k,), values, failed, source, problems, template and k == "value")
                for k, v in node.items()}
    if isinstance(node, list):
        return [_walk(v, path + (i,), values, failed, source, problems) for i, v in enumerate(node)]
    if isinstance(node, str) and "{{" in node:
        def substitute(match):
            name = match.group(1)
            if name not in values and liquid:
                return match.group(0)
            if name not in values:
                unresolved = getattr(source, "unresolved", None)
                if unresolved is not None:
                    unresolved.add(path)
                if name not in failed:
                    problems.append(source.problem(path, f"named value {{{{{name}}}}} is not defined in named_values"))
                return match.group(0)
            return values[name]
        return _REF.sub(substitute, node)
    return node
