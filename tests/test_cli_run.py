"""``twinline run`` and ``twinline cite``: files written, exit codes, one-line errors."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twinline.cli import app
from twinline.spec.units import to_unit

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "nmc111_cathode.yaml"
runner = CliRunner()


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    res = runner.invoke(app, ["run", str(EXAMPLE), "--out", str(d), "--samples", "50",
                              "--seed", "2"])
    assert res.exit_code == 0, res.output
    return d


def test_run_writes_run_json_and_report(out):
    data = json.loads((out / "run.json").read_text())
    assert (out / "report.html").stat().st_size > 1_000_000  # plotly.js embedded
    assert data["samples"] == 50 and data["seed"] == 2
    for key in ("cathode.calendering.porosity", "cathode.calendering.thickness",
                "cathode.coating.loading"):
        assert set(data["outputs"][key]) >= {"value", "unit", "std"}
    o = data["outputs"]
    eps = o["cathode.calendering.porosity"]["value"]
    thick = to_unit(o["cathode.calendering.thickness"]["value"],
                    o["cathode.calendering.thickness"]["unit"], "um")
    load = to_unit(o["cathode.coating.loading"]["value"], o["cathode.coating.loading"]["unit"],
                   "mg/cm^2")
    # 96:2:2 NMC111 at 300 um gap, 60 MPa: porosity 0.2-0.4, one side 50-200 um, 10-60 mg/cm2
    assert 0.2 < eps < 0.4 and 50 < thick < 200 and 10 < load < 60
    # areal mass = thickness × (1 − porosity) × solid density (96:2:2 skeletal ≈ 4.4 g/cm3)
    rho = 1 / (0.96 / 4.75 + 0.02 / 1.9 + 0.02 / 1.78)
    assert load == pytest.approx(thick * 1e-4 * (1 - eps) * rho * 1e3, rel=0.02)
    assert o["cathode.coating.loading"]["std"] > 0


def test_bad_recipe_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("gap: 300 um", "gap: 300 kg"))
    res = runner.invoke(app, ["run", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "coating.gap" in lines[0] and "Traceback" not in res.output
    assert not (tmp_path / "o" / "run.json").exists()


def test_missing_recipe_exits_2(tmp_path):
    res = runner.invoke(app, ["run", str(tmp_path / "nope.yaml"), "--out", str(tmp_path)])
    assert res.exit_code == 2 and "cannot read recipe" in res.output


def test_cite_prints_bibtex_of_a_run_and_of_a_recipe(out):
    res = runner.invoke(app, ["cite", str(out / "run.json")])
    assert res.exit_code == 0, res.output
    assert "@article{Meyer2017," in res.output and "@article{Huttner2020," in res.output
    keys = runner.invoke(app, ["cite", str(EXAMPLE), "--keys"])
    assert keys.exit_code == 0 and "Zanotto2022" in keys.output.split()


def test_impossible_product_exits_2_naming_electrode_and_step(tmp_path):
    bad = tmp_path / "wide.yaml"
    bad.write_text(EXAMPLE.read_text().replace("speed: 100 m/min", "speed: 100 m/min\n    "
                                                "width: 0.4 m"))
    res = runner.invoke(app, ["run", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "cathode: slitting: width = 400 mm" in " ".join(res.output.split())


def test_materials_option_overrides_the_library(tmp_path):
    from importlib import resources

    import yaml

    builtin = yaml.safe_load(resources.files("twinline.materials").joinpath(
        "library.yaml").read_text("utf-8"))
    pvdf = builtin["materials"]["PVDF"]
    pvdf["properties"]["water_sorption"] = {"value": 0.5, "unit": ""}  # a very wet binder
    lib = tmp_path / "wet.yaml"
    lib.write_text(yaml.safe_dump({"materials": {"PVDF": pvdf}}))
    res = runner.invoke(app, ["run", str(EXAMPLE), "--out", str(tmp_path / "o"),
                              "--materials", str(lib), "--no-report"])
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "o" / "run.json").read_text())
    assert not (tmp_path / "o" / "report.html").exists()
    assert any("cathode.post_drying: residual moisture" in w for w in data["warnings"])
