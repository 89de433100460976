"""PyBaMM electrochemistry: equality with PyBaMM called directly, one build for all
geometries, literature trends, refusals."""

from types import SimpleNamespace

import numpy as np
import pytest

pybamm = pytest.importorskip("pybamm")

from cell.cellkit import chen_products  # noqa: E402
from twinline.cell import cell_inputs  # noqa: E402
from twinline.cell import electrochemistry as ec  # noqa: E402
from twinline.spec.errors import CellError  # noqa: E402
from twinline.structure.closed_forms import bruggeman_tortuosity_factor  # noqa: E402

SET = "Chen2020"
Q_NOM = 5.0  # A h, Chen2020's nominal capacity (1 C = 5 A)


@pytest.fixture(scope="module")
def built():
    return ec.built_simulation("DFN", SET)


@pytest.fixture(scope="module")
def direct():
    """PyBaMM called directly on the built-in set (Bruggeman 1.5), 1 C and 2 C."""
    out = {}
    for c in (1.0, 2.0):
        pv = pybamm.ParameterValues(SET)
        pv["Current function [A]"] = c * Q_NOM
        sol = pybamm.Simulation(pybamm.lithium_ion.DFN(), parameter_values=pv).solve(
            [0, 3600 / c * 1.3])
        out[c] = (sol["Discharge capacity [A.h]"].entries, sol["Voltage [V]"].entries)
    return out


def _chen_inputs(**cathode_changes):
    """Inputs built by twinline from electrodes set equal to Chen2020's."""
    p = chen_products(**cathode_changes)
    design = SimpleNamespace(separator_thickness=12e-6, separator_porosity=0.47,
                             electrode_height=0.065, electrode_width=1.58)
    sep = {"macmullin_number": 0.47 ** -1.5}  # N_M = τ/ε with Bruggeman τ = ε^-0.5
    inp, src = cell_inputs(design, p["cathode"]["calendered"], p["anode"]["calendered"], sep)
    base = ec.base_parameter_values(SET)
    for d in ("negative", "positive"):
        name = f"Initial concentration in {d} electrode [mol.m-3]"
        inp[name] = float(base[name])
    return inp, src


def _assert_curves_match(a, b, rel):
    qa, va = a
    qb, vb = b
    assert qa[-1] == pytest.approx(qb[-1], rel=rel)
    grid = np.linspace(0.02, 0.98, 50) * min(qa[-1], qb[-1])
    diff = np.interp(grid, qa, va) - np.interp(grid, qb, vb)
    assert np.max(np.abs(diff) / np.interp(grid, qb, vb)) < rel


@pytest.mark.slow
def test_chain_outputs_equal_to_chen2020_match_pybamm_directly(built, direct):
    inp, src = _chen_inputs()
    assert src == "bruggeman"
    for c in (1.0, 2.0):
        d = ec.discharge(built, inp, c, Q_NOM)
        _assert_curves_match((np.array(d.capacity_curve), np.array(d.voltage)), direct[c],
                             rel=5e-3)


@pytest.mark.slow
def test_thickness_change_is_an_input_and_equals_a_rebuild(built):
    inp, _ = _chen_inputs(thickness=95e-6)
    d = ec.discharge(built, inp, 1.0, Q_NOM)
    pv = pybamm.ParameterValues(SET)
    pv.update({"Positive electrode thickness [m]": 95e-6, "Current function [A]": Q_NOM})
    sol = pybamm.Simulation(pybamm.lithium_ion.DFN(), parameter_values=pv).solve([0, 4700])
    ref = (sol["Discharge capacity [A.h]"].entries, sol["Voltage [V]"].entries)
    # same mesh points per domain, so the input model and the rebuild agree closely
    assert d.capacity == pytest.approx(ref[0][-1], rel=1e-3)
    assert ec.built_simulation("DFN", SET) is built  # cached: no rebuild


@pytest.mark.slow
def test_thicker_or_denser_cathodes_lose_more_at_2c(built):
    def retention(**kw):
        # the anode grows with the cathode's capacity (constant N/P); the cell is balanced
        # and 1 C is its own capacity, as simulate_cell does
        inp, _ = _chen_inputs(**kw)
        scale = (inp["Positive electrode thickness [m]"]
                 * inp["Positive electrode active material volume fraction"]) / (75.6e-6 * 0.665)
        inp["Negative electrode thickness [m]"] *= scale
        conc, win, _ = ec.balance(inp, SET)
        inp.update(conc)
        return (ec.discharge(built, inp, 2.0, win["Q"]).capacity
                / ec.discharge(built, inp, 0.5, win["Q"]).capacity)

    base = retention()
    assert retention(thickness=110e-6) < base
    assert retention(porosity=0.25, am_fraction=0.75) < base


@pytest.mark.slow
def test_higher_pore_tortuosity_lowers_2c_capacity(built):
    inp, _ = _chen_inputs()
    q = []
    for tau in (1.7, 3.0, 6.0):
        inp["Positive electrode tortuosity factor (electrolyte)"] = tau
        q.append(ec.discharge(built, inp, 2.0, Q_NOM).capacity)
    assert q[0] > q[1] > q[2]


def test_structure_tortuosity_replaces_bruggeman():
    p = chen_products()
    design = SimpleNamespace(separator_thickness=12e-6, separator_porosity=0.47,
                             electrode_height=0.065, electrode_width=1.58)
    st = SimpleNamespace(tortuosity_factor_pore=3.3, tortuosity_factor_solid=1.2)
    inp, src = cell_inputs(design, p["cathode"]["calendered"], p["anode"]["calendered"],
                           {"macmullin_number": 8.0}, structure=st)
    assert src == "structure"
    assert inp["Positive electrode tortuosity factor (electrolyte)"] == pytest.approx(3.3)
    st_bad = SimpleNamespace(tortuosity_factor_pore=float("inf"), tortuosity_factor_solid=1.2)
    _, src = cell_inputs(design, p["cathode"]["calendered"], p["anode"]["calendered"],
                         {"macmullin_number": 8.0}, structure=st_bad)
    assert src == "bruggeman"


def test_structure_factors_are_rebased_on_the_total_porosity():
    """PyBaMM's B = ε/τ with the total porosity must equal the structure's D_eff/D₀ = φ/τ on
    the resolved pore fraction φ (and (1-ε)/τ_s the solid's (1-φ)/τ_solid)."""
    p = chen_products()
    cathode = p["cathode"]["calendered"]
    design = SimpleNamespace(separator_thickness=12e-6, separator_porosity=0.47,
                             electrode_height=0.065, electrode_width=1.58)
    eps = float(cathode.porosity)
    phi = 0.6 * eps  # the CBD holds the other 40 % of the pores
    st = SimpleNamespace(tortuosity_factor_pore=6.0, tortuosity_factor_solid=1.5, porosity=phi)
    inp, _ = cell_inputs(design, cathode, p["anode"]["calendered"], {"macmullin_number": 8.0},
                         structure=st)
    b_e = eps / inp["Positive electrode tortuosity factor (electrolyte)"]
    b_s = (1 - eps) / inp["Positive electrode tortuosity factor (electrode)"]
    assert b_e == pytest.approx(phi / 6.0, rel=1e-12)
    assert b_s == pytest.approx((1 - phi) / 1.5, rel=1e-12)


def test_bruggeman_limit():
    assert bruggeman_tortuosity_factor(1.0) == 1.0
    assert bruggeman_tortuosity_factor(0.25) == pytest.approx(2.0)


def test_unsolvable_or_impossible_c_rate_gives_a_cell_error(built, monkeypatch):
    inp, _ = _chen_inputs()
    with pytest.raises(CellError, match="C-rate 0"):
        ec.discharge(built, inp, 0.0, Q_NOM)
    with pytest.raises(CellError, match="C-rate 50"):
        ec.discharge(built, inp, 50.0, Q_NOM)

    def boom(*a, **k):
        raise pybamm.SolverError("IDA_CONV_FAIL")

    monkeypatch.setattr(built, "solve", boom)
    with pytest.raises(CellError, match="cannot solve a 3 C discharge"):
        ec.discharge(built, inp, 3.0, Q_NOM)


def test_unknown_model_name_suggests_the_closest():
    with pytest.raises(CellError, match="did you mean 'SPMe'"):
        ec.built_simulation("SPMe2", SET)


@pytest.mark.slow
def test_spm_and_spme_agree_with_dfn_at_low_rate(built):
    inp, _ = _chen_inputs()
    q_dfn = ec.discharge(built, inp, 0.5, Q_NOM).capacity
    for name in ("SPMe", "SPM"):
        q = ec.discharge(ec.built_simulation(name, SET), inp, 0.5, Q_NOM).capacity
        assert q == pytest.approx(q_dfn, rel=0.03), name


def test_lost_lithium_comes_off_the_capacity_one_to_one():
    inp, _ = _chen_inputs()
    _, w0, q0 = ec.balance(inp, SET, lithium_loss=0.0)
    _, w1, q1 = ec.balance(inp, SET, lithium_loss=0.25)
    assert q0 - q1 == pytest.approx(0.25)
    # lithium-limited cell: the usable capacity falls by about the lost lithium
    assert w0["Q"] - w1["Q"] == pytest.approx(0.25, rel=0.15)
    with pytest.raises(CellError, match="cyclable lithium"):
        ec.balance(inp, SET, lithium_loss=1e3)
