"""``twinline design`` on a surrogate (issue 13, item 5): bounds outside the training range
are clipped with a warning naming the parameter and the range, refused when they miss it,
and points outside it flagged as extrapolations."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from twinline.cli import app
from twinline.learn.inverse import DesignProblem, Objective, limit_to_training_range
from twinline.spec.errors import RecipeError

pytest.importorskip("optuna")
pd = pytest.importorskip("pandas")
runner = CliRunner()


@pytest.fixture(scope="module")
def surrogate(tmp_path_factory):
    from twinline.learn.surrogate import fit_surrogate

    x = np.linspace(0.40, 0.50, 25)  # trained on porosity_before in [0.40, 0.50]
    frame = pd.DataFrame({"porosity_before": x, "porosity": 0.6 * x})
    sur = fit_surrogate(frame, ["porosity_before"], ["porosity"], kind="gbr", cv=0)
    return sur.save(tmp_path_factory.mktemp("sur") / "s.joblib")


def targets(tmp_path, bounds: str):
    p = tmp_path / "t.yaml"
    p.write_text(f"parameters: {{porosity_before: {bounds}}}\n"
                 "objectives: {porosity: max}\ntrials: 16\n")
    return p


def design(tmp_path, surrogate, bounds, *extra):
    return runner.invoke(app, ["design", str(targets(tmp_path, bounds)), "--surrogate",
                               str(surrogate), "--out", str(tmp_path / "d.html"), *extra])


def test_impossible_bound_is_clipped_with_a_warning(tmp_path, surrogate):
    r = design(tmp_path, surrogate, "[0.40, 1.5]")
    assert r.exit_code == 0, r.output
    warn = [ln for ln in r.output.splitlines() if ln.startswith("warning:")]
    assert warn and "porosity_before" in warn[0] and "[0.4 -, 0.5 -]" in warn[0]
    assert "clipped" in warn[0] and "extrapolation" not in r.output
    row = next(ln for ln in r.output.splitlines() if "porosity_before" in ln
               and "│" in ln)
    assert 0.40 <= float(row.split("│")[2].split()[0]) <= 0.50


def test_bounds_missing_the_training_range_are_refused(tmp_path, surrogate):
    r = design(tmp_path, surrogate, "[0.60, 0.90]")
    assert r.exit_code == 2
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "porosity_before" in lines[0] and "training range" in lines[0]
    assert "[0.4 -, 0.5 -]" in lines[0] and not (tmp_path / "d.html").exists()


def test_extrapolate_keeps_bounds_and_flags_the_points(tmp_path, surrogate):
    r = design(tmp_path, surrogate, "[0.40, 0.90]", "--extrapolate")
    assert r.exit_code == 0, r.output
    assert "points outside it are extrapolations" in r.output
    assert "(extrapolation)" in r.output  # porosity = 0.6 x is maximised at the upper bound
    assert "lie outside the surrogate's training range (extrapolations)" in r.output


def test_limit_to_training_range_api():
    prob = DesignProblem({"a": (0.0, 2.0), "b": (5.0, 6.0)}, [Objective("y", "max")])
    notes = limit_to_training_range(prob, {"a": (0.5, 1.0), "b": (4.0, 7.0)})
    assert prob.bounds == {"a": (0.5, 1.0), "b": (5.0, 6.0)}
    assert len(notes) == 1 and notes[0].startswith("a: bounds")
    with pytest.raises(RecipeError, match="a: bounds"):
        limit_to_training_range(prob, {"a": (3.0, 4.0)})


def test_surrogate_of_a_campaign_is_trained_over_the_campaign_ranges(tmp_path):
    from twinline.learn.campaign import Campaign, Parameter
    from twinline.learn.dataset import design_ranges, read_dataset, widen_bounds
    from twinline.learn.surrogate import fit_surrogate

    def f(point, seed):
        return {"y": point["x"] ** 2}

    Campaign([Parameter("x", 0.0, 2.0)], f, design="sobol", points=8).run(tmp_path)
    sur = fit_surrogate(read_dataset(tmp_path), ["x"], ["y"], kind="gbr", cv=0)
    lo, hi = sur.bounds["x"]
    assert 0.0 < lo and hi < 2.0  # the points span a little less than the design
    widen_bounds(sur, design_ranges(tmp_path))
    assert sur.bounds["x"] == (0.0, 2.0)
