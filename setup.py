"""Build: compiles the Cython fast path when it can, else installs the pure-Python twin.

Besides the .pyx twins, the per-request modules are compiled from their own .py source, each
with a .pxd beside it that declares its classes' fields (C struct fields instead of slots) and
the methods called on every request (C calls). Uncompiled, the same .py files run as they are.
"""
import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

PACKAGES = [
    "gwcore", "gwcore.config", "gwcore.policies", "gwcore.pipeline",
    "gwcore.upstream", "gwcore.observability", "gwcore.state", "gwcore.tls",
    "gwcore.workers", "gwcore.supervisor",
]
PACKAGE_DIR = {"gwcore.workers": "workers", "gwcore.supervisor": "supervisor"}
CYTHON_MODULES = ["gwcore._fastpath", "gwcore.state._shm"]
# Python modules compiled with the .pxd beside them; all or none of them (their classes derive
# from each other's, so a compiled one needs its compiled bases).
COMPILED = ["gwcore.pipeline.runner", "gwcore.pipeline.context", "gwcore.pipeline.compiled_steps",
            "gwcore.observability.metrics"]
COMPILED += ["gwcore.upstream." + name for name in ("connection", "balancing", "pool")]
COMPILED += ["gwcore.workers." + name for name in (
    "worker_state", "flow_control", "exchange_state", "forwarding", "responding", "exchange", "protocol")]


def say_pure(reason):
    print(f"pure-Python build ({reason})", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """A failed compile must not fail the install: the Python twin serves instead."""

    def run(self):
        self.failed = set()
        self._drop_stale()
        try:
            super().run()
        except Exception as exc:  # no compiler, missing headers, ...
            say_pure(f"extensions not built: {exc}")
        if self.failed & set(COMPILED):  # none of them, then: see COMPILED
            for name in COMPILED:
                path = self.get_ext_fullpath(name)
                if os.path.exists(path):
                    os.remove(path)

    def _drop_stale(self):
        """A module compiled by an earlier build that is no longer compiled must not ship with this one."""
        built = {self.get_ext_fullpath(ext.name) for ext in self.extensions}
        for here, _, files in os.walk(os.path.join(self.build_lib, "gwcore")):
            for name in files:
                path = os.path.join(here, name)
                if name.endswith(".so") and path not in built:
                    os.remove(path)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            self.failed.add(ext.name)
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
    exts = cythonize(sources, language_level=3, quiet=True,
                     compiler_directives={"boundscheck": False, "wraparound": False})
    # annotation_typing off: the .py files' annotations document, they do not constrain
    exts += cythonize([Extension(name, [_source(name)]) for name in COMPILED], language_level=3, quiet=True,
                      build_dir=os.path.join("build", "cython"), include_path=[".", _pxd_tree()],
                      compiler_directives={"annotation_typing": False})
    return exts


def _pxd_tree():
    """Cython finds a module's .pxd by its import name: workers/ is installed as gwcore.workers,
    so its .pxd files are linked into a tree where they are at gwcore/workers/."""
    root = os.path.join("build", "pxd")
    target = os.path.join(root, "gwcore", "workers")
    os.makedirs(target, exist_ok=True)
    for folder in (os.path.join(root, "gwcore"), target):
        open(os.path.join(folder, "__init__.pxd"), "a").close()
    for name in os.listdir("workers"):
        if name.endswith(".pxd"):
            link = os.path.join(target, name)
            if os.path.lexists(link):
                os.remove(link)
            os.symlink(os.path.abspath(os.path.join("workers", name)), link)
    return root


def _source(module):
    package, _, name = module.rpartition(".")
    return os.path.join(PACKAGE_DIR.get(package, package.replace(".", "/")), name + ".py")


setup(
    packages=[p for p in PACKAGES if os.path.isdir(PACKAGE_DIR.get(p, p.replace(".", "/")))],
    package_dir=PACKAGE_DIR,
    package_data={"gwcore": ["*.pyx", "state/*.pyx", "state/lua/*.lua"]},
    ext_modules=extensions(),
    cmdclass={"build_ext": OptionalBuildExt},
)
