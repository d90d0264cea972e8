"""set-header: schema, and end to end on the request (inbound, backend) and the response (outbound, on-error)."""
import pytest
import yaml
from dataplane.rawhttp import Conn

from gwcore.config import ConfigError, load_plan
from gwcore.config.errors import format_path

from .support import header_values


def test_loads_value_list(policies):
    header = policies.statement("- set-header: {name: x-a, exists-action: append, value: [one, 2]}")
    assert (header.name, header.exists_action, header.value) == ("x-a", "append", ("one", 2))


def test_single_value_becomes_a_list_and_default_action_is_override(policies):
    header = policies.statement("- set-header: {name: x-a, value: one}", section="outbound")
    assert (header.exists_action, header.value) == ("override", ("one",))


def test_bad_exists_action(policies):
    found = policies.error("""
        - set-header:
            name: x-a
            exists-action: replace  # <-
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.set-header.exists-action")
    assert "'override', 'skip', 'append' or 'delete'" in found.message


def test_header_name_checked(policies):
    found = policies.error("""
        - set-header:
            name: 'x-a: b'  # <-
            value: c
    """)
    assert (found.line, found.path) == (found.marked_line, f"{policies.at()}.set-header.name")
    assert found.message.startswith("'x-a: b' is not a valid header name")


@pytest.mark.parametrize("name", ["content-length", "Transfer-Encoding"])
def test_framing_headers_are_the_gateways(policies, write_config, name):
    found = policies.error(f"- set-header: {{name: {name}, value: '5'}}  # <-", section="outbound")
    assert (found.line, found.path) == (found.marked_line, f"{policies.at('outbound')}.set-header")
    assert "the gateway frames the message itself" in found.message


def test_deleting_a_framing_header_is_allowed(policies):
    assert policies.statement("- set-header: {name: content-length, exists-action: delete}",
                              section="outbound").exists_action == "delete"


def test_header_value_with_cr_lf_from_a_named_value_is_refused_at_load(write_config):
    path = write_config(CRLF_CONFIG)
    with pytest.raises(ConfigError) as info:
        load_plan(path, environ={"INJECTED": "one\r\nx-injected: yes"})
    (problem,) = info.value.problems
    assert format_path(problem.path) == "apis.a.policies.inbound[0].set-header"
    assert problem.message == "A header value may not contain CR, LF or NUL."


CRLF_CONFIG = """\
named_values:
  injected: {env: INJECTED}
backends:
  b: {url: "http://127.0.0.1:9"}
apis:
  a:
    path: a
    backend: b
    subscription_required: false
    policies:
      inbound:
        - set-header: {name: x-a, value: "{{injected}}"}
"""


# ---- end to end

def op(path: str, section: str, **header) -> dict:
    """An operation at /h/{path} whose `section` holds one set-header."""
    return {"id": path, "method": "GET", "url_template": f"/{path}", "policies": {section: [{"set-header": header}]}}


E2E = {
    "named_values": {"tier": "gold"},
    "apis": {"h": {"path": "h", "backend": "origin", "subscription_required": False, "operations": [
        op("override", "inbound", name="X-A", **{"exists-action": "override"}, value="new"),
        op("skip", "inbound", name="x-a", **{"exists-action": "skip"}, value="new"),
        op("append", "inbound", name="x-a", **{"exists-action": "append"}, value="new"),
        op("delete", "inbound", name="x-a", **{"exists-action": "delete"}),
        op("many", "inbound", name="x-m", value=["one", "two"]),
        op("typed", "inbound", name="x-t", value=[5, True, 2.0]),
        op("named", "inbound", name="x-tier", value="{{tier}}"),
        op("backend", "backend", name="x-b", value="from-backend-section"),
        {"id": "backend-then-forward", "method": "GET", "url_template": "/bf", "policies": {"backend": [
            {"set-header": {"name": "x-b", "value": "before"}}, "base"]}},
        op("status/out-override", "outbound", name="x-r", value="new"),
        op("status/out-skip", "outbound", name="x-r", **{"exists-action": "skip"}, value="new"),
        op("status/out-append", "outbound", name="x-r", **{"exists-action": "append"}, value=["new", "newer"]),
        op("status/out-delete", "outbound", name="x-r", **{"exists-action": "delete"}),
        op("chunked/out-delete-length", "outbound", name="content-length", **{"exists-action": "delete"}),
        op("status/out-length", "outbound", name="content-length", **{"exists-action": "delete"}),
        {"id": "static", "method": "GET", "url_template": "/status/static", "policies": {
            "inbound": ["base", {"set-header": {"name": "x-s", "value": "first"}},
                        {"set-header": {"name": "x-t", "value": ["a", "b"]}},
                        {"set-header": {"name": "X-S", "value": "second"}}],
            "outbound": ["base", {"set-header": {"name": "x-r", "value": "mine"}},
                         {"set-header": {"name": "x-q", "value": "q"}}]}},
        {"id": "failing", "method": "GET", "url_template": "/failing", "policies": {
            "inbound": [{"check-header": {"name": "x-needed", "failed-check-httpcode": 400,
                                          "failed-check-error-message": "x-needed is needed",
                                          "ignore-case": False}}],
            "on-error": [{"set-header": {"name": "x-error", "value": "handled"}}]}},
    ]}},
}


@pytest.fixture(scope="module")
def gw(serve):
    return serve(yaml.safe_dump(E2E))


def sent(answer) -> dict:
    assert answer.status == 200, answer.body
    return answer.json()


def test_override_replaces_every_value_whatever_the_case(gw):
    echo = sent(gw("GET", "/h/override", headers={"X-a": "old"}))
    assert header_values(echo, "x-a") == ["new"]
    assert header_values(sent(gw.get("/h/override")), "x-a") == ["new"]


def test_skip_keeps_a_header_present(gw):
    assert header_values(sent(gw("GET", "/h/skip", headers={"x-a": "old"})), "x-a") == ["old"]
    assert header_values(sent(gw.get("/h/skip")), "x-a") == ["new"]


def test_append_adds_a_value(gw):
    assert header_values(sent(gw("GET", "/h/append", headers={"x-a": "old"})), "x-a") == ["old", "new"]
    assert header_values(sent(gw.get("/h/append")), "x-a") == ["new"]


def test_delete_removes_every_value(gw):
    conn_headers = [("X-A", "one"), ("x-a", "two"), ("x-other", "kept")]
    echo = raw_get(gw, "/h/delete", conn_headers)
    assert header_values(echo, "x-a") == []
    assert header_values(echo, "x-other") == ["kept"]


def test_several_values_are_several_header_lines(gw):
    assert header_values(sent(gw.get("/h/many")), "x-m") == ["one", "two"]


def test_numbers_and_booleans_are_written_as_text(gw):
    assert header_values(sent(gw.get("/h/typed")), "x-t") == ["5", "true", "2"]


def test_named_value(gw):
    assert header_values(sent(gw.get("/h/named")), "x-tier") == ["gold"]


def test_in_the_backend_section_it_changes_the_request(gw, origin):
    assert header_values(sent(gw.get("/h/bf")), "x-b") == ["before"]
    before = origin.count()
    answer = gw.get("/h/backend")  # a backend section without forward-request: nothing is sent
    assert (answer.status, answer.body) == (200, b"")
    assert origin.count() == before


def test_outbound_override(gw):
    answer = gw.get("/h/status/out-override?h-X-R=orig")
    assert answer.status == 200
    assert [v for k, v in answer.header_list if k.lower() == "x-r"] == ["new"]
    assert answer.json()["target"] == "/api/status/out-override?h-X-R=orig"


def test_outbound_skip(gw):
    answer = gw.get("/h/status/out-skip?h-X-R=orig")
    assert [v for k, v in answer.header_list if k.lower() == "x-r"] == ["orig"]
    answer = gw.get("/h/status/out-skip")
    assert [v for k, v in answer.header_list if k.lower() == "x-r"] == ["new"]


def test_outbound_append_with_several_values(gw):
    answer = gw.get("/h/status/out-append?h-X-R=orig")
    assert [v for k, v in answer.header_list if k.lower() == "x-r"] == ["orig", "new", "newer"]


def test_outbound_delete(gw):
    answer = gw.get("/h/status/out-delete?h-X-R=orig&h-X-Kept=yes")
    assert "x-r" not in answer.headers
    assert answer.headers["x-kept"] == "yes"


def test_deleting_content_length_keeps_the_body_whole(gw):
    with Conn(gw.gateway.port) as conn:
        for _ in range(2):  # the connection stays usable: the framing held
            conn.send(b"GET /h/status/out-length HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = conn.response()
            assert answer.status == 200
            assert answer.json()["target"] == "/api/status/out-length"
        conn.send(b"GET /h/chunked/out-delete-length HTTP/1.1\r\nHost: x\r\n\r\n")
        assert conn.response().body == b"hello chunked world"


def test_on_error_changes_the_error_response(gw):
    answer = gw.get("/h/failing")
    assert answer.status == 400
    assert answer.headers["x-error"] == "handled"
    assert answer.json() == {"statusCode": 400, "message": "x-needed is needed"}


def raw_get(gw, path: str, headers: list) -> dict:
    """The origin's echo of a GET sent with exactly these header lines."""
    with Conn(gw.gateway.port) as conn:
        lines = "".join(f"{k}: {v}\r\n" for k, v in headers)
        conn.send(f"GET {path} HTTP/1.1\r\nHost: x\r\n{lines}\r\n".encode())
        answer = conn.response()
    assert answer.status == 200, answer.body
    return answer.json()


# ---- constant overrides only: forwarded as a plain operation, the headers edited on the way

def test_constant_overrides_around_a_plain_forward_need_no_context(write_config):
    plan = load_plan(write_config(yaml.safe_dump({**E2E, "backends": {"origin": {"url": "http://127.0.0.1:9"}}})))
    operations = plan.apis["h"].operations
    static = operations["static"].pipelines[None]
    assert static.plain
    assert static.request_edits.names == {b"x-s", b"x-t"}
    assert static.request_edits.pairs == [(b"x-t", b"a"), (b"x-t", b"b"), (b"x-s", b"second")]
    assert static.answer_edits.pairs == [(b"x-r", b"mine"), (b"x-q", b"q")]
    assert operations["backend-then-forward"].pipelines[None].request_edits.pairs == [(b"x-b", b"before")]
    out = operations["status/out-override"].pipelines[None]
    assert out.plain and out.request_edits is None and out.answer_edits.pairs == [(b"x-r", b"new")]
    # anything else runs as a pipeline: skip and append depend on the request, a backend section
    # without forward-request sends nothing, on-error needs a context
    for name in ("skip", "append", "status/out-skip", "backend", "failing"):
        assert not operations[name].pipelines[None].plain, name


def test_constant_overrides_edit_the_request_and_the_answer(gw):
    echo = raw_get(gw, "/h/status/static?h-X-R=theirs&h-X-Kept=yes",
                   [("X-S", "client"), ("x-s", "client-again"), ("x-t", "client"), ("x-u", "kept")])
    assert header_values(echo, "x-s") == ["second"]   # the later statement on a name wins
    assert header_values(echo, "x-t") == ["a", "b"]
    assert header_values(echo, "x-u") == ["kept"]
    for _ in range(2):  # on a kept-alive connection too: nothing of one answer leaks to the next
        answer = gw.get("/h/status/static?h-X-R=theirs&h-X-Kept=yes")
        assert answer.status == 200
        assert [v for k, v in answer.header_list if k.lower() == "x-r"] == ["mine"]
        assert (answer.headers["x-q"], answer.headers["x-kept"]) == ("q", "yes")


def test_header_edits_drop_every_copy_then_add_at_the_end():
    from gwcore.pipeline.compiled_steps import HeaderEdits, SetHeaderValues
    edits = HeaderEdits([SetHeaderValues(b"x-a", [b"1"], True), SetHeaderValues(b"x-b", [], True),
                         SetHeaderValues(b"x-a", [b"2", b"3"], True)])
    headers = [(b"x-a", b"old"), (b"host", b"h"), (b"x-b", b"gone"), (b"x-a", b"older")]
    edits.apply(headers)
    assert headers == [(b"host", b"h"), (b"x-a", b"2"), (b"x-a", b"3")]
