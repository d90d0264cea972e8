"""ip-filter: allow or forbid callers by IP address and address range (IPv4 and IPv6)."""
import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from gwcore.pipeline.errors import PolicyError
from gwcore.pipeline.steps import as_text, each_value
from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import Element, Label, Text, TextOrExpr, is_expression, many


def ip_address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        hint = "; write a range with address-range: {from, to}" if "/" in value else ""
        raise ValueError(f"{value!r} is not an IPv4 or IPv6 address{hint}") from None


IpAddress = Annotated[Text, AfterValidator(ip_address), Label("IP address")]
IpAddressOrExpr = Annotated[TextOrExpr, AfterValidator(lambda v: v if is_expression(v) else ip_address(v)),
                            Label("IP address or @(expression)")]


class AddressRange(Element):
    """Every address from `from` to `to`, both included."""

    from_: IpAddress = Field(description="First address of the range.")
    to: IpAddress = Field(description="Last address of the range.")

    @model_validator(mode="after")
    def _ordered(self):
        first, last = ipaddress.ip_address(self.from_), ipaddress.ip_address(self.to)
        if first.version != last.version:
            raise ValueError(f"from {self.from_} and to {self.to} must both be IPv4 or both be IPv6")
        if first > last:
            raise ValueError(f"from {self.from_} comes after to {self.to}; swap them")
        return self


@policy("ip-filter", sections=frozenset({"inbound"}))
class IpFilter(PolicyConfig):
    """Allows (or forbids) only callers whose IP address is listed or falls in a listed range; others get 403."""

    action: Literal["allow", "forbid"] = Field(description="allow: only the listed callers pass; forbid: the"
                                                           " listed callers are refused.")
    address: many(IpAddressOrExpr) = Field((), description="Single addresses (IPv4 or IPv6).")
    address_range: many(AddressRange) = Field((), description="Ranges: a list of {from, to}.")

    @model_validator(mode="after")
    def _something_listed(self):
        if not self.address and not self.address_range:
            raise ValueError("ip-filter needs at least one address or address-range")
        return self

    def compile(self, c) -> list:
        allow = self.action == "allow"
        addresses = each_value(c, self.address, lambda v: _address(as_text(v)))
        ranges = [(ipaddress.ip_address(r.from_), ipaddress.ip_address(r.to)) for r in self.address_range]

        def ip_filter(ctx):
            try:
                caller = _address(ctx.request.ip)
            except ValueError:
                caller = None
            listed = caller is not None and (caller in addresses(ctx) or any(
                first.version == caller.version and first <= caller <= last for first, last in ranges))
            if listed != allow:
                raise PolicyError(403, f"Caller IP address {ctx.request.ip} is not allowed. Access denied.",
                                  "CallerIpNotAllowed", source="ip-filter")

        return [ip_filter]


def _address(text: str):
    """An address as compared: an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 one."""
    address = ipaddress.ip_address(text.strip())
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
