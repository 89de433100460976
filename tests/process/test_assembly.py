"""Stochastic stacking: analytic limit, trends, reproducibility."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cell.cellkit import electrode_pair
from twinline.materials import builtin_library
from twinline.process.assembly import assemble, pair_scrap_probability, worst_overhang
from twinline.process.products import Cell
from twinline.spec.cell_recipe import CellSection
from twinline.spec.errors import CellError

LIB = builtin_library()
PAIR = electrode_pair()  # Chen2020-like coatings, N/P = 1.1


def _section(fmt="pouch", layers=10, overhang=1e-3, sigma=4e-4, min_overhang=0.0):
    geometry = {"pouch": {"cathode_length": 0.1, "cathode_width": 0.05},
                "cylindrical": {"can": "18650", "cathode_length": 0.6, "cathode_width": 0.05},
                "coin": {"cathode_diameter": 0.012, "separator_overhang": 5e-4}}[fmt]
    return CellSection().model_copy(update={
        "format": fmt, "layers": layers, "overhang": overhang, "stacking_tolerance": sigma,
        "min_overhang": min_overhang, **geometry})


def _assemble(section, **kw):
    return assemble(section, PAIR, LIB, **kw)


def test_single_pair_matches_the_analytic_probability():
    # wound cell: one pair, one axis -> P = erfc((o - o_min)/(2σ)), MC within 3 std errors
    res = _assemble(_section("cylindrical", overhang=1e-3, sigma=4e-4), seed=1, samples=40000)
    exact = pair_scrap_probability(1e-3, 0.0, 4e-4)
    assert exact == pytest.approx(math.erfc(1e-3 / (2 * 4e-4)))
    assert abs(res.scrap_probability - exact) < 3 * math.sqrt(exact * (1 - exact) / 40000)
    assert res.scrap_probability_std == pytest.approx(
        math.sqrt(res.scrap_probability * (1 - res.scrap_probability) / 40000))
    assert res.samples == 40000


def test_no_placement_error_means_no_scrap_and_exact_overhang():
    for fmt in ("pouch", "cylindrical", "coin"):
        res = _assemble(_section(fmt, sigma=0.0), seed=0)
        assert res.scrap_probability == 0.0, fmt
        assert res.worst_overhang_mean == pytest.approx(1e-3), fmt
        assert res.worst_overhang_p01 == pytest.approx(1e-3), fmt


def test_more_layers_and_larger_errors_scrap_more():
    p = [_assemble(_section(layers=n), seed=2).scrap_probability for n in (2, 10, 40)]
    assert p[0] < p[1] < p[2]
    q = [_assemble(_section(sigma=s), seed=2).scrap_probability for s in (1e-4, 3e-4, 6e-4)]
    assert q[0] <= q[1] < q[2]


def test_same_seed_same_result_and_stack_weight_excludes_casing():
    a = _assemble(_section(), seed=5)
    b = _assemble(_section(), seed=5)
    assert isinstance(a, Cell)
    assert a == b
    m = a.design.masses
    # electrodes, foils, separator (and tabs): neither the casing nor the electrolyte
    assert a.stack_weight == pytest.approx(
        m["cathode_coating"] + m["anode_coating"] + m["cathode_foil"] + m["anode_foil"]
        + m["separator"] + m["tabs"])
    assert m["casing"] > 0
    assert a.design.dry_mass - a.stack_weight == pytest.approx(m["casing"])
    # the step lays the cell out itself: N/P and the electrodes come from the pair
    assert a.n_p_ratio == pytest.approx(1.1)
    assert a.cathode == PAIR.cathode.electrode and a.anode == PAIR.anode.electrode
    assert (a.separator, a.electrolyte) == (_section().separator, _section().electrolyte)


def test_a_different_seed_gives_a_different_sample():
    a = _assemble(_section(), seed=5)
    c = _assemble(_section(), seed=6)
    assert a.worst_overhang_mean != c.worst_overhang_mean


def test_too_few_samples_refused():
    with pytest.raises(CellError, match="samples"):
        _assemble(_section(), samples=10)


def test_impossible_n_p_is_refused_by_the_step():
    from cell.cellkit import chen_anode, electrode

    pair = electrode_pair(electrode("positive"), chen_anode(capacity_mah_cm2=3.0))
    with pytest.raises(CellError, match=r"n_p_ratio = 0.750"):
        assemble(_section(), pair, LIB)


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["pouch", "coin", "cylindrical"]), st.integers(1, 30),
       st.floats(0.0, 2e-3), st.floats(1e-5, 1e-3))
def test_worst_overhang_never_exceeds_the_nominal(fmt, layers, overhang, sigma):
    w = worst_overhang(fmt, layers, overhang, sigma, samples=200,
                       rng=np.random.default_rng(0))
    assert np.all(w <= overhang + 1e-15)
