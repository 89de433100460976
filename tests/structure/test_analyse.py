"""Analysis: hand-made images with known answers, literature trends, refusals."""

import json

import numpy as np
import pytest

from twinline.spec.errors import StructureError
from twinline.structure.analyse import JSON_KEYS, analyse, local_thickness
from twinline.structure.generate import generate_electrode


def _channels():
    """Pore channels through an AM matrix with CBD on the CC face."""
    lab = np.ones((20, 10, 10), np.uint8)
    lab[:, 2:5, 2:5] = 0          # 9 pore voxels per plane
    lab[:, 6:8, 6:8] = 0          # 4 more
    lab[0, 0:2, 0:10] = 2         # CBD on the CC: 20 voxels
    return lab


def test_straight_pores_give_exact_answers():
    lab = _channels()
    a = analyse(lab, voxel_size=1e-6, electrolyte_conductivity=1.0)
    assert a.porosity == pytest.approx(13 / 100)
    assert a.tortuosity_factor_pore == pytest.approx(1.0, rel=1e-5)
    assert a.tortuosity_pore == pytest.approx(1.0, rel=1e-5)
    assert a.sigma_eff_S_per_m == pytest.approx(a.porosity, rel=1e-5)   # MacMullin, tau2 = 1
    assert a.bruggeman_exponent == pytest.approx(1.0, abs=1e-4)
    assert a.cc_coverage_cbd == pytest.approx(20 / 100)
    assert a.cc_coverage_am == pytest.approx((100 - 13 - 20) / 100)
    assert a.percolating_fraction_pore == pytest.approx(1.0)


def test_active_surface_of_a_cube_with_one_coated_face():
    lab = np.zeros((12, 12, 12), np.uint8)
    lab[4:8, 4:8, 4:8] = 1          # AM cube, 6 faces of 16 voxel faces
    lab[8, 4:8, 4:8] = 2            # CBD on the top face
    a = analyse(lab, voxel_size=1e-6, pore_sizes=False)
    assert a.active_surface_fraction == pytest.approx(5 / 6)
    assert a.am_pore_area_per_m == pytest.approx(80 * 1e-12 * (2 / 3) / (12 ** 3 * 1e-18))


def test_local_thickness_of_a_slit_is_its_width():
    m = np.zeros((30, 30, 30), bool)
    m[:, :, 10:17] = True           # 7-voxel slit
    lt = local_thickness(m)
    mid = lt[8:22, 8:22, 13]
    assert np.median(mid) == pytest.approx(7.0, abs=1.0)
    assert lt[~m].max() == 0


def test_porous_cbd_conducts_and_counts_in_the_porosity():
    lab = np.ones((16, 8, 8), np.uint8)
    lab[:, :2, :] = 2               # CBD slab through the thickness, no pore path otherwise
    lab[:, 6:, :] = 0
    dense = analyse(lab, voxel_size=1e-6, pore_sizes=False)
    porous = analyse(lab, voxel_size=1e-6, pore_sizes=False, cbd_nanoporosity=0.5)
    assert porous.porosity == pytest.approx(dense.porosity + 0.5 * 0.25)
    # parallel paths: D_eff = 0.25 + 0.25 * 0.5**1.5
    assert porous.sigma_eff_S_per_m / 1.119 == pytest.approx(0.25 + 0.25 * 0.5 ** 1.5, rel=1e-5)
    assert dense.sigma_eff_S_per_m / 1.119 == pytest.approx(0.25, rel=1e-5)


def test_blocked_pore_is_reported_as_not_percolating():
    lab = np.ones((10, 6, 6), np.uint8)
    lab[:4, :3] = 0
    lab[6:, 3:] = 0
    a = analyse(lab, voxel_size=1e-6, pore_sizes=False)
    assert a.tortuosity_factor_pore == np.inf and a.sigma_eff_S_per_m == 0.0
    d = a.to_dict()
    assert d["tortuosity_factor_pore"] is None
    json.dumps(d, allow_nan=False)
    assert all(k in d for k in JSON_KEYS)


def _mean(seeds, **kw):
    res = [analyse(generate_electrode(seed=s, thickness=30e-6, voxel_size=1e-6, box_xy=25e-6,
                                      **kw), pore_sizes=False) for s in seeds]
    return {k: np.mean([getattr(r, k) for r in res])
            for k in ("tortuosity_factor_pore", "tortuosity_factor_solid", "sigma_eff_S_per_m",
                      "active_surface_fraction")}


@pytest.mark.slow
def test_calendering_trends_of_duquesnoy_2020():
    # more pressure = lower porosity: pore tau2 up, solid tau2 down, sigma down
    loose = _mean((1, 2), porosity=0.45, am_mass_fraction=0.95)
    dense = _mean((1, 2), porosity=0.30, am_mass_fraction=0.95)
    assert dense["tortuosity_factor_pore"] > loose["tortuosity_factor_pore"]
    assert dense["tortuosity_factor_solid"] < loose["tortuosity_factor_solid"]
    assert dense["sigma_eff_S_per_m"] < 0.7 * loose["sigma_eff_S_per_m"]
    # more AM (less CBD) at the same porosity exposes more AM surface
    low_am = _mean((1, 2), porosity=0.35, am_mass_fraction=0.93)
    high_am = _mean((1, 2), porosity=0.35, am_mass_fraction=0.96)
    assert high_am["active_surface_fraction"] > low_am["active_surface_fraction"]


def test_refuses_bad_images_and_voxel_sizes():
    lab = _channels()
    with pytest.raises(StructureError, match="label image"):
        analyse(lab.astype(float) + 0.5, voxel_size=1e-6)
    with pytest.raises(StructureError, match="label image"):
        analyse(lab + 3, voxel_size=1e-6)
    with pytest.raises(StructureError, match="pore phase"):
        analyse(np.ones((5, 5, 5), np.uint8), voxel_size=1e-6)
    with pytest.raises(StructureError, match="active-material"):
        analyse(np.zeros((5, 5, 5), np.uint8), voxel_size=1e-6)
    with pytest.raises(StructureError, match="voxel_size"):
        analyse(lab, voxel_size=0.5)
    with pytest.raises(StructureError, match="voxel_size"):
        analyse(lab)
