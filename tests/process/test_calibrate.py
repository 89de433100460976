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


def _validation_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "validate_artistic.py"
    spec = importlib.util.spec_from_file_location("validate_artistic", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_validation_script_scores_model_generated_data_as_perfect(tmp_path, capsys):
    """Data made by the default models (ARTISTIC file formats) must give zero errors."""
    import json
    import warnings

    import pandas as pd

    v = _validation_module()
    am = np.array([94.0, 95.0, 96.0, 96.0])
    stol = np.array([63.0, 70.0, 67.0, 71.0])
    gap = np.array([100.0, 200.0, 300.0, 400.0])
    rows = pd.DataFrame({"am": am, "stol": stol, "gap": gap, "shear_rate": 5000.0 / gap})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eta = v.predict_viscosity_rows(rows)
        load, por = v.predict_coating_rows(rows)
    pd.DataFrame({"Composition": am, "StoL": stol, "Viscosity": eta, "Shear rate": 5000 / gap,
                  "Areal AM mass/mg cm-2": load, "Porosity (complete)": por}).to_csv(
        tmp_path / "slurry_coating_batches.csv", index=False)
    pd.DataFrame({"Composition (A.M.%)": am, "S-to-L Ratio (%)": stol, "Comma gap (µm)": gap,
                  "Viscosity (Pas)": eta, "Mass Loading (mg cm-2) ": load,
                  "Porosity (%)": por}).to_csv(tmp_path / "electrode_discs.csv", index=False)
    cal = pd.DataFrame({"": [1, 2, 3], "X.NMC": [0.94, 0.95, 0.96], "S.to.L": [60, 68, 69],
                        "calender.gap.um": [1.0, 44.0, 100.0],
                        "porosite_before": [0.48, 0.47, 0.46],
                        "thickness_before": [140.0, 170.0, 180.0], "porosity": 0.0, "sd": 0.0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal["porosity"] = v.predict_calendering_rows(cal.rename(columns={
            "X.NMC": "am_fraction", "calender.gap.um": "gap", "porosite_before": "porosity_0",
            "thickness_before": "thickness_0"}))
    cal.to_csv(tmp_path / "calendering_porosity.csv", index=False)
    assert v.main(["--data", str(tmp_path), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res) == {"viscosity_rmse_log10", "loading_median_abs_pct",
                        "dry_porosity_mae_pct_points", "calendered_porosity_mae", "n_rows"}
    assert res["n_rows"] == {"slurry_coating_batches": 4, "electrode_discs": 4,
                             "calendering_porosity": 3}
    for key in ("viscosity_rmse_log10", "loading_median_abs_pct",
                "dry_porosity_mae_pct_points", "calendered_porosity_mae"):
        assert res[key] == pytest.approx(0.0, abs=1e-6)
    # a folder without any of the files is refused
    assert v.main(["--data", str(tmp_path / "nothing")]) == 2
