"""simulate_cell end to end on hand-made electrodes; BPX export; CLI errors."""

import json
import pickle

import pytest

pybamm = pytest.importorskip("pybamm")

from cell.cellkit import cell_recipe, chen_products, electrode, finished  # noqa: E402
from twinline.cell import CellPerformance  # noqa: E402
from twinline.chain import simulate_cell  # noqa: E402
from twinline.spec.errors import CellError  # noqa: E402

KEYS = {"c_rates", "capacity_Ah", "energy_Wh", "specific_energy_Wh_per_kg",
        "energy_density_Wh_per_L", "n_p_ratio", "electrolyte_volume_mL", "wetting_time_s",
        "first_cycle_efficiency"}


@pytest.fixture(scope="module")
def perf() -> CellPerformance:
    return simulate_cell(cell_recipe(), chen_products(), c_rates=(0.5, 1, 2))


@pytest.mark.slow
def test_summary_has_the_agreed_keys_in_c_rate_order(perf):
    s = perf.summary()
    assert KEYS <= set(s)
    assert s["c_rates"] == [0.5, 1.0, 2.0]
    assert len(s["capacity_Ah"]) == len(s["energy_Wh"]) == 3
    assert s["capacity_Ah"][0] > s["capacity_Ah"][1] > s["capacity_Ah"][2] > 0
    # energy = ∫V I dt ≈ capacity × mean voltage (3-4.2 V window)
    for q, e in zip(s["capacity_Ah"], s["energy_Wh"], strict=True):
        assert 3.0 < e / q < 4.2
    assert s["n_p_ratio"] == pytest.approx(1.1)
    assert 0.8 < s["first_cycle_efficiency"] <= 1.0


@pytest.mark.slow
def test_energy_density_uses_the_whole_mass_and_volume(perf):
    assert perf.specific_energy == pytest.approx(perf.energy[0] / perf.mass)
    assert perf.energy_density == pytest.approx(perf.energy[0] / (perf.volume * 1e3))
    masses = perf.design["masses"]
    assert masses["electrolyte"] == pytest.approx(perf.filling["electrolyte_mass"])
    assert perf.mass == pytest.approx(sum(masses.values()))
    assert 50 < perf.specific_energy < 350  # W h/kg, the range of Li-ion pouch cells


@pytest.mark.slow
def test_formation_loss_reduces_cyclable_lithium(perf):
    fo = perf.formation
    assert fo["sei_lithium_loss"] > 0
    assert 0 < fo["sei_lithium_loss_fraction"] < 0.3
    assert perf.internal_resistance > 0


@pytest.mark.slow
def test_result_round_trips_through_pickle_and_json(perf):
    again = pickle.loads(pickle.dumps(perf))
    assert again.summary() == perf.summary()
    text = json.dumps(perf.to_dict(), default=float)
    assert json.loads(text)["c_rates"] == [0.5, 1.0, 2.0]
    # the electrochemical model reports its own catalogue output only (SI); the cell steps'
    # outputs (electrolyte quantity ...) are reported by the steps
    out = perf.outputs()
    assert out == {"formation.internal_resistance": (perf.internal_resistance, "ohm")}
    from twinline.chain.outputs import display_unit
    from twinline.process import filling
    from twinline.spec.catalogue import catalogue

    for pid in out:
        catalogue().get(pid)  # every reported id exists
    si = filling.OUTPUTS["filling.electrolyte_quantity"].si_unit
    assert display_unit("filling.electrolyte_quantity", si)[0] == "mL"


@pytest.mark.slow
def test_bpx_export_validates_and_reloads_in_pybamm(perf):
    pytest.importorskip("bpx")
    from twinline.cell.bpx import export_bpx

    doc = json.loads(export_bpx(perf))
    pv = pybamm.ParameterValues.create_from_bpx_obj(doc)
    assert pv["Positive electrode thickness [m]"] == pytest.approx(
        perf.parameters["Positive electrode thickness [m]"])
    pv["Current function [A]"] = perf.nominal_capacity
    sol = pybamm.Simulation(pybamm.lithium_ion.SPM(), parameter_values=pv).solve([0, 300])
    assert sol["Voltage [V]"].entries[0] > 3.5


def test_missing_anode_or_bad_c_rate_is_refused():
    r = cell_recipe()
    with pytest.raises(CellError, match="finished anode"):
        simulate_cell(r, {"cathode": chen_products()["cathode"]})
    with pytest.raises(CellError, match="C-rate -1"):
        simulate_cell(r, chen_products(), c_rates=(-1.0,))


def test_impossible_n_p_names_value_and_range():
    p = chen_products()
    p["anode"]["finished"] = finished(electrode("negative", capacity_mah_cm2=3.0))
    with pytest.raises(CellError, match=r"n_p_ratio = 0.750 is outside .*\[1, 2\]"):
        simulate_cell(cell_recipe(), p)


def test_coin_too_large_for_the_case_is_refused():
    r = cell_recipe({"format": "coin", "cathode_diameter": "17 mm"})
    with pytest.raises(CellError, match="CR2032"):
        simulate_cell(r, chen_products())


@pytest.mark.slow
def test_report_figures_have_units_and_one_curve_per_c_rate(perf):
    pytest.importorskip("plotly")
    from twinline.report.cell_figures import cell_figures, cell_section

    figs = cell_figures(perf.to_dict())
    assert len(figs[0].data) == 3
    assert figs[0].layout.xaxis.title.text == "discharge capacity [A h]"
    assert figs[0].layout.yaxis.title.text == "voltage [V]"
    html = cell_section(perf)
    assert "specific energy [W h/kg]" in html and "<h2>Cell</h2>" in html
    # with an imbibition curve the wetting figure appears
    d = perf.to_dict()
    d["filling"]["saturation_curve"] = {"pressure_Pa": [2e5, 1e5], "saturation": [0.2, 0.9]}
    assert len(cell_figures(d)) == 3
