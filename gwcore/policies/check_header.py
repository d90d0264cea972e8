"""check-header: require a request header, optionally with one of the listed values."""
from pydantic import Field

from gwcore.pipeline.errors import PolicyError
from gwcore.pipeline.steps import as_text, each_value, one_value
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

    def compile(self, c) -> list:
        key = self.name.lower().encode("latin-1")
        name, status, message = self.name, self.failed_check_httpcode, self.failed_check_error_message
        ignore_case = one_value(c, self.ignore_case, lambda v: v is True or as_text(v).lower() == "true")
        allowed = each_value(c, self.value, as_text)
        message = one_value(c, message, as_text)

        def check_header(ctx):
            found = [v.decode("latin-1") for k, v in ctx.request.headers._items if k == key]
            if not found:
                raise PolicyError(status, message(ctx), "HeaderNotFound", source="check-header",
                                  last_message=f"Header {name} was not found in the request. Access denied.")
            values = allowed(ctx)
            if not values:
                return
            compared = found
            if ignore_case(ctx):
                values = [v.lower() for v in values]
                compared = [v.lower() for v in found]
            if not any(v in values for v in compared):
                raise PolicyError(status, message(ctx), "HeaderValueNotAllowed", source="check-header",
                                  last_message=f"Header {name} value of {', '.join(found)} is not allowed."
                                               " Access denied.")

        return [check_header]
