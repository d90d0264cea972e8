"""rewrite-uri: turn the public request URL into the form the backend expects."""
import re

from pydantic import Field, field_validator

from urllib.parse import parse_qsl, quote

from gwcore.pipeline.steps import as_text, one_value
from gwcore.policies import policy
from gwcore.policies.base import PolicyConfig
from gwcore.policies.fields import TextOrExpr, is_expression

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


@policy("rewrite-uri", sections=frozenset({"inbound"}))
class RewriteUri(PolicyConfig):
    """Rewrites the backend request URL from a template (path and query, `{param}` placeholders)."""

    template: TextOrExpr = Field(description="New path and query, e.g. /v2/items/{id}?view=full; {name} stands"
                                             " for a matched template parameter. An expression must be the"
                                             " whole value.")
    copy_unmatched_params: bool = Field(True, description="Append query parameters of the incoming request that"
                                                          " the operation's template does not name.")

    @field_validator("template")
    @classmethod
    def _template(cls, value: str):
        if is_expression(value):
            return value
        if "@(" in value:
            raise ValueError("an expression in template must be the whole value, e.g. @(\"/v2/\" + ...)")
        if "://" in value:
            raise ValueError("template is a path and query relative to the backend URL (e.g. /v2/items);"
                             " use set-backend-service to change the host")
        for name in _PLACEHOLDER.findall(value):
            if not name.isidentifier():
                raise ValueError(f"placeholder {{{name}}} must be the name of a template parameter,"
                                 " like {id}")
        if _PLACEHOLDER.sub("", value).count("{") or _PLACEHOLDER.sub("", value).count("}"):
            raise ValueError("unbalanced { or } in template; a placeholder is written {name}")
        return value

    def compile(self, c) -> list:
        template = one_value(c, self.template, as_text)
        copy_unmatched = self.copy_unmatched_params

        def rewrite_uri(ctx):
            params = ctx.request.matched_parameters
            text = _PLACEHOLDER.sub(lambda m: quote(str(params.get(m.group(1), "")), safe=""), template(ctx))
            path, _, query = text.partition("?")
            ctx._rest = path if path.startswith("/") else "/" + path
            pairs = parse_qsl(query, keep_blank_values=True)
            if copy_unmatched:
                named = {k for k, _ in pairs}
                pairs += [(k, v) for k, v in ctx.request.url.query._parsed() if k not in named]
            ctx.request.url.query._set(pairs)

        return [rewrite_uri]
