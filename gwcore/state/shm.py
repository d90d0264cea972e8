"""Chooses the shared-memory table: the compiled C twin unless GW_NO_EXTENSIONS is set or it is missing."""
import os

IMPLEMENTATION = "py"
if not os.environ.get("GW_NO_EXTENSIONS"):
    try:
        from gwcore.state._shm import *  # noqa: F401,F403
        from gwcore.state._shm import __all__  # noqa: F401
        IMPLEMENTATION = "c"
    except ImportError:
        pass
if IMPLEMENTATION == "py":
    from gwcore.state._shm_py import *  # noqa: F401,F403
    from gwcore.state._shm_py import __all__  # noqa: F401
