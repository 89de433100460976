"""The learn verbs end to end on tiny inputs; errors give one line and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from twinline.cli import app

pytest.importorskip("pyarrow")
ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "nmc111_cathode.yaml"
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.slow
def test_campaign_surrogate_and_design_verbs(tmp_path):
    data = tmp_path / "camp"
    r = invoke("campaign", EXAMPLE, "-p", "cathode.calendering.pressure=20MPa:170MPa",
               "-p", "cathode.coating.gap=200um:300um", "--points", "12", "--design", "sobol",
               "--outputs", "cathode.calendering.porosity,cathode.calendering.thickness",
               "--out", data)
    assert r.exit_code == 0, r.output
    assert "12 points evaluated" in r.output
    r = invoke("campaign", EXAMPLE, "-p", "cathode.calendering.pressure=20MPa:170MPa",
               "-p", "cathode.coating.gap=200um:300um", "--points", "12", "--design", "sobol",
               "--outputs", "cathode.calendering.porosity,cathode.calendering.thickness",
               "--out", data)
    assert "0 points evaluated, 12 already done" in r.output
    model = tmp_path / "m.joblib"
    r = invoke("surrogate", "fit", data, "--inputs",
               "cathode.calendering.pressure,cathode.coating.gap", "--outputs",
               "cathode.calendering.porosity,cathode.calendering.thickness", "--kind", "gp",
               "--cv", "0", "--out", model)
    assert r.exit_code == 0, r.output
    assert model.exists() and model.with_suffix(".json").exists()
    r = invoke("surrogate", "predict", model, "--set", "cathode.calendering.pressure=6e7",
               "--set", "cathode.coating.gap=2.5e-4")
    assert r.exit_code == 0 and "cathode.calendering.porosity = 0." in r.output
    targets = tmp_path / "t.yaml"
    targets.write_text(
        "parameters:\n  cathode.calendering.pressure: [20 MPa, 170 MPa]\n"
        "  cathode.coating.gap: [200 um, 300 um]\n"
        "objectives:\n  cathode.calendering.porosity: {target: 0.30, tolerance: 0.02}\n"
        "  cathode.calendering.thickness: min\ntrials: 128\n")
    report = tmp_path / "design.html"
    # 12 Sobol points train the surrogate on a little less than the bounds; clipping to that
    # range is tested in tests/cli/test_design_bounds.py, here the verb searches the bounds
    r = invoke("design", targets, "--surrogate", model, "--out", report, "--extrapolate")
    assert r.exit_code == 0, r.output
    assert "Pareto front" in r.output and report.exists()
    assert "Best compromise" in report.read_text()


def test_design_on_the_chain(tmp_path):
    targets = tmp_path / "t.yaml"
    targets.write_text(
        "parameters: {cathode.calendering.pressure: [20 MPa, 170 MPa]}\n"
        "objectives: {cathode.calendering.porosity: {target: 0.30, tolerance: 0.01}}\n"
        "trials: 24\n")
    r = invoke("design", targets, "--recipe", EXAMPLE, "--out", tmp_path / "d.html")
    assert r.exit_code == 0, r.output
    row = next(line for line in r.output.splitlines() if "calendering.porosity" in line)
    value = float(row.split("│")[2].split()[0])
    assert abs(value - 0.30) <= 0.01


@pytest.mark.parametrize("args,message", [
    (["study", "unknown-study", "--out", "x"], "unknown"),
    (["study", "calendering-nmc111", "--out", "x", "--calendering", "dem"],
     "--calendering = 'dem' is unknown"),
    (["campaign", str(EXAMPLE), "-p", "cathode.calendering.pressure=20MPa"], "low:high"),
    (["campaign", str(EXAMPLE), "-p", "cathode.calendering.presure=1MPa:2MPa"],
     "choose from"),
    (["design", str(ROOT / "examples" / "design_targets.yaml")], "exactly one"),
    (["surrogate", "predict", "nope.joblib"], "no surrogate here"),
])
def test_bad_input_gives_one_line_and_exit_2(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output
