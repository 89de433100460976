"""Target-property electrodes (issue 17 part 1): the chain solves the comma gap and the
calender pressure; running those settings forward gives the targets back."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import yaml

from twinline.chain import run_chain
from twinline.spec.errors import ProcessError
from twinline.spec.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "nmc111_cathode.yaml"


def _target_recipe(tmp_path: Path, target: dict, *, keep_settings: bool = False) -> Path:
    """The example with a target; its gap and pressure are replaced by wrong ones (kept
    sections: the other settings stay) or the two sections are dropped (defaults)."""
    data = yaml.safe_load(EXAMPLE.read_text("utf-8"))
    data.pop("tolerances", None)
    cat = data["cathode"]
    if keep_settings:
        cat["coating"]["gap"] = "150 um"
        cat["calendering"]["pressure"] = "20 MPa"
    else:
        cat.pop("coating")
        cat.pop("calendering")
    cat["target"] = target
    path = tmp_path / "target.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    return path


def _calendered(run):
    return run.products["cathode"]["calendered"]


@pytest.fixture(scope="module")
def forward():
    """The example's own settings run forward: what the targets will ask for."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _calendered(run_chain(load_recipe(EXAMPLE)))


def test_solved_settings_give_the_targets_back(tmp_path, forward):
    target = {
        "porosity": float(forward.porosity),
        "loading": f"{forward.areal_loading * 100:.6f} mg/cm^2",
    }
    run = run_chain(load_recipe(_target_recipe(tmp_path, target, keep_settings=True)))
    cal = _calendered(run)
    assert cal.areal_loading == pytest.approx(forward.areal_loading, rel=1e-3)
    assert cal.porosity == pytest.approx(forward.porosity, rel=1e-3)
    assert cal.thickness == pytest.approx(forward.thickness, rel=2e-3)
    # the solved settings are the example's own (300 um, 60 MPa) and the Run reports them
    cathode = run.inputs["cathode"]
    gap, gap_unit = cathode["coating"]["gap"].split()
    pressure, p_unit = cathode["calendering"]["pressure"].split()
    assert (gap_unit, p_unit) == ("m", "Pa")
    assert float(gap) == pytest.approx(300e-6, rel=2e-3)
    assert float(pressure) == pytest.approx(60e6, rel=2e-2)
    rec = next(s for s in run.steps if s["step"] == "target")
    assert rec["gap"] == pytest.approx(float(gap))
    # the solved settings as a plain machine-settings recipe make the same electrode
    data = yaml.safe_load(EXAMPLE.read_text("utf-8"))
    data.pop("tolerances", None)
    data["cathode"]["coating"]["gap"] = f"{rec['gap'] * 1e6:.6f} um"
    data["cathode"]["calendering"]["pressure"] = f"{rec['pressure'] / 1e6:.6f} MPa"
    plain = tmp_path / "plain.yaml"
    plain.write_text(yaml.safe_dump(data), "utf-8")
    again = _calendered(run_chain(load_recipe(plain)))
    assert again.porosity == pytest.approx(forward.porosity, rel=1e-3)
    assert again.thickness == pytest.approx(forward.thickness, rel=2e-3)


def test_thickness_and_porosity_alone_set_the_loading(tmp_path, forward):
    target = {"porosity": float(forward.porosity), "thickness": f"{forward.thickness * 1e6:.6f} um"}
    cal = _calendered(run_chain(load_recipe(_target_recipe(tmp_path, target))))
    assert cal.thickness == pytest.approx(forward.thickness, rel=5e-3)
    assert cal.porosity == pytest.approx(forward.porosity, rel=1e-3)


def test_a_setting_outside_the_machine_window_is_reported(tmp_path, forward):
    # 1.8 times the loading needs a gap beyond the comma coater's 500 um
    target = {
        "porosity": float(forward.porosity),
        "loading": f"{forward.areal_loading * 180:.4f} mg/cm^2",
    }
    run = run_chain(load_recipe(_target_recipe(tmp_path, target)))
    assert any("outside the coater's window" in w for w in run.warnings)


def test_an_unreachable_porosity_is_refused_in_one_line(tmp_path, forward):
    target = {"porosity": 0.9, "loading": f"{forward.areal_loading * 100:.4f} mg/cm^2"}
    with pytest.raises(ProcessError) as err:
        run_chain(load_recipe(_target_recipe(tmp_path, target)))
    msg = str(err.value)
    assert "cathode.target.porosity = 0.9" in msg and "\n" not in msg


def test_target_needs_thickness_or_loading(tmp_path):
    from twinline.spec.errors import RecipeError

    with pytest.raises((RecipeError, ValueError)) as err:
        load_recipe(_target_recipe(tmp_path, {"porosity": 0.3}))
    assert "thickness" in str(err.value) and "loading" in str(err.value)


def test_cli_refuses_an_unreachable_target_with_one_line_and_exit_2(tmp_path, forward):
    from typer.testing import CliRunner

    from twinline.cli import app

    target = {"porosity": 0.9, "loading": f"{forward.areal_loading * 100:.4f} mg/cm^2"}
    res = CliRunner().invoke(
        app, ["run", str(_target_recipe(tmp_path, target)), "--out", str(tmp_path / "out")]
    )
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "cathode.target.porosity = 0.9" in lines[0]
    assert "Traceback" not in res.output


def test_cli_prints_the_solved_settings(tmp_path, forward):
    from typer.testing import CliRunner

    from twinline.cli import app

    target = {
        "porosity": float(forward.porosity),
        "loading": f"{forward.areal_loading * 100:.6f} mg/cm^2",
    }
    res = CliRunner().invoke(
        app,
        [
            "run",
            str(_target_recipe(tmp_path, target, keep_settings=True)),
            "--out",
            str(tmp_path / "out"),
            "--no-report",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "solved coating.gap = 300.0 um" in res.output.replace("\n", " ")
