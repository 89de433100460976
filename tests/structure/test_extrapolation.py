"""Richardson extrapolation of the transport numbers to zero voxel size (issue 17 part 3)."""

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from twinline.cli import app
from twinline.spec.errors import StructureError
from twinline.structure import extrapolation as X
from twinline.structure.analyse import analyse
from twinline.structure.generate import generate_electrode

runner = CliRunner()


@pytest.fixture(scope="module")
def electrode():
    return generate_electrode(
        porosity=0.40,
        am_mass_fraction=0.96,
        thickness=16e-6,
        voxel_size=1e-6,
        box_xy=12e-6,
        seed=3,
    )


def _channel(n=12, w=4) -> np.ndarray:
    """AM block with a straight w x w pore channel along axis 0 and a CBD slab beside it."""
    lab = np.ones((n, n, n), np.uint8)
    lab[:, 2 : 2 + w, 2 : 2 + w] = 0
    lab[:, 8:10, :] = 2
    return lab


@pytest.mark.parametrize("p", [1.0, 1.06, 1.11, 2.0])
def test_richardson_recovers_the_limit_of_a_power_law(p):
    # D(h) = D0 + C h^p at h and h/2: the two-level formula is exact.
    d0, c, h = 0.0473, -0.021, 1.0
    assert X.richardson(d0 + c * h**p, d0 + c * (h / 2) ** p, p) == pytest.approx(d0, rel=1e-12)
    assert X.richardson(0.0, 0.0, p) == 0.0  # no transport at either level
    with pytest.raises(StructureError, match="order"):
        X.richardson(0.1, 0.2, 0.0)


def test_straight_channel_is_exact_so_nothing_moves():
    # A straight prism along the transport axis is solved exactly at any voxel size
    # (tortuosity factor 1): refined = extrapolated = raw, and the error estimate is ~0.
    a = analyse(
        _channel(),
        voxel_size=1e-6,
        pore_sizes=False,
        electrolyte_conductivity=1.0,
        extrapolate=True,
    )
    x = a.extrapolation
    for q in ("tortuosity_factor_pore", "tortuosity_factor_solid", "sigma_eff_S_per_m"):
        v = x[q]
        assert v["refined"] == pytest.approx(v["raw"], rel=1e-4)
        assert v["extrapolated"] == pytest.approx(v["raw"], rel=1e-3)
        assert abs(v["discretisation_error"]) < 1e-3
    assert x["tortuosity_factor_pore"]["raw"] == pytest.approx(1.0, rel=1e-4)
    assert x["sigma_eff_S_per_m"]["extrapolated"] == pytest.approx(a.porosity, rel=1e-3)


def test_the_split_solve_sees_the_same_phase_fractions(electrode):
    a = analyse(electrode, pore_sizes=False, extrapolate=True, axis="all")
    x = a.extrapolation
    assert x["refined_voxel_size_m"] == pytest.approx(0.5e-6)
    assert x["refined_volume_fraction"]["pore"] == pytest.approx(a.porosity, abs=1e-12)
    assert x["refined_volume_fraction"]["solid"] == pytest.approx(
        a.am_fraction + a.cbd_fraction, abs=1e-12
    )
    fine = X.split(electrode.labels)
    assert fine.shape == tuple(2 * s for s in electrode.shape)
    assert np.array_equal(
        np.bincount(fine.ravel(), minlength=3),
        8 * np.bincount(electrode.labels.ravel(), minlength=3),
    )
    # every axis is extrapolated, and the top level is the first axis's
    assert set(x["directions"]) == {"0", "1", "2"}
    assert x["tortuosity_factor_pore"] == x["directions"]["0"]["tortuosity_factor_pore"]
    for ax, d in x["directions"].items():
        assert d["tortuosity_factor_pore"]["raw"] == a.directions[ax]["tortuosity_factor_pore"]
        # a generated cathode at 1 µm: the raw solve conducts too little, the error is positive
        # for the tortuosity factors and negative for sigma_eff
        assert d["tortuosity_factor_pore"]["discretisation_error"] > 0.05
        assert d["tortuosity_factor_solid"]["discretisation_error"] > 0.02
        assert d["sigma_eff_S_per_m"]["discretisation_error"] < -0.05
        for q, v in d.items():
            assert v["discretisation_error"] == pytest.approx(
                v["raw"] / v["extrapolated"] - 1.0, rel=1e-12
            ), q
    for ax in "012":
        assert all(x["solver"][ax][ph]["converged"] for ph in ("pore", "solid"))


def test_extrapolation_is_deterministic_and_off_by_default(electrode):
    plain = analyse(electrode, pore_sizes=False)
    assert plain.extrapolation == {} and "extrapolation" not in plain.to_dict()
    a = analyse(electrode, pore_sizes=False, extrapolate=True).to_dict()
    b = analyse(electrode, pore_sizes=False, extrapolate=True).to_dict()
    for d in (a, b):
        d.pop("wall_s"), d.pop("solver"), d.pop("directions")
        x = d["extrapolation"]
        x.pop("wall_s"), x.pop("solver")
    assert a == b
    assert plain.tortuosity_factor_pore == a["tortuosity_factor_pore"]


def test_cbd_conducting_field_and_a_phase_that_does_not_percolate():
    lab = _channel()
    lab[5, :, :] = np.where(lab[5] == 0, 1, lab[5])  # close the channel: pore is blocked
    a = analyse(
        lab, voxel_size=1e-6, pore_sizes=False, electrolyte_conductivity=1.0, extrapolate=True
    )
    v = a.extrapolation["tortuosity_factor_pore"]
    assert math.isinf(v["raw"]) and math.isinf(v["extrapolated"])
    assert v["discretisation_error"] == 0.0
    assert a.to_dict()["extrapolation"]["tortuosity_factor_pore"]["extrapolated"] is None
    # with a conducting CBD (nanoporosity) the pore field is no longer a mask; it is split too
    b = analyse(
        lab,
        voxel_size=1e-6,
        pore_sizes=False,
        electrolyte_conductivity=1.0,
        cbd_nanoporosity=0.5,
        extrapolate=True,
    )
    x = b.extrapolation
    assert math.isfinite(x["tortuosity_factor_pore"]["extrapolated"])
    assert x["refined_volume_fraction"]["pore"] == pytest.approx(
        np.mean(lab == 0) + 0.5**1.5 * np.mean(lab == 2), rel=1e-6
    )


def test_size_guard_refuses_before_solving(electrode):
    n = 8 * electrode.labels.size
    with pytest.raises(StructureError) as err:
        analyse(electrode, extrapolate=True, max_refined_voxels=n - 1)
    msg = str(err.value)
    assert "extrapolate" in msg and f"{n:,}" in msg and f"{n - 1:,}" in msg
    assert "\n" not in msg
    assert analyse(
        electrode, pore_sizes=False, extrapolate=True, max_refined_voxels=n
    ).extrapolation


def test_cli_extrapolate_json_has_the_block_and_its_definitions(tmp_path, electrode):
    from twinline.structure.io import save

    img = save(tmp_path / "e.npy", electrode)
    r = runner.invoke(
        app, ["structure", "analyse", str(img), "--json", "--no-pore-sizes", "--extrapolate"]
    )
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    x = d["extrapolation"]
    assert set(x["sigma_eff_S_per_m"]) == {"raw", "refined", "extrapolated", "discretisation_error"}
    assert x["sigma_eff_S_per_m"]["raw"] == d["sigma_eff_S_per_m"]
    defs = d["definitions"]
    for key in (
        "extrapolation",
        "extrapolation.refined",
        "extrapolation.extrapolated",
        "extrapolation.discretisation_error",
        "extrapolation.order_p",
    ):
        assert key in defs
    assert "raw/extrapolated − 1" in defs["extrapolation.discretisation_error"]
    r = runner.invoke(app, ["structure", "analyse", str(img), "--no-pore-sizes", "--extrapolate"])
    assert r.exit_code == 0 and "Richardson" in r.output and "raw error" in r.output
    plain = json.loads(
        runner.invoke(app, ["structure", "analyse", str(img), "--json", "--no-pore-sizes"]).stdout
    )
    assert "extrapolation" not in plain and "extrapolation.raw" not in plain["definitions"]


def test_cli_size_guard_is_one_line_exit_2(tmp_path, electrode, monkeypatch):
    from twinline.structure.io import save

    img = save(tmp_path / "e.npy", electrode)
    monkeypatch.setattr(X, "MAX_REFINED_VOXELS", 1000)
    r = runner.invoke(app, ["structure", "analyse", str(img), "--extrapolate"])
    assert r.exit_code == 2
    out = r.output.strip()
    assert out.startswith("error:") and len(out.splitlines()) == 1, out
    assert "extrapolate" in out and "1,000" in out and "Traceback" not in out
