"""The Redis backend's Lua scripts (gwcore/state/lua/*.lua): source and SHA1, for SCRIPT LOAD then EVALSHA."""
import hashlib
from importlib import resources


class Script:
    """One Lua file; `sha` is what EVALSHA names it by."""

    def __init__(self, name: str):
        self.name = name
        self.source = (resources.files("gwcore.state") / "lua" / f"{name}.lua").read_bytes()
        self.sha = hashlib.sha1(self.source).hexdigest()


SLIDING_WINDOW = Script("sliding_window")
QUOTA = Script("quota")
ALL = (SLIDING_WINDOW, QUOTA)
SOURCE_BY_SHA = {script.sha: script.source for script in ALL}
