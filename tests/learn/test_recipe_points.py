"""Campaign points written into recipes with units and couplings."""

from __future__ import annotations

from pathlib import Path

import pytest

from twinline.learn.recipe_points import apply_point, recipe_data, si_unit
from twinline.spec.errors import RecipeError
from twinline.spec.recipe import parse_recipe

EXAMPLE = Path(__file__).parents[2] / "examples" / "nmc111_cathode.yaml"


def test_si_units_of_recipe_paths():
    assert si_unit("cathode.calendering.pressure") == "Pa"
    assert si_unit("cathode.coating.gap") == "m"
    assert si_unit("cathode.mixing.solid_content") == ""
    with pytest.raises(RecipeError, match="choose from"):
        si_unit("cathode.calendering.presure")


def test_point_is_applied_with_couplings_and_validated():
    data = recipe_data(EXAMPLE)
    new = parse_recipe(apply_point(data, {
        "cathode.calendering.line_load": 5e4,
        "cathode.formulation.active_material.mass_fraction": 0.93,
        "cathode.drying.zones.1.temperature": 360.0,
        "cathode.coating.gap": 2.5e-4,
        "not_a_recipe_path": 1.0}))
    cal, form = new.cathode.calendering, new.cathode.formulation
    assert cal.line_load == 5e4 and cal.pressure is None
    assert form.active_material.mass_fraction == 0.93
    # CB:PVDF stays 1:1 and the fractions sum to 1
    assert form.conductive_additive.mass_fraction == pytest.approx(0.035)
    assert form.binder.mass_fraction == pytest.approx(0.035)
    assert new.cathode.drying.zones[1].temperature == 360.0
    assert new.cathode.coating.gap == pytest.approx(2.5e-4)
    assert recipe_data(EXAMPLE) == data  # the base is not modified


def test_out_of_range_point_is_refused_by_the_recipe():
    data = apply_point(recipe_data(EXAMPLE), {"cathode.coating.gap": 5e-3})
    with pytest.raises(RecipeError, match="gap"):
        parse_recipe(data)
