"""Inputs that were silently misread (issue 13, item 5): images, voxel sizes, rheometer CSV.

Each refusal: exit 2, one ``error:`` line, no traceback, no output file.
"""

from __future__ import annotations

import shlex

import numpy as np
import pytest
import tifffile

from cli.clikit import EXAMPLES, ROOT, cli_error, invoke, nothing_written, run_subprocess
from twinline.spec.errors import StructureError
from twinline.structure.io import load, save


def _labels(shape=(8, 24, 24)) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 3, shape).astype(np.uint8)


def test_rgb_tiff_is_refused(tmp_path):
    img = tmp_path / "photo.tif"
    tifffile.imwrite(img, _labels((100, 100, 3)), photometric="rgb")
    out = tmp_path / "res.json"
    line = cli_error("structure", "analyse", img, "--voxel", "1um", "--out", out)
    assert "photo.tif is a colour image" in line and "RGB" in line, line
    assert not out.exists()


def test_rgba_volume_with_photometric_set_is_refused(tmp_path):
    img = tmp_path / "stack.tif"
    tifffile.imwrite(img, np.zeros((5, 20, 20, 4), np.uint8), photometric="rgb")
    with pytest.raises(StructureError, match=r"colour image .* 4 samples per pixel"):
        load(img, voxel_size=1e-6)


def test_greyscale_stack_of_three_layers_is_still_a_volume(tmp_path):
    img = tmp_path / "thin.tif"
    save(img, _labels((3, 24, 24)), voxel_size=1e-6)
    assert load(img).shape == (3, 24, 24)


def test_unknown_tiff_unit_is_an_error_not_micrometres(tmp_path):
    img = tmp_path / "parsec.tif"
    tifffile.imwrite(img, _labels(), imagej=True,
                     metadata={"spacing": 0.5, "unit": "parsec", "axes": "ZYX"})
    out = tmp_path / "res.json"
    line = cli_error("structure", "analyse", img, "--out", out)
    assert "parsec.tif" in line and "'parsec'" in line and "--voxel" in line, line
    assert not out.exists()
    # given explicitly, the voxel size wins over the unreadable stored one
    assert load(img, voxel_size=5e-7).voxel_size == 5e-7


@pytest.mark.parametrize(("unit", "metres"), [("micron", 0.5e-6), ("\\u00B5m", 0.5e-6),
                                              ("nm", 0.5e-9), ("mm", 0.5e-3)])
def test_known_tiff_units_are_converted(tmp_path, unit, metres):
    img = tmp_path / "known.tif"
    tifffile.imwrite(img, _labels(), imagej=True,
                     metadata={"spacing": 0.5, "unit": unit, "axes": "ZYX"})
    assert load(img).voxel_size == pytest.approx(metres)


def test_uncalibrated_imagej_pixel_unit_asks_for_voxel(tmp_path):
    img = tmp_path / "pixel.tif"
    tifffile.imwrite(img, _labels(), imagej=True,
                     metadata={"spacing": 1.0, "unit": "pixel", "axes": "ZYX"})
    line = cli_error("structure", "analyse", img)
    assert "does not store a voxel size" in line


def test_corrupt_tiff_is_one_line(tmp_path):
    good = tmp_path / "good.tif"
    save(good, _labels(), voxel_size=1e-6)
    bad = tmp_path / "bad.tif"
    bad.write_bytes(good.read_bytes()[:200])
    line = cli_error("structure", "analyse", bad, "--voxel", "1um")
    assert line.startswith("error: cannot read") and "bad.tif" in line, line


@pytest.mark.parametrize(("voxel", "expected"), [
    ("nan um", "the voxel size is not a number"),
    ("0.5", "has no unit; give a unit, e.g. --voxel 0.5um"),
    ("-1 um", "must be a finite length > 0"),
    ("inf um", "must be a finite length > 0"),
    ("0.5 kg", "has the wrong unit"),
    ("v" * 100_000, "characters long, not a quantity"),
])
def test_bad_voxel_option_says_what_is_wrong(tmp_path, voxel, expected):
    img = tmp_path / "e.tif"
    save(img, _labels(), voxel_size=1e-6)
    out = tmp_path / "res.json"
    line = cli_error("structure", "analyse", img, "--voxel", voxel, "--out", out)
    assert "--voxel" in line and expected in line, line
    assert len(line) < 600
    assert not out.exists()


def test_generate_refuses_a_thickness_without_unit(tmp_path):
    out = tmp_path / "gen"
    out.mkdir()
    line = cli_error("structure", "generate", "--porosity", "0.4", "--am-mass-fraction",
                     "0.96", "--thickness", "80", "--out", out / "e.tif")
    assert "--thickness = '80' has no unit; give a unit, e.g. --thickness 80um" in line
    assert nothing_written(out)


HEADER = "solid_content [-],shear_rate [1/s],viscosity [Pa s]\n"


def test_calibrate_accepts_the_header_its_help_recommends(tmp_path):
    csv = tmp_path / "rheo.csv"
    rows = (EXAMPLES / "rheometer.csv").read_text("utf-8").splitlines()
    data = [r for r in rows if r and not r.startswith("#")][1:]
    csv.write_text(HEADER + "\n".join(data) + "\n", "utf-8")
    out = tmp_path / "m.yaml"
    res = invoke("calibrate", "slurry", csv, "--am-fraction", "0.96", "--out", out)
    assert res.exit_code == 0, res.output
    assert "materials:" in out.read_text("utf-8")


def test_calibrate_names_the_bad_cell(tmp_path):
    csv = tmp_path / "rheo.csv"
    csv.write_text(HEADER + "0.6,1,7.9\n0.6,10,abc\n", "utf-8")
    out = tmp_path / "m.yaml"
    line = cli_error("calibrate", "slurry", csv, "--out", out)
    assert "rheo.csv: line 3: viscosity = 'abc' is not a number" in line, line
    assert not out.exists()


@pytest.mark.slow
def test_readme_calibrate_command_runs_as_written(tmp_path):
    readme = (ROOT / "README.md").read_text("utf-8")
    cmd = next(ln for ln in readme.splitlines() if ln.startswith("twinline calibrate slurry"))
    args = shlex.split(cmd)[1:]
    assert (ROOT / args[2]).is_file(), args[2]   # the README's data file ships in the repo
    i = args.index("--out")
    out = tmp_path / args[i + 1]
    args[i + 1] = str(out)                        # not into the checkout
    proc, _ = run_subprocess(*args, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "fitted" in proc.stdout and out.is_file()
    # the example is generated from the model with 3 % noise: the fit reaches that noise
    rmse = float(proc.stdout.split("→")[1].split()[0])
    assert rmse < 0.03
