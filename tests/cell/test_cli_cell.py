"""`twinline cell simulate` and `export-bpx`: JSON keys, one-line errors with exit code 2."""

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from twinline.cli import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "nmc622_graphite_pouch.yaml"
runner = CliRunner()


def _recipe(tmp_path, **changes) -> Path:
    data = yaml.safe_load(EXAMPLE.read_text("utf-8"))
    for path, value in changes.items():
        node = data
        keys = path.split(".")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    p = tmp_path / "r.yaml"
    p.write_text(yaml.safe_dump(data), "utf-8")
    return p


@pytest.mark.slow
def test_simulate_json_has_the_agreed_keys():
    res = runner.invoke(app, ["cell", "simulate", str(EXAMPLE), "--c-rates", "0.5,1,2",
                              "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)  # warnings (e.g. "extrapolated") go to stderr
    assert data["c_rates"] == [0.5, 1.0, 2.0]
    for key in ("capacity_Ah", "energy_Wh"):
        assert len(data[key]) == 3
    for key in ("specific_energy_Wh_per_kg", "energy_density_Wh_per_L", "n_p_ratio",
                "electrolyte_volume_mL", "wetting_time_s", "first_cycle_efficiency"):
        assert data[key] > 0


def test_impossible_n_p_is_one_line_exit_2(tmp_path):
    p = _recipe(tmp_path, **{"anode.coating.gap": "60 um"})
    res = runner.invoke(app, ["cell", "simulate", str(p)])
    assert res.exit_code == 2
    assert "n_p_ratio" in res.output and "Traceback" not in res.output


def test_bad_c_rate_text_and_value_are_refused(tmp_path):
    res = runner.invoke(app, ["cell", "simulate", str(EXAMPLE), "--c-rates", "fast"])
    assert res.exit_code == 2 and "--c-rates" in res.output
    res = runner.invoke(app, ["cell", "simulate", str(EXAMPLE), "--c-rates", "0.5,-2"])
    assert res.exit_code == 2 and "C-rate -2" in res.output


@pytest.mark.slow
def test_export_bpx_writes_valid_json(tmp_path):
    pytest.importorskip("bpx")
    out = tmp_path / "cell.bpx.json"
    res = runner.invoke(app, ["cell", "export-bpx", str(EXAMPLE), "--out", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text("utf-8"))
    assert doc["Header"]["BPX"] == "1.0.0"
    assert doc["Parameterisation"]["Positive electrode"]["Thickness [m]"] > 0
