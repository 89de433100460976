"""Issue 17 part 4: TauFactor's and PoreSpy's files and conventions, axes, definitions, the
solver's convergence criteria and the numba cache folder."""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from twinline.cli import app
from twinline.spec.errors import ConvergenceWarning, StructureError
from twinline.structure.analyse import DEFINITIONS, analyse, parse_axes
from twinline.structure.generate import generate_electrode
from twinline.structure.labels import parse_label_mapping, relabel
from twinline.structure.transport import solve_conductivity

runner = CliRunner()
SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module")
def electrode():
    """A small generated electrode, anisotropic enough that the three axes differ."""
    return generate_electrode(porosity=0.35, am_mass_fraction=0.93, thickness=24e-6,
                              voxel_size=1e-6, box_xy=20e-6, seed=4)


def _grey_tiff(path, labels, grey=(0, 85, 170), um=1.0):
    """A TauFactor/ImageJ-style segmented stack: grey values, ImageJ spacing, no twinline
    metadata."""
    import tifffile

    img = np.asarray(grey, np.uint8)[labels]
    tifffile.imwrite(path, img, imagej=True, resolution=(1 / um, 1 / um),
                     metadata={"spacing": um, "unit": "um", "axes": "ZYX"})
    return path


def _json(args):
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _one_line_error(args, *needles):
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.output
    assert "Traceback" not in r.output
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


# --- label mappings ---------------------------------------------------------------------------

def test_label_mapping_is_parsed_strictly():
    assert parse_label_mapping("pore=0,am=85,cbd=170") == {0: 0, 85: 1, 170: 2}
    assert parse_label_mapping("pore=255, solid=0") == {255: 0, 0: 1}
    assert parse_label_mapping("pore=0,am=85+255,cbd=170") == {0: 0, 85: 1, 255: 1, 170: 2}
    assert parse_label_mapping({"pore": 1, "solid": [0]}) == {1: 0, 0: 1}
    for bad, what in (("pore=0,glass=3", "glass"), ("pore=zero", "integer"),
                      ("pore=0,am=0", "two phases"), ("am=1,cbd=2", "no pore"),
                      ("pore", "phase=value"), ("", "empty")):
        with pytest.raises(StructureError, match=what):
            parse_label_mapping(bad)


def test_relabel_names_every_unmapped_value():
    img = np.array([0, 85, 170, 200, 200], np.uint8).reshape(5, 1, 1)
    with pytest.raises(StructureError, match=r"200 \(2 voxels\)"):
        relabel(img, "pore=0,am=85,cbd=170", source="x.tif")
    out = relabel(img[:3], "pore=0,am=85,cbd=170")
    assert out.ravel().tolist() == [0, 1, 2] and out.dtype == np.uint8


def test_grey_value_tiff_with_labels_equals_the_twinline_image(tmp_path, electrode):
    from twinline.structure.io import save

    ours = save(tmp_path / "ours.tif", electrode)
    grey = _grey_tiff(tmp_path / "grey.tif", electrode.labels)
    base = ["structure", "analyse", "--json", "--no-pore-sizes"]
    a = _json([*base, str(ours)])
    b = _json([*base, str(grey), "--labels", "pore=0,am=85,cbd=170"])
    for k in ("porosity", "tortuosity_factor_pore", "tortuosity_factor_solid",
              "sigma_eff_S_per_m", "cc_coverage_cbd", "active_surface_fraction"):
        assert b[k] == a[k], k
    # the voxel size came from the ImageJ spacing; a wrong or partial mapping is one line
    _one_line_error([*base, str(grey), "--labels", "pore=0,am=85"], "170", "--labels")
    _one_line_error([*base, str(grey)], "--labels pore=0,am=85,cbd=170")


# --- PoreSpy's boolean convention ---------------------------------------------------------------

def _porespy_mask(shape=(24, 16, 16), porosity=0.30, seed=3):
    """Overlapping spheres of solid; True = pore space (PoreSpy's convention)."""
    rng = np.random.default_rng(seed)
    mask = np.ones(shape, bool)
    grid = np.indices(shape).reshape(3, -1).T + 0.5
    while mask.mean() > porosity:
        c = rng.random(3) * np.array(shape)
        mask.ravel()[((grid - c) ** 2).sum(axis=1) < rng.uniform(2.0, 3.5) ** 2] = False
    return mask


def test_boolean_mask_is_pore_where_true(tmp_path):
    mask = _porespy_mask()
    eps = float(mask.mean())
    assert 0.27 < eps <= 0.30
    a = analyse(mask, voxel_size=1e-6, pore_sizes=False)
    assert a.porosity == pytest.approx(eps, abs=1e-12)     # not 1 - ε = 0.70
    assert a.cbd_fraction == 0.0 and a.am_fraction == pytest.approx(1 - eps)
    assert a.tortuosity_factor_pore == pytest.approx(
        solve_conductivity(mask.view(np.uint8), tol=1e-4).tau, rel=1e-9)
    path = tmp_path / "mask.npy"
    np.save(path, mask)
    d = _json(["structure", "analyse", str(path), "--voxel", "1um", "--json",
               "--no-pore-sizes"])
    assert d["porosity"] == pytest.approx(eps, abs=1e-12)


def test_mask_as_uint8_is_refused_not_swapped(tmp_path):
    """The old error hint mask.astype('uint8') made pore 1 = AM: porosity 0.70, silently."""
    mask = _porespy_mask()
    path = tmp_path / "mask01.npy"
    np.save(path, mask.astype("uint8"))
    args = ["structure", "analyse", str(path), "--voxel", "1um", "--json", "--no-pore-sizes"]
    _one_line_error(args, "pore=1,solid=0", "only the values [0, 1]")
    d = _json([*args, "--labels", "pore=1,solid=0"])
    assert d["porosity"] == pytest.approx(float(mask.mean()), abs=1e-12)


# --- axes ----------------------------------------------------------------------------------

def test_axis_k_is_axis_0_of_the_transposed_image(electrode):
    lab = electrode.labels
    every = analyse(lab, voxel_size=1e-6, axis="all", pore_sizes=False)
    assert every.axis == 0 and set(every.directions) == {"0", "1", "2"}
    assert every.tortuosity_factor_pore == every.directions["0"]["tortuosity_factor_pore"]
    for k in (1, 2):
        t = analyse(np.ascontiguousarray(np.moveaxis(lab, k, 0)), voxel_size=1e-6,
                    pore_sizes=False)
        d = every.directions[str(k)]
        for key in ("tortuosity_factor_pore", "tortuosity_factor_solid", "sigma_eff_S_per_m"):
            assert d[key] == pytest.approx(getattr(t, key), rel=1e-9), (k, key)
    one = analyse(lab, voxel_size=1e-6, axis=2, pore_sizes=False)
    assert one.axis == 2 and set(one.directions) == {"2"}
    assert one.tortuosity_factor_pore == pytest.approx(
        every.directions["2"]["tortuosity_factor_pore"], rel=1e-12)


def test_axis_option_is_checked(tmp_path, electrode):
    from twinline.structure.io import save

    assert parse_axes("all") == (0, 1, 2) and parse_axes(1) == (1,) and parse_axes("2,0") == (2, 0)
    for bad in ("3", "x", "-1", "", True):
        with pytest.raises(StructureError, match="axis"):
            parse_axes(bad)
    img = save(tmp_path / "e.npy", electrode)
    _one_line_error(["structure", "analyse", str(img), "--axis", "3"], "axis", "all")


def test_cli_axis_all_prints_each_direction(tmp_path, electrode):
    from twinline.structure.io import save

    img = save(tmp_path / "e.npy", electrode)
    r = runner.invoke(app, ["structure", "analyse", str(img), "--axis", "all",
                            "--no-pore-sizes"])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    rows = [ln for ln in r.output.splitlines() if "tortuosity factor ε·D₀/D_eff, pore" in ln]
    assert len(rows) == 1 and len(rows[0].split("│")) == 6   # quantity, 3 axes
    assert "TauFactor's `tau` and PoreSpy's `tortuosity`" in text
    assert text.count("solver, pore, axis") == 3
    # what converged: the residual check and the flux-uniformity check, each with its numbers
    assert text.count("residual check met: relative residual") == 6
    assert text.count("flux-uniformity check") == 6 and "threshold 5e-02" in text


@pytest.mark.slow  # TauFactor imports torch (seconds) and solves on the CPU
def test_labels_mask_and_axes_agree_with_taufactor(tmp_path, electrode):
    tau = pytest.importorskip("taufactor")

    def taufactor(mask):
        s = tau.Solver(np.ascontiguousarray(mask).astype(np.uint8), device="cpu")
        return float(np.asarray(s.solve(verbose=False, conv_crit=1e-3)).ravel()[0])

    lab = electrode.labels
    grey = _grey_tiff(tmp_path / "grey.tif", lab)
    d = _json(["structure", "analyse", str(grey), "--labels", "pore=0,am=85,cbd=170",
               "--axis", "all", "--json", "--no-pore-sizes"])
    for k in (0, 1, 2):
        moved = np.moveaxis(lab, k, 0)   # TauFactor solves along its first axis
        got = d["directions"][str(k)]
        assert got["tortuosity_factor_pore"] == pytest.approx(taufactor(moved == 0), rel=0.01)
        assert got["tortuosity_factor_solid"] == pytest.approx(taufactor(moved != 0), rel=0.01)
    # a PoreSpy mask: True = pore is TauFactor's conducting phase 1
    mask = _porespy_mask()
    np.save(tmp_path / "mask.npy", mask)
    m = _json(["structure", "analyse", str(tmp_path / "mask.npy"), "--voxel", "1um",
               "--json", "--no-pore-sizes", "--axis", "1"])
    assert m["tortuosity_factor_pore"] == pytest.approx(taufactor(np.moveaxis(mask, 1, 0)),
                                                        rel=0.01)


# --- names and definitions -------------------------------------------------------------------

def test_every_number_has_its_definition_in_the_json(tmp_path, electrode):
    from twinline.structure.io import save

    img = save(tmp_path / "e.npy", electrode)
    d = _json(["structure", "analyse", str(img), "--json", "--no-pore-sizes"])
    defs = d["definitions"]
    numbers = [k for k, v in d.items() if isinstance(v, (int, float)) and k != "axis"]
    assert numbers and all(k in defs for k in numbers)
    tf = defs["tortuosity_factor_pore"]
    assert "ε·D₀/D_eff" in tf and "TauFactor's `tau`" in tf and "PoreSpy's `tortuosity`" in tf
    assert "√(tortuosity_factor_pore)" in defs["tortuosity_pore"]
    assert d["tortuosity_pore"] == pytest.approx(d["tortuosity_factor_pore"] ** 0.5)
    assert set(DEFINITIONS) >= {"solver", "directions", "axis"}


# --- what "converged" means ----------------------------------------------------------------------

def test_converged_states_residual_and_flux_spread(electrode):
    pore = (electrode.labels == 0).view(np.uint8)
    r = solve_conductivity(pore, tol=1e-4)
    assert r.converged and r.residual <= r.tolerance == 1e-4
    assert r.flux_spread <= r.flux_spread_threshold == 5e-2
    assert "flux spread" in r.criterion and "residual" in r.criterion
    # a tighter flux threshold tightens the residual until the fluxes balance
    tight = solve_conductivity(pore, tol=1e-2, flux_tol=1e-5)
    assert tight.converged and tight.flux_spread <= 1e-5 and tight.residual < 1e-2
    # not reachable in 2 iterations: not converged, and it says so
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bad = solve_conductivity(pore, tol=1e-12, flux_tol=1e-12, max_iter=2)
    assert not bad.converged
    msg = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert msg and "flux spread" in msg[0] and "threshold" in msg[0]
    a = analyse(electrode, pore_sizes=False).to_dict()
    s = a["solver"]["pore"]
    assert {"residual", "tolerance", "flux_spread", "flux_spread_threshold", "converged",
            "criterion"} <= set(s)
    assert s["converged"] == (s["residual"] <= s["tolerance"]
                              and s["flux_spread"] <= s["flux_spread_threshold"])
    # the two checks are reported apart, each with its value and tolerance
    assert s["residual_below_tolerance"] == (s["residual"] <= s["tolerance"])
    assert s["flux_uniform"] == (s["flux_spread"] <= s["flux_spread_threshold"])
    assert s["converged"] == (s["residual_below_tolerance"] and s["flux_uniform"])


# --- the numba cache folder ----------------------------------------------------------------------

def _cache_paths(tmp_path, env_extra, pre_import_numba=False):
    code = ("import numba\n" if pre_import_numba else "") + (
        "import numba, twinline.structure.transport as T\n"
        "from twinline.structure import _kernels as K, _anakernels as A\n"
        "print(numba.config.CACHE_DIR)\n"
        "print(K.apply._cache._cache_path)\n"
        "print(A.paint_balls._cache._cache_path)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR",
                                                             "XDG_CACHE_HOME")}
    env.update({"HOME": str(tmp_path / "home"), "PYTHONPATH": str(SRC), **env_extra})
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120, check=True).stdout.split("\n")
    return [Path(p) for p in out[:3]]


def test_numba_cache_is_in_the_users_cache_folder(tmp_path):
    import twinline.structure

    package = Path(twinline.structure.__file__).resolve().parent
    xdg = tmp_path / "xdg"
    config, kernel, serial = _cache_paths(tmp_path, {"XDG_CACHE_HOME": str(xdg)})
    assert config == xdg / "twinline" / "numba"
    for p in (kernel, serial):
        assert p.is_relative_to(config) and not p.resolve().is_relative_to(package)
    # a NUMBA_CACHE_DIR the user set wins, also when numba was imported first
    mine = tmp_path / "mine"
    config, kernel, _ = _cache_paths(tmp_path, {"NUMBA_CACHE_DIR": str(mine)},
                                     pre_import_numba=True)
    assert config == mine and kernel.is_relative_to(mine)
    config, kernel, _ = _cache_paths(tmp_path, {"XDG_CACHE_HOME": str(xdg)},
                                     pre_import_numba=True)
    assert kernel.is_relative_to(xdg / "twinline" / "numba")


def test_first_run_compiles_one_serial_signature_per_kernel(monkeypatch, electrode):
    """First-run cost guard (issue 17 part 4): a full analysis (three axes, pore sizes) plus a
    solve on the large-grid path (slabs on a thread pool) compiles at most one signature per
    kernel, 6 in all (the 5 kernels of the CG/V-cycle loop and the pore-size painter), none
    ``parallel=True`` (parfor lowering cost ~1-2 s of CPU per kernel). A change that adds dtype
    or layout variants, a kernel, or brings back a parallel kernel fails here."""
    from numba.core.registry import CPUDispatcher

    import twinline.structure.transport as T
    from twinline.structure import _anakernels, _kernels

    analyse(electrode, axis="all")
    monkeypatch.setattr(T, "_PARALLEL_MIN_CELLS", 0)
    monkeypatch.setattr(T, "solver_threads", lambda: 2)
    solve_conductivity(electrode.labels == 0)
    kernels = {f"{mod.__name__}.{n}": d for mod in (_kernels, _anakernels)
               for n, d in vars(mod).items() if isinstance(d, CPUDispatcher)}
    sigs = {n: len(d.signatures) for n, d in kernels.items()}
    assert all(v == 1 for v in sigs.values()), sigs
    assert sum(sigs.values()) <= 6, sigs
    assert not [n for n, d in kernels.items() if d.targetoptions.get("parallel")]


def test_slab_threads_give_the_one_thread_answer_bit_for_bit(monkeypatch, electrode):
    """The V-cycle and CG kernels split axis 0 into slabs run on a thread pool; the answer must
    not depend on the split: a red-black half sweep reads only the other colour, every other
    kernel writes only its own planes, and the reductions are per-plane partial sums added in
    one fixed order. 2 and 3 (uneven) slabs on every level against one thread: bit-identical
    tortuosity factor, residual, flux spread and potential field."""
    import twinline.structure.transport as T

    cond = np.where(electrode.labels == 0, 1.0, np.where(electrode.labels == 1, 0.2, 0.0))
    cond = np.tile(cond, (2, 2, 2))[:47]   # 47 x 40 x 40: two smoothed levels, odd slab starts
    monkeypatch.setattr(T, "_PARALLEL_MIN_CELLS", 0)
    monkeypatch.setattr(T, "solver_threads", lambda: 1)
    one = solve_conductivity(cond, return_field=True)
    for threads in (2, 3):
        monkeypatch.setattr(T, "solver_threads", lambda n=threads: n)
        many = solve_conductivity(cond, return_field=True)
        assert many.iterations == one.iterations > 0
        assert (many.tau, many.residual, many.flux_spread) == (one.tau, one.residual,
                                                              one.flux_spread), threads
        assert np.array_equal(many.field, one.field, equal_nan=True), threads
