"""A strict reader of the Prometheus text format for tests: every line must parse."""
import re

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def parse(text: str) -> tuple:
    """({(name, frozenset of label pairs): value}, {family: type}); raises on any malformed line."""
    samples, types = {}, {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert name not in types, f"family {name} declared twice"
            types[name] = kind
            continue
        if line.startswith("#"):
            assert line.startswith("# HELP "), line
            continue
        found = _SAMPLE.match(line)
        assert found, f"not a sample line: {line!r}"
        name, _, labels, value = found.groups()
        pairs = []
        rest = labels or ""
        while rest:
            label = _LABEL.match(rest)
            assert label, f"bad labels in {line!r}"
            pairs.append((label.group(1), label.group(2)))
            rest = rest[label.end():]
        key = (name, frozenset(pairs))
        assert key not in samples, f"sample twice: {line!r}"
        samples[key] = float(value)
    return samples, types


def total(samples: dict, name: str, **labels) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, pairs), v in samples.items() if n == name and wanted <= pairs)


def names(samples: dict) -> set:
    return {name for name, _ in samples}
