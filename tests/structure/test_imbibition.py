"""Pore-morphology imbibition (PoreSpy): exact cases, trapping, refusals."""

import numpy as np
import pytest

pytest.importorskip("porespy")

from twinline.spec.errors import StructureError
from twinline.structure.imbibition import imbibition


@pytest.mark.slow  # first call pays the PoreSpy import and its JIT compilation
def test_straight_channels_fill_completely_without_trapped_gas():
    lab = np.ones((20, 12, 12), np.uint8)
    lab[:, 3:9, 3:9] = 0            # one straight pore channel from separator to CC
    lab[:, 3:9, 0:3] = 0            # connected to a lateral face (gas outlet)
    res = imbibition(lab, voxel_size=1e-6)
    assert res.final_saturation == pytest.approx(1.0)
    assert res.trapped_gas_fraction == pytest.approx(0.0)
    assert res.pore_voxels == int((lab == 0).sum())


def test_gas_in_a_dead_end_pore_is_trapped():
    lab = np.ones((20, 12, 12), np.uint8)
    lab[:, 3:9, 3:9] = 0            # channel open only to the separator (the inlet)
    res = imbibition(lab, voxel_size=1e-6)
    assert res.trapped_gas_fraction > 0.5
    assert res.final_saturation < 0.5


def test_gas_in_a_large_pocket_behind_a_narrow_throat_is_trapped():
    # the liquid fills the small throat first and cuts the pocket off from the gas outlet
    lab = np.ones((24, 20, 20), np.uint8)
    lab[:, 2:5, 2:5] = 0
    lab[:, 2:5, 0:2] = 0                  # thin channel, open to a lateral face
    lab[8:16, 9:17, 9:17] = 0             # 8³ pocket
    lab[11:13, 5:9, 3:4] = 0
    lab[11:13, 8:10, 3:10] = 0            # 2-voxel throat from the channel to the pocket
    res = imbibition(lab, voxel_size=1e-6)
    pocket = 8 ** 3 / (lab == 0).sum()
    assert res.trapped_gas_fraction == pytest.approx(pocket, rel=0.05)
    assert res.final_saturation == pytest.approx(1 - pocket, rel=0.05)


def test_saturation_rises_as_capillary_pressure_falls_and_stays_in_range():
    rng = np.random.default_rng(1)
    import scipy.ndimage as ndi

    field = ndi.gaussian_filter(rng.random((30, 30, 30)), 2.0)
    lab = np.where(field > np.quantile(field, 0.6), 0, 1).astype(np.uint8)
    res = imbibition(lab, voxel_size=0.5e-6, steps=15)
    p, s = np.array(res.capillary_pressure), np.array(res.saturation)
    assert np.all(np.diff(p) <= 0) and np.all(np.diff(s) >= -1e-12)
    assert 0.0 <= s.min() and s.max() <= 1.0
    assert 0.0 <= res.trapped_gas_fraction < 1.0


def test_young_laplace_scale_of_the_entry_pressure():
    # largest pore radius is 3 voxels: first filled pressures stay above 2γcosθ/(3 voxels)
    lab = np.ones((16, 14, 14), np.uint8)
    lab[:, 4:10, 4:10] = 0
    lab[:, 4:10, 0:4] = 0
    res = imbibition(lab, voxel_size=1e-6, surface_tension=0.035, contact_angle=0.0)
    assert min(res.capillary_pressure) >= 2 * 0.035 / (3.5e-6) * 0.9


def test_bad_images_and_arguments_are_refused():
    with pytest.raises(StructureError, match="3D"):
        imbibition(np.zeros((5, 5), np.uint8), voxel_size=1e-6)
    with pytest.raises(StructureError, match="no pore space"):
        imbibition(np.ones((5, 5, 5), np.uint8), voxel_size=1e-6)
    with pytest.raises(StructureError, match="contact_angle"):
        imbibition(np.zeros((5, 5, 5), np.uint8), voxel_size=1e-6, contact_angle=2.0)
    with pytest.raises(StructureError, match="voxel_size"):
        imbibition(np.zeros((5, 5, 5), np.uint8))
