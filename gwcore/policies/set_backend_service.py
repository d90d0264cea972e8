"""set-backend-service: send the request to another backend (a named one, or a base URL)."""
from typing import Optional

from pydantic import Field, model_validator

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
