"""rewrite-uri: template with {placeholders} or a whole expression; copy-unmatched-params defaults true."""
import pytest


def test_loads_with_default(policies):
    rewrite = policies.statement("- rewrite-uri: {template: '/v2/items/{id}?view=full'}")
    assert (rewrite.template, rewrite.copy_unmatched_params) == ("/v2/items/{id}?view=full", True)


def test_expression_template(policies):
    rewrite = policies.statement("- rewrite-uri: {template: '@(\"/v2\" + context.request.url.path)',"
                                 " copy-unmatched-params: false}")
    assert rewrite.template.startswith("@(") and rewrite.copy_unmatched_params is False


@pytest.mark.parametrize("template, message", [
    ("/v2/{item id}", "placeholder {item id} must be the name of a template parameter"),
    ("/v2/{id", "unbalanced { or }"),
    ("/v2/@(x)", "an expression in template must be the whole value"),
    ("http://other/v2", "use set-backend-service to change the host"),
])
def test_bad_templates(policies, template, message):
    found = policies.error(f"""
        - rewrite-uri:
            template: '{template}'  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.rewrite-uri.template")
    assert message in found.message


def test_inbound_only(policies):
    found = policies.error("- rewrite-uri: {template: /x}  # <-", section="backend")
    assert found.message == "rewrite-uri may not stand in the backend section"
