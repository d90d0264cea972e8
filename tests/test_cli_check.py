"""`gwcore check --config FILE` and `gwcore version`, run as real subprocesses of the installed package."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

GWCORE = str(Path(sys.executable).parent / "gwcore")
PROBLEM = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+) (?P<path>\S+): (?P<message>.+)$")

VALID = """\
gateway:
  listen: "127.0.0.1:8080"
backends:
  inventory:
    url: "http://127.0.0.1:9000/api"
    timeout: 30s
apis:
  inventory:
    path: inventory/v1
    backend: inventory
    operations:
      - {id: list-items, method: GET, url_template: /items}
      - {id: get-item, method: GET, url_template: "/items/{id}"}
products:
  starter:
    apis: [inventory]
subscriptions:
  alice:
    scope: product:starter
    primary_key: "0123456789abcdef0123"
policies:
  backend:
    - forward-request: {timeout: 30}
"""

# Three different mistakes; each marked line is where its problem must be reported.
THREE_MISTAKES = """\
gateway:
  listen: "127.0.0.1:8080"
  colour: blue                  # <- unknown key
backends:
  inventory:
    url: "http://127.0.0.1:9000/api"
    timeout: 30 parsecs         # <- bad duration
apis:
  inventory:
    path: inventory/v1
    backend: warehouse          # <- missing backend
"""


def run(*args, env=None):
    return subprocess.run([GWCORE, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def marked_lines(text: str) -> list:
    return [n for n, line in enumerate(text.splitlines(), 1) if "# <-" in line]


def problems_of(stderr: str) -> list:
    """The FILE:LINE:COL lines of stderr, parsed; every other line is the closing summary."""
    lines = stderr.strip().splitlines()
    return [PROBLEM.match(line).groupdict() for line in lines[:-1]]


def test_valid_config_exits_0_with_one_line_summary(write_config):
    path = write_config(VALID)
    result = run("check", "--config", path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(path)
    assert "valid" in lines[0]
    assert "1 APIs, 2 operations, 1 products, 1 subscriptions, 1 backends" in lines[0]


def test_three_mistakes_each_reported_at_its_line(write_config):
    path = write_config(THREE_MISTAKES)
    result = run("check", "--config", path)
    assert result.returncode == 1
    assert result.stdout == ""
    found = problems_of(result.stderr)
    assert len(found) == 3, result.stderr
    assert {p["file"] for p in found} == {path}
    assert [int(p["line"]) for p in found] == marked_lines(THREE_MISTAKES)
    unknown, duration, backend = found
    assert (unknown["path"], unknown["col"]) == ("gateway.colour", "3")
    assert unknown["message"].startswith("unknown key")
    assert "listen" in unknown["message"] and "workers" in unknown["message"]
    assert (duration["path"], duration["col"]) == ("backends.inventory.timeout", "5")
    assert "not a duration" in duration["message"]
    assert (backend["path"], backend["col"]) == ("apis.inventory.backend", "5")
    assert "'warehouse' is not defined in backends" in backend["message"]
    # the invalid backend still counts as defined: no cascade of "defined: none"
    assert "defined: inventory" in backend["message"]
    assert result.stderr.strip().splitlines()[-1] == f"{path}: invalid, 3 problems"


def test_yaml_syntax_error_is_located(write_config):
    path = write_config("apis:\n  inventory:\n    path: inventory\n   backend: x\n")
    result = run("check", "--config", path)
    assert result.returncode == 1
    (problem,) = problems_of(result.stderr)
    assert (problem["file"], problem["line"], problem["col"]) == (path, "4", "4")
    assert problem["message"].startswith("not valid YAML/JSON")


def test_duplicate_key_is_located(write_config):
    path = write_config("backends:\n  b: {url: 'http://h'}\n  b: {url: 'http://i'}\n")
    result = run("check", "--config", path)
    assert result.returncode == 1
    (problem,) = problems_of(result.stderr)
    assert (problem["line"], problem["col"], problem["path"]) == ("3", "3", "backends.b")
    assert "duplicate key" in problem["message"]


def test_missing_file(tmp_path):
    path = str(tmp_path / "nowhere.yaml")
    result = run("check", "--config", path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert f"{path}:1:1" in result.stderr
    assert "cannot read the file: No such file or directory" in result.stderr


def json_config(extra_key: bool) -> str:
    put = {"id": "put", "method": "PUT", "url_template": "/x"}
    if extra_key:
        put["colour"] = "red"
    return json.dumps({
        "backends": {"b": {"url": "http://127.0.0.1:9000"}},
        "apis": {"a": {"path": "a", "backend": "b", "operations": [
            {"id": "get", "method": "GET", "url_template": "/x"}, put]}},
    }, indent=2)


def test_json_config_valid(write_config):
    result = run("check", "--config", write_config(json_config(False), name="good.json"))
    assert result.returncode == 0, result.stderr
    assert "1 APIs, 2 operations" in result.stdout


def test_json_config_problem_has_its_line(write_config):
    text = json_config(True)
    path = write_config(text, name="bad.json")
    result = run("check", "--config", path)
    assert result.returncode == 1
    (problem,) = problems_of(result.stderr)
    line = next(n for n, l in enumerate(text.splitlines(), 1) if '"colour"' in l)
    assert (problem["file"], int(problem["line"]), problem["col"]) == (path, line, "11")
    assert problem["path"] == "apis.a.operations[1].colour"
    assert problem["message"] == "unknown key; known keys: id, method, policies, responses, url_template"


def test_json_indented_with_tabs(write_config):
    text = json.dumps({"apis": {"a": {"path": "a", "revision": "first"}}}, indent="\t")
    result = run("check", "--config", write_config(text, name="tabs.json"))
    assert result.returncode == 1
    (problem,) = problems_of(result.stderr)
    # positions count a tab as one column, as an editor's "go to line:col" does
    assert (problem["line"], problem["col"], problem["path"]) == ("5", "4", "apis.a.revision")


@pytest.mark.parametrize("argv", [[GWCORE, "version"], [sys.executable, "-m", "gwcore", "version"]])
def test_version(argv):
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    match = re.fullmatch(r"gwcore (\d+)\.(\d+)\.(\d+) fastpath=(c|py) python=(\d+)\.(\d+)\n", result.stdout)
    assert match, result.stdout
    assert match.group(5, 6) == (str(sys.version_info[0]), str(sys.version_info[1]))
    import gwcore
    assert result.stdout.split()[1] == gwcore.__version__


def test_version_pure_fast_path():
    env = {**os.environ, "GW_NO_EXTENSIONS": "1"}
    result = subprocess.run([sys.executable, "-m", "gwcore", "version"], capture_output=True, text=True,
                            timeout=60, env=env)
    assert result.returncode == 0
    assert " fastpath=py " in result.stdout
