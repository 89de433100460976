"""Cell design: N/P ratio, areas, mass/volume budget, format fit, refusals."""

import math

import pytest

from cell.cellkit import chen_products, electrode
from twinline.materials import builtin_library
from twinline.process.cell_design import check_n_p, design_cell, n_p_ratio
from twinline.spec.cell_recipe import CellSection
from twinline.spec.errors import CellError

LIB = builtin_library()


def _design(**cell):
    p = chen_products()
    return design_cell(CellSection().model_copy(update=cell), p["cathode"]["calendered"],
                       p["anode"]["calendered"], LIB)


def test_n_p_ratio_is_the_areal_capacity_ratio():
    d = _design()
    assert d.n_p_ratio == pytest.approx(4.4 / 4.0, rel=1e-12)
    assert n_p_ratio(2.0, 2.0) == 1.0


@pytest.mark.parametrize("ratio", [0.8, 2.5])
def test_impossible_n_p_is_refused_with_value_and_range(ratio):
    with pytest.raises(CellError, match=r"n_p_ratio = .* outside the accepted range \[1, 2\]"):
        check_n_p(ratio, 1.0, 2.0)
    p = chen_products()
    ano = electrode("negative", thickness=85.2e-6, porosity=0.25, am_fraction=0.75,
                    radius=5.86e-6, capacity_mah_cm2=4.0 * ratio)
    with pytest.raises(CellError, match="n_p_ratio"):
        design_cell(CellSection(), p["cathode"]["calendered"], ano, LIB)


def test_pouch_areas_layers_and_pore_volume():
    d = _design(layers=10, cathode_length=0.1, cathode_width=0.05, overhang=1e-3,
                separator_overhang=2e-3)
    assert d.electrode_pair_area == pytest.approx(2 * 10 * 0.1 * 0.05)
    assert d.anode.sheet_area == pytest.approx(0.102 * 0.052)
    assert d.anode.sheets == 11 and d.cathode.coated_faces == 20
    # pore volume of the cathode coatings = faces · area · thickness · porosity
    assert d.pore_volume["cathode"] == pytest.approx(20 * 0.005 * 75.6e-6 * 0.335)
    sep = LIB["PE"]
    assert d.pore_volume["separator"] == pytest.approx(
        20 * 0.106 * 0.056 * sep["thickness"] * sep["porosity"])
    assert d.electrode_height * d.electrode_width == pytest.approx(d.electrode_pair_area)


def test_mass_budget_adds_up_and_scales_with_layers():
    d10, d20 = _design(layers=10), _design(layers=20)
    assert d10.mass == pytest.approx(sum(d10.masses.values()))
    coat = d20.masses["cathode_coating"] / d10.masses["cathode_coating"]
    assert coat == pytest.approx(2.0)
    assert d20.cell_volume > d10.cell_volume
    assert all(v >= 0 for v in d10.masses.values())


def test_coin_that_does_not_fit_the_case_is_refused():
    with pytest.raises(CellError, match="larger than the CR2032"):
        _design(format="coin", cathode_diameter=0.016)
    d = _design(format="coin", cathode_diameter=0.012, overhang=5e-4, separator_overhang=5e-4)
    assert d.electrode_pair_area == pytest.approx(math.pi * 0.012 ** 2 / 4)


def test_jelly_roll_that_does_not_fit_the_can_is_refused():
    with pytest.raises(CellError, match="jelly roll"):
        _design(format="cylindrical", can="18650", cathode_length=2.0, cathode_width=0.055)
    with pytest.raises(CellError, match="usable height"):
        _design(format="cylindrical", can="18650", cathode_length=0.5, cathode_width=0.07)
    d = _design(format="cylindrical", can="18650", cathode_length=0.6, cathode_width=0.05)
    assert d.stack_thickness < 17.5e-3


def test_unusual_but_accepted_n_p_gives_a_validity_warning():
    from twinline.spec.errors import ValidityWarning

    p = chen_products()
    ano = electrode("negative", thickness=85.2e-6, porosity=0.25, am_fraction=0.75,
                    radius=5.86e-6, capacity_mah_cm2=6.0)
    with pytest.warns(ValidityWarning, match="n_p_ratio = 1.5"):
        d = design_cell(CellSection(), p["cathode"]["calendered"], ano, LIB)
    assert d.n_p_ratio == pytest.approx(1.5)
