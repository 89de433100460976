"""Inverse design finds settings that reproduce a target made by known settings."""

from __future__ import annotations

import numpy as np
import pytest

from twinline.learn.inverse import (
    from_evaluate,
    load_targets,
    optimise,
    parse_targets,
    surrogate_predictor,
)
from twinline.spec.errors import RecipeError

pytest.importorskip("optuna")


def line(point: dict[str, float], seed: int = 0) -> dict[str, float]:
    """A calendering-like law: porosity falls with pressure, solid volume is conserved."""
    eps = 0.2 + (point["eps0"] - 0.2) * np.exp(-point["pressure"] / 80e6)
    return {"porosity": eps, "sigma": 1.119 * eps**1.5,
            "thickness": 100e-6 * (1 - point["eps0"]) / (1 - eps)}


def test_target_made_by_a_known_recipe_is_met():
    known = line({"pressure": 100e6, "eps0": 0.46})
    problem = parse_targets({
        "parameters": {"pressure": ["20 MPa", "170 MPa"], "eps0": [0.40, 0.50]},
        "objectives": {"porosity": {"target": known["porosity"], "tolerance": 0.005},
                       "thickness": {"target": f"{known['thickness'] * 1e6} um",
                                     "tolerance": "1 um"}},
        "trials": 640, "seed": 0})
    res = optimise(problem, from_evaluate(line))
    assert res.best, "no feasible design found"
    check = line({"pressure": res.best["pressure"], "eps0": res.best["eps0"]})
    assert abs(check["porosity"] - known["porosity"]) <= 0.005
    assert abs(check["thickness"] - known["thickness"]) <= 1e-6
    assert res.trials.feasible.sum() >= len(res.front) > 0


def test_front_respects_constraints_and_trades_off(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("parameters: {pressure: [20 MPa, 170 MPa], eps0: [0.40, 0.50]}\n"
                    "objectives: {sigma: max, thickness: min}\n"
                    "constraints: {thickness: {max: 80 um}}\ntrials: 512\n")
    problem = load_targets(path)
    res = optimise(problem, from_evaluate(line))
    assert (res.front.thickness <= 80e-6 + 1e-12).all()
    # more conductivity costs thickness: along the front sigma and thickness rise together
    f = res.front.sort_values("thickness")
    assert np.corrcoef(f.thickness, f.sigma)[0, 1] > 0.9


def test_surrogate_predictor_fills_fixed_inputs():
    class Fake:
        inputs = ("pressure", "eps0")

        def predict_dict(self, cols):
            return line(cols)

    pred = surrogate_predictor(Fake(), fixed={"eps0": 0.45})({"pressure": np.array([5e7])})
    assert pred["porosity"][0] == pytest.approx(line({"pressure": 5e7, "eps0": 0.45})[
        "porosity"])
    with pytest.raises(RecipeError, match="eps0"):
        surrogate_predictor(Fake())({"pressure": np.array([5e7])})


@pytest.mark.parametrize("bad,match", [
    ({"parameters": {"p": [2, 1]}, "objectives": {"y": "max"}}, "empty"),
    ({"parameters": {"p": [0, 1]}, "objectives": {"y": "up"}}, "max, min"),
    ({"parameters": {"p": [0, 1]}, "objectives": {"y": {"target": 1}}}, "tolerance"),
    ({"parameters": {"p": [0, 1]}, "objectives": {"y": "max"}, "typo": 1}, "unknown keys"),
    ({"parameters": {"p": ["12 bananas", 2]}, "objectives": {"y": "max"}}, "quantity"),
])
def test_bad_targets_are_refused(bad, match):
    with pytest.raises(RecipeError, match=match):
        parse_targets(bad)


def test_a_missing_output_is_named():
    problem = parse_targets({"parameters": {"pressure": [2e7, 1.7e8], "eps0": [0.4, 0.5]},
                             "objectives": {"nope": "max"}, "trials": 10})
    with pytest.raises(RecipeError, match="nope"):
        optimise(problem, from_evaluate(line))


@pytest.mark.slow
def test_target_of_a_known_recipe_is_met_on_the_real_chain():
    from pathlib import Path

    from twinline.learn.recipe_points import ChainEvaluator, recipe_data

    example = Path(__file__).parents[2] / "examples" / "nmc111_cathode.yaml"
    outs = ["cathode.calendering.porosity", "cathode.calendering.thickness"]
    chain = ChainEvaluator(recipe_data(example), outs)
    known = chain({"cathode.calendering.pressure": 90e6, "cathode.coating.gap": 260e-6}, 0)
    problem = parse_targets({
        "parameters": {"cathode.calendering.pressure": ["20 MPa", "170 MPa"],
                       "cathode.coating.gap": ["200 um", "320 um"]},
        "objectives": {outs[0]: {"target": known[outs[0]], "tolerance": 0.005},
                       outs[1]: {"target": known[outs[1]], "tolerance": 2e-6}},
        "trials": 160, "seed": 1})
    res = optimise(problem, from_evaluate(chain), population=32)
    assert res.best, "no feasible setting found"
    again = chain({k: res.best[k] for k in problem.bounds}, 0)
    assert abs(again[outs[0]] - known[outs[0]]) <= 0.005
    assert abs(again[outs[1]] - known[outs[1]]) <= 2e-6
