"""Predict before measure (issue 15, item 1): a stored prediction's uncertainty includes the
machine tolerances propagated by the chain's Monte Carlo, by default and on the CLI."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twinline.twin.calibration import chain_outputs
from twinline.twin.loop import DEFAULT_SAMPLES, TwinLoop
from twinline.twin.store import ObjectRow, RecordRow, Store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
T0 = datetime(2026, 3, 1, tzinfo=UTC)
KEY = "cathode.coating.am_loading"


def test_the_prediction_sd_adds_the_tolerances_in_quadrature(store_url):
    from twinline.spec.recipe import load_recipe

    recipe = load_recipe(EXAMPLES / "nmc111_cathode.yaml")  # tolerances: gap 5 um, ...
    with Store.open(store_url) as store:
        store.add_objects([ObjectRow("CR1", "coated_roll", T0)])
        store.add_records([RecordRow("CR1", "setting", "cathode.coating.gap", T0, value=3e-4)])
        loop = TwinLoop(store, recipe)
        assert loop.samples == DEFAULT_SAMPLES > 0
        with_tol = loop.predict_object("CR1")[KEY]
        without = TwinLoop(store, recipe, samples=0).predict_object("CR1", store=False)[KEY]
        cal = loop.calibration
        mc = chain_outputs(recipe, cal.values({}), cal.constants, samples=DEFAULT_SAMPLES, seed=0)[
            KEY
        ][1]
        assert mc > 0.005 * with_tol[0]  # a 5 um gap tolerance on 300 um: about 1.5 %
        assert with_tol[1] == pytest.approx(math.hypot(without[1], mc), rel=1e-9)
        stored = [p for p in store.predictions("CR1") if p["parameter"] == KEY]
        assert stored[0]["std"] == pytest.approx(with_tol[1])
        assert stored[0]["models"]["chain_samples"] == DEFAULT_SAMPLES


def test_cli_predict_propagates_the_tolerances_unless_told_not_to(store_url):
    from twinline.cli import app

    with Store.open(store_url) as store:
        store.add_objects([ObjectRow("CR1", "coated_roll", T0)])
    runner = CliRunner()
    args = [
        "twin",
        "predict",
        "CR1",
        "--recipe",
        str(EXAMPLES / "nmc111_cathode.yaml"),
        "--db",
        store_url,
        "--json",
    ]
    sd = {}
    for n in ("64", "0"):
        r = runner.invoke(app, [*args, "--samples", n], catch_exceptions=False)
        assert r.exit_code == 0, r.output
        sd[n] = json.loads(r.stdout)["predictions"][KEY]["std"]
    assert sd["64"] > sd["0"] * 1.01
    r = runner.invoke(app, [*args, "--samples", "-1"], catch_exceptions=False)
    assert r.exit_code == 2 and "--samples = -1" in r.stderr
