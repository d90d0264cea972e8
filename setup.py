"""Build: compiles the Cython fast path when it can, else installs the pure-Python twin."""
import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

PACKAGES = [
    "gwcore", "gwcore.config", "gwcore.policies", "gwcore.pipeline",
    "gwcore.upstream", "gwcore.observability", "gwcore.state", "gwcore.tls",
    "gwcore.workers", "gwcore.supervisor",
]
PACKAGE_DIR = {"gwcore.workers": "workers", "gwcore.supervisor": "supervisor"}
CYTHON_MODULES = ["gwcore._fastpath", "gwcore.state._shm"]


def say_pure(reason):
    print(f"pure-Python build ({reason})", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """A failed compile must not fail the install: the Python twin serves instead."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # no compiler, missing headers, ...
            say_pure(f"extensions not built: {exc}")

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            say_pure(f"{ext.name} not built: {exc}")


def extensions():
    if os.environ.get("GW_NO_EXTENSIONS"):
        say_pure("GW_NO_EXTENSIONS is set")
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        say_pure("Cython is not installed")
        return []
    sources = [name.replace(".", "/") + ".pyx" for name in CYTHON_MODULES]
    sources = [s for s in sources if os.path.exists(s)]
    return cythonize(sources, language_level=3, quiet=True,
                     compiler_directives={"boundscheck": False, "wraparound": False})


setup(
    packages=[p for p in PACKAGES if os.path.isdir(PACKAGE_DIR.get(p, p.replace(".", "/")))],
    package_dir=PACKAGE_DIR,
    package_data={"gwcore": ["*.pyx", "state/*.pyx", "state/lua/*.lua"]},
    ext_modules=extensions(),
    cmdclass={"build_ext": OptionalBuildExt},
)
