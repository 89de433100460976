"""Formation with PyBaMM's SEI model: calibration point, temperature and C-rate trends,
self-discharge screening, sets without SEI data (twinline.cell.formation → form)."""

import pytest

pytest.importorskip("pybamm")

from cell.cellkit import filled_cell
from twinline.cell.formation import sei_growth, simulate_sei
from twinline.materials import builtin_library
from twinline.process.formation import SEIGrowth, form
from twinline.spec.cell_recipe import FormationSection

SET = "Chen2020"
LIB = builtin_library()  # graphite: first_cycle_efficiency 0.9


@pytest.fixture(scope="module")
def filled():
    return filled_cell(LIB)


def _section(**kw):
    return FormationSection().model_copy(update=kw)


def _form(filled, section, *, parameter_set=SET, capacity=5.0, lib=LIB, seed=0):
    sei = sei_growth(parameter_set, section)
    assert isinstance(sei, SEIGrowth)
    return form(section, filled, lib, sei=sei, capacity=capacity,
                lithium_inventory=1.1 * capacity, ocv_slope=0.5 / capacity, seed=seed)


def test_reference_protocol_reproduces_the_material_efficiency(filled):
    res = _form(filled, _section())
    assert res.sei_growth_ratio == pytest.approx(1.0, abs=1e-12)
    assert res.first_cycle_efficiency == pytest.approx(0.9, abs=1e-9)
    assert res.sei_lithium_loss == pytest.approx(0.5, rel=1e-9)
    assert res.sei_lithium_loss_mol == pytest.approx(0.5 * 3600 / 96485.33212)
    # 2 × 10 h (C/10, full window) + 1 h rest + 0.5 h degassing
    assert res.formation_time == pytest.approx(21.5 * 3600)
    assert res.sei_thickness > 1e-9  # grew from the 1 nm native film
    assert res.replaced["SEI growth activation energy [J.mol-1]"] == pytest.approx(38e3)


def test_higher_temperature_grows_more_sei(filled):
    cold = simulate_sei(SET, c_rate=0.1, temperature=288.15, window=1.0, rest_time=0.0)
    warm = simulate_sei(SET, c_rate=0.1, temperature=318.15, window=1.0, rest_time=0.0)
    assert warm["loss"] > 1.2 * cold["loss"]
    hot = _form(filled, _section(temperature=318.15))
    assert hot.first_cycle_efficiency < 0.9 and hot.sei_growth_ratio > 1


def test_faster_formation_is_shorter_and_grows_less_sei(filled):
    slow = _form(filled, _section(c_rate=0.05))
    fast = _form(filled, _section(c_rate=0.5))
    assert fast.formation_time < slow.formation_time
    assert fast.sei_lithium_loss < slow.sei_lithium_loss
    assert fast.sei_growth_ratio < 1 < slow.sei_growth_ratio


def test_screening_flags_more_cells_at_a_tighter_threshold(filled):
    loose = _form(filled, _section(self_discharge_threshold=1e-6), seed=3)
    tight = _form(filled, _section(self_discharge_threshold=1e-12), seed=3)
    assert loose.flagged_fraction < tight.flagged_fraction == 1.0
    again = _form(filled, _section(self_discharge_threshold=1e-6), seed=3)
    assert again.flagged == loose.flagged


def test_a_set_without_sei_data_borrows_pybamms_default_sei_parameters(filled):
    lib = LIB.with_properties("graphite", {"first_cycle_efficiency": 0.96}, source="test")
    res = _form(filled, _section(), parameter_set="Prada2013", capacity=2.0, lib=lib)
    assert res.first_cycle_efficiency == pytest.approx(0.96)
    assert "SEI solvent diffusivity [m2.s-1]" in res.replaced
