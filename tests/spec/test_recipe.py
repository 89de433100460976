"""Recipe loader: the bundled examples, defaults, and every class of bad input."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from twinline.spec.errors import RecipeError
from twinline.spec.recipe import (
    CalenderingSection,
    MixingSection,
    PostDryingSection,
    load_recipe,
    parse_recipe,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NMC111 = EXAMPLES / "nmc111_cathode.yaml"
POUCH = EXAMPLES / "nmc622_graphite_pouch.yaml"


@pytest.fixture
def base() -> dict:
    return yaml.safe_load(NMC111.read_text("utf-8"))


def test_nmc111_example_reproduces_the_artistic_conditions():
    r = load_recipe(NMC111)
    c = r.cathode
    f = c.formulation
    assert (f.active_material.material, f.conductive_additive.material,
            f.binder.material, f.solvent) == ("NMC111", "C65", "PVDF", "NMP")
    assert (f.active_material.mass_fraction, f.conductive_additive.mass_fraction,
            f.binder.mass_fraction) == pytest.approx((0.96, 0.02, 0.02))
    assert c.coating.gap == pytest.approx(300e-6)
    assert c.coating.speed == pytest.approx(0.3 / 60)  # 0.3 m/min, see the example's note
    assert [z.temperature for z in c.drying.zones] == pytest.approx([353.15, 368.15])
    assert [z.length for z in c.drying.zones] == pytest.approx([1.0, 1.0])
    assert c.calendering.roll_temperature == pytest.approx(333.15)
    assert c.calendering.speed == pytest.approx(0.54 / 60)
    assert c.calendering.roll_diameter == pytest.approx(0.25)
    assert c.current_collector_thickness == pytest.approx(22e-6)
    assert r.source_path == str(NMC111)


@pytest.mark.skipif(not POUCH.exists(), reason="full-cell example not written yet")
def test_pouch_example_loads():
    r = load_recipe(POUCH)
    assert r.cathode is not None and r.anode is not None and r.cell is not None


def test_defaults_are_documented_and_used(base):
    del base["cathode"]["mixing"]
    del base["cathode"]["post_drying"]
    r = parse_recipe(base, "t.yaml")
    assert r.cathode.mixing == MixingSection()
    assert r.cathode.post_drying == PostDryingSection()
    for section in (MixingSection, PostDryingSection, CalenderingSection):
        for name, field in section.model_fields.items():
            assert field.description or name in ("model", "method", "atmosphere"), name


def _err(data, origin="bad.yaml") -> str:
    with pytest.raises(RecipeError) as info:
        parse_recipe(data, origin)
    msg = str(info.value)
    assert msg.startswith(origin) and "\n" not in msg
    return msg


def test_wrong_unit(base):
    base["cathode"]["calendering"]["pressure"] = "60 m/s"
    msg = _err(base)
    assert "cathode.calendering.pressure" in msg and "'60 m/s'" in msg and "Pa" in msg


def test_bare_number_where_a_unit_is_needed(base):
    base["cathode"]["coating"]["gap"] = 300
    msg = _err(base)
    assert "cathode.coating.gap" in msg and "has no unit" in msg


@pytest.mark.parametrize("path, value", [
    (("cathode", "mixing", "solid_content"), 1.3),
    (("cathode", "mixing", "solid_content"), "130 %"),
    (("cathode", "formulation", "binder", "mass_fraction"), 1.3),
    (("cathode", "coating", "gap"), "-5 um"),
    (("cathode", "calendering", "roll_temperature"), "500 degC"),
])
def test_out_of_range(base, path, value):
    node = base
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    msg = _err(base)
    assert ".".join(path) in msg and "outside the allowed range" in msg


def test_mass_fractions_must_sum_to_one(base):
    base["cathode"]["formulation"]["binder"]["mass_fraction"] = 0.05
    msg = _err(base)
    assert "cathode.formulation" in msg and "sum to 1.03" in msg


def test_unknown_parameter_is_refused(base):
    base["cathode"]["coating"]["spead"] = "0.3 m/s"
    msg = _err(base)
    assert "cathode.coating.spead" in msg and "unknown parameter 'spead'" in msg


def test_missing_required_parameter(base):
    del base["cathode"]["coating"]["gap"]
    msg = _err(base)
    assert "cathode.coating" in msg and "gap" in msg


def test_no_electrode(base):
    del base["cathode"]
    assert "needs a 'cathode' or an 'anode'" in _err(base)


def test_empty_and_non_mapping():
    assert "empty" in _err(None)
    assert "mapping" in _err(["a", "b"])


def test_files(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(RecipeError, match=r"nope\.yaml: cannot read recipe"):
        load_recipe(missing)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(RecipeError, match=r"empty\.yaml: the recipe is empty"):
        load_recipe(empty)
    broken = tmp_path / "broken.yaml"
    broken.write_text("cathode:\n  coating: [gap: 300 um\n")
    with pytest.raises(RecipeError, match=r"broken\.yaml: malformed YAML at line \d+"):
        load_recipe(broken)


def test_recipe_is_frozen_and_round_trips_through_json(base):
    r = parse_recipe(copy.deepcopy(base))
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError
        r.cathode.coating.speed = 1.0
    again = parse_recipe(yaml.safe_load(r.model_dump_json()))
    assert again.cathode == r.cathode
