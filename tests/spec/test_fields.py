"""The typed field description per recipe path (spec/fields.py) and the catalogue's
resolution parsed once."""

from __future__ import annotations

import math

import pytest

from twinline.spec.catalogue import Parameter, catalogue
from twinline.spec.errors import RecipeError
from twinline.spec.fields import field_at, field_spec, recipe_fields, recipe_sections
from twinline.spec.quantity import SIRange
from twinline.spec.recipe import CalenderingSection, CoatingSection, DryingZone, Recipe


def test_field_spec_of_a_quantity_reads_the_structured_range():
    spec = field_spec(CoatingSection, "gap")
    assert spec is not None
    assert (spec.unit, spec.low, spec.high) == ("m", 0.0, 2e-3)
    assert (spec.low_closed, spec.high_closed) == (False, True)
    assert spec.range_text == "(0, 0.002] m"
    assert spec.catalogue_id == "coating.gap"
    assert spec.resolution == "± 1 µm" and spec.resolution_si == pytest.approx(1e-6)
    assert spec.path == "*.coating.gap" and spec.default is None and not spec.required


def test_field_spec_of_a_non_quantity_is_none():
    assert field_spec(CoatingSection, "method") is None
    assert field_spec(CoatingSection, "no_such_field") is None


def test_alias_and_temperature_resolution_in_si():
    zone = field_spec(DryingZone, "temperature")
    assert zone.required and zone.unit == "K" and zone.resolution_si == pytest.approx(0.5)
    roll = field_spec(CalenderingSection, "roll_temperature")
    assert roll.catalogue_id == "calendering.temperature" and roll.default == 298.15


def test_recipe_fields_cover_every_numeric_path_once():
    paths = [f.path for f in recipe_fields()]
    assert len(paths) == len(set(paths))
    for p in ("cathode.coating.gap", "anode.calendering.line_load",
              "cathode.drying.zones.*.temperature", "cathode.formulation.binder.mass_fraction",
              "cell.overhang", "filling.temperature", "formation.c_rate"):
        assert p in paths
    assert "cell.layers" not in paths  # an integer count, not a quantity
    assert all(f.low <= f.high for f in recipe_fields())


def test_range_text_in_the_schema_is_generated_from_the_structured_range():
    # the JSON schema's x-range is what SIRange.text() says, for every quantity field
    for name, cls in recipe_sections().items():
        props = cls.model_json_schema()["properties"]
        for fname in cls.model_fields:
            spec = field_spec(cls, fname)
            if spec is None:
                continue
            alts = [props[fname], *props[fname].get("anyOf", [])]
            assert any(a.get("x-range") == spec.range_text for a in alts), (name, fname)


def test_field_at_concrete_paths_and_errors():
    assert field_at("anode.drying.zones.3.temperature").unit == "K"
    assert field_at("cathode.mixing.solid_content").unit == ""
    with pytest.raises(RecipeError, match=r"choose from \[.*'gap'"):
        field_at("cathode.coating.gapp")
    with pytest.raises(RecipeError, match=r"zones\.<index>"):
        field_at("cathode.drying.zones.x.temperature")
    assert "Recipe" in recipe_sections() and recipe_sections()["Recipe"] is Recipe


def test_si_range_contains():
    r = SIRange.from_bounds("K", None, 273.15, None, 400.0)
    assert r.contains(300.0) and not r.contains(273.15) and not r.contains(math.nan)
    assert r.text() == "(273.15, 400) K"


@pytest.mark.parametrize(("text", "unit", "absolute", "relative"), [
    ("± 0.05 m/min", "m/min", 0.05 / 60, None),
    ("±1 °C, Humidity < 1.0 %", "degC", 1.0, None),
    ("± 0.5 μm", "um", 0.5e-6, None),
    ("± 10 %", "", 0.1, None),
    ("± 2 %", "N", None, 0.02),
    ("mbar", "mbar", None, None),
    ("min", "h", None, None),
    ("± 150 µm to ± 250 µm", "m/min", None, None),
    ("", "um", None, None),
])
def test_resolution_parsed_once_when_the_row_is_built(text, unit, absolute, relative):
    p = Parameter(id="coating.x", step="coating", name="x", category="MP", unit=unit,
                  resolution=text)
    if absolute is None:
        assert p.resolution_si is None
    else:
        assert p.resolution_si == pytest.approx(absolute, rel=1e-12)
    assert p.resolution_relative == relative


def test_catalogue_rows_carry_their_resolution():
    cat = catalogue()
    assert cat["drying.temperature"].resolution_si == pytest.approx(0.5)
    assert cat["coating.speed"].resolution_si == pytest.approx(0.05 / 60)
    assert cat["post_drying.pressure"].resolution_si is None  # a bare unit
