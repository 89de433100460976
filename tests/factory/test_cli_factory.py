"""``twinline factory``: the build and passport verbs, their messages and exit codes."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from twinline.cli import app

from .conftest import GIGA, PILOT, RECIPE

runner = CliRunner()


def test_help_shows_both_verbs_with_examples():
    res = runner.invoke(app, ["factory", "--help"])
    assert res.exit_code == 0 and "passport" in res.output and "build" in res.output
    for verb in ("build", "passport"):
        res = runner.invoke(app, ["factory", verb, "--help"])
        assert res.exit_code == 0 and "Example: twinline factory" in res.output


def test_factory_writes_json_and_html(tmp_path):
    out = tmp_path / "f"
    res = runner.invoke(app, ["factory", str(RECIPE), "--plant", str(GIGA), "--out", str(out),
                              "-q"])
    assert res.exit_code == 0, res.output
    data = json.loads((out / "factory.json").read_text())
    assert 20.3 <= data["energy_kWh_per_kWh"]["total"] <= 37.5
    assert "inside 20.3-37.5" in res.output and "kWh/kWh" in res.output
    html = (out / "factory.html").read_text()
    assert "Sankey" in html or "sankey" in html
    assert "cumulative yield [%]" in html and "OEE per machine" in html


def test_passport_verb_writes_a_valid_record(run_json, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    from twinline.factory.passport import schema

    out = tmp_path / "passport.json"
    res = runner.invoke(app, ["factory", "passport", str(run_json), "--plant", str(PILOT),
                              "--out", str(out), "--date", "2026-11-30", "--id", "lot=L-7"])
    assert res.exit_code == 0, res.output
    rec = json.loads(out.read_text())
    jsonschema.validate(rec, schema())
    assert rec["manufacturing"]["date"] == "2026-11-30" and rec["traceability"]["ids"] == {
        "lot": "L-7"}


@pytest.mark.parametrize("args, words", [
    (["--id", "nokey"], ["--id 'nokey'", "KEY=VALUE"]),
    (["--date", "tomorrow"], ["not an ISO date"]),
    (["--plant", "missing.yaml"], ["missing.yaml", "cannot read plant file"]),
])
def test_passport_errors_are_one_line_exit_2_and_write_nothing(run_json, tmp_path, args,
                                                               words):
    out = tmp_path / "passport.json"
    proc = subprocess.run([sys.executable, "-c",
                           "from twinline.cli import main; main()", "factory", "passport",
                           str(run_json), "--out", str(out), *args],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in proc.stderr
    for w in words:
        assert w in lines[0]
    assert not out.exists()


def test_a_recipe_without_a_cell_and_a_bad_plant_fail_cleanly(tmp_path):
    bad = tmp_path / "plant.yaml"
    bad.write_text("name: x\ndry_room: {volume: 5}\n")
    out = tmp_path / "f"
    res = runner.invoke(app, ["factory", str(RECIPE), "--plant", str(bad), "--out", str(out)])
    assert res.exit_code == 2
    assert "dry_room.volume" in res.output and "has no unit" in res.output
    assert not (out / "factory.json").exists()
