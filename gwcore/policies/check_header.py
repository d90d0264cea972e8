"""check-header: require a request header, optionally with one of the listed values."""
from pydantic import Field

from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import AnyText, Flag, HeaderName, Scalar, Status, many


@policy("check-header", sections=frozenset({"inbound"}))
class CheckHeader(PolicyConfig):
    """Refuses the request unless it carries the header (with one of the listed values, if any)."""

    name: HeaderName = Field(description="The request header to check.")
    failed_check_httpcode: Status = Field(description="Status code returned when the check fails.")
    failed_check_error_message: AnyText = Field(description="Message returned when the check fails.")
    ignore_case: Flag = Field(description="Compare the header value with the listed values ignoring case.")
    value: many(Scalar) = Field((), description="Allowed values; none listed: any value is accepted.")
