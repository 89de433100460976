"""twin.replay and the ``twinline twin`` verbs: a synthetic file made with the chain and a
known change of the coater's wet-film ratio (+6 %) and of one batch (+4 %) — the twin's error
falls below the static one; predict, calibration list/show/rollback, alarms; one-line errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from twinline.cli import app
from twinline.twin.calibration import Calibration, chain_outputs
from twinline.twin.replay import replay, summarise

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RECIPE = EXAMPLES / "nmc111_cathode.yaml"
KEY = "cathode.coating.am_loading"
RATIO = "cathode.coating.wet_film_ratio"


def _with_gap(recipe, gap):
    el = recipe.cathode
    return recipe.model_copy(update={"cathode": el.model_copy(
        update={"coating": el.coating.model_copy(update={"gap": gap})})})


def synthetic_file(path: Path, *, seed: int = 4) -> Path:
    """Three batches x four rolls; the loading from the chain with the wet-film ratio 6 %
    above the package default (batch B a further 4 %), 1 % measurement noise."""
    from twinline.spec.recipe import load_recipe

    recipe = load_recipe(RECIPE)
    rng = np.random.default_rng(seed)
    cal = Calibration.initial(recipe)
    t = datetime(2026, 2, 1, tzinfo=UTC)
    lines = ["time,object,kind,parent,parameter,value,unit,role,conditions,uncertainty"]
    for b, extra in (("A", 1.0), ("B", 1.04), ("C", 1.0)):
        truth = dict(cal.values())
        truth[RATIO] *= 1.06 * extra
        lines.append(f"{t:%Y-%m-%dT%H:%M:%SZ},SB-{b},slurry_batch,,"
                     "cathode.mixing.solid_content,65,%,setting,,")
        for gap in (250, 200, 300, 150):
            t += timedelta(minutes=10)
            y = chain_outputs(_with_gap(recipe, gap * 1e-6), truth, cal.constants)[KEY][0]
            y *= 1 + rng.normal(0.0, 0.01)
            roll = f"CR-{b}-{gap}"
            lines.append(f"{t:%Y-%m-%dT%H:%M:%SZ},{roll},coated_roll,SB-{b},"
                         f"cathode.coating.gap,{gap},um,setting,,")
            lines.append(f"{t:%Y-%m-%dT%H:%M:%SZ},{roll},coated_roll,,{KEY},{y * 100:.5f},"
                         f"mg/cm^2,measurement,,{y:.5f}")
        t += timedelta(hours=1)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return synthetic_file(tmp_path_factory.mktemp("replay") / "line.csv")


@pytest.fixture(scope="module")
def recipe():
    from twinline.spec.recipe import load_recipe

    return load_recipe(RECIPE)


def test_the_twin_learns_and_beats_the_static_model(data, recipe):
    res = replay(data, recipe)
    assert len(res.rows) == 12 and res.steps == 15 and res.updates == 12
    rows = res.rows
    assert [r["batch"] for r in rows] == ["SB-A"] * 4 + ["SB-B"] * 4 + ["SB-C"] * 4
    # the first measurement: nothing learnt yet, both predictions are the defaults
    assert rows[0]["predicted_twin"] == pytest.approx(rows[0]["predicted_static"], rel=1e-12)
    err_s = [abs(r["predicted_static"] / r["measured"] - 1) for r in rows]
    err_t = [abs(r["predicted_twin"] / r["measured"] - 1) for r in rows]
    assert min(err_s) > 0.03                                 # the static model is 6-10 % off
    assert np.median(err_t[1:]) < np.median(err_s) / 2
    assert err_t[3] < 0.03 and err_t[11] < 0.03               # learnt within batch A and C
    s = res.summary[KEY]
    assert s["n"] == 12
    assert s["median_abs_pct_twin"] < s["median_abs_pct_static"] / 2
    assert s["rmse_twin"] < s["rmse_static"]
    assert 0.0 <= s["coverage_90"] <= 1.0


def test_summary_by_hand():
    rows = [{"parameter": "p", "measured": 1.0, "predicted_static": 1.1, "std_static": 0.1,
             "predicted_twin": 1.0, "std_twin": 0.1, "measured_std": 0.0},
            {"parameter": "p", "measured": 2.0, "predicted_static": 1.6, "std_static": 0.1,
             "predicted_twin": 2.5, "std_twin": 0.1, "measured_std": 0.0}]
    s = summarise(rows)["p"]
    assert s["median_abs_pct_static"] == pytest.approx(15.0)
    assert s["rmse_static"] == pytest.approx(np.sqrt((0.01 + 0.16) / 2))
    assert s["median_abs_pct_twin"] == pytest.approx(12.5)
    assert s["coverage_90"] == 0.5


runner = CliRunner()


def _run(*args):
    return runner.invoke(app, list(args))


def test_cli_replay_predict_calibration_and_alarms(data, tmp_path):
    db = tmp_path / "line.db"
    out = tmp_path / "replay.json"
    r = _run("twin", "replay", str(data), "--recipe", str(RECIPE), "--db", str(db),
             "--json", str(out))
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert len(doc["measurements"]) == 12
    assert set(doc["measurements"][0]) >= {"object", "parameter", "time", "measured",
                                           "predicted_static", "predicted_twin",
                                           "std_static", "std_twin", "batch"}
    assert KEY in doc["summary"] and "12 measurements predicted" in r.output
    r = _run("twin", "calibration", "list", "--db", str(db), "--json")
    assert r.exit_code == 0, r.output
    versions = json.loads(r.output)
    assert len(versions) == 14 and versions[-1]["active"]    # prior, re-dated prior, 12
    r = _run("twin", "calibration", "show", versions[-1]["version"], "--db", str(db))
    assert r.exit_code == 0 and RATIO in r.output
    r = _run("twin", "predict", "CR-C-150", "--recipe", str(RECIPE), "--db", str(db),
             "--json")
    assert r.exit_code == 0, r.output
    latest = json.loads(r.output)
    assert latest["calibration"] == versions[-1]["version"]
    r = _run("twin", "calibration", "rollback", versions[-2]["version"], "--db", str(db))
    assert r.exit_code == 0 and versions[-2]["version"] in r.output
    r = _run("twin", "predict", "CR-C-150", "--recipe", str(RECIPE), "--db", str(db),
             "--json")
    assert json.loads(r.output)["calibration"] == versions[-2]["version"]
    r = _run("twin", "alarms", "--db", str(db), "--json")
    assert r.exit_code == 0 and isinstance(json.loads(r.output), list)


@pytest.mark.parametrize("args, message", [
    (("twin", "replay", "nope.csv", "--recipe", str(RECIPE)), "nope.csv: no such file"),
    (("twin", "calibration", "rollback", "abc", "--db", "{db}"),
     "calibration version 'abc' is not in the store"),
    (("twin", "predict", "NOPE", "--recipe", str(RECIPE), "--db", "{db}"),
     "object 'NOPE' is not in the store"),
    (("twin", "calibration", "show", "x", "--db", "{missing}"), "no such database"),
])
def test_cli_errors_are_one_line_exit_2(tmp_path, args, message):
    from twinline.twin.store import Store

    db = tmp_path / "line.db"
    Store.open(db).close()
    args = [a.format(db=db, missing=tmp_path / "missing.db") for a in args]
    r = _run(*args)
    assert r.exit_code == 2, r.output
    lines = [x for x in r.output.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in r.output


def disc_file(path: Path, *, seed: int = 6) -> Path:
    """Two batches whose coater sees the gap offset by -10 µm and +8 µm (wet-film ratio
    -3 % and +3 %), each coated at 50, 100, 200 and 300 µm, three discs per strip weighed
    with 1 % noise: the loading error of the static model changes with the gap."""
    from twinline.spec.recipe import load_recipe

    recipe = load_recipe(RECIPE)
    rng = np.random.default_rng(seed)
    cal = Calibration.initial(recipe)
    t = datetime(2026, 3, 1, tzinfo=UTC)
    lines = ["time,object,kind,parent,parameter,value,unit,role,conditions,uncertainty"]
    for b, offset, ratio in (("A", -10e-6, 0.97), ("B", 8e-6, 1.03)):
        truth = dict(cal.values(), **{"cathode.coating.gap_offset": offset})
        truth[RATIO] *= ratio
        lines.append(f"{t:%Y-%m-%dT%H:%M:%SZ},SB-{b},slurry_batch,,"
                     "cathode.mixing.solid_content,65,%,setting,,")
        for gap in (50, 100, 200, 300):
            t += timedelta(minutes=10)
            roll = f"CR-{b}-{gap}"
            lines.append(f"{t:%Y-%m-%dT%H:%M:%SZ},{roll},coated_roll,SB-{b},"
                         f"cathode.coating.gap,{gap},um,setting,,")
            y = chain_outputs(_with_gap(recipe, gap * 1e-6), truth, cal.constants)[KEY][0]
            for d in range(3):
                t += timedelta(minutes=1)
                v = y * (1 + rng.normal(0.0, 0.01))
                lines.append(f"{t:%Y-%m-%dT%H:%M:%SZ},{roll}-D{d},electrode_disc,{roll},{KEY},"
                             f"{v * 100:.5f},mg/cm^2,measurement,,")
        t += timedelta(days=1)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow
def test_the_twin_learns_each_batch_gap_response(tmp_path, recipe):
    """After a batch's first gap, the twin (level and gap offset per batch, strip offsets)
    beats the static model and the same twin without the gap offset (a per-batch factor
    only, which the first, smallest gap moves the wrong way for the larger gaps)."""
    from twinline.twin.calibration import default_constants

    path = disc_file(tmp_path / "discs.csv")
    errors = {}
    for name, constants in (("twin", None),
                            ("factor", default_constants("cathode", gap_offset=False))):
        res = replay(path, recipe, constants=constants)
        assert len(res.rows) == 24
        later = [r for r in res.rows if not r["object"].split("-")[2].startswith("50")]
        errors[name] = np.median([abs(r["predicted_twin"] / r["measured"] - 1)
                                  for r in later])
        errors["static"] = np.median([abs(r["predicted_static"] / r["measured"] - 1)
                                      for r in later])
    assert errors["twin"] < 0.02
    assert errors["twin"] < errors["static"] / 2
    assert errors["twin"] < errors["factor"] / 1.5
