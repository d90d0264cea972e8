"""Chooses the fast path: the compiled C twin unless GW_NO_EXTENSIONS is set or it is missing."""
import os

IMPLEMENTATION = "py"
if not os.environ.get("GW_NO_EXTENSIONS"):
    try:
        from gwcore._fastpath import *  # noqa: F401,F403
        from gwcore._fastpath import __all__  # noqa: F401
        IMPLEMENTATION = "c"
    except ImportError:
        pass
if IMPLEMENTATION == "py":
    from gwcore._fastpath_py import *  # noqa: F401,F403
    from gwcore._fastpath_py import __all__  # noqa: F401
