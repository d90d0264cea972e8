"""choose: the first `when` whose condition holds runs its steps, else `otherwise`."""
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from gwcore.pipeline.steps import one_value
from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig, Steps


class When(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    condition: str = Field(description="An @(expression) giving true or false.")
    steps: Steps = Field((), description="Statements to run when the condition holds.")

    _path: tuple = PrivateAttr(default=())

    @property
    def path(self) -> tuple:
        """Where the `when` stands in the config file (its condition is checked at load, located here)."""
        return self._path


@policy("choose")
class Choose(PolicyConfig):
    """Conditional statements: `- when: {condition, steps}` ... `- otherwise: [steps]`."""

    whens: tuple[When, ...] = Field((), description="Conditions tried in order.")
    otherwise: Steps = Field((), description="Statements to run when no condition holds.")

    def children(self) -> tuple:
        return tuple(w.steps for w in self.whens) + (self.otherwise,)

    @classmethod
    def parse(cls, raw, path, ctx):
        if not isinstance(raw, list) or not raw:
            ctx.report(path, "choose is a list of `- when: {condition: ..., steps: [...]}` and an optional"
                       " `- otherwise: [...]` at the end")
            return None
        before = ctx.count()
        whens, otherwise = [], ()
        for index, item in enumerate(raw):
            where = path + (index,)
            kind = next(iter(item), None) if isinstance(item, dict) and len(item) == 1 else None
            if kind == "when" and isinstance(item["when"], dict):
                body = dict(item["when"])
                unknown = set(body) - {"condition", "steps"}
                if unknown:
                    ctx.report(where + ("when", sorted(unknown)[0]), "unknown attribute; known attributes: condition, steps")
                if not isinstance(body.get("condition"), str):
                    ctx.report(where + ("when",), "when needs a condition (an @(expression))")
                    continue
                steps = ctx.parse_steps(body.get("steps"), where + ("when", "steps"))
                when = When(condition=body["condition"], steps=steps)
                when._path = where + ("when",)
                whens.append(when)
            elif kind == "otherwise" and index == len(raw) - 1:
                otherwise = ctx.parse_steps(item["otherwise"], where + ("otherwise",))
            else:
                ctx.report(where, "expected `when: {condition, steps}`, or `otherwise: [...]` as the last item")
        if ctx.count() != before:
            return None
        return cls.validate_attrs({"whens": tuple(whens), "otherwise": otherwise}, path, ctx)

    def compile(self, c) -> list:
        """Laid flat: per when, a test that jumps past its steps when false, the steps, and a
        jump to the end; then the otherwise steps."""
        blocks = [(one_value(c, w.condition, _truth), c.steps(w.steps)) for w in self.whens]
        otherwise = c.steps(self.otherwise)
        out = []
        remaining = sum(len(body) + 2 for _, body in blocks) + len(otherwise)
        for condition, body in blocks:
            remaining -= len(body) + 2
            out.append(_test(condition, len(body) + 2))
            out.extend(body)
            out.append(_jump(remaining + 1))
        out.extend(otherwise)
        return out


def _truth(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _test(condition, skip: int):
    def when(ctx):
        return None if condition(ctx) else skip
    return when


def _jump(distance: int):
    def end_of_when(ctx):
        return distance
    return end_of_when
