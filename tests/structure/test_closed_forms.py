"""The closed forms fitted to twinline's own 3D model (issue 17 part 2).

Fast tests: the coefficients file matches the module (quantities, form, ranges, errors,
provenance), the laws are physical (tortuosity factors > 1, the trends of Duquesnoy et al. 2020),
out-of-range inputs are marked "extrapolated" in the source and the run's warnings, and the
run carries total porosity against the image's resolved pore fraction.
Slow test: the closed form against the 3D generator + analysis on a grid of recipes (15 %).
"""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from twinline.structure import closed_forms as cf


def _file() -> dict:
    return json.loads(
        resources.files("twinline.structure").joinpath(cf.FIT_FILE).read_text("utf-8")
    )


def test_coefficients_file_matches_the_module():
    data = _file()
    assert set(data["laws"]) == set(cf.FITTED_QUANTITIES)
    assert data["form"].startswith(
        "ln y = c0 + c1 ln(eps) + c2 ln(1 - eps) + c3 ln(s) + c4 ln(h/d50) + c5 ln(eps - eps_c)"
    )
    assert 0.0 <= data["percolation_threshold"] < data["range"]["porosity"][0]
    n_features = cf.law_features(0.3, 0.1, 0.14).shape[-1]
    for q, law in data["laws"].items():
        assert len(law["coefficients"]) == n_features, q
        assert all(np.isfinite(law["coefficients"])), q
    # provenance: date, generator version, design and the fit errors
    assert data["fitted"][:4].isdigit() and "T" in data["fitted"]
    gen = data["generator"]
    assert gen["twinline_version"] and len(gen["sha256_model_sources"]) == 64
    assert data["design"]["images"] >= 30
    for key in ("porosity", "cbd_solid_share", "particle_d50_m", "voxel_over_d50"):
        lo, hi = data["range"][key]
        assert 0 < lo < hi, key
    # the fitted range covers the in-silico paper's porosities (0.29-0.42)
    assert data["range"]["porosity"][0] <= 0.29 and data["range"]["porosity"][1] >= 0.42
    # the stated goal: tortuosity factors and sigma_eff within 15 % of the 3D model
    for q in ("tortuosity_factor_pore", "tortuosity_factor_solid", "relative_conductivity"):
        assert data["laws"][q]["fit_rms_rel_error"] < 0.15, q
    # the module evaluates the file's laws and quotes their errors in its docstring
    assert cf.fitted_laws()["laws"] == data["laws"]
    assert "Fit errors" in cf.__doc__ and data["fitted"] in cf.__doc__


def test_estimates_evaluate_the_stored_power_laws():
    eps, phi_am, phi_cbd, r, thickness = 0.35, 0.585, 0.065, 2e-6, 90e-6
    est = cf.fitted_estimates(eps, phi_am, phi_cbd, r, 1.2, thickness=thickness)
    s = phi_cbd / (phi_am + phi_cbd)
    h = max(2 * r / 8, thickness / 160)  # the chain's voxel (structure.grid)
    eps_c = _file()["percolation_threshold"]
    x = np.array(
        [1.0, np.log(eps), np.log(1 - eps), np.log(s), np.log(h / (2 * r)), np.log(eps - eps_c)]
    )
    laws = _file()["laws"]

    def law(q):
        return float(np.exp(x @ np.array(laws[q]["coefficients"])))

    assert est["tortuosity_factor_pore"] == pytest.approx(law("tortuosity_factor_pore"))
    assert est["tortuosity_factor_solid"] == pytest.approx(law("tortuosity_factor_solid"))
    assert est["effective_ionic_conductivity"] == pytest.approx(1.2 * law("relative_conductivity"))
    assert est["active_surface"] == pytest.approx(law("active_surface_factor") * 3 * phi_am / r)
    assert est["extrapolated"] == []


def test_laws_follow_the_calendering_trends_inside_the_range():
    # Duquesnoy et al. 2020: denser -> pore tortuosity factor up, solid down, sigma down
    eps = np.linspace(0.26, 0.44, 10)
    s = 0.12
    est = cf.fitted_estimates(eps, (1 - eps) * (1 - s), (1 - eps) * s, 2e-6, 1.0, thickness=90e-6)
    assert np.all(np.diff(est["tortuosity_factor_pore"]) < 0)
    assert np.all(np.diff(est["effective_ionic_conductivity"]) > 0)
    assert np.all(est["tortuosity_factor_pore"] > 1.0)
    assert np.all(est["tortuosity_factor_solid"] > 1.0)
    # far above Bruggeman at these porosities (the point of issue 17 part 2)
    assert np.all(est["tortuosity_factor_pore"] > 1.5 * cf.bruggeman_tortuosity_factor(eps))
    assert np.all((est["cc_coverage_am"] > 0) & (est["cc_coverage_am"] < 1))


@pytest.mark.parametrize(
    ("eps", "s", "d50", "thickness", "word"),
    [
        (0.15, 0.12, 4e-6, 90e-6, "porosity"),
        (0.60, 0.12, 4e-6, 90e-6, "porosity"),
        (0.35, 0.40, 4e-6, 90e-6, "cbd_solid_share"),
        (0.35, 0.12, 20e-6, 400e-6, "particle_d50"),
        (0.35, 0.12, 4e-6, 300e-6, "voxel_over_d50"),  # a thick coating: coarse voxels
    ],
)
def test_out_of_range_is_marked_extrapolated(eps, s, d50, thickness, word):
    est = cf.fitted_estimates(
        eps, (1 - eps) * (1 - s), (1 - eps) * s, d50 / 2, 1.0, thickness=thickness
    )
    assert len(est["extrapolated"]) == 1 and est["extrapolated"][0].startswith(word)
    assert "outside the fitted range" in est["extrapolated"][0]
    text = cf.fitted_source(est["extrapolated"])
    assert text.startswith("extrapolated") and word in text
    assert not cf.fitted_source([]).startswith("extrapolated")


def test_resolved_pore_fraction_is_the_generators_volume_balance():
    from twinline.structure.generate import BOUND_PORE, volume_fractions

    phi_pore, phi_am, _ = volume_fractions(
        0.3, 0.95, am_density=4750.0, cbd_density=1838.0, bound_pore=BOUND_PORE
    )
    solid_am, solid_cbd, _ = cf.solid_shares(0.3, 0.95, 4750.0, 1838.0)
    assert solid_am == pytest.approx(phi_am)
    assert cf.resolved_pore_fraction(0.3, solid_am, solid_cbd) == pytest.approx(phi_pore)


def test_run_reports_the_fitted_form_with_source_definition_and_porosity_note():
    from chain_recipes import recipe
    from twinline.chain import run_chain

    run = run_chain(recipe())
    o = run.outputs["cathode.calendering.cross_plane_tortuosity_factors"]
    assert o["estimate"] is True
    assert "fitted to twinline's 3D model" in o["source"] and "%" in o["source"]
    assert "ε·D₀/D_eff" in o["definition"] and "TauFactor" in o["definition"]
    eps = run.products["cathode"]["calendered"].porosity
    note = run.porosity_notes["cathode"]
    assert note["porosity_total"] == pytest.approx(float(eps))
    assert 0 < note["resolved_pore_fraction"] < note["porosity_total"]
    assert f"{note['porosity_total']:.3f}" in note["sentence"]
    assert f"{note['resolved_pore_fraction']:.3f}" in note["sentence"]
    back = type(run).from_json(run.to_json())
    assert back.porosity_notes == run.porosity_notes
    # outside the range: source and warnings say so
    extrap = [k for k, v in run.outputs.items() if v.get("extrapolated")]
    for k in extrap:
        assert run.outputs[k]["source"].startswith("extrapolated")
        electrode = k.split(".")[0]
        assert any(
            w.startswith(f"{electrode}.calendering: structure parameters extrapolated")
            for w in run.warnings
        )


def test_report_states_porosity_against_resolved_pores():
    from chain_recipes import recipe
    from twinline.chain import run_chain
    from twinline.report.html import output_note, porosity_section

    run = run_chain(recipe())
    text = porosity_section(run)
    assert run.porosity_notes["cathode"]["sentence"].split(";")[0] in text
    note = output_note(run.outputs["cathode.calendering.cross_plane_tortuosity_factors"])
    assert "ε·D₀/D_eff" in note and "fitted" in note


#: Grid of recipes across the in-silico paper's range (porosity 0.29-0.42, 93-96 wt % AM): both
#: dense corners, the middle and the open end. Reference: the mean of 8 images per recipe
#: (seeds 21-28; the fit used 1000+, 2000+). Near the pore network's percolation threshold
#: (eps_c 0.23) one image's pore tortuosity factor varies by 23 % (sd/mean at eps 0.30, 96 %
#: AM: 12.8-24.8 over the 8 seeds), so two images were not a reference: their mean put the
#: closed form 21 % off where the 8-image mean puts it 1 % off.
GRID = [(0.30, 0.96), (0.30, 0.93), (0.34, 0.93), (0.42, 0.955)]
SEEDS = tuple(range(21, 29))


@pytest.mark.slow
@pytest.mark.parametrize(("eps", "w"), GRID)
def test_closed_form_agrees_with_the_3d_model_within_15_percent(eps, w):
    """Closed form vs the mean of 8 generated + analysed images per recipe, at the chain's
    grid (thickness 90 µm): pore and solid tortuosity factors and σ_eff within 15 %."""
    from twinline.structure.analyse import analyse
    from twinline.structure.generate import generate_electrode
    from twinline.structure.grid import grid_for
    from twinline.structure.psd import lognormal

    rho_am, rho_cbd = 4750.0, 1.0 / (0.5 / 1900.0 + 0.5 / 1780.0)
    voxel, box = grid_for(4e-6, 90e-6)
    errors = []
    res = [
        analyse(
            generate_electrode(
                porosity=eps,
                am_mass_fraction=w,
                thickness=90e-6,
                voxel_size=voxel,
                box_xy=box,
                am_density=rho_am,
                cbd_density=rho_cbd,
                psd=lognormal(2.4e-6, 4e-6, 8.6e-6),
                seed=seed,
            ),
            electrolyte_conductivity=1.0,
            pore_sizes=False,
        )
        for seed in SEEDS
    ]
    phi_am, phi_cbd, _ = cf.solid_shares(eps, w, rho_am, rho_cbd)
    est = cf.fitted_estimates(eps, phi_am, phi_cbd, 2e-6, 1.0, thickness=90e-6)
    assert est["extrapolated"] == []
    for key, field in (
        ("tortuosity_factor_pore", "tortuosity_factor_pore"),
        ("tortuosity_factor_solid", "tortuosity_factor_solid"),
        ("effective_ionic_conductivity", "sigma_eff_S_per_m"),
    ):
        ref = float(np.mean([getattr(r, field) for r in res]))
        errors.append((eps, w, key, est[key] / ref - 1.0))
    for e in errors:  # shown with pytest -s
        print(f"eps {e[0]:.2f} w_AM {e[1]:.3f} {e[2]}: {100 * e[3]:+.1f} %")
    worst = max(errors, key=lambda e: abs(e[3]))
    assert abs(worst[3]) < 0.15, worst
