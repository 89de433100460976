"""Campaign failures (issue 13, item 6): failed points listed with their reason, a documented
non-zero exit, corrupt Parquet parts found on resume, named and recomputed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twinline.cli import app
from twinline.learn.campaign import Campaign, Parameter
from twinline.learn.dataset import DatasetError, DatasetWarning, part_files, read_dataset
from twinline.spec.errors import ProcessError

pytest.importorskip("pyarrow")
ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "nmc111_cathode.yaml"
runner = CliRunner()
PARAMS = [Parameter("x", 0.0, 1.0)]


def model(point: dict[str, float], seed: int) -> dict[str, float]:
    if point["x"] > 0.9:
        raise ProcessError(f"x = {point['x']:.3g} is too high")
    return {"y": 2.0 * point["x"] + 1e-3 * seed}


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # as after a full disk


def test_campaign_lists_failed_points_and_exits_3(tmp_path):
    out = tmp_path / "c"
    r = runner.invoke(app, ["campaign", str(EXAMPLE), "-p", "cathode.coating.gap=1um:300um",
                            "--design", "factorial", "--points", "4", "--outputs",
                            "cathode.calendering.porosity", "--out", str(out)])
    assert r.exit_code == 3, r.output
    last = r.output.strip().splitlines()[-1]
    assert last.startswith("error: 1 of 4 points failed") and "campaign.json" in last
    assert "Traceback" not in r.output
    man = json.loads((out / "campaign.json").read_text())
    assert man["failed_count"] == 1 and man["points_done"] == 4
    (bad,) = man["failed"]
    assert bad["point_id"] == 0 and bad["inputs"] == {"cathode.coating.gap": 1e-6}
    assert "porosity" in bad["reason"] and "impossible" in bad["reason"]
    assert "3" in runner.invoke(app, ["campaign", "--help"]).output


def test_campaign_help_states_the_exit_codes():
    text = " ".join(runner.invoke(app, ["campaign", "--help"]).output.split())
    assert "3 some points failed" in text and "2 bad input" in text


def test_failures_in_the_manifest_from_the_api(tmp_path):
    camp = Campaign(PARAMS, model, design="factorial", points=11)
    tab = camp.run(tmp_path).table
    man = json.loads((tmp_path / "campaign.json").read_text())
    assert man["failed_count"] == 1 == int((tab.status != "ok").sum())
    assert man["failed"][0]["reason"] == "x = 1 is too high"
    assert man["failed"][0]["inputs"] == {"x": 1.0}


def test_truncated_part_is_named_and_its_points_recomputed(tmp_path):
    camp = Campaign(PARAMS, model, design="factorial", points=9)
    full = camp.run(tmp_path / "ref").table
    folder = tmp_path / "resumed"
    camp.run(folder, chunk=3)
    parts = part_files(folder)
    assert len(parts) == 3
    truncate(parts[1])
    with pytest.raises(DatasetError, match=rf"{parts[1].name}: corrupt or truncated"):
        read_dataset(folder)  # a reader names the part instead of an ArrowInvalid traceback
    with pytest.warns(DatasetWarning, match=rf"{parts[1].name} is corrupt"):
        res = camp.run(folder, chunk=3)
    assert res.evaluated == 3 and res.skipped == 6
    assert (folder / f"{parts[1].name}.corrupt").exists()
    import pandas as pd

    pd.testing.assert_frame_equal(res.table, full)


def test_truncated_part_on_cli_resume_exits_cleanly(tmp_path):
    out = tmp_path / "c"
    args = ["campaign", str(EXAMPLE), "-p", "cathode.coating.gap=200um:300um", "--points", "3",
            "--outputs", "cathode.calendering.porosity", "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    (part,) = part_files(out)
    truncate(part)
    r = runner.invoke(app, args)  # the CLI prints the DatasetWarning as one line
    assert r.exit_code == 0, r.output
    text = r.output + (r.stderr if r.stderr_bytes is not None else "")
    assert f"warning: {part.name}" in text or (part.name in text and "corrupt" in text)
    assert "3 points evaluated, 0 already done" in r.output and "Traceback" not in r.output
    assert len(read_dataset(out)) == 3
