"""Applies GWCORE_GATEWAY__KEY environment variables and command-line values over the file."""
import yaml

ENV_PREFIX = "GWCORE_GATEWAY__"


def environment_overrides(environ) -> dict:
    """{('gateway', 'listen'): (value, 'GWCORE_GATEWAY__LISTEN'), ...}; nested keys with `__`."""
    out = {}
    for name, text in environ.items():
        if name.startswith(ENV_PREFIX) and len(name) > len(ENV_PREFIX):
            keys = tuple(part.lower() for part in name[len(ENV_PREFIX):].split("__"))
            out[("gateway",) + keys] = (_scalar(text), f"environment {name}")
    return out


def _scalar(text: str):
    """`4` -> 4, `true` -> True, `{a: 1}` -> dict: the same typing as the file has."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(data: dict, source, overrides: dict) -> dict:
    """Set each overridden path in `data`; the Source remembers the origin for error messages."""
    for path, (value, origin) in overrides.items():
        node = data
        for key in path[:-1]:
            child = node.get(key)
            if child is None:
                child = {}
                node[key] = child
            elif not isinstance(child, dict):
                break  # the file's own value is wrong here; the schema reports it, not hidden
            node = child
        else:
            node[path[-1]] = value
            source.origins[path] = origin
    return data
