"""Slurry calibration: recover known constants from synthetic rheometer data; CLI verb."""

import numpy as np
import pytest
from typer.testing import CliRunner

from twinline.cli import app
from twinline.materials import builtin_library, load_library
from twinline.process.calibrate import (
    fit_slurry_rheology,
    materials_yaml,
    read_rheometer_csv,
)
from twinline.process.mixing import predict_viscosity
from twinline.process.products import Composition
from twinline.spec.errors import RecipeError

LIB = builtin_library()
COMP = Composition("positive", "NMC111", "C65", "PVDF", "NMP", 0.96, 0.02, 0.02,
                   4750.0, 1900.0, 1780.0)
TRUE = {"relaxation_time": 5.0, "rate_index": 0.5, "overlap_concentration": 2e-3}


def write_csv(path, seed=0, noise=0.02, solids=(0.64, 0.67, 0.70)):
    rng = np.random.default_rng(seed)
    g = np.tile([0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0], len(solids))
    ws = np.repeat(solids, 7)
    eta = predict_viscosity(COMP, ws, g, LIB, constants=TRUE)
    eta = eta * np.exp(rng.normal(0.0, noise, eta.size))
    lines = ["shear_rate [1/s],viscosity [mPa s],solid_content [%],operator"]
    lines += [f"{a},{b * 1e3},{c * 100},ab" for a, b, c in zip(g, eta, ws, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return g, ws, eta


def test_reads_units_in_headers(tmp_path):
    g, ws, eta = write_csv(tmp_path / "r.csv")
    data = read_rheometer_csv(tmp_path / "r.csv")
    assert data.shear_rate == pytest.approx(g)
    assert data.viscosity == pytest.approx(eta, rel=1e-9)          # mPa s → Pa s
    assert data.solid_content == pytest.approx(ws)                 # % → fraction


def test_recovers_the_constants_that_made_the_data(tmp_path):
    write_csv(tmp_path / "r.csv", noise=0.01)
    fit = fit_slurry_rheology(read_rheometer_csv(tmp_path / "r.csv"), COMP, LIB)
    assert fit.rmse_after < 0.02 < fit.rmse_before
    assert fit.constants["relaxation_time"] == pytest.approx(5.0, rel=0.15)
    assert fit.constants["rate_index"] == pytest.approx(0.5, abs=0.02)
    # level and solids dependence: c*, exponent and packing trade off, predictions do not
    ws, g = np.array([0.655, 0.685]), np.array([20.0, 50.0])
    assert predict_viscosity(COMP, ws, g, LIB, constants=fit.constants) == pytest.approx(
        predict_viscosity(COMP, ws, g, LIB, constants=TRUE), rel=0.05)


def test_written_materials_file_reproduces_the_fit(tmp_path):
    write_csv(tmp_path / "r.csv")
    fit = fit_slurry_rheology(read_rheometer_csv(tmp_path / "r.csv"), COMP, LIB)
    (tmp_path / "m.yaml").write_text(materials_yaml(fit, LIB, source="r.csv"))
    lib = load_library(tmp_path / "m.yaml")
    assert lib["NMC111"].get("rate_index") == pytest.approx(fit.constants["rate_index"])
    assert "calibrate slurry r.csv" in lib["PVDF"].source("overlap_concentration")
    assert lib["NMC111"].get("density") == pytest.approx(4750.0)     # untouched properties
    a = predict_viscosity(COMP, 0.67, 25.0, lib)
    b = predict_viscosity(COMP, 0.67, 25.0, LIB, constants=fit.constants)
    assert a == pytest.approx(b, rel=1e-9)


def test_single_solid_content_fits_shape_and_level_only(tmp_path):
    write_csv(tmp_path / "r.csv", solids=(0.67,))
    fit = fit_slurry_rheology(read_rheometer_csv(tmp_path / "r.csv"), COMP, LIB)
    assert "concentration_exponent" not in fit.fitted and fit.notes


def test_missing_column_is_a_clear_error(tmp_path):
    (tmp_path / "r.csv").write_text("shear_rate,eta\n1,2\n")
    with pytest.raises(RecipeError, match="column 'viscosity' is missing"):
        read_rheometer_csv(tmp_path / "r.csv", solid_content=0.6)


def test_cli_writes_materials_and_refuses_bad_input(tmp_path):
    write_csv(tmp_path / "r.csv")
    runner = CliRunner()
    res = runner.invoke(app, ["calibrate", "slurry", str(tmp_path / "r.csv"),
                              "--out", str(tmp_path / "m.yaml")])
    assert res.exit_code == 0, res.output
    assert "RMSE" in res.output and (tmp_path / "m.yaml").exists()
    (tmp_path / "bad.csv").write_text("shear_rate,viscosity,solid_content\n1,-2,0.6\n")
    res = runner.invoke(app, ["calibrate", "slurry", str(tmp_path / "bad.csv"),
                              "--out", str(tmp_path / "n.yaml")])
    assert res.exit_code == 2 and not (tmp_path / "n.yaml").exists()
