"""find-and-replace: replace every occurrence of a string in the request or response body."""
from pydantic import Field

from gwcore.pipeline.context import Body
from gwcore.pipeline.steps import as_text, message_of, one_value
from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import AnyText, TextOrExpr


@policy("find-and-replace")
class FindAndReplace(PolicyConfig):
    """Replaces each occurrence of `from` with `to` in the body."""

    from_: TextOrExpr = Field(description="Text to search for.")
    to: AnyText = Field(description="Replacement text; empty removes the found text.")

    def compile(self, c) -> list:
        find = one_value(c, self.from_, lambda v: as_text(v).encode("utf-8"))
        replacement = one_value(c, self.to, lambda v: as_text(v).encode("utf-8"))
        message = message_of(c.section)
        c.reads_body()

        def find_and_replace(ctx):
            target = message(ctx)
            if target.body is not None:
                needle = find(ctx)
                if needle:
                    target.body = Body(target.body.bytes.replace(needle, replacement(ctx)))

        return [find_and_replace]
