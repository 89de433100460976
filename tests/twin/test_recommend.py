"""twin.recommend: settings from the calibrated chain against analytic inversions of the
calendering (Heckel) and comma-coater laws, refusals with the reason, the calibration's
effect in the right direction and size, targets and windows parsed with units, the CLI."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twinline.twin.calibration import Calibration, apply_constants, chain_outputs
from twinline.twin.errors import TwinError
from twinline.twin.recommend import Target, parse_target, parse_window, recommend
from twinline.twin.store import ObjectRow, RecordRow, Store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
POR = "cathode.calendering.porosity"
AM = "cathode.coating.am_loading"
T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def recipe():
    from twinline.spec.recipe import load_recipe

    return load_recipe(EXAMPLES / "nmc111_cathode.yaml")


@pytest.fixture(scope="module")
def prior(recipe):
    return Calibration.initial(recipe)


def _shifted(cal: Calibration, name: str, dz: float) -> Calibration:
    d = cal.to_dict()
    d["mean"][d["labels"].index(name)] += dz
    d["id"], d["parent_id"] = f"shift-{name}", cal.id
    return Calibration.from_dict(d)


def heckel_inverse(recipe, cal: Calibration, porosity: float):
    """Pressure [Pa] and line load [N/m] giving ``porosity`` after calendering, by inverting
    the Heckel law of process.calendering in closed form at the chain's dried coating:
    P = P_c ln((eps0 - eps_min)/(eps - eps_min)); q = P sqrt(R dh) with the nip thickness
    h/(1+s), s = s_max (1 - exp(-P/P_c))."""
    from twinline.chain.runner import POLARITY
    from twinline.process.calendering import calendering_constants
    from twinline.process.composition import resolve_composition

    values = cal.values({})
    out = chain_outputs(recipe, values, cal.constants)
    eps0 = out["cathode.drying.porosity"][0]
    t0 = out["cathode.drying.coating_thickness"][0]
    _, mats = apply_constants(recipe, values, cal.constants)
    comp = resolve_composition(recipe.cathode, mats, POLARITY["cathode"])
    cal_sec = recipe.cathode.calendering
    eps_min, p_c, sb_max = (
        float(v) for v in calendering_constants(comp, eps0, cal_sec.roll_temperature, mats)
    )
    p = p_c * math.log((eps0 - eps_min) / (porosity - eps_min))
    h = t0 * (1 - eps0) / (1 - porosity)
    sb = sb_max * (1 - math.exp(-p / p_c))
    q = p * math.sqrt(0.5 * cal_sec.roll_diameter * (t0 - h / (1 + sb)))
    return p, q, eps_min, p_c, eps0


def test_targets_and_windows_parse_with_units():
    assert parse_target("cathode.calendering.porosity=0.30±0.01") == Target(POR, 0.30, 0.01, "")
    t = parse_target("cathode.calendering.porosity = 30 % +/- 1 %")
    assert (t.value, t.tolerance) == (pytest.approx(0.30), pytest.approx(0.01))
    t = parse_target("cathode.coating.am_loading=30 mg/cm^2 +- 0.5")  # bare tol: value's unit
    assert (t.value, t.tolerance, t.unit) == (pytest.approx(0.30), pytest.approx(0.005), "kg/m^2")
    assert parse_window("cathode.calendering.line_load=0.5..30 kN/cm") == (
        "cathode.calendering.line_load",
        (pytest.approx(5e4), pytest.approx(3e6)),
    )
    for bad, msg in [
        ("cathode.coating.am_loading=30±1", "has no unit"),
        ("cathode.calendering.porosity=0.3", "write NAME=VALUE±TOL"),
        ("cathode.calendering.porosity=0.3±0", "tolerance > 0"),
        ("cathode.calendering.pressure=30 MPa±1 MPa", "is a MP"),
        ("calendering.porosity=0.3±0.01", "give the electrode"),
        ("cathode.coating.am_loading=30 um±1 um", "wrong unit"),
    ]:
        with pytest.raises(TwinError, match=msg):
            parse_target(bad)
    with pytest.raises(TwinError, match=r"PATH=LOW\.\.HIGH"):
        parse_window("cathode.calendering.line_load=5 kN/cm")


def test_calender_pressure_and_line_load_match_the_inverted_heckel_law(recipe, prior):
    p, q, *_ = heckel_inverse(recipe, prior, 0.30)
    rec = recommend(recipe, [f"{POR}=0.30±0.002"], calibration=prior, samples=0)
    assert list(rec.settings) == ["cathode.calendering.pressure"]  # the recipe sets a pressure
    assert rec.reachable and rec.settings["cathode.calendering.pressure"] == pytest.approx(
        p, rel=1e-3
    )
    assert rec.predicted[POR] == pytest.approx(0.30, abs=1e-4)
    rec = recommend(
        recipe,
        [f"{POR}=0.30±0.002"],
        adjust=["cathode.calendering.line_load"],
        calibration=prior,
        samples=0,
    )
    assert rec.settings["cathode.calendering.line_load"] == pytest.approx(q, rel=1e-3)
    assert rec.current["cathode.calendering.line_load"] > q  # 60 MPa presses below 0.30
    assert rec.uncertainty[POR] > 0
    json.dumps(rec.to_dict())


def test_coating_gap_matches_the_inverted_comma_coater_law(recipe, prior):
    from twinline.process.coating import CommaCoater

    g0 = recipe.cathode.coating.gap
    l0 = chain_outputs(recipe, prior.values({}), prior.constants)[AM][0]
    target = 0.30  # kg/m^2 = 30 mg/cm^2; wet film and AM loading scale as G^p
    expected = g0 * (target / l0) ** (1.0 / CommaCoater().gap_exponent)
    rec = recommend(recipe, [f"{AM}=30 mg/cm^2 ± 0.05 mg/cm^2"], calibration=prior, samples=0)
    assert list(rec.settings) == ["cathode.coating.gap"]
    assert rec.settings["cathode.coating.gap"] == pytest.approx(expected, rel=1e-3)
    assert rec.predicted[AM] == pytest.approx(target, rel=1e-4)
    # two targets, two settings: both met, each setting where its own law puts it
    _, q, *_ = heckel_inverse(recipe, prior, 0.30)
    rec = recommend(
        recipe,
        [f"{POR}=0.30±0.002", f"{AM}=30 mg/cm^2 ± 0.05 mg/cm^2"],
        adjust=["cathode.calendering.line_load", "cathode.coating.gap"],
        calibration=prior,
        samples=0,
    )
    assert rec.reachable
    assert rec.settings["cathode.coating.gap"] == pytest.approx(expected, rel=1e-3)
    assert rec.predicted[POR] == pytest.approx(0.30, abs=5e-4)
    assert rec.settings["cathode.calendering.line_load"] != pytest.approx(q, rel=1e-2)  # thinner


def test_an_unreachable_target_is_refused_with_the_best_value_and_the_bound(recipe, prior):
    *_, eps_min, p_c, eps0 = heckel_inverse(recipe, prior, 0.30)
    rec = recommend(
        recipe,
        [f"{POR}=0.10±0.01"],
        adjust=["cathode.calendering.line_load"],
        calibration=prior,
        samples=0,
    )
    assert not rec.reachable
    (msg,) = rec.messages
    assert msg.startswith("cathode.calendering.porosity = 0.1 ± 0.01 is not reachable by adjusting")
    assert f"best reachable value is {eps_min:.4g}" in msg  # the calender's minimum porosity
    assert "cathode.calendering.line_load at its upper bound 50 kN/cm" in msg
    # a narrow machine window: the best value is the law's at the window's upper end
    best = eps_min + (eps0 - eps_min) * math.exp(-50e6 / p_c)
    rec = recommend(
        recipe,
        [f"{POR}=0.25±0.005"],
        windows={"cathode.calendering.pressure": (10e6, 50e6)},
        calibration=prior,
        samples=0,
    )
    assert not rec.reachable
    assert rec.settings["cathode.calendering.pressure"] == pytest.approx(50e6, rel=1e-6)
    assert rec.predicted[POR] == pytest.approx(best, abs=1e-6)
    assert (
        f"best reachable value is {best:.4g}, with cathode.calendering.pressure at its "
        "upper bound 50 MPa" in rec.messages[0]
    )


def test_targets_that_conflict_are_refused_as_such(recipe, prior):
    out = chain_outputs(recipe, prior.values({}), prior.constants)
    thick = out["cathode.calendering.thickness"][0]  # at 60 MPa, porosity ~0.265
    rec = recommend(
        recipe,
        [f"{POR}=0.32±0.002", f"cathode.calendering.thickness={thick * 1e6:.3f} um ± 0.3 um"],
        adjust=["cathode.calendering.pressure"],
        calibration=prior,
        samples=0,
    )
    assert not rec.reachable
    assert any("conflicts with the other targets" in m for m in rec.messages)


def test_a_calibrated_compaction_shifts_the_recommended_load(store_url, recipe, prior):
    """A harder coating (the calibrated compaction pressure P_c up by e^0.3) needs e^0.3 times
    the pressure for the same porosity (P = P_c ln(...), the floor unchanged); the store's
    active version is the one used and reported."""
    base = recommend(recipe, [f"{POR}=0.30±0.002"], calibration=prior, samples=0)
    harder = _shifted(prior, "cathode.calendering.compaction_pressure", 0.3)
    with Store.open(store_url) as store:
        store.add_calibration(prior.to_dict(), active=True)
        store.add_calibration(harder.to_dict(), active=True)
        rec = recommend(recipe, [f"{POR}=0.30±0.002"], store=store, samples=0)
    assert rec.calibration_version == harder.id
    ratio = (
        rec.settings["cathode.calendering.pressure"] / base.settings["cathode.calendering.pressure"]
    )
    assert ratio == pytest.approx(math.exp(0.3), rel=2e-3)
    # a higher porosity floor (calibrated porosity_min) also asks for more pressure
    floor = _shifted(prior, "cathode.calendering.porosity_min", 0.1)
    rec = recommend(recipe, [f"{POR}=0.30±0.002"], calibration=floor, samples=0)
    assert (
        rec.settings["cathode.calendering.pressure"]
        > base.settings["cathode.calendering.pressure"] * 1.05
    )


def test_an_object_starts_from_its_effective_settings_and_batch(store_url, recipe):
    with Store.open(store_url) as store:
        store.add_objects(
            [ObjectRow("SB1", "slurry_batch", T0), ObjectRow("CR1", "coated_roll", T0)]
        )
        from twinline.twin.store import EdgeRow

        store.add_edges([EdgeRow("SB1", "CR1")])
        store.add_records([RecordRow("CR1", "setting", "cathode.coating.gap", T0, value=250e-6)])
        rec = recommend(
            recipe, [f"{AM}=30 mg/cm^2 ± 0.1 mg/cm^2"], store=store, object_id="CR1", samples=16
        )
        assert rec.current["cathode.coating.gap"] == pytest.approx(250e-6)
        assert rec.groups == {"batch": "SB1", "roll": "CR1"} and rec.object == "CR1"
        assert rec.messages == ["no calibration stored: the package defaults (the prior) are used"]
        assert rec.reachable
    with pytest.raises(TwinError, match="needs the line's database"):
        recommend(recipe, [f"{AM}=30 mg/cm^2 ± 0.1 mg/cm^2"], object_id="CR1")
    with pytest.raises(TwinError, match="no default setting to adjust for the drying step"):
        recommend(recipe, ["cathode.drying.porosity=0.45±0.01"])
    with pytest.raises(TwinError, match=r"--adjust cathode\.coating\.gapp: recipe path"):
        recommend(recipe, [f"{AM}=30 mg/cm^2 ± 0.1 mg/cm^2"], adjust=["cathode.coating.gapp"])


def test_cli_recommend_writes_json_refuses_with_exit_1_and_bad_input_with_2(tmp_path):
    from twinline.cli import app

    runner = CliRunner()
    out = tmp_path / "rec.json"
    base = ["twin", "recommend", "--recipe", str(EXAMPLES / "nmc111_cathode.yaml")]
    r = runner.invoke(
        app,
        [
            *base,
            "--target",
            f"{POR}=0.30±0.01",
            "--adjust",
            "cathode.calendering.line_load",
            "--json",
            str(out),
        ],
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text())
    assert set(d) >= {
        "settings",
        "predicted",
        "uncertainty",
        "calibration_version",
        "reachable",
        "messages",
    }
    assert d["reachable"] and d["predicted"][POR] == pytest.approx(0.30, abs=0.01)
    r = runner.invoke(app, [*base, "--target", f"{POR}=0.10±0.01"], catch_exceptions=False)
    assert r.exit_code == 1 and "refused:" in r.stdout and "not reachable" in r.stdout
    r = runner.invoke(app, [*base, "--target", f"{AM}=30±1"], catch_exceptions=False)
    assert r.exit_code == 2 and r.stderr.startswith("error:") and "has no unit" in r.stderr
    assert "\n" not in r.stderr.strip()
    assert (
        "Example: twinline twin recommend"
        in runner.invoke(app, ["twin", "recommend", "--help"]).stdout
    )


def test_any_recipe_setting_can_be_adjusted_and_an_insensitive_one_is_named(recipe, prior):
    # the AM fraction: the other fractions close the sum (the loop's apply_settings);
    # a higher AM fraction raises the calender's porosity floor (process.calendering)
    am = "cathode.formulation.active_material.mass_fraction"
    rec = recommend(
        recipe,
        [f"{POR}=0.27±0.002"],
        adjust=[am],
        windows={am: (0.90, 0.98)},
        calibration=prior,
        samples=0,
    )
    assert rec.reachable and 0.90 < rec.settings[am] < 0.98
    assert rec.predicted[POR] == pytest.approx(0.27, abs=0.002)
    # the drying porosity of this model does not depend on the air temperature of a zone
    zone = "cathode.drying.zones.0.temperature"
    rec = recommend(
        recipe,
        ["cathode.drying.porosity=0.40±0.005"],
        adjust=[zone],
        windows={zone: (320.0, 400.0)},
        calibration=prior,
        samples=0,
    )
    assert not rec.reachable
    assert "the model's output does not respond to these settings" in rec.messages[0]
    with pytest.raises(TwinError, match="not an adjusted setting"):
        recommend(recipe, [f"{POR}=0.30±0.01"], windows={"cathode.coating.gap": (1e-4, 2e-4)})
