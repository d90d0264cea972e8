"""Config: schema, loading (YAML/JSON), validation with located errors, compiling to a Plan."""
from gwcore.config.errors import ConfigError, Problem
from gwcore.config.loader import load_plan
from gwcore.config.plan import Plan

__all__ = ["ConfigError", "Problem", "Plan", "load_plan"]
