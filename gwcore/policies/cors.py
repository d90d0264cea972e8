"""cors: answer CORS preflight requests and add CORS headers for the allowed origins."""
from typing import Optional
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from gwcore.pipeline.runner import RESPOND
from gwcore.pipeline.steps import answer, as_text, one_value
from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import Element, Flag, HeaderName, Method, Text, header_name, integer, many


class AllowedMethods(Element):
    """Methods a cross-origin request may use; `[GET, POST]` is short for `{method: [GET, POST]}`."""

    preflight_result_max_age: integer(ge=0, expressions=True) = Field(
        0, description="Access-Control-Max-Age of the preflight response, in seconds.")
    method: many(Method, at_least=1) = Field(description="Allowed methods; * allows every method.")


def _methods(value):
    """`allowed-methods: [GET, POST]` (collapsed wrapper) means `{method: [GET, POST]}`."""
    if isinstance(value, (list, tuple, str)):
        return {"method": value}
    return value


@policy("cors", sections=frozenset({"inbound"}))
class Cors(PolicyConfig):
    """Cross-origin resource sharing for browser clients: preflight answers and CORS response headers."""

    allow_credentials: Flag = Field(False, description="Send Access-Control-Allow-Credentials: true.")
    terminate_unmatched_request: Flag = Field(True, description="Answer a cross-origin request that matches no"
                                                                " setting with an empty 200 instead of passing"
                                                                " it on.")
    allowed_origins: many(Text, child="origin", at_least=1) = Field(
        description="Allowed origins (scheme://host[:port]), or a single *.")
    allowed_methods: Optional[AllowedMethods] = Field(
        None, description="Allowed methods; absent: GET and POST. A list, or {preflight-result-max-age,"
                          " method: [...]}.")
    allowed_headers: many(Text, child="header", at_least=1) = Field(
        description="Request headers a cross-origin request may send; * allows any.")
    expose_headers: many(HeaderName, child="header") = Field(
        (), description="Response headers the browser may show to the calling script.")

    @field_validator("allowed_methods", mode="before")
    @classmethod
    def _collapsed_methods(cls, value):
        return _methods(value)

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, origins: tuple):
        if "*" in origins and len(origins) > 1:
            raise ValueError("* allows every origin and must stand alone; remove it or the other origins")
        for origin in origins:
            if origin == "*":
                continue
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
                raise ValueError(f"origin {origin!r} must be scheme://host[:port], e.g. https://app.example.com")
        return origins

    @field_validator("allowed_headers")
    @classmethod
    def _headers(cls, headers: tuple):
        for header in headers:
            if header != "*":
                header_name(header)
        return headers

    @model_validator(mode="after")
    def _credentials(self):
        if self.allow_credentials is True and self.allowed_origins == ("*",):
            raise ValueError("allow-credentials: true cannot be combined with origin *; browsers refuse it."
                             " List the allowed origins instead")
        return self

    def compile(self, c) -> list:
        origins = frozenset(self.allowed_origins)
        any_origin = "*" in origins
        methods_config = self.allowed_methods
        methods = frozenset(m.upper() for m in (methods_config.method if methods_config else ("GET", "POST")))
        any_method = "*" in methods
        max_age = one_value(c, methods_config.preflight_result_max_age if methods_config else 0, int)
        headers = frozenset(h.lower() for h in self.allowed_headers)
        any_header = "*" in headers
        expose = ", ".join(self.expose_headers).encode("latin-1")
        credentials = one_value(c, self.allow_credentials, _flag)
        terminate = one_value(c, self.terminate_unmatched_request, _flag)

        def allow_origin(ctx, origin: str) -> list:
            # with credentials the browser needs the origin itself, never *
            shown = b"*" if any_origin and not credentials(ctx) else origin.encode("latin-1")
            out = [(b"access-control-allow-origin", shown)]
            if credentials(ctx):
                out.append((b"access-control-allow-credentials", b"true"))
            if shown != b"*":
                out.append((b"vary", b"Origin"))
            return out

        def unmatched(ctx):
            if terminate(ctx):
                answer(ctx, 200)
                return RESPOND
            return None

        def cors(ctx):
            request = ctx.request
            origin = request.headers.get("origin")
            if origin is None:
                return None
            origin_ok = any_origin or origin in origins
            asked_method = request.headers.get("access-control-request-method")
            if request.method == "OPTIONS" and asked_method is not None:
                asked = [h.strip().lower() for h in (request.headers.get("access-control-request-headers")
                                                     or "").split(",") if h.strip()]
                if not (origin_ok and (any_method or asked_method.upper() in methods)
                        and (any_header or all(h in headers for h in asked))):
                    return unmatched(ctx)
                out = allow_origin(ctx, origin)
                out.append((b"access-control-allow-methods", asked_method.upper().encode("latin-1")))
                if asked:
                    out.append((b"access-control-allow-headers", ", ".join(asked).encode("latin-1")))
                age = max_age(ctx)
                if age > 0:
                    out.append((b"access-control-max-age", b"%d" % age))
                answer(ctx, 200, headers=tuple(out))
                return RESPOND
            if not origin_ok:
                return unmatched(ctx)
            out = allow_origin(ctx, origin)
            if expose:
                out.append((b"access-control-expose-headers", expose))
            ctx._add_response_headers(out)
            return None

        cors.answers_preflight = True  # the compiler gathers these into the Program's preflight
        return [cors]


def _flag(value) -> bool:
    return value is True or as_text(value).lower() == "true"
