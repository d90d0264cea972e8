"""The per-request modules with a .pxd beside them are compiled in a C build and run as source in a
pure one (setup.py COMPILED), and behave alike: fields are declared, so a misspelt one fails."""
import os
import subprocess
import sys

import pytest

from gwcore import fastpath

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE_DIRS = {"gwcore": "gwcore", "gwcore.workers": "workers"}


def modules_with_pxd() -> list:
    """Import names of the .py modules that have a .pxd beside them in the source tree."""
    found = []
    for package, folder in PACKAGE_DIRS.items():
        for here, _, files in os.walk(os.path.join(ROOT, folder)):
            for name in files:
                stem, ext = os.path.splitext(name)
                if ext == ".pxd" and stem + ".py" in files:
                    sub = os.path.relpath(here, os.path.join(ROOT, folder)).replace(os.sep, ".")
                    found.append(".".join(p for p in (package, "" if sub == "." else sub, stem) if p))
    return sorted(found)


def test_the_per_request_modules_have_their_pxd():
    names = modules_with_pxd()
    for expected in ("gwcore.workers.exchange", "gwcore.workers.protocol", "gwcore.upstream.connection",
                     "gwcore.pipeline.runner", "gwcore.pipeline.context", "gwcore.observability.metrics"):
        assert expected in names


@pytest.mark.parametrize("name", modules_with_pxd())
def test_compiled_exactly_when_the_fast_path_is(name, tmp_path):
    # each imported first, in an interpreter of its own: a compiled module imports the modules
    # of the types it names at once, so an import cycle fails here whatever order the suite has
    done = subprocess.run([sys.executable, "-c", f"import {name} as m; print(m.__file__)"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    path = done.stdout.strip()
    if fastpath.IMPLEMENTATION == "c":
        assert path.endswith(".so"), f"{name} was not compiled: {path}"
    else:
        assert path.endswith(".py"), f"{name} is compiled in a pure build: {path}"


def test_fields_are_declared_in_both_builds():
    from gwcore.pipeline.context import Headers
    from gwcore.workers.flow_control import FlowControl

    flow = FlowControl(None)
    with pytest.raises(AttributeError):
        flow.reason = 1        # the field is `reasons`
    headers = Headers([])
    with pytest.raises(AttributeError):
        headers.items_ = []
