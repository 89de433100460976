"""Monte Carlo propagation of machine tolerances and the one-at-a-time sensitivity table."""

import numpy as np
import pytest

from chain_recipes import recipe
from twinline.chain import resolve_materials, run_chain
from twinline.chain.uncertainty import (
    Tolerance,
    monte_carlo,
    parse_sigma,
    resolve_tolerances,
    sensitivity_table,
)
from twinline.process.composition import resolve_composition
from twinline.process.registry import get_model
from twinline.spec.errors import RecipeError
from twinline.spec.recipe import parse_recipe


def cathode_only(tolerances):
    rec = recipe(anode=None, tolerances=tolerances)
    lib = resolve_materials(rec)
    comps = {"cathode": resolve_composition(rec.cathode, lib, "positive")}
    return rec, lib, comps


def mc(tolerances, samples=400, seed=0):
    rec, lib, comps = cathode_only(tolerances)
    tols = resolve_tolerances(rec, use_catalogue=False)
    return monte_carlo(rec, lib, comps, samples=samples, seed=seed, tolerances=tols)


def test_mean_converges_to_the_deterministic_value_for_small_tolerances():
    det = run_chain(recipe(anode=None, tolerances={})).outputs
    stats, _ = mc({"cathode.coating.gap": "0.001 um", "cathode.calendering.pressure": "1 kPa",
                   "cathode.mixing.solid_content": 1e-6})
    for key in ("cathode.coating.loading", "cathode.calendering.porosity",
                "cathode.calendering.thickness", "cathode.drying.porosity"):
        assert stats[key]["mean"] == pytest.approx(det[key]["value"], rel=1e-6)
        assert stats[key]["std"] < 1e-4 * abs(det[key]["value"])


def test_std_matches_linear_propagation_through_the_comma_coater():
    # loading ∝ wet thickness ∝ gap^p (p = CommaCoater.gap_exponent) at fixed slurry
    from twinline.process.coating import CommaCoater

    stats, _ = mc({"cathode.coating.gap": "0.5 um"}, samples=4000, seed=7)
    s = stats["cathode.coating.loading"]
    expected = CommaCoater().gap_exponent * 0.5 / 150.0 * s["mean"]
    assert s["std"] == pytest.approx(expected, rel=0.05)  # 4000 samples: ±2.2 % (1σ)
    assert s["p5"] < s["p50"] < s["p95"]
    assert (s["p95"] - s["p5"]) / (2 * 1.645) == pytest.approx(s["std"], rel=0.08)


def test_same_seed_same_numbers_other_seed_other_numbers():
    tol = {"cathode.coating.gap": "3 um", "cathode.calendering.pressure": "2 MPa"}
    a, _ = mc(tol, seed=11)
    b, _ = mc(tol, seed=11)
    c, _ = mc(tol, seed=12)
    key = "cathode.calendering.porosity"
    assert a[key] == b[key]
    assert a[key]["mean"] != c[key]["mean"]


def test_samples_pass_through_the_same_step_functions_as_arrays():
    rec, lib, comps = cathode_only({"cathode.coating.gap": "3 um"})
    sec = rec.cathode.coating.model_copy(update={"gap": np.array([147e-6, 150e-6, 153e-6])})
    slurry = get_model("mixing", "krieger-cross")(rec.cathode.mixing, comps["cathode"], lib)
    film = get_model("coating", "film-balance")(sec, slurry, lib)
    one = get_model("coating", "film-balance")(rec.cathode.coating, slurry, lib)
    assert film.areal_loading.shape == (3,)
    assert film.areal_loading[1] == pytest.approx(one.areal_loading, rel=1e-12)


def test_sensitivity_shares_square_sum_to_one_and_rank_the_driver():
    _, rows = mc({"cathode.coating.gap": "3 um", "cathode.calendering.pressure": "2 MPa"})
    by_output = {}
    for r in rows:
        by_output.setdefault(r["output"], []).append(r)
    loading = {r["input"]: r for r in by_output["cathode.coating.loading"]}
    assert abs(loading["cathode.coating.gap"]["normalised"]) == pytest.approx(1.0)
    assert loading["cathode.calendering.pressure"]["contribution"] == 0.0
    por = {r["input"]: r for r in by_output["cathode.calendering.porosity"]}
    assert por["cathode.calendering.pressure"]["contribution"] < 0  # more pressure, less pore
    for rs in by_output.values():
        total = sum(r["normalised"] ** 2 for r in rs)
        assert total == pytest.approx(1.0) or total == 0.0
    table = sensitivity_table(rows, min_share=0.5)
    assert all(abs(r["normalised"]) >= 0.5 for r in table)


def test_drying_temperature_tolerance_shifts_every_zone_together():
    rec = recipe(cathode=None, tolerances={"anode.drying.temperature": "2 degC"})
    tols = resolve_tolerances(rec, use_catalogue=False)
    assert tols[0].sigma == pytest.approx(2.0)  # a difference: 2 K, not 275 K
    lib = resolve_materials(rec)
    comps = {"anode": resolve_composition(rec.anode, lib, "negative")}
    stats, _ = monte_carlo(rec, lib, comps, samples=2000, seed=1, tolerances=tols)
    # the length-weighted mean dryer temperature moves by the same shift
    assert stats["anode.drying.temperature"]["std"] == pytest.approx(2.0, rel=0.05)


def test_parse_sigma_relative_absolute_and_temperature_difference():
    assert parse_sigma("2 %", "m", 150e-6, name="x") == pytest.approx(3e-6)
    assert parse_sigma("5 um", "m", 150e-6, name="x") == pytest.approx(5e-6)
    assert parse_sigma("1.5 degC", "K", 350.0, name="x") == pytest.approx(1.5)
    assert parse_sigma(0.01, "", 0.6, name="x") == pytest.approx(0.01)
    with pytest.raises(RecipeError, match=r"tolerances\.x"):
        parse_sigma("5 s", "m", 1.0, name="x")


def test_bad_tolerance_keys_are_recipe_errors_with_choices():
    with pytest.raises(RecipeError, match=r"ELECTRODE\.STEP\.PARAMETER"):
        resolve_tolerances(recipe(tolerances={"coating.gap": "1 um"}))
    with pytest.raises(RecipeError, match=r"choose from .*'speed'"):
        resolve_tolerances(recipe(tolerances={"cathode.coating.gapp": "1 um"}))
    with pytest.raises(RecipeError, match="unknown step"):
        resolve_tolerances(recipe(tolerances={"cathode.kneading.speed": "1 m/s"}))


def test_catalogue_resolution_is_used_only_where_it_is_a_number():
    tols = {t.key: t for t in resolve_tolerances(recipe(tolerances={}))}
    assert all(t.source == "catalogue" for t in tols.values())
    # 'mbar' alone (post-drying pressure) is a unit, not a resolution: not sampled
    assert "cathode.post_drying.pressure" not in tols
    assert all(isinstance(t, Tolerance) and t.sigma > 0 for t in tols.values())


def test_samples_must_be_positive():
    rec, lib, comps = cathode_only({"cathode.coating.gap": "3 um"})
    with pytest.raises(RecipeError, match="samples"):
        monte_carlo(rec, lib, comps, samples=0)
    assert parse_recipe is not None
