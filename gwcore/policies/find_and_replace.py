"""find-and-replace: replace every occurrence of a string in the request or response body."""
from pydantic import Field

from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import AnyText, TextOrExpr


@policy("find-and-replace")
class FindAndReplace(PolicyConfig):
    """Replaces each occurrence of `from` with `to` in the body."""

    from_: TextOrExpr = Field(description="Text to search for.")
    to: AnyText = Field(description="Replacement text; empty removes the found text.")
