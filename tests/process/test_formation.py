"""Formation step (pure numpy): efficiency and loss arithmetic, self-discharge screening,
determinism, refusals. The PyBaMM SEI simulation it is given is tested in
tests/cell/test_formation.py."""

import itertools
import math

import numpy as np
import pytest

from cell.cellkit import filled_cell
from twinline.materials import builtin_library
from twinline.process.formation import (
    DEGASSING_TIME,
    FARADAY,
    STORAGE_VOLTAGE,
    SEIGrowth,
    form,
)
from twinline.process.products import FormedCell
from twinline.spec.cell_recipe import FormationSection
from twinline.spec.errors import CellError, MaterialError

LIB = builtin_library()
#: SEI growth of the reference protocol (ratio 1); rate and thickness of the order PyBaMM's
#: Chen2020 set gives (6.3e-9 s⁻¹, 1.9 nm).
REF = SEIGrowth(growth_ratio=1.0, loss_rate_per_capacity=6.3e-9, thickness=1.9e-9,
                replaced={"Initial SEI thickness [m]": 1e-9})
Q, Q_LI, SLOPE = 5.0, 5.5, 0.1  # A h, A h, V per A h


@pytest.fixture(scope="module")
def filled():
    return filled_cell(LIB)


def _section(**kw):
    return FormationSection().model_copy(update=kw)


def _form(filled, section=None, *, sei=REF, lib=LIB, capacity=Q, seed=0):
    return form(section or _section(), filled, lib, sei=sei, capacity=capacity,
                lithium_inventory=Q_LI, ocv_slope=SLOPE, seed=seed)


def test_the_anode_material_sets_the_efficiency(filled):
    assert filled.cell.anode.composition.active_material == "graphite"
    assert LIB["graphite"]["first_cycle_efficiency"] == pytest.approx(0.9)


def test_reference_protocol_reproduces_the_material_efficiency(filled):
    res = _form(filled)
    assert isinstance(res, FormedCell) and res.filled is filled
    assert res.first_cycle_efficiency == pytest.approx(0.9, abs=1e-9)
    assert res.sei_lithium_loss == pytest.approx(0.5, rel=1e-9)
    assert res.initial_capacity_loss == pytest.approx(0.1, rel=1e-9)
    assert res.sei_lithium_loss_mol == pytest.approx(0.5 * 3600 / 96485.33212)
    assert res.sei_lithium_loss_fraction == pytest.approx(0.5 / Q_LI)
    # 2 × 10 h (C/10, full window) + 1 h rest + 0.5 h degassing
    assert res.formation_time == pytest.approx(21.5 * 3600)
    assert res.sei_growth_ratio == 1.0 and res.sei_thickness == REF.thickness
    assert res.replaced == REF.replaced
    assert FARADAY == pytest.approx(96485.33212)


def test_more_sei_growth_lowers_efficiency_and_costs_more_lithium(filled):
    # the growth ratio (from PyBaMM: warmer, slower) scales the loss over the reference
    hot = _form(filled, sei=SEIGrowth(1.5, REF.loss_rate_per_capacity, REF.thickness))
    assert hot.first_cycle_efficiency == pytest.approx(1 - 0.1 * 1.5)
    assert hot.sei_lithium_loss == pytest.approx(0.75)
    cold = _form(filled, sei=SEIGrowth(0.5, REF.loss_rate_per_capacity, REF.thickness))
    assert cold.first_cycle_efficiency > 0.9 > hot.first_cycle_efficiency
    # a partial window: CE_1 = 1 - (1-η1) r / ΔSOC, loss not scaled by the window
    half = _form(filled, _section(soc_min=0.2, soc_max=0.7))
    assert half.first_cycle_efficiency == pytest.approx(1 - 0.1 / 0.5)
    assert half.sei_lithium_loss == pytest.approx(0.5)
    # more cycles: the SEI keeps growing with sqrt(time)
    three = _form(filled, _section(cycles=3))
    assert three.sei_lithium_loss == pytest.approx(0.5 * math.sqrt(3))
    assert three.first_cycle_efficiency == pytest.approx(0.9)


def test_the_loss_is_capped_at_99_percent_of_the_charge(filled):
    res = _form(filled, _section(soc_min=0.0, soc_max=0.05),
                sei=SEIGrowth(3.0, REF.loss_rate_per_capacity, REF.thickness))
    assert res.sei_lithium_loss == pytest.approx(0.99 * Q * 0.05)


def test_faster_formation_is_shorter(filled):
    slow, fast = _form(filled, _section(c_rate=0.05)), _form(filled, _section(c_rate=0.5))
    assert fast.formation_time < slow.formation_time
    assert slow.formation_time == pytest.approx(2 * 20 * 3600 + 3600 + DEGASSING_TIME)
    no_gas = _form(filled, _section(degassing=False))
    assert _form(filled).formation_time - no_gas.formation_time == pytest.approx(DEGASSING_TIME)


def test_screening_flags_more_cells_at_a_tighter_threshold(filled):
    loose = _form(filled, _section(self_discharge_threshold=1e-6), seed=3)
    tight = _form(filled, _section(self_discharge_threshold=1e-12), seed=3)
    assert loose.flagged_fraction < tight.flagged_fraction == 1.0
    again = _form(filled, _section(self_discharge_threshold=1e-6), seed=3)
    assert again.flagged == loose.flagged
    # monotone in the threshold, and the flags are exactly the cells over it
    fractions = []
    for thr in np.geomspace(1e-10, 1e-7, 7):
        res = _form(filled, _section(self_discharge_threshold=float(thr)), seed=3)
        rates = np.asarray(res.ocv_decay_rates)
        assert res.flagged == tuple(int(i) for i in np.flatnonzero(rates > thr))
        assert res.flagged_fraction == pytest.approx(len(res.flagged) / rates.size)
        fractions.append(res.flagged_fraction)
    assert all(a >= b for a, b in itertools.pairwise(fractions))
    assert fractions[0] == 1.0 and fractions[-1] == 0.0


def test_decay_rates_follow_sei_current_and_leakage(filled):
    section = _section(leakage_spread=0.0, screened_cells=5)
    res = _form(filled, section)
    i_sei = REF.loss_rate_per_capacity * Q * 3600.0
    expected = (i_sei + STORAGE_VOLTAGE / section.leakage_resistance) * SLOPE / 3600.0
    assert np.allclose(res.ocv_decay_rates, expected, rtol=1e-12)
    no_sei = _form(filled, section, sei=SEIGrowth(1.0, 0.0, REF.thickness))
    assert max(no_sei.ocv_decay_rates) < min(res.ocv_decay_rates)


def test_same_seed_same_population_and_another_seed_another(filled):
    a, b = _form(filled, seed=7), _form(filled, seed=7)
    assert a == b
    c = _form(filled, seed=8)
    assert a.ocv_decay_rates != c.ocv_decay_rates
    assert len(a.ocv_decay_rates) == _section().screened_cells


def test_bad_inputs_are_refused(filled):
    with pytest.raises(CellError, match="capacity > 0"):
        _form(filled, capacity=0.0)
    bad = LIB.with_properties("graphite", {"first_cycle_efficiency": 1.5}, source="test")
    with pytest.raises(CellError, match="first_cycle_efficiency"):
        _form(filled, lib=bad)


def test_a_missing_first_cycle_efficiency_is_an_error_not_a_default(filled):
    from dataclasses import replace

    from twinline.materials import MaterialLibrary

    graphite = LIB["graphite"]
    props = {k: v for k, v in graphite.properties.items() if k != "first_cycle_efficiency"}
    lib = LIB.merged(MaterialLibrary({"graphite": replace(graphite, properties=props)}))
    with pytest.raises(MaterialError, match="first_cycle_efficiency"):
        _form(filled, lib=lib)
