"""Parses policy sections (lists of statements) into typed policy objects via the registry."""
from gwcore.config.expressions import check_statement
from gwcore.policies import load_all
from gwcore.policies.base import BASE, ON_ERROR_POLICIES, SECTIONS


class ParseContext:
    """What a policy's `parse` needs: where problems go and how to parse nested statements."""

    def __init__(self, source, problems: list, section: str):
        self.source = source
        self.problems = problems
        self.section = section

    def report(self, path, message: str) -> None:
        self.problems.append(self.source.problem(path, message))

    def count(self) -> int:
        return len(self.problems)

    def parse_steps(self, raw, path) -> tuple:
        """Nested statements (inside choose/when, retry, ...): like a section, without `base`."""
        return parse_statements(raw, tuple(path), self, nested=True)


def parse_policies(raw, path: tuple, source, problems: list) -> dict:
    """`{inbound: [...], backend: [...], ...}` -> {section: tuple of statements}; absent sections absent."""
    out = {}
    if raw is None:
        return out
    if not isinstance(raw, dict):
        problems.append(source.problem(path, "policies is a mapping of sections: inbound, backend, outbound, on-error"))
        return out
    for section, statements in raw.items():
        if section not in SECTIONS:
            problems.append(source.problem(path + (section,),
                                           f"unknown section; sections are {', '.join(SECTIONS)}"))
            continue
        ctx = ParseContext(source, problems, section)
        out[section] = parse_statements(statements, path + (section,), ctx, nested=False)
    return out


def parse_statements(raw, path: tuple, ctx: ParseContext, nested: bool) -> tuple:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        ctx.report(path, "a list of policy statements is expected here")
        return ()
    registry = load_all()
    out = []
    for index, item in enumerate(raw):
        where = path + (index,)
        if item == "base":
            if nested:
                ctx.report(where, "base may stand only directly in a section, not inside another policy")
            elif BASE in out:
                ctx.report(where, "base may stand only once in a section")
            else:
                out.append(BASE)
            continue
        if isinstance(item, str):
            name, attrs = item, None
        elif isinstance(item, dict) and len(item) == 1:
            name, attrs = next(iter(item.items()))
        else:
            ctx.report(where, "a statement is `base` or a mapping with exactly one policy name as its key")
            continue
        cls = registry.get(name)
        if cls is None:
            ctx.report(where, f"unknown policy {name!r}; known policies: base, {', '.join(sorted(registry))}")
            continue
        if not allowed_in(cls, ctx.section):
            ctx.report(where, f"{name} may not stand in the {ctx.section} section")
            continue
        statement = cls.parse(attrs, where + (name,), ctx)
        if statement is not None:
            check_statement(statement, ctx.report)  # its @(expressions) and templates compile
            out.append(statement)
    return tuple(out)


def allowed_in(cls, section) -> bool:
    """May a statement of policy class `cls` stand in `section` (None: a fragment, judged where included)?"""
    return _allowed(cls, section)


def _allowed(cls, section) -> bool:
    if section is None:  # a fragment: checked where it is included
        return True
    if section == "on-error":
        return cls.policy_name in ON_ERROR_POLICIES
    return section in cls.sections
