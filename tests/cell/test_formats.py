"""Cell formats (issue 17 part 1): real cylindrical cans, prismatic cans, the flat jelly
roll, refusals in one line."""

import math

import pytest

from cell.cellkit import chen_products
from twinline.materials import builtin_library
from twinline.process.cell_design import (
    CANS,
    PRISMATIC_CANS,
    design_cell,
    flat_roll_thickness,
)
from twinline.spec.cell_recipe import CellSection
from twinline.spec.errors import CellError

LIB = builtin_library()

#: measured inner diameters [mm] (batterydesign.net, "Cylindrical cell electrode estimation")
MEASURED_ID = {"18650": (17.44, 17.56), "21700": (20.32, 20.56), "4680": (44.8, 45.0)}


def _design(**cell):
    p = chen_products()
    return design_cell(
        CellSection().model_copy(update=cell),
        p["cathode"]["calendered"],
        p["anode"]["calendered"],
        LIB,
    )


def test_can_table_holds_the_common_sizes_with_their_real_dimensions():
    assert set(CANS) == {"18650", "21700", "26650", "4680"}
    for name, can in CANS.items():
        # the name is the outer size: diameter in mm, then the height in tenths of mm
        # (18650 = 65.0 mm) or, for the 4-digit 4680, in mm
        assert can["diameter"] * 1e3 == pytest.approx(int(name[:2]), abs=0.35)
        height_mm = int(name[2:]) / 10 if len(name) == 5 else int(name[2:])
        assert can["height"] * 1e3 == pytest.approx(height_mm, abs=1e-9)
        # the inside is the outside less two walls (within 0.1 mm)
        assert can["inner_diameter"] <= can["diameter"] - 2 * can["wall"] + 1e-4
        assert can["inner_height"] < can["height"]
    for name, (lo, hi) in MEASURED_ID.items():
        assert lo <= CANS[name]["inner_diameter"] * 1e3 <= hi


def test_the_m50_strip_fits_a_21700_and_not_an_18650():
    m50 = dict(
        format="cylindrical",
        cathode_length=0.79,
        cathode_width=0.065,
        overhang=0.5e-3,
        separator_overhang=0.75e-3,
        mandrel_diameter=2e-3,
    )
    d = _design(can="21700", **m50)
    assert d.stack_thickness < CANS["21700"]["inner_diameter"]
    assert d.dimensions == {
        "diameter": CANS["21700"]["diameter"],
        "height": CANS["21700"]["height"],
    }
    with pytest.raises(CellError) as err:
        _design(can="18650", **m50)
    assert "18650" in str(err.value) and "\n" not in str(err.value)


def test_flat_roll_thickness_solves_the_stadium_area():
    h, t = 0.08, 0.02
    area = (h - t) * t + math.pi * t**2 / 4
    assert flat_roll_thickness(area, h) == pytest.approx(t, rel=1e-12)
    # a round roll (T = h) is the largest cross-section the height holds
    assert flat_roll_thickness(math.pi * h**2 / 4 * 1.01, h) == math.inf


def test_prismatic_cell_is_a_flat_wound_strip_in_an_aluminium_can():
    d = _design(
        format="prismatic",
        prismatic_can="PHEV2",
        cathode_length=4.0,
        cathode_width=0.12,
        overhang=1e-3,
        separator_overhang=1.5e-3,
    )
    can = PRISMATIC_CANS["PHEV2"]
    assert d.electrode_pair_area == pytest.approx(2 * 4.0 * 0.12)
    assert d.stack_thickness < can["thickness"] - 2 * can["wall"]
    assert d.cell_volume == pytest.approx(can["length"] * can["thickness"] * can["height"])
    # aluminium can: 2700 kg/m3 x wall x surface
    surface = 2 * (
        can["length"] * can["thickness"]
        + can["length"] * can["height"]
        + can["thickness"] * can["height"]
    )
    assert d.masses["casing"] == pytest.approx(2700 * can["wall"] * surface)
    # a longer strip is a thicker roll
    assert (
        _design(format="prismatic", cathode_length=5.0, cathode_width=0.12).stack_thickness
        > d.stack_thickness
    )


@pytest.mark.parametrize(
    "cell, words",
    [
        (
            dict(
                format="prismatic", prismatic_can="PHEV2", cathode_length=20.0, cathode_width=0.12
            ),
            ("cathode_length", "PHEV2"),
        ),
        (
            dict(format="prismatic", prismatic_can="PHEV2", cathode_length=2.0, cathode_width=0.14),
            ("cathode_width", "usable length"),
        ),
    ],
)
def test_prismatic_misfits_are_refused_in_one_line(cell, words):
    with pytest.raises(CellError) as err:
        _design(**cell)
    msg = str(err.value)
    assert all(w in msg for w in words) and "\n" not in msg


def test_an_unknown_prismatic_can_is_a_recipe_error():
    from twinline.spec.errors import RecipeError
    from twinline.spec.recipe import parse_recipe

    with pytest.raises(RecipeError) as err:
        parse_recipe({"cell": {"format": "prismatic", "prismatic_can": "BEV9"}})
    assert "prismatic_can" in str(err.value)
