"""Recipe material checks: existence, kind, polarity, binder/solvent compatibility."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from twinline.materials import builtin_library
from twinline.materials.check import check_recipe_materials, recipe_library
from twinline.spec.errors import RecipeError
from twinline.spec.recipe import load_recipe, parse_recipe

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def base() -> dict:
    return yaml.safe_load((EXAMPLES / "nmc111_cathode.yaml").read_text("utf-8"))


def _check(data):
    return check_recipe_materials(parse_recipe(data, "t.yaml"), builtin_library())


RECIPES = sorted(p for p in EXAMPLES.glob("*.yaml")
                 if {"cathode", "anode"} & set(yaml.safe_load(p.read_text("utf-8")) or {}))


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_examples_pass(path):
    r = load_recipe(path)
    notes = check_recipe_materials(r, recipe_library(r))
    assert len(notes) >= len(r.electrodes())


@pytest.mark.parametrize("path, value, message", [
    (("formulation", "active_material", "material"), "NMC999",
     r"cathode\.formulation\.active_material\.material: unknown material 'NMC999'"),
    (("formulation", "active_material", "material"), "PVDF", "is a binder, expected a"),
    (("formulation", "active_material", "material"), "graphite", "a cathode needs a positive"),
    (("formulation", "binder", "material"), "C65", "is a conductive_additive"),
    (("formulation", "solvent"), "LP30", "is a electrolyte, expected a solvent"),
    (("formulation", "binder", "material"), "CMC-SBR", "processed in 'water'"),
    (("current_collector",), "Alu", "did you mean 'Al'"),
])
def test_bad_materials_name_the_parameter(base, path, value, message):
    data = copy.deepcopy(base)
    node = data["cathode"]
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    with pytest.raises(RecipeError, match=message):
        _check(data)


def test_recipe_materials_files_are_relative_to_the_recipe(tmp_path, base):
    (tmp_path / "mats.yaml").write_text(
        "materials:\n  NMC111-B:\n    kind: active_material\n    properties:\n"
        "      polarity: positive\n      density: 4.7 g/cm^3\n")
    data = copy.deepcopy(base)
    data["materials_files"] = ["mats.yaml"]
    data["cathode"]["formulation"]["active_material"]["material"] = "NMC111-B"
    f = tmp_path / "r.yaml"
    f.write_text(yaml.safe_dump(data))
    r = load_recipe(f)
    lib = recipe_library(r)
    assert "NMC111-B" in check_recipe_materials(r, lib)[0]
    with pytest.raises(RecipeError, match="unknown material 'NMC111-B'"):
        check_recipe_materials(r, builtin_library())
