"""Formation with PyBaMM's SEI model: calibration point, temperature and C-rate trends,
self-discharge screening."""

import pytest

pytest.importorskip("pybamm")

from twinline.process.formation import form, simulate_sei
from twinline.spec.cell_recipe import FormationSection
from twinline.spec.errors import CellError

SET = "Chen2020"


def _section(**kw):
    return FormationSection().model_copy(update=kw)


def test_reference_protocol_reproduces_the_material_efficiency():
    res = form(_section(), parameter_set=SET, capacity=5.0, first_cycle_efficiency=0.9)
    assert res.first_cycle_efficiency == pytest.approx(0.9, abs=1e-9)
    assert res.sei_lithium_loss == pytest.approx(0.5, rel=1e-9)
    assert res.sei_lithium_loss_mol == pytest.approx(0.5 * 3600 / 96485.33212)
    # 2 × 10 h (C/10, full window) + 1 h rest + 0.5 h degassing
    assert res.formation_time == pytest.approx(21.5 * 3600)


def test_higher_temperature_grows_more_sei():
    cold = simulate_sei(SET, c_rate=0.1, temperature=288.15, window=1.0, rest_time=0.0)
    warm = simulate_sei(SET, c_rate=0.1, temperature=318.15, window=1.0, rest_time=0.0)
    assert warm["loss"] > 1.2 * cold["loss"]
    hot = form(_section(temperature=318.15), parameter_set=SET, capacity=5.0,
               first_cycle_efficiency=0.9)
    assert hot.first_cycle_efficiency < 0.9 and hot.sei_growth_ratio > 1


def test_faster_formation_is_shorter_and_grows_less_sei():
    slow = form(_section(c_rate=0.05), parameter_set=SET, capacity=5.0,
                first_cycle_efficiency=0.9)
    fast = form(_section(c_rate=0.5), parameter_set=SET, capacity=5.0,
                first_cycle_efficiency=0.9)
    assert fast.formation_time < slow.formation_time
    assert fast.sei_lithium_loss < slow.sei_lithium_loss


def test_screening_flags_more_cells_at_a_tighter_threshold():
    loose = form(_section(self_discharge_threshold=1e-6), parameter_set=SET, capacity=5.0,
                 first_cycle_efficiency=0.9, seed=3)
    tight = form(_section(self_discharge_threshold=1e-12), parameter_set=SET, capacity=5.0,
                 first_cycle_efficiency=0.9, seed=3)
    assert loose.flagged_fraction < tight.flagged_fraction == 1.0
    again = form(_section(self_discharge_threshold=1e-6), parameter_set=SET, capacity=5.0,
                 first_cycle_efficiency=0.9, seed=3)
    assert again.flagged == loose.flagged


def test_bad_inputs_are_refused():
    with pytest.raises(CellError, match="capacity > 0"):
        form(_section(), parameter_set=SET, capacity=0.0, first_cycle_efficiency=0.9)
    with pytest.raises(CellError, match="first_cycle_efficiency"):
        form(_section(), parameter_set=SET, capacity=1.0, first_cycle_efficiency=1.5)


def test_a_set_without_sei_data_borrows_pybamms_default_sei_parameters():
    res = form(_section(), parameter_set="Prada2013", capacity=2.0, first_cycle_efficiency=0.96)
    assert res.first_cycle_efficiency == pytest.approx(0.96)
    assert "SEI solvent diffusivity [m2.s-1]" in res.replaced
