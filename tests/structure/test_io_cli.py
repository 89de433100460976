"""Image files and the `twinline structure` verbs."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from twinline.cli import app
from twinline.spec.errors import StructureError
from twinline.structure.generate import generate_electrode
from twinline.structure.io import load, save

runner = CliRunner()


@pytest.fixture(scope="module")
def small():
    return generate_electrode(porosity=0.35, am_mass_fraction=0.95, thickness=20e-6,
                              voxel_size=1e-6, box_xy=16e-6, seed=2)


@pytest.mark.parametrize("ext", [".tif", ".npy", ".h5"])
def test_round_trip_keeps_labels_and_voxel_size(tmp_path, small, ext):
    if ext == ".h5":
        pytest.importorskip("h5py")
    p = save(tmp_path / f"e{ext}", small)
    back = load(p)
    assert np.array_equal(back.labels, small.labels)
    assert back.voxel_size == pytest.approx(1e-6)
    assert back.metadata["labels"]["1"] == "active_material"
    assert not list(tmp_path.glob(".*.tmp")) and not list(tmp_path.glob(".e*"))


def test_tiff_is_a_plain_multipage_stack(tmp_path, small):
    import tifffile

    p = save(tmp_path / "e.tif", small)
    with tifffile.TiffFile(p) as tf:
        assert len(tf.pages) == small.shape[0]
        assert tf.imagej_metadata["spacing"] == pytest.approx(1.0)
    assert tifffile.imread(p).shape == small.shape


def test_unknown_format_and_missing_file_are_refused(tmp_path, small):
    with pytest.raises(StructureError, match="format"):
        save(tmp_path / "e.png", small)
    with pytest.raises(StructureError, match="no such"):
        load(tmp_path / "missing.tif")


def test_cli_generate_then_analyse_json(tmp_path):
    out = tmp_path / "e.tif"
    r = runner.invoke(app, ["structure", "generate", "--porosity", "0.35",
                            "--am-mass-fraction", "0.95", "--thickness", "20um",
                            "--voxel", "1um", "--box", "16um", "--seed", "1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["structure", "analyse", str(out), "--voxel", "1um", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert set(d) == {"porosity", "tortuosity_factor_pore", "tortuosity_factor_solid",
                      "tortuosity_pore", "tortuosity_solid", "sigma_eff_S_per_m",
                      "cc_coverage_am", "cc_coverage_cbd", "active_surface_fraction",
                      "specific_surface_area_per_m", "percolating_fraction_pore",
                      "bruggeman_exponent", "axis", "directions", "solver", "definitions"}
    assert 0 < d["porosity"] < 1 and d["tortuosity_factor_pore"] >= 1
    assert d["sigma_eff_S_per_m"] == pytest.approx(1.119 * d["porosity"]
                                                   / d["tortuosity_factor_pore"], rel=1e-9)


@pytest.mark.parametrize("case", ["non_label", "voxel_unit", "empty_phase", "missing_args"])
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, case):
    img = tmp_path / "x.npy"
    if case == "non_label":
        np.save(img, np.random.default_rng(0).random((6, 6, 6)))
        args = ["structure", "analyse", str(img), "--voxel", "1um"]
    elif case == "voxel_unit":
        np.save(img, np.ones((6, 6, 6), np.uint8))
        args = ["structure", "analyse", str(img), "--voxel", "0.5 kg"]
    elif case == "empty_phase":
        np.save(img, np.ones((6, 6, 6), np.uint8))
        args = ["structure", "analyse", str(img), "--voxel", "1um"]
    else:
        args = ["structure", "generate", "--porosity", "0.3", "--out", str(tmp_path / "a.tif")]
    r = runner.invoke(app, args)
    assert r.exit_code == 2
    assert "error:" in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) <= 3   # one message (soft-wrapped at most)


def test_plot_structure_has_three_labelled_slices(small):
    from twinline.report.structure_figures import plot_structure

    fig = plot_structure(small)
    assert len(fig.data) == 3
    assert "µm" in fig.layout.xaxis.title.text


def test_cli_analyse_reads_the_electrolyte_conductivity_from_the_library(tmp_path, small):
    from twinline.materials import builtin_library
    from twinline.structure.analyse import bulk_conductivity

    assert bulk_conductivity() == builtin_library()["LP30"]["conductivity"]
    img = save(tmp_path / "e.npy", small)
    args = ["structure", "analyse", str(img), "--voxel", "1um", "--json", "--no-pore-sizes"]
    lp30 = json.loads(runner.invoke(app, args).stdout)["sigma_eff_S_per_m"]
    twice = json.loads(runner.invoke(app, [*args, "--conductivity", str(2 * 1.119)]).stdout)
    assert twice["sigma_eff_S_per_m"] == pytest.approx(2 * lp30, rel=1e-9)
    r = runner.invoke(app, [*args, "--electrolyte", "LP3O"])
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "LP3O" in lines[0]
    assert "Traceback" not in r.output
