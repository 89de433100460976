"""Cp/Cpk against a recipe's specification limits (hand-computed series), the spec and
capability alarms stored by the loop and printed by ``twinline twin alarms``, and
``twinline twin capability``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from twinline.spec.recipe import parse_recipe
from twinline.twin.capability import (
    CAPABILITY_WINDOW,
    CPK_REQUIRED,
    MIN_CAPABILITY_POINTS,
    capability_table,
    running_cpk,
    spec_alarms,
)
from twinline.twin.loop import TwinLoop
from twinline.twin.spc import D2, capability
from twinline.twin.store import ObjectRow, RecordRow, Store

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "nmc111_cathode.yaml"
T0 = datetime(2026, 3, 1, tzinfo=UTC)
POR = "cathode.calendering.porosity"


def _recipe(limits):
    data = yaml.safe_load(EXAMPLE.read_text("utf-8"))
    data["spec_limits"] = limits
    return parse_recipe(data, "line.yaml")


def _measure(store, values, parameter=POR, start=0):
    for i, v in enumerate(values, start):
        t = T0 + timedelta(minutes=i)
        store.add_objects([ObjectRow(f"KR{i:03d}", "calendered_roll", t)])
        store.add_records([RecordRow(f"KR{i:03d}", "measurement", parameter, t, value=v)])


@pytest.fixture
def store(store_url):
    with Store.open(store_url) as s:
        yield s


def test_cp_cpk_of_hand_computed_series():
    # x = 10, 12, 11, 13, 12: MR = 2, 1, 2, 1 -> MR-bar 1.5, sigma = 1.5/1.128; mean 11.6
    x = [10.0, 12.0, 11.0, 13.0, 12.0]
    s = 1.5 / 1.128
    c = capability(x, lsl=8.0, usl=16.0)
    assert c.sigma == pytest.approx(s, rel=1e-12)
    assert c.cp == pytest.approx(8.0 / (6 * s), rel=1e-12)  # 1.0027
    assert c.cpk == pytest.approx(3.6 / (3 * s), rel=1e-12)  # 0.9024 (mean nearer LSL)
    # alternating 9, 11: MR-bar = 2, centred in [4, 16]: Cp = Cpk = 12 d2 / (6·2) = d2
    alt = [9.0, 11.0] * 10
    c = capability(alt, lsl=4.0, usl=16.0)
    assert c.cp == pytest.approx(D2, rel=1e-12) and c.cpk == pytest.approx(D2, rel=1e-12)
    # one-sided: Cp undefined, Cpk of the side given
    c = capability(alt, usl=16.0)
    assert np.isnan(c.cp) and c.cpk == pytest.approx(6.0 * D2 / 6.0, rel=1e-12)
    # the running index (O(n), cumulative sums) agrees with the direct one at every length
    run = running_cpk(np.array(x), 8.0, 16.0)
    assert np.isnan(run[0])
    for n in range(2, len(x) + 1):
        assert run[n - 1] == pytest.approx(capability(x[:n], lsl=8.0, usl=16.0).cpk, rel=1e-12)
    # ... and over a window: the last three points only
    win = running_cpk(np.array(x), 8.0, 16.0, 3)
    for n in range(3, len(x) + 1):
        assert win[n - 1] == pytest.approx(
            capability(x[n - 3 : n], lsl=8.0, usl=16.0).cpk, rel=1e-12
        )


def test_capability_table_reports_n_limits_and_units(store):
    rng = np.random.default_rng(3)
    values = 0.30 + 0.004 * rng.standard_normal(30)
    _measure(store, values)
    rec = _recipe({POR: {"lower": "28 %", "upper": "32 %"}})
    (row,) = capability_table(store, rec.spec_limits)
    assert row.n == 30 and row.lower == pytest.approx(0.28) and row.upper == pytest.approx(0.32)
    direct = capability(values, lsl=0.28, usl=0.32)
    assert row.cp == pytest.approx(direct.cp) and row.cpk == pytest.approx(direct.cpk)
    assert row.mean == pytest.approx(values.mean())
    json.dumps(row.to_dict())


def test_the_loop_stores_spec_alarms_and_the_cli_prints_them(store, store_url):
    from twinline.cli import app

    rec = _recipe({POR: {"lower": "28 %", "upper": "32 %"}})
    loop = TwinLoop(store, rec, learn=False)
    _measure(store, [0.30, 0.335, 0.29])  # the second is above the USL
    out = loop.observe()
    assert len(out.residuals) == 3
    spec = [a for a in out.alarms if a["series"] == "spec"]
    assert [(a["object"], a["rule"]) for a in spec] == [("KR001", "spec:above-upper")]
    assert spec[0]["value"] == pytest.approx(0.335)
    assert loop.watch_specs() == []  # stored once
    _measure(store, [0.27], start=3)
    assert [a["rule"] for a in loop.observe().alarms if a["series"] == "spec"] == [
        "spec:below-lower"
    ]
    runner = CliRunner()
    r = runner.invoke(app, ["twin", "alarms", "--db", store_url], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "KR001" in r.stdout and "spec:above-upper" in r.stdout and "0.32" in r.stdout
    assert "spec:below-lower" in r.stdout and "KR003" in r.stdout


def test_a_process_drifting_out_of_capability_raises_one_cpk_alarm(store):
    rng = np.random.default_rng(5)
    n = 60
    # capable at first (sigma 0.002 in 0.28..0.32: Cpk ~ 3), then the mean drifts to the USL
    values = (
        0.30
        + 0.002 * rng.standard_normal(n)
        + np.where(np.arange(n) >= 30, 0.0012 * (np.arange(n) - 30), 0.0)
    )
    _measure(store, values)
    limits = _recipe({POR: {"lower": 0.28, "upper": 0.32}}).spec_limits
    rows = [a for a in spec_alarms(store, limits) if a["series"] == "capability"]
    assert len(rows) == 1 and rows[0]["rule"] == f"capability:cpk<{CPK_REQUIRED:g}"
    i = int(rows[0]["object"][2:])
    assert i >= 30  # not while the process was capable
    assert rows[0]["value"] < CPK_REQUIRED
    assert running_cpk(values[:i], 0.28, 0.32, CAPABILITY_WINDOW)[-1] >= CPK_REQUIRED


def test_no_capability_alarm_before_enough_points(store):
    _measure(store, [0.29, 0.31] * ((MIN_CAPABILITY_POINTS - 1) // 2))  # Cpk 0.38, n < 20
    limits = _recipe({POR: {"lower": 0.28, "upper": 0.32}}).spec_limits
    assert running_cpk(np.array([0.29, 0.31] * 5), 0.28, 0.32)[-1] == pytest.approx(
        0.02 * D2 / 0.06
    )
    assert [a for a in spec_alarms(store, limits) if a["series"] == "capability"] == []


def test_twin_capability_cli_prints_cp_cpk_n_and_units(store, store_url, tmp_path, monkeypatch):
    from twinline.cli import app
    from twinline.cli.common import console

    monkeypatch.setattr(console, "width", 200)  # a table row on one line

    _measure(store, [0.31, 0.33, 0.32, 0.34, 0.33], parameter="cathode.coating.am_loading")
    data = yaml.safe_load(EXAMPLE.read_text("utf-8"))
    data["spec_limits"] = {
        "cathode.coating.am_loading": {"lower": "30 mg/cm^2", "upper": "36 mg/cm^2"}
    }
    path = tmp_path / "line.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    runner = CliRunner()
    r = runner.invoke(
        app,
        ["twin", "capability", "--recipe", str(path), "--db", store_url],
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.output
    assert "mg/cm^2" in r.stdout and "cathode.coating.am_loading" in r.stdout
    s = 0.015 / D2  # MR-bar 0.015 kg/m^2
    cp, cpk = 0.06 / (6 * s), (0.326 - 0.30) / (3 * s)  # mean nearer the LSL
    assert f"{cp:.2f}" in r.stdout and f"{cpk:.2f}" in r.stdout and " 5 " in r.stdout
    r = runner.invoke(
        app,
        ["twin", "capability", "--recipe", str(path), "--db", store_url, "--json"],
        catch_exceptions=False,
    )
    (row,) = json.loads(r.stdout)
    assert row["n"] == 5 and row["cp"] == pytest.approx(cp) and row["cpk"] == pytest.approx(cpk)
    r = runner.invoke(
        app,
        ["twin", "capability", "--recipe", str(EXAMPLE), "--db", store_url],
        catch_exceptions=False,
    )
    assert r.exit_code == 2 and "no spec_limits section" in r.stderr
