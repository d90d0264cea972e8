"""Shared fixtures: free ports, config files, the fast path twins, real redis-server and gateway processes."""
import importlib
import os
import socket

import pytest

from harness import Origin


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _twin(name):
    if name == "py":
        return importlib.import_module("gwcore._fastpath_py")
    try:
        return importlib.import_module("gwcore._fastpath")
    except ImportError:
        if os.environ.get("GW_NO_EXTENSIONS"):
            pytest.skip("C twin not built: pure-Python build (GW_NO_EXTENSIONS=1)")
        raise


@pytest.fixture(params=["py", "c"])
def twin(request):
    """Each fast path implementation in turn, with test ids `py` and `c`."""
    return _twin(request.param)


@pytest.fixture
def write_config(tmp_path):
    """Write YAML text to a file and return its path."""
    def write(text: str, name: str = "gateway.yaml") -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)
    return write


@pytest.fixture(scope="session")
def origin(tmp_path_factory):
    """The recording origin (dataplane/origin.py), shared by every end-to-end test."""
    o = Origin(tmp_path_factory.mktemp("origin"))
    yield o
    o.stop()
