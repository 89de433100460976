"""The process chain: conservation through the steps, outputs keyed by catalogue id, Run."""

import json
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain_recipes import recipe
from twinline.chain import Run, load_run, resolve_materials, run_chain
from twinline.process.products import SlitElectrode, Slurry
from twinline.spec.catalogue import catalogue
from twinline.spec.errors import ProcessError, RecipeError
from twinline.spec.units import to_unit
from twinline.structure.closed_forms import calendered_estimates


@pytest.fixture(scope="module")
def run():
    return run_chain(recipe())


def test_products_of_both_electrodes_in_order(run):
    for electrode in ("cathode", "anode"):
        assert list(run.products[electrode]) == ["slurry", "wet_film", "dry", "calendered",
                                                 "slit", "finished"]
        assert isinstance(run.products[electrode]["slurry"], Slurry)
        assert isinstance(run.products[electrode]["slit"], SlitElectrode)
    assert run.models["anode.calendering"] == "heckel"


@pytest.mark.parametrize("electrode", ["cathode", "anode"])
def test_dry_mass_is_conserved_from_wet_film_to_finished_electrode(run, electrode):
    p = run.products[electrode]
    m = p["wet_film"].areal_loading
    assert p["dry"].areal_loading == pytest.approx(m, rel=1e-12)
    assert p["calendered"].areal_loading == pytest.approx(m, rel=1e-12)
    assert p["finished"].electrode.areal_loading == pytest.approx(m, rel=1e-12)
    # solvent: what is evaporated plus what is left is what was coated
    dry = p["dry"]
    assert dry.solvent_evaporated + dry.residual_solvent == pytest.approx(
        p["wet_film"].solvent_loading, rel=1e-9)


@pytest.mark.parametrize("electrode", ["cathode", "anode"])
def test_solid_volume_is_conserved_by_calendering(run, electrode):
    p = run.products[electrode]
    assert p["calendered"].solid_volume_per_area == pytest.approx(
        p["dry"].solid_volume_per_area, rel=1e-9)
    # and it equals the dry mass over the skeletal density of the solid mix
    comp = p["dry"].composition
    assert p["dry"].solid_volume_per_area == pytest.approx(
        p["dry"].areal_loading / comp.solid_density, rel=1e-6)


@pytest.mark.parametrize("electrode", ["cathode", "anode"])
def test_areal_loading_is_wet_thickness_times_density_times_solid_content(run, electrode):
    w = run.products[electrode]["wet_film"]
    assert w.areal_loading == pytest.approx(
        w.wet_thickness * w.slurry.density * w.slurry.solid_mass_fraction, rel=1e-12)
    out = run.outputs
    expected = to_unit(w.areal_loading, "kg/m^2", out[f"{electrode}.coating.loading"]["unit"])
    assert out[f"{electrode}.coating.loading"]["value"] == pytest.approx(expected, rel=1e-12)


def test_every_output_id_is_in_the_catalogue_with_its_display_unit(run):
    cat = catalogue()
    assert len(run.outputs) >= 2 * 38
    for key, entry in run.outputs.items():
        electrode, pid = key.split(".", 1)
        assert electrode in ("cathode", "anode")
        param = cat.get(pid)  # SpecError if unknown
        assert set(entry) >= {"value", "unit", "std"}
        if param.unit and entry["unit"] != param.unit:
            # only where the catalogue's unit cannot express the SI value
            with pytest.raises(Exception):  # noqa: B017
                to_unit(1.0, entry["unit"], param.unit)


def test_plausible_calendered_cathode(run):
    out = run.outputs
    assert 0.15 < out["cathode.calendering.porosity"]["value"] < 0.45
    thick = to_unit(out["cathode.calendering.thickness"]["value"],
                    out["cathode.calendering.thickness"]["unit"], "um")
    assert 20 < thick < 200
    assert out["cathode.calendering.porosity"]["value"] < out["cathode.drying.porosity"][
        "value"]


def test_structure_estimates_are_bruggeman_and_delesse():
    est = calendered_estimates(0.36, 0.55, 0.09, 2.5e-6, 1.0)
    assert est["tortuosity_factor_pore"] == pytest.approx(0.36 ** -0.5)
    assert est["effective_ionic_conductivity"] == pytest.approx(0.36 ** 1.5)
    assert est["active_surface"] == pytest.approx(3 * 0.55 / 2.5e-6)
    assert est["cc_coverage_am"] + est["cc_coverage_cbd"] == pytest.approx(0.64)


def test_run_round_trips_through_json_and_pickle(run, tmp_path):
    text = run.to_json()
    json.loads(text)  # strict JSON (no NaN)
    back = Run.from_json(text)
    assert back.outputs == run.outputs
    assert back.products["anode"]["calendered"] == run.products["anode"]["calendered"]
    assert back.products["cathode"]["finished"].to_dict() == run.products["cathode"][
        "finished"].to_dict()
    assert pickle.loads(pickle.dumps(run)).outputs == run.outputs
    run.save(tmp_path / "run.json")
    assert load_run(tmp_path / "run.json").citations == run.citations


def test_run_records_inputs_versions_timings_citations(run):
    assert run.inputs["cathode"]["coating"]["method"] == "comma"
    assert {"numpy", "scipy", "twinline", "python"} <= set(run.versions)
    assert run.timings["total"] > 0 and run.timings["cathode.drying"] > 0
    assert {"Meyer2017", "Huttner2020", "Zanotto2022"} <= set(run.citations)


def test_flags_name_electrode_and_step(run):
    # CMC-SBR anode keeps more water than the 300 ppm default target
    assert any(w.startswith("anode.post_drying: residual moisture") for w in run.warnings)
    assert not any(w.startswith("cathode.post_drying") for w in run.warnings)


def test_validity_warnings_are_collected_not_raised():
    r = run_chain(recipe(cathode__slitting__speed="4 m/s"))
    assert any("cathode.slitting: speed (rotary_knife) = 240 m/min" in w for w in r.warnings)


def test_impossible_result_raises_a_process_error_naming_electrode_and_step():
    with pytest.raises(ProcessError, match=r"cathode: slitting: width.*"
                       r"settings: .*cathode\.slitting\.width = 0\.5 m"):
        run_chain(recipe(cathode__slitting__width="0.5 m"))


def test_unknown_model_name_is_a_recipe_error_with_a_suggestion():
    with pytest.raises(RecipeError, match="did you mean 'heckel'"):
        run_chain(recipe(cathode__calendering__model="heckle"))


def test_deterministic_values_do_not_change_with_samples():
    base = run_chain(recipe())
    mc = run_chain(recipe(), samples=50, seed=3)
    for key in ("cathode.coating.loading", "anode.calendering.porosity"):
        assert mc.outputs[key]["value"] == base.outputs[key]["value"]
    assert mc.outputs["cathode.coating.loading"]["std"] > 0
    assert np.isfinite(mc.outputs["anode.drying.porosity"]["p95"])


@pytest.mark.slow
def test_structure_hook_replaces_the_estimates_and_is_not_resampled():
    r = run_chain(recipe(anode=None, tolerances={"cathode.coating.gap": "3 um"}),
                  structure=True, seed=1, samples=20)
    s = r.products["cathode"]["structure"]
    out = r.outputs["cathode.calendering.cross_plane_tortuosity_factors"]
    # the image's own number (its source names the 3D image), not the fitted closed form
    assert "fitted" not in out.get("source", "") and out["std"] == 0.0
    assert out["value"] == pytest.approx(s.tortuosity_factor_pore)
    assert out["value"] >= 1.0
    # the image resolves the macropores; the CBD's nanopores are below the voxel size
    assert 0.1 < s.porosity <= r.outputs["cathode.calendering.porosity"]["value"] + 0.03
    assert r.timings["cathode.structure"] > 0
    # the 3D image stays in memory for the report, only its analysis goes to JSON
    assert r.mesostructures["cathode"].labels.ndim == 3
    data = json.loads(r.to_json())
    assert "mesostructures" not in data
    assert data["products"]["cathode"]["structure"]["tortuosity_factor_pore"] == pytest.approx(
        s.tortuosity_factor_pore)
    assert Run.from_json(r.to_json()).mesostructures == {}


@settings(max_examples=25, deadline=None)
@given(gap=st.floats(60.0, 400.0), pressure=st.floats(5.0, 150.0),
       solid=st.floats(0.60, 0.70))
def test_chain_conserves_mass_and_solid_volume_over_the_operating_range(gap, pressure, solid):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = run_chain(recipe(anode=None, tolerances={},
                             cathode__coating__gap=f"{gap} um",
                             cathode__calendering__pressure=f"{pressure} MPa",
                             cathode__mixing={"solid_content": solid}))
    p = r.products["cathode"]
    w, d, c = p["wet_film"], p["dry"], p["calendered"]
    assert w.areal_loading == pytest.approx(
        w.wet_thickness * w.slurry.density * w.slurry.solid_mass_fraction, rel=1e-12)
    assert c.areal_loading == pytest.approx(d.areal_loading, rel=1e-12)
    assert c.solid_volume_per_area == pytest.approx(d.solid_volume_per_area, rel=1e-9)
    assert c.porosity <= d.porosity and c.thickness <= d.thickness
    assert 0 < c.porosity < 1 and c.thickness > 0


@pytest.mark.slow
def test_cell_hook_adds_cell_outputs_by_catalogue_id_and_the_report_shows_them():
    from twinline.report.html import build_report

    rec = recipe()
    r = run_chain(rec, cell=True)
    cell_keys = [k for k in r.outputs if k.split(".")[0] in ("assembly", "filling",
                                                             "formation")]
    assert "assembly.n_p_ratio" in cell_keys and "formation.formation_time" in cell_keys
    for k in cell_keys:
        catalogue().get(k)
    assert r.outputs["assembly.n_p_ratio"]["value"] == pytest.approx(r.cell.n_p_ratio)
    data = json.loads(r.to_json())
    assert data["cell"]["n_p_ratio"] == pytest.approx(r.cell.n_p_ratio)
    assert set(r.cell.citations) <= set(r.citations)
    page = build_report(r, rec, resolve_materials(rec))
    cell_part = page[page.index("<h2>Cell</h2>"):]
    assert "discharge" in cell_part.lower() and "plotly-graph-div" in cell_part
    back = build_report(Run.from_json(r.to_json()))  # a loaded run (cell as a dict) too
    assert "plotly-graph-div" in back[back.index("<h2>Cell</h2>"):]
