"""Turns the statements of one pipeline into a flat Program of steps, once per config load."""
from contextlib import contextmanager

import orjson

from gwcore.pipeline.errors import PolicyError
from gwcore.pipeline.expressions import ExpressionError, compile_value
from gwcore.pipeline.runner import NO_ORIGIN, RESPOND, Program
from gwcore.pipeline.steps import answer, message_of
from gwcore.pipeline.templates import compile_template
from gwcore.policies.base import SECTIONS, scope_of


class PlanParts:
    """What steps may refer to by name: backends, fragments, the operation's example responses;
    the gateway settings and the TLS listener's contexts (validate-client-certificate)."""

    def __init__(self, backends: dict, fragments: dict, responses: dict = None, gateway=None, tls=None):
        self.backends = backends
        self.fragments = fragments
        self.responses = responses or {}
        self.gateway = gateway
        self.tls = tls


class Compiler:
    """What a policy's `compile(c)` may use: values, nested statements, flags for the exchange."""

    def __init__(self, plan_parts: PlanParts, section: str, problems: list):
        self.parts = plan_parts
        self.section = section
        self.problems = problems       # (statement path, message) found while compiling
        self.request_body = False
        self.response_body = False
        self.forwards = False
        self.origins = {}       # id(step) -> (step, origin): the statement that made each step
        self._compiling = []    # (statement, origin) of the statements being compiled, outermost first

    def problem(self, statement, message: str) -> None:
        self.problems.append((statement.path, message))

    @contextmanager
    def answering(self):
        """Statements inside return-response build the response, whatever the section."""
        section, self.section = self.section, "outbound"
        try:
            yield
        finally:
            self.section = section

    def example(self, status: int, content_type):
        """(status, body, content type) for mock-response, from the operation's `responses`."""
        examples = self.parts.responses.get(status) or {}
        if content_type is None and examples:
            content_type = next(iter(examples))
        example = examples.get(content_type) if content_type else None
        if example is None:
            body = b""
        elif isinstance(example, (dict, list)):
            body = orjson.dumps(example)
        else:
            body = str(example).encode("utf-8")
        return status, body, content_type.encode("latin-1") if content_type else None

    def template(self, text: str):
        """A Liquid template compiled once; a function of the context giving the body (bytes)."""
        template = compile_template(text)
        if not template.uses_body:
            return lambda ctx: template.render(ctx).encode("utf-8")
        self.reads_body()
        message = message_of(self.section)

        def render(ctx):
            body = message(ctx).body
            return template.render(ctx, _liquid_body(body)).encode("utf-8")
        return render

    def value(self, raw):
        """A literal as it is, or a compiled expression (call it with the context)."""
        return compile_value(raw)

    def reads_body(self) -> None:
        """A step reads the message body of its section: buffer it before the section runs."""
        if self.section in ("inbound", "backend"):
            self.request_body = True
        else:
            self.response_body = True

    def steps(self, statements) -> list:
        """Nested statements (choose, retry, ...) laid flat, in order."""
        out = []
        for statement in statements:
            compile_ = getattr(statement, "compile", None)
            if compile_ is None:
                self.problem(statement, f"{statement.policy_name} is not supported by this gwcore version yet;"
                             " remove it (gwcore never skips a policy it cannot run)")
                continue
            origin = self.origin_of(statement)
            self._compiling.append((statement, origin))
            try:
                made = compile_(self)
            except (ExpressionError, ImportError) as exc:
                self.problem(statement, str(exc))
                continue
            except PolicyError as exc:
                # a literal (a {{named value}} too) failed the check a value gets before it goes
                # on the wire, e.g. a header value with CR/LF: refuse the file, not every request
                self.problem(statement, exc.message.removeprefix("Expression evaluation failed. "))
                continue
            finally:
                self._compiling.pop()
            if origin is not None:
                for step in made:
                    # the steps of a nested statement were claimed first, by its own steps() call;
                    # the step is held as well, so its id is not reused while the Program is built
                    self.origins.setdefault(id(step), (step, origin))
            out.extend(made)
        return out

    def origin_of(self, statement):
        """(scope, path, policy_id) of a statement, as context.last_error gives them when one of its
        steps fails (docs/expressions.md); None for a child element with no place of its own
        (return-response's set-header), whose steps are its parent's."""
        where = getattr(statement, "path", ())
        if not where:
            return None
        policy_id = getattr(statement, "id", None) or ""
        scope = scope_of(where)
        if scope is not None:
            return scope, element_path(where, SECTION_AT[scope]), policy_id
        # in a fragment: it stands where the include-fragment that brought it in stands
        including = next((origin for s, origin in reversed(self._compiling)
                          if s.policy_name == "include-fragment" and origin is not None), NO_ORIGIN)
        inner = element_path(where, 2)  # ('fragments', name, index, policy, ...)
        return including[0], f"{including[1]}/{inner}" if including[1] else inner, policy_id

    def origins_of(self, steps: tuple) -> tuple:
        """The origins of a section's flat steps, parallel to them (Program.origins)."""
        return tuple([self.origins.get(id(step), (None, NO_ORIGIN))[1] for step in steps])


# Where the section's statements start in a statement's path, e.g. ('apis', 'a', 'policies', 'inbound', 0, ...).
SECTION_AT = {"global": 2, "product": 4, "api": 4, "operation": 6}


def element_path(where: tuple, start: int) -> str:
    """'choose[1]/when[2]/set-header[1]': from the section down, each statement (or choose item) the
    path passes through, with its 1-based position in the YAML list it stands in."""
    return "/".join([f"{where[i + 1]}[{where[i] + 1}]" for i in range(start, len(where) - 1)
                     if type(where[i]) is int and isinstance(where[i + 1], str)])


def compile_program(pipeline, plan_parts: PlanParts, problems: list) -> Program:
    """The Program of one operation's Pipeline (statements per section, `base` expanded)."""
    flat, origins = {}, []
    flags = Compiler(plan_parts, "inbound", problems)
    for section in SECTIONS:
        c = Compiler(plan_parts, section, problems)
        flat[section] = tuple(c.steps(getattr(pipeline, section.replace("-", "_"))))
        origins.append(c.origins_of(flat[section]))
        flags.request_body |= c.request_body
        flags.response_body |= c.response_body
        flags.forwards |= c.forwards
    # APIM runs only the cors policies on a preflight, and a preflight they leave unanswered
    # (terminate-unmatched-request false everywhere) still ends at the gateway with an empty 200
    cors = tuple(step for step in flat["inbound"] if getattr(step, "answers_preflight", False))
    preflight = Program(cors + (_preflight_unmatched,), (), (), (), False, False, False) if cors else None
    return Program(flat["inbound"], flat["backend"], flat["outbound"], flat["on-error"],
                   flags.request_body, flags.response_body, flags.forwards, preflight, tuple(origins))


def _preflight_unmatched(ctx):
    answer(ctx, 200)
    return RESPOND


def _liquid_body(body):
    """The body as Liquid sees it: parsed JSON when it is JSON, else its text."""
    if body is None:
        return None
    try:
        return body.json
    except ValueError:
        return body.text
