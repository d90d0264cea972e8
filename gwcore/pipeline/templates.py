"""Liquid templates for `set-body template="liquid"`: a small subset, parsed and checked once at load."""
import functools
import html
import itertools
import json
import re
from urllib.parse import quote_plus

from gwcore.pipeline.expressions import ExpressionError, ExpressionEvaluationFailure, attribute_allowed, failure_detail

# One render is bounded whatever the request holds: loops over a huge JSON list, nested loops.
MAX_ITERATIONS = 10_000    # loop iterations of one render, all loops together
MAX_OUTPUT = 10_000_000    # characters of one rendered body

_TAG = re.compile(r"\{\{(-?)(.*?)(-?)\}\}|\{%(-?)(.*?)(-?)%\}", re.S)
_TOKEN = re.compile(r"""\s*(?:(?P<string>"[^"]*"|'[^']*')|(?P<number>-?\d+(?:\.\d+)?)"""
                    r"""|(?P<op>==|!=|<>|<=|>=|<|>|\||:|,|\[|\]|\.)|(?P<name>[A-Za-z_][\w-]*))""")
_LITERALS = {"true": True, "false": False, "nil": None, "null": None}
_COMPARE = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<>": lambda a, b: a != b,
            "<": lambda a, b: a < b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
            ">=": lambda a, b: a >= b, "contains": lambda a, b: _contains(a, b)}
TAGS = ("if", "elsif", "else", "endif", "for", "endfor", "comment", "endcomment")


class TemplateError(ExpressionError):
    """A template outside the subset, found at load; `offset` is 0-based within the template text."""


class Template:
    """One compiled template. `template.render(context, body)` gives the new body text; `body` is the
    message body as APIM's Liquid sees it (parsed JSON, or text), needed only when `uses_body`."""

    __slots__ = ("source", "uses_body", "_render")

    def __init__(self, source: str, render, uses_body: bool):
        self.source, self._render, self.uses_body = source, render, uses_body

    def render(self, context, body=None) -> str:
        out = _Output()
        try:
            self._render({"context": context, "body": body}, out)
        except Exception as exc:
            raise ExpressionEvaluationFailure(failure_detail(exc), self.source) from exc
        return "".join(out.parts)

    __call__ = render

    def __repr__(self) -> str:
        return f"Template({self.source[:40]!r})"


@functools.lru_cache(maxsize=1024)
def compile_template(text: str) -> Template:
    """Parse and check `text` once; TemplateError names the tag, filter or variable and where."""
    parser = _Parser(text)
    return Template(text, parser.parse(), "body" in parser.roots)


# ---- rendering helpers -------------------------------------------------------------------------

class _Output:
    __slots__ = ("parts", "size", "iterations")

    def __init__(self):
        self.parts, self.size, self.iterations = [], 0, 0

    def add(self, text: str) -> None:
        self.size += len(text)
        if self.size > MAX_OUTPUT:
            raise ValueError(f"the rendered body would be longer than {MAX_OUTPUT:,} characters")
        self.parts.append(text)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "".join(map(_text, value))
    return str(value)


def _truthy(value) -> bool:
    return value is not None and value is not False  # Liquid: only nil and false are false


def _contains(container, item) -> bool:
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if isinstance(container, (list, tuple, dict)):
        return item in container
    return False


def _attribute(obj, name: str):
    """`a.name`: a key of a mapping, size/first/last of a list, else an attribute, else obj.get(name)
    (headers and query parameters, case-insensitive where the context makes them so)."""
    if obj is None:
        return None
    sized = isinstance(obj, (list, tuple, str)) or (isinstance(obj, dict) and name not in obj)
    if sized and name == "size":
        return len(obj)
    if sized and name in ("first", "last") and not isinstance(obj, dict):
        return (obj[0] if name == "first" else obj[-1]) if obj else None
    if isinstance(obj, dict):
        return obj.get(name)
    value = getattr(obj, name, _attribute)
    if value is _attribute or callable(value):  # a method is no value; ask get() instead
        get = getattr(obj, "get", None)
        return get(name) if callable(get) else None
    return value


def _item(obj, key):
    """`a[key]`: item access only, never an attribute."""
    if obj is None:
        return None
    if isinstance(obj, (list, tuple, str)):
        return obj[key] if isinstance(key, int) and -len(obj) <= key < len(obj) else None
    get = getattr(obj, "get", None)
    return get(key) if callable(get) else None


def _empty(value) -> bool:
    return value is None or value is False or (isinstance(value, (str, list, tuple, dict)) and not value)


FILTERS = {  # name: (number of arguments, function)
    "default": (1, lambda v, d: d if _empty(v) else v),
    "upcase": (0, lambda v: _text(v).upper()),
    "downcase": (0, lambda v: _text(v).lower()),
    "capitalize": (0, lambda v: _text(v).capitalize()),
    "strip": (0, lambda v: _text(v).strip()),
    "size": (0, lambda v: len(v) if isinstance(v, (str, list, tuple, dict)) else 0),
    "first": (0, lambda v: _attribute(v, "first")),
    "last": (0, lambda v: _attribute(v, "last")),
    "append": (1, lambda v, a: _text(v) + _text(a)),
    "prepend": (1, lambda v, a: _text(a) + _text(v)),
    "escape": (0, lambda v: html.escape(_text(v))),
    "url_encode": (0, lambda v: quote_plus(_text(v))),
    "json": (0, lambda v: json.dumps(v, default=str, ensure_ascii=False)),
}


# ---- parsing -----------------------------------------------------------------------------------

class _Parser:
    """Splits the text into literal text, {{ output }} and {% tags %}, and builds render closures."""

    def __init__(self, text: str):
        self.text = text
        self.pieces = self._split(text)
        self.index = 0
        self.roots: set = set()  # the variables the template reads

    def _split(self, text: str) -> list:
        pieces, at, strip = [], 0, False  # (kind, content, offset of the content in the text)
        for match in _TAG.finditer(text):
            self._literal(pieces, text[at:match.start()], at, strip)
            group = 2 if match.group(2) is not None else 5
            if match.group(group - 1):  # {{- and {%- strip the whitespace before them
                pieces[-1] = ("text", pieces[-1][1].rstrip(), pieces[-1][2])
            pieces.append(("output" if group == 2 else "tag", match.group(group), match.start(group)))
            strip, at = bool(match.group(group + 1)), match.end()
        self._literal(pieces, text[at:], at, strip)
        return pieces

    @staticmethod
    def _literal(pieces: list, content: str, offset: int, strip: bool) -> None:
        for opener, closer in (("{{", "}}"), ("{%", "%}")):
            if opener in content:
                raise TemplateError(f"{opener} is not closed with {closer}", offset + content.index(opener))
        pieces.append(("text", content.lstrip() if strip else content, offset))

    def parse(self):
        return self.block((), frozenset({"context", "body"}))[0]

    def block(self, stops: tuple, names: frozenset, opener: tuple = None):
        """Render closure of the pieces up to one of the tags `stops` (closing the block `opener`
        opened: its name and offset); (closure, (stop tag, rest of the tag, offset of the rest))."""
        nodes = []
        while self.index < len(self.pieces):
            kind, content, offset = self.pieces[self.index]
            self.index += 1
            if kind == "text":
                if content:
                    nodes.append(lambda scope, out, text=content: out.add(text))
            elif kind == "output":
                nodes.append(self.output(content, offset, names))
            else:
                name, rest, at = self.tag_name(content, offset)
                if name in stops:
                    if name != "elsif" and rest.strip():
                        raise TemplateError(f"{{% {name} %}} takes nothing more", at + len(rest) - len(rest.lstrip()))
                    return _sequence(nodes), (name, rest, at)
                nodes.append(self.tag(name, rest, at, names))
        if opener is not None:
            raise TemplateError(f"{{% {opener[0]} %}} is not closed with {{% {stops[-1]} %}}", opener[1])
        return _sequence(nodes), None

    def tag_name(self, content: str, offset: int) -> tuple:
        match = re.match(r"\s*(\w*)", content)
        return match.group(1), content[match.end():], offset + match.end()

    def tag(self, name, rest, at, names):
        opener = (name, at - len(name))
        if name == "if":
            branches, closing = [], ("elsif", rest, at)
            while closing[0] == "elsif":
                condition = self.condition(closing[1], closing[2], names)
                body, closing = self.block(("elsif", "else", "endif"), names, opener)
                branches.append((condition, body))
            otherwise = self.block(("endif",), names, opener)[0] if closing[0] == "else" else _sequence([])
            return _if(branches, otherwise)
        if name == "for":
            match = re.fullmatch(r"\s*([A-Za-z_]\w*)\s+in\s+(.+?)\s*", rest, re.S)
            if not match:
                raise TemplateError("expected {% for item in list %}", at)
            variable = match.group(1)
            sequence = self.value(_Tokens(match.group(2), at + match.start(2)), names)
            body, _ = self.block(("endfor",), names | {variable, "forloop"}, opener)
            return _for(variable, sequence, body)
        if name == "comment":  # everything up to endcomment is skipped, unparsed
            while self.index < len(self.pieces):
                kind, content, offset = self.pieces[self.index]
                self.index += 1
                if kind == "tag" and self.tag_name(content, offset)[0] == "endcomment":
                    return _sequence([])
            raise TemplateError("{% comment %} is not closed with {% endcomment %}", opener[1])
        if name in TAGS:
            raise TemplateError(f"{{% {name} %}} without the tag that opens its block", opener[1])
        raise TemplateError(f"unknown tag {name!r}; tags: {', '.join(TAGS)}", opener[1])

    def output(self, content, offset, names):
        tokens = _Tokens(content, offset)
        value = self.value(tokens, names)
        while tokens.take("op", "|"):
            name, at = tokens.expect("name", "a filter name after |")
            if name not in FILTERS:
                raise TemplateError(f"unknown filter {name!r}; filters: {', '.join(FILTERS)}", at)
            arity, function = FILTERS[name]
            args = []
            if tokens.take("op", ":"):
                args.append(self.value(tokens, names))
                while tokens.take("op", ","):
                    args.append(self.value(tokens, names))
            if len(args) != arity:
                raise TemplateError(f"filter {name!r} takes {arity} argument{'s' if arity != 1 else ''}", at)
            value = _filtered(function, value, args)
        tokens.end()
        return lambda scope, out: out.add(_text(value(scope)))

    def condition(self, content, offset, names):
        tokens = _Tokens(content, offset)
        parts = [self.comparison(tokens, names)]
        joins = []
        while tokens.peek("name") in ("and", "or"):
            joins.append(tokens.next()[1])
            parts.append(self.comparison(tokens, names))
        tokens.end()
        test = parts[-1]
        for join, left in zip(reversed(joins), reversed(parts[:-1])):  # Liquid: right to left
            test = _both(left, test) if join == "and" else _either(left, test)
        return test

    def comparison(self, tokens, names):
        left = self.value(tokens, names)
        op = tokens.peek("op")
        op = op if op in _COMPARE else ("contains" if tokens.peek("name") == "contains" else None)
        if op is None:
            return lambda scope: _truthy(left(scope))
        tokens.next()
        right = self.value(tokens, names)
        return _compare(_COMPARE[op], left, right)

    def value(self, tokens, names):
        kind, text, at = tokens.next("a value")
        if kind == "string":
            return lambda scope, v=text[1:-1]: v
        if kind == "number":
            number = float(text) if "." in text else int(text)
            return lambda scope: number
        if kind != "name":
            raise TemplateError(f"expected a value, found {text!r}", at)
        if text in _LITERALS:
            return lambda scope, v=_LITERALS[text]: v
        if text not in names:
            raise TemplateError(f"unknown variable {text!r}; variables here: {', '.join(sorted(names))}", at)
        self.roots.add(text)
        steps = []
        while True:
            if tokens.take("op", "."):
                name, where = tokens.expect("name", "a name after .")
                if not attribute_allowed(name):
                    raise TemplateError(f"attribute {name!r} is not allowed", where)
                steps.append((_attribute, name))
            elif tokens.take("op", "["):
                key_kind, key, where = tokens.next("a key")
                if key_kind not in ("string", "number") or "." in key:
                    raise TemplateError("a [key] is a quoted text or a whole number", where)
                steps.append((_item, key[1:-1] if key_kind == "string" else int(key)))
                tokens.expect("op", "]")
            else:
                return _path(text, tuple(steps))


class _Tokens:
    """The tokens of one tag's content, with their offsets in the whole template."""

    def __init__(self, content: str, offset: int):
        self.items, at = [], 0
        while content[at:].strip():
            match = _TOKEN.match(content, at)
            if not match or match.end() == at:
                bad = at + len(content[at:]) - len(content[at:].lstrip())
                raise TemplateError(f"unexpected {content[bad]!r}", offset + bad)
            kind = match.lastgroup
            self.items.append((kind, match.group(kind), offset + match.start(kind)))
            at = match.end()
        self.position, self.last = 0, offset + len(content)

    def peek(self, kind):
        item = self.items[self.position] if self.position < len(self.items) else None
        return item[1] if item and item[0] == kind else None

    def next(self, what: str = "more"):
        if self.position >= len(self.items):
            raise TemplateError(f"expected {what}", self.last)
        self.position += 1
        return self.items[self.position - 1]

    def take(self, kind, text) -> bool:
        if self.peek(kind) == text:
            self.position += 1
            return True
        return False

    def expect(self, kind, what):
        found_kind, text, at = self.next(what)
        if found_kind != kind or (kind == "op" and text != what):
            raise TemplateError(f"expected {what}, found {text!r}", at)
        return text, at

    def end(self):
        if self.position < len(self.items):
            _, text, at = self.items[self.position]
            raise TemplateError(f"unexpected {text!r}", at)


# ---- render closures ---------------------------------------------------------------------------

def _sequence(nodes):
    def render(scope, out):
        for node in nodes:
            node(scope, out)
    return render


def _path(root, steps):
    def value(scope):
        current = scope.get(root)
        for step, key in steps:
            current = step(current, key)
        return current
    return value


def _filtered(function, value, args):
    return lambda scope: function(value(scope), *(arg(scope) for arg in args))


def _compare(op, left, right):
    def test(scope):
        try:
            return bool(op(left(scope), right(scope)))
        except TypeError:  # 1 < "a": Liquid says no rather than stopping the request
            return False
    return test


def _both(left, right):
    return lambda scope: left(scope) and right(scope)


def _either(left, right):
    return lambda scope: left(scope) or right(scope)


def _if(branches, otherwise):
    def render(scope, out):
        for test, body in branches:
            if test(scope):
                return body(scope, out)
        return otherwise(scope, out)
    return render


def _for(variable, sequence, body):
    def render(scope, out):
        items = sequence(scope)
        if items is None:
            return
        if isinstance(items, dict):
            items = [[key, value] for key, value in items.items()]
        elif isinstance(items, str):
            items = [items]
        items = list(itertools.islice(iter(items), MAX_ITERATIONS - out.iterations + 1))
        for index, item in enumerate(items):
            out.iterations += 1
            if out.iterations > MAX_ITERATIONS:
                raise ValueError(f"the template loops more than {MAX_ITERATIONS:,} times")
            loop = {"index": index + 1, "index0": index, "first": index == 0, "last": index == len(items) - 1,
                    "length": len(items)}
            body({**scope, variable: item, "forloop": loop}, out)
    return render


__all__ = ["Template", "TemplateError", "compile_template", "FILTERS", "TAGS", "MAX_ITERATIONS", "MAX_OUTPUT"]
