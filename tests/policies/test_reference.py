"""docs/policies.md is generated from the schemas and kept current; every schema field is documented."""
from pathlib import Path

import pytest

from gwcore.policies import load_all
from gwcore.policies.reference import describe, render

DOCS = Path(__file__).resolve().parents[2] / "docs" / "policies.md"
POLICY_MODULES = sorted(cls.__module__.rsplit(".", 1)[1] for cls in load_all().values())


def test_docs_are_current():
    assert DOCS.read_text() == render(), "regenerate: python -m gwcore.policies.reference > docs/policies.md"


def test_every_policy_has_a_section_and_a_table():
    text = render()
    for name, cls in load_all().items():
        assert f"\n## {name}\n" in text
        for field_name, field in cls.model_fields.items():
            if name != "choose":
                assert f"| `{field.alias or field_name}` |" in text


@pytest.mark.parametrize("name", sorted(load_all()))
def test_every_field_has_a_description_and_the_class_a_summary(name):
    cls = load_all()[name]
    assert (cls.__doc__ or "").strip(), f"{name} needs a class docstring (its summary)"
    missing = [f for f, info in cls.model_fields.items() if not info.description]
    assert not missing, f"{name}: fields without description: {missing}"


@pytest.mark.parametrize("module", POLICY_MODULES)
def test_every_policy_module_has_its_test_file(module):
    assert (Path(__file__).parent / f"test_{module}.py").exists()


def test_describe_names_types():
    cls = load_all()["rate-limit"]
    assert describe(cls.model_fields["calls"].annotation, cls.model_fields["calls"].metadata) == "integer ≥ 1"
    forward = load_all()["forward-request"].model_fields["timeout"]
    assert describe(forward.annotation, forward.metadata) == "seconds"
