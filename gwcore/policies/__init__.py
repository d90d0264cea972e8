"""Registry of policy schemas by APIM name; one module per policy registers itself here."""
import importlib
import pkgutil

from gwcore.policies.base import PolicyConfig

REGISTRY: dict = {}


def policy(name: str, **options):
    """Class decorator: register a PolicyConfig subclass under its APIM name."""

    def register(cls):
        if name in REGISTRY:
            raise RuntimeError(f"policy {name!r} registered twice")
        cls.policy_name = name
        for key, value in options.items():
            setattr(cls, key, value)
        REGISTRY[name] = cls
        return cls

    return register


def load_all() -> dict:
    """Import every policy module once so all schemas are registered; returns the registry."""
    if not getattr(load_all, "done", False):
        for info in pkgutil.iter_modules(__path__):
            if info.name != "base":
                importlib.import_module(f"{__name__}.{info.name}")
        load_all.done = True
    return REGISTRY


def known_names() -> list:
    return sorted(load_all())


__all__ = ["REGISTRY", "PolicyConfig", "policy", "load_all", "known_names"]
