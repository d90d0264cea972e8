"""set-backend-service: send the request to another backend (a named one, or a base URL)."""
from typing import Optional

from pydantic import Field, model_validator

from gwcore.pipeline.steps import as_text, one_value
from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import HttpUrl, TextOrExpr, exactly_one


@policy("set-backend-service", sections=frozenset({"inbound", "backend"}))
class SetBackendService(PolicyConfig):
    """Redirects the request to a backend from `backends:` or to a base URL."""

    backend_id: Optional[TextOrExpr] = Field(None, description="Name of a backend under `backends:`.")
    base_url: Optional[HttpUrl] = Field(None, description="New backend base URL (http or https).")

    @model_validator(mode="after")
    def _one_target(self):
        exactly_one(self, ("backend_id", "base_url"), "set-backend-service")
        return self

    def compile(self, c) -> list:
        if self.base_url is not None:
            target = one_value(c, self.base_url, lambda v: ("url", as_text(v)))
        else:
            if not callable(c.value(self.backend_id)) and self.backend_id not in c.parts.backends:
                c.problem(self, f"backend {self.backend_id!r} is not defined in backends")
            target = one_value(c, self.backend_id, lambda v: ("name", as_text(v)))

        def set_backend_service(ctx):
            ctx._backend = target(ctx)

        return [set_backend_service]
