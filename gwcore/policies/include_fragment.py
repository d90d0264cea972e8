"""include-fragment: insert the statements of a named fragment (from `fragments:` in the config)."""
from pydantic import Field

from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig


@policy("include-fragment")
class IncludeFragment(PolicyConfig):
    """Inserts a named fragment's statements at this place."""

    text_field = "fragment-id"
    fragment_id: str = Field(description="Name of the fragment under `fragments:`.")

    def compile(self, c) -> list:
        return c.steps(c.parts.fragments[self.fragment_id])
