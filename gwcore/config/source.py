"""Reads a YAML or JSON config file into plain data plus the line/column of every node."""
import yaml

from gwcore.config.errors import ConfigError, Problem


class Source:
    """Plain data of one config file and a map from node path to (line, column), 1-based."""

    def __init__(self, file: str, data, marks: dict):
        self.file = file
        self.data = data
        self.marks = marks
        self.origins: dict = {}  # path -> "environment GWCORE_..." for values not from the file
        self.unresolved: set = set()  # paths of values with a {{name}} that could not be resolved

    def problem(self, path, message: str) -> Problem:
        """A Problem at the deepest node of `path` that exists in the file."""
        path = tuple(path)
        for end in range(len(path), 0, -1):
            origin = self.origins.get(path[:end])
            if origin is not None:
                return Problem(self.file, 0, 0, path, f"{message} (set by {origin})")
        for end in range(len(path), -1, -1):
            where = self.marks.get(path[:end])
            if where is not None:
                return Problem(self.file, where[0], where[1], path, message)
        return Problem(self.file, 1, 1, path, message)


def read_source(file: str) -> Source:
    """Parse `file` (YAML; JSON is read by the same parser) keeping node positions."""
    try:
        with open(file, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise ConfigError([Problem(file, 1, 1, (), f"cannot read the file: {exc.strerror}")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError([Problem(file, line, column, (), "not UTF-8 text (the file must be saved as UTF-8)")])
    return parse_source(text, file)


def parse_source(text: str, file: str = "<string>") -> Source:
    try:
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            # JSON indented with tabs: YAML refuses tabs between tokens, JSON allows them and
            # never has a raw tab inside a string, so one space each keeps every position.
            if "\t" not in text or not text.lstrip().startswith(("{", "[")):
                raise
            node = yaml.compose(text.replace("\t", " "), Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([Problem(file, line, col, (), f"not valid YAML/JSON: {reason}")])
    if node is None:
        return Source(file, {}, {(): (1, 1)})
    marks: dict = {}
    problems: list = []
    data = _build(node, (), marks, problems, file)
    if problems:
        raise ConfigError(problems)
    return Source(file, data, marks)


def _build(node, path, marks, problems, file):
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if isinstance(key, (dict, list)) or not isinstance(key_node, yaml.ScalarNode):
                problems.append(Problem(file, key_node.start_mark.line + 1,
                                        key_node.start_mark.column + 1, path, "a key must be a plain value"))
                continue
            if key == "<<":
                problems.append(Problem(file, key_node.start_mark.line + 1,
                                        key_node.start_mark.column + 1, path, "YAML merge keys are not supported"))
                continue
            if key in out:
                problems.append(Problem(file, key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                                        path + (key,), "duplicate key (the file names it twice)"))
                continue
            out[key] = _build(value_node, path + (key,), marks, problems, file)
            # point at the key, where an operator looks for the entry
            marks[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), marks, problems, file) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node):
    """A scalar's value with YAML 1.1 resolution, as yaml.safe_load gives it."""
    return yaml.SafeLoader.construct_object(_CONSTRUCTOR, node, deep=True)


class _Constructor(yaml.SafeLoader):
    def __init__(self):  # no stream: used only to construct scalars of composed nodes
        yaml.constructor.SafeConstructor.__init__(self)


_CONSTRUCTOR = _Constructor()
