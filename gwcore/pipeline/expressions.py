"""Policy expressions `@( ... )`: a small, safe Python subset, checked against allow-lists and compiled once."""
import ast
import functools
import io
import re
import tokenize
import warnings

# ---- what one evaluation may build -------------------------------------------------------------
# Request data reaches `*`, `**`, join and replace, so their results are bounded at run time
# (and at load when both operands are constants): a header must not make a gigabyte string.
MAX_SIZE = 1_000_000        # characters of a text, or items (counted into nested lists) of a list
MAX_POWER_BITS = 100_000    # bits of an integer made by **
MAX_ROUND_DIGITS = 100      # round(5, -10**9) would compute 10**(10**9)
# A constant f-string format spec: fill, align, sign, #, 0, width and precision of at most 3 digits.
_FORMAT_SPEC = re.compile(r"(.?[<>=^])?[-+ ]?z?#?0?\d{0,3}[,_]?(\.\d{1,3})?[bcdeEfFgGnosxX%]?\Z", re.S)


# ---- the allow-lists ---------------------------------------------------------------------------

def _round(number, ndigits=None):
    if isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:
        raise ValueError(f"round() takes at most {MAX_ROUND_DIGITS} digits")
    return round(number) if ndigits is None else round(number, ndigits)


def _sum(items, /):
    # no start argument: sum(lists, []) is quadratic; without it only numbers add up
    return sum(items)


# Names an expression may call (and only call: `str.lower` would hand out the type).
HELPERS = {
    "str": str, "int": int, "float": float, "bool": bool, "len": len, "abs": abs, "min": min, "max": max,
    "round": _round, "sum": _sum, "sorted": sorted, "list": list, "tuple": tuple, "any": any, "all": all,
}
# APIM expressions are C#, where these are spelled in lower case; both spellings work.
CONSTANT_NAMES = {"true": True, "false": False, "null": None}
NAMES = ("context",) + tuple(HELPERS) + tuple(CONSTANT_NAMES)

# Methods an expression may call, by name: they read, never change, what they are called on.
# Not format/format_map ("{0.__class__}" walks attributes), not zfill/center/ljust/rjust/expandtabs
# (a width from the request would size the result), nothing that mutates a list or dict.
STRING_METHODS = frozenset({
    "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha", "isascii",
    "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric", "isspace", "istitle", "isupper", "join",
    "lower", "lstrip", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rpartition",
    "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title", "upper",
})
MAPPING_METHODS = frozenset({"get", "keys", "values", "items"})
LIST_METHODS = frozenset({"index", "count"})
METHODS = STRING_METHODS | MAPPING_METHODS | LIST_METHODS

# Attribute names never reachable, called or not: private and dunder names, and the ways from a
# generator, coroutine, frame, traceback or code object back into the interpreter's globals.
_INTERNAL_PREFIXES = ("_", "f_", "tb_", "gi_", "cr_", "ag_", "co_", "func_")
_DENIED_ATTRIBUTES = frozenset({"format", "format_map", "mro"})

_COMPARISONS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot)
_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
_UNARY = (ast.Not, ast.USub, ast.UAdd)
_OPERATOR_TEXT = {ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>",
                  ast.MatMult: "@", ast.Invert: "~"}

# Constructs outside the language, with the words an operator reads.
_FORBIDDEN = {
    "Lambda": "lambda is not allowed in an expression",
    "ListComp": "a list comprehension is not allowed in an expression",
    "SetComp": "a set comprehension is not allowed in an expression",
    "DictComp": "a dict comprehension is not allowed in an expression",
    "GeneratorExp": "a generator expression is not allowed in an expression",
    "NamedExpr": "assignment (:=) is not allowed in an expression",
    "Starred": "unpacking with * is not allowed in an expression",
    "Await": "await is not allowed in an expression",
    "Yield": "yield is not allowed in an expression",
    "YieldFrom": "yield is not allowed in an expression",
}
_STATEMENTS = {"Import": "an import", "ImportFrom": "an import", "Assign": "an assignment",
               "AugAssign": "an assignment", "AnnAssign": "an assignment", "Delete": "del",
               "FunctionDef": "a function definition", "ClassDef": "a class definition"}


def attribute_allowed(name: str) -> bool:
    """May an expression (or a liquid template) read attribute `name`?"""
    return not name.startswith(_INTERNAL_PREFIXES) and name not in _DENIED_ATTRIBUTES


def _attribute_refusal(name: str) -> str:
    if name.startswith("_"):
        return f"attribute {name!r} is not allowed: names starting with _ are internal"
    if name in ("format", "format_map"):
        return f"attribute {name!r} is not allowed: it can reach internals through '{{0.__class__}}'; use an f-string"
    return f"attribute {name!r} is not allowed: it reaches interpreter internals"


# ---- errors ------------------------------------------------------------------------------------

class ExpressionError(ValueError):
    """An expression outside the language, found at load; `offset` is 0-based within the text given."""

    def __init__(self, message: str, offset: int = 0):
        super().__init__(message)
        self.message = message
        self.offset = offset


class ExpressionEvaluationFailure(Exception):
    """An expression failed while a request was served; the runner answers it from on-error."""

    reason = "ExpressionValueEvaluationFailure"

    def __init__(self, detail: str, expression: str = ""):
        self.message = f"Expression evaluation failed. {detail}"
        self.expression = expression
        super().__init__(self.message)


def failure_detail(exc: BaseException) -> str:
    """APIM-style sentence for what went wrong (`Expression evaluation failed. <this>`)."""
    if isinstance(exc, KeyError) and exc.args:
        text = f"Key {exc.args[0]!r} was not found"
    else:
        text = str(exc) or type(exc).__name__
        if re.match(r"[a-z]+ ", text):  # "division by zero" -> "Division by zero", "round() ..." as it is
            text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


# ---- run-time guards (the compiler rewrites *, **, %, join and replace into these) -------------

def _size(value) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return len(value) + sum(map(_size, value))
    if isinstance(value, dict):
        return len(value) + sum(map(_size, value)) + sum(map(_size, value.values()))
    return 1


def _too_large(what: str) -> ValueError:
    return ValueError(f"{what} would be larger than the limit of {MAX_SIZE:,}")


def _mul(a, b):
    if isinstance(b, (str, list, tuple)):
        a, b = b, a
    if isinstance(a, (str, list, tuple)) and isinstance(b, int) and b > 1 and _size(a) * b > MAX_SIZE:
        raise _too_large("the repeated value")
    return a * b


def _pow(a, b):
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1 and a.bit_length() * b > MAX_POWER_BITS:
        raise ValueError(f"the power would have more than {MAX_POWER_BITS:,} bits")
    return a ** b


def _mod(a, b):
    if isinstance(a, (str, bytes)):
        raise TypeError("% does not format text in an expression; use an f-string")
    return a % b


def _join(sep, items):
    if isinstance(sep, str):
        if not isinstance(items, (list, tuple)):
            items = list(items)
        if len(sep) * (len(items) - 1) > MAX_SIZE:
            raise _too_large("the joined text")
    return sep.join(items)


def _replace(text, *args, **kwargs):
    if isinstance(text, str) and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        old, new = args[0], args[1]
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        growth = len(new) - len(old)
        if growth > 0:
            found = text.count(old) if old else len(text) + 1
            if isinstance(count, int) and count >= 0:
                found = min(found, count)
            if found * growth > MAX_SIZE:
                raise _too_large("the replaced text")
    return text.replace(*args, **kwargs)


_GUARDS = {ast.Mult: _mul, ast.Pow: _pow, ast.Mod: _mod}
_GUARDED_METHODS = {"join": "_join", "replace": "_replace"}

# ---- the compiled expression -------------------------------------------------------------------

class Expression:
    """One compiled @(expression). `expression(context)` evaluates it against a request context;
    `expression.evaluate(context)` is the same without the method call, for the runner's hot path.
    Any failure comes out as ExpressionEvaluationFailure."""

    __slots__ = ("source", "evaluate")

    def __init__(self, source: str, evaluate):
        self.source = source
        self.evaluate = evaluate

    def __call__(self, context):
        return self.evaluate(context)

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


def _failed(exc: Exception, source: str) -> ExpressionEvaluationFailure:
    return ExpressionEvaluationFailure(failure_detail(exc), source)


SAFE_GLOBALS = {"__builtins__": {}, **HELPERS,
                "_mul": _mul, "_pow": _pow, "_mod": _mod, "_join": _join, "_replace": _replace,
                "_Exception": Exception, "_failed": _failed}


def is_expression(value) -> bool:
    """True for a whole `@( ... )` value (kept as text in the config objects; compiled for the Plan)."""
    return isinstance(value, str) and value.strip().startswith("@(") and value.strip().endswith(")")


def compile_value(value):
    """A policy attribute value for the Plan: an Expression for an @(expression), a tuple of compiled
    values for a list, anything else as it is (a constant costs nothing per request)."""
    if isinstance(value, str):
        return compile_expression(value) if is_expression(value) else value
    if isinstance(value, (list, tuple)):
        return tuple(compile_value(item) for item in value)
    return value


def is_dynamic(value) -> bool:
    """Does a compiled value need the request to be known (an Expression, or a list holding one)?"""
    if isinstance(value, Expression):
        return True
    return isinstance(value, tuple) and any(is_dynamic(item) for item in value)


def evaluate(value, context):
    """The value of a compiled value for this request (constants come back unchanged)."""
    if isinstance(value, Expression):
        return value.evaluate(context)
    if isinstance(value, tuple) and is_dynamic(value):
        return tuple(evaluate(item, context) for item in value)
    return value


@functools.lru_cache(maxsize=4096)
def compile_expression(text: str) -> Expression:
    """Check `text` (a whole `@( ... )` value, or just the expression inside) and compile it once;
    ExpressionError names what is outside the language and where. Cached by text."""
    source, base = _source_of(text)
    positions = _Positions(source, base, len(text))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings of `x is "a"` and friends say nothing useful here
            tree = _parse(source, positions)
            _Validator(positions).check(tree)
            code = compile(_function_of(_Rewriter().visit(tree).body, text), "<expression>", "exec")
    except RecursionError:
        raise ExpressionError("the expression nests too deeply", base if base >= 0 else 0) from None
    namespace: dict = {}
    exec(code, SAFE_GLOBALS, namespace)  # defines the function; runs nothing of the text
    return Expression(text, namespace["evaluate"])


# The function an expression becomes; `context` is its one argument (a fast local), and the
# try costs nothing until something fails.
_FUNCTION = """
def evaluate(context, _source=None):
    try:
        return None
    except _Exception as _exc:
        raise _failed(_exc, _source) from _exc
"""


def _function_of(body, text: str) -> ast.Module:
    module = ast.parse(_FUNCTION)
    function = module.body[0]
    function.args.defaults = [ast.Constant(text)]
    function.body[0].body[0].value = body
    return ast.fix_missing_locations(module)


def _source_of(text: str) -> tuple:
    """(Python source in parentheses, offset in `text` of source index 0)."""
    stripped = text.strip()
    if stripped.startswith("@{"):
        raise ExpressionError("multi-statement @{ ... } expressions are not supported; write one @( ... )",
                              text.index("@{"))
    if stripped.startswith("@("):
        start, end = text.index("@("), len(text.rstrip())
        if not stripped.endswith(")"):
            raise ExpressionError("the expression does not end with ); the whole value must be one @( ... )", end)
        source, base = text[start + 1:end], start + 1
    else:
        # the inner source alone: parenthesised, so it may span lines
        source, base = "(" + text + "\n)", -1
    if not source[1:-1].strip():
        raise ExpressionError("the expression is empty", max(base, 0))
    return source, base


class _Positions:
    """Maps (line, column) of the parsed source to a 0-based offset in the whole text."""

    def __init__(self, source: str, base: int, length: int):
        self.lines = re.split(r"\r\n|\r|\n", source)
        self.starts = [0]
        for match in re.finditer(r"\r\n|\r|\n", source):
            self.starts.append(match.end())
        self.base, self.length = base, length

    def offset(self, lineno, column: int, in_bytes: bool = True) -> int:
        if not lineno or lineno > len(self.lines):
            return self._clamp(self.base)
        line = self.lines[lineno - 1]
        if in_bytes:  # ast columns count UTF-8 bytes
            column = len(line.encode("utf-8", "surrogatepass")[:max(column, 0)].decode("utf-8", "ignore"))
        return self._clamp(self.base + self.starts[lineno - 1] + column)

    def start(self, node) -> int:
        return self.offset(getattr(node, "lineno", None), getattr(node, "col_offset", 0))

    def end(self, node) -> int:
        return self.offset(getattr(node, "end_lineno", None), getattr(node, "end_col_offset", 0))

    def _clamp(self, offset: int) -> int:
        return min(max(offset, 0), self.length)


def _parse(source: str, positions: _Positions):
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        where = positions.offset(exc.lineno, (exc.offset or 1) - 1, in_bytes=False)
        raise ExpressionError(_statement_hint(source) or f"syntax error: {exc.msg}", where) from None
    except (ValueError, MemoryError) as exc:  # null bytes, an integer literal beyond the digit limit
        raise ExpressionError(f"not an expression: {exc}", positions.offset(1, 0)) from None
    _check_closes_at_end(source, positions)
    return tree


def _statement_hint(source: str):
    """'an import is not allowed ...' when the text is a Python statement rather than an expression."""
    try:
        module = ast.parse(source[1:-1].strip(), mode="exec")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    kinds = [type(s).__name__ for s in module.body if not isinstance(s, ast.Expr)]
    if not kinds:
        return None
    what = _STATEMENTS.get(kinds[0], f"a {kinds[0].lower()} statement")
    hint = "to compare, write ==" if kinds[0] == "Assign" else "an expression is one value, not a statement"
    return f"{what} is not allowed in an expression; {hint}"


def _check_closes_at_end(source: str, positions: _Positions) -> None:
    """`@(a) + (b)` is no single @( ... ): the parenthesis opened by @( must be the last one closed."""
    depth = 0
    closed = None
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in (tokenize.NL, tokenize.NEWLINE, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT):
                continue
            if closed is not None:
                raise ExpressionError("the @( ... ) closes before the end of the value; the whole value must"
                                      " be one @( ... )", positions.offset(closed[0], closed[1], in_bytes=False))
            if token.type == tokenize.OP and token.string == "(":
                depth += 1
            elif token.type == tokenize.OP and token.string == ")":
                depth -= 1
                if depth == 0:
                    closed = token.start
    except (tokenize.TokenError, SyntaxError):
        pass  # it parsed, so the tokenizer has nothing to add


class _Validator:
    """Walks the tree; anything not explicitly allowed is an ExpressionError at its place."""

    def __init__(self, positions: _Positions):
        self.positions = positions
        self.constants: dict = {}  # id(node) -> value of a constant subexpression

    def error(self, node, message: str, at: int = None) -> ExpressionError:
        return ExpressionError(message, self.positions.start(node) if at is None else at)

    def check(self, node) -> None:
        visit = getattr(self, "visit_" + type(node).__name__, None)
        if visit is None:
            name = type(node).__name__
            raise self.error(node, _FORBIDDEN.get(name, f"{name} is not allowed in an expression"))
        visit(node)

    def visit_Expression(self, node):
        self.check(node.body)

    def visit_Constant(self, node):
        if isinstance(node.value, bytes):
            raise self.error(node, "bytes literals are not allowed in an expression")
        if node.value is Ellipsis or isinstance(node.value, complex):
            raise self.error(node, f"the literal {node.value!r} is not allowed in an expression")

    def visit_Name(self, node):
        if node.id == "context" or node.id in CONSTANT_NAMES:
            return
        if node.id in HELPERS:
            raise self.error(node, f"{node.id} can only be called here, as in {node.id}(...)")
        raise self.error(node, f"name {node.id!r} is not defined; names available: {', '.join(NAMES)}")

    def visit_Attribute(self, node):
        self._check_attribute(node)
        self.check(node.value)

    def _check_attribute(self, node):
        if not attribute_allowed(node.attr):
            raise self.error(node, _attribute_refusal(node.attr), self.positions.end(node) - len(node.attr))

    def visit_Subscript(self, node):
        self.check(node.value)
        self.check(node.slice)

    def visit_Slice(self, node):
        for part in (node.lower, node.upper, node.step):
            if part is not None:
                self.check(part)

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Name):
            if func.id not in HELPERS:
                self.check(func)  # an unknown name says so; context and true/false/null are no functions
                raise self.error(func, f"{func.id} cannot be called; the helpers are {', '.join(HELPERS)}")
        elif isinstance(func, ast.Attribute):
            self._check_attribute(func)
            if func.attr not in METHODS:
                raise self.error(func, f"calling {func.attr!r} is not allowed in an expression; methods that may"
                                 f" be called: {', '.join(sorted(METHODS))}",
                                 self.positions.end(func) - len(func.attr))
            self.check(func.value)
        else:
            raise self.error(func, f"only the helpers ({', '.join(HELPERS)}) and allowed methods may be called")
        for arg in node.args:
            self.check(arg)
        for keyword in node.keywords:
            if keyword.arg is None:
                raise self.error(keyword.value, "unpacking with ** is not allowed in an expression")
            if keyword.arg == "key":
                raise self.error(keyword, "key= is not allowed in an expression (it would call a function on"
                                 " every item)")
            self.check(keyword.value)

    def visit_Compare(self, node):
        operands = [node.left] + node.comparators
        for index, op in enumerate(node.ops):
            if not isinstance(op, _COMPARISONS):
                raise self.error(node, f"{type(op).__name__} is not allowed in an expression")
            if isinstance(op, (ast.Is, ast.IsNot)) and not any(
                    _is_singleton(side) for side in operands[index:index + 2]):
                raise self.error(operands[index + 1], "`is` compares only with None, True or False; use ==")
        for operand in operands:
            self.check(operand)

    def visit_BoolOp(self, node):
        for value in node.values:
            self.check(value)

    def visit_UnaryOp(self, node):
        if not isinstance(node.op, _UNARY):
            raise self.error(node, f"the {_OPERATOR_TEXT.get(type(node.op), '?')} operator is not allowed in"
                             f" an expression")
        self.check(node.operand)

    def visit_BinOp(self, node):
        if not isinstance(node.op, _ARITHMETIC):
            symbol = _OPERATOR_TEXT.get(type(node.op), "?")
            hint = "; use `and`/`or` for logic" if symbol in ("|", "&") else ""
            raise self.error(node, f"the {symbol} operator is not allowed in an expression{hint}")
        self.check(node.left)
        self.check(node.right)
        if isinstance(node.left, ast.Constant) and isinstance(node.left.value, str) and isinstance(node.op, ast.Mod):
            raise self.error(node, "% does not format text in an expression; use an f-string")
        self._fold(node)

    def _fold(self, node):
        """Evaluate an operation on constants now, so `"a" * 10**9` or `1 / 0` fails at load."""
        left, right = self._constant(node.left), self._constant(node.right)
        if left is _UNKNOWN or right is _UNKNOWN:
            return
        operation = _GUARDS.get(type(node.op)) or _PLAIN[type(node.op)]
        try:
            self.constants[id(node)] = operation(left, right)
        except Exception as exc:  # noqa: BLE001 - any failure of constants is the operator's mistake
            raise self.error(node, f"this part fails for every request: {exc or type(exc).__name__}") from None

    def _constant(self, node):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [self._constant(item) for item in node.elts]
            return _UNKNOWN if any(item is _UNKNOWN for item in items) else (items if isinstance(node, ast.List) else tuple(items))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self._constant(node.operand)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return -value if isinstance(node.op, ast.USub) else value
        return self.constants.get(id(node), _UNKNOWN)

    def visit_IfExp(self, node):
        for part in (node.test, node.body, node.orelse):
            self.check(part)

    def visit_List(self, node):
        for item in node.elts:
            self.check(item)

    visit_Tuple = visit_Set = visit_List

    def visit_Dict(self, node):
        for key, value in zip(node.keys, node.values):
            if key is None:
                raise self.error(value, "unpacking with ** is not allowed in an expression")
            self.check(key)
            self.check(value)

    def visit_JoinedStr(self, node):
        for value in node.values:
            self.check(value)

    def visit_FormattedValue(self, node):
        self.check(node.value)
        spec = node.format_spec
        if spec is None:
            return
        if not all(isinstance(part, ast.Constant) and isinstance(part.value, str) for part in spec.values):
            raise self.error(spec, "a format spec in an f-string must be constant text, like {x:>8}")
        text = "".join(part.value for part in spec.values)
        if not _FORMAT_SPEC.match(text):
            raise self.error(spec, f"format spec {text!r} is not allowed (width and precision have at most 3"
                             f" digits)")


class _Unknown:
    __slots__ = ()


_UNKNOWN = _Unknown()
_PLAIN = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Div: lambda a, b: a / b,
          ast.FloorDiv: lambda a, b: a // b}


def _is_singleton(node) -> bool:
    if isinstance(node, ast.Constant):
        return node.value is None or isinstance(node.value, bool)
    return isinstance(node, ast.Name) and node.id in CONSTANT_NAMES


class _Rewriter(ast.NodeTransformer):
    """Turns the checked tree into the one that runs: constant names, guarded *, ** and %, join, replace."""

    def visit_Name(self, node):
        if node.id in CONSTANT_NAMES:
            return ast.copy_location(ast.Constant(CONSTANT_NAMES[node.id]), node)
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        guard = _GUARDS.get(type(node.op))
        if guard is None:
            return node
        call = ast.Call(ast.Name(guard.__name__, ast.Load()), [node.left, node.right], [])
        return ast.copy_location(call, node)

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _GUARDED_METHODS:
            guard = ast.Name(_GUARDED_METHODS[func.attr], ast.Load())
            return ast.copy_location(ast.Call(guard, [func.value] + node.args, node.keywords), node)
        return node


__all__ = [
    "Expression", "ExpressionError", "ExpressionEvaluationFailure", "compile_expression", "compile_value",
    "is_dynamic", "is_expression", "evaluate", "attribute_allowed", "failure_detail", "SAFE_GLOBALS", "HELPERS",
    "CONSTANT_NAMES", "NAMES", "METHODS", "MAX_SIZE",
]
