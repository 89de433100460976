"""Generator: phase fractions, determinism, CBD placement, calendering, refusals."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from twinline.process.products import CalenderedElectrode, Composition
from twinline.spec.errors import StructureError
from twinline.structure.analyse import local_thickness
from twinline.structure.generate import (
    calendered_height,
    from_calendered,
    generate_electrode,
    total_porosity,
    volume_fractions,
)
from twinline.structure.psd import lognormal, measured

SMALL = dict(thickness=30e-6, voxel_size=1e-6, box_xy=30e-6)


@pytest.mark.parametrize(("porosity", "w_am", "en"), [(0.30, 0.96, 0.0), (0.40, 0.93, 0.45),
                                                      (0.50, 0.95, 0.3)])
def test_phase_fractions_hit_the_targets_within_half_a_percent(porosity, w_am, en):
    m = generate_electrode(porosity=porosity, am_mass_fraction=w_am, cbd_nanoporosity=en,
                           seed=3, **SMALL)
    target = m.metadata["target"]
    got = m.phase_fractions()
    for key in ("pore", "active_material", "carbon_binder_domain"):
        assert got[key] == pytest.approx(target[key], abs=0.005)
    # solid volume conservation: AM + dense CBD = 1 - total porosity, the CBD label holding
    # its nanopores (en) and the bound pore volume (nu per unit solid volume)
    nu = target["bound_pore"]
    assert nu > 0
    solid = got["active_material"] + (1 - en) * (got["carbon_binder_domain"]
                                                 - nu * (1 - porosity))
    assert solid == pytest.approx(1 - porosity, abs=0.005)


def test_same_seed_same_image_other_seed_other_image():
    a = generate_electrode(porosity=0.35, am_mass_fraction=0.95, seed=1, **SMALL)
    b = generate_electrode(porosity=0.35, am_mass_fraction=0.95, seed=1, **SMALL)
    c = generate_electrode(porosity=0.35, am_mass_fraction=0.95, seed=2, **SMALL)
    assert np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.labels, c.labels)
    assert a.labels.dtype == np.uint8 and set(np.unique(a.labels)) == {0, 1, 2}


def test_cbd_fills_the_narrow_gaps_between_particles_not_at_random():
    # CBD bridges particles: it takes the narrowest parts of the space between AM (necks,
    # throats), so the local thickness of the non-AM space is smaller under CBD than in the
    # remaining pores; a random placement would give a ratio of 1.
    ratios, dist_ratios = [], []
    for seed in (4, 5, 6):
        m = generate_electrode(porosity=0.35, am_mass_fraction=0.94, seed=seed,
                               thickness=24e-6, voxel_size=0.5e-6, box_xy=24e-6)
        lt = local_thickness(m.labels != 1)
        ratios.append(lt[m.labels == 2].mean() / lt[m.labels == 0].mean())
        dist = ndimage.distance_transform_edt(m.labels != 1)
        dist_ratios.append(dist[m.labels == 2].mean() / dist[m.labels == 0].mean())
    assert np.mean(ratios) < 0.92
    assert np.mean(dist_ratios) < 0.92


def test_volume_fraction_helpers_are_inverse():
    pore, am, cbd = volume_fractions(0.38, 0.94, am_density=4750, cbd_density=1838,
                                     cbd_nanoporosity=0.45)
    assert pore + am + cbd == pytest.approx(1.0)
    eps = total_porosity(pore, 0.94, am_density=4750, cbd_density=1838, cbd_nanoporosity=0.45)
    assert eps == pytest.approx(0.38, abs=1e-12)
    # mass ratio AM:CBD is the recipe's
    assert am * 4750 / (cbd * (1 - 0.45) * 1838) == pytest.approx(0.94 / 0.06)
    # with a bound pore volume nu (per unit solid volume) in the CBD label
    pore, am, cbd = volume_fractions(0.38, 0.94, am_density=4750, cbd_density=1838,
                                     cbd_nanoporosity=0.1, bound_pore=0.13)
    assert pore + am + cbd == pytest.approx(1.0)
    assert total_porosity(pore, 0.94, am_density=4750, cbd_density=1838, cbd_nanoporosity=0.1,
                          bound_pore=0.13) == pytest.approx(0.38, abs=1e-12)
    dense_cbd = (cbd - 0.13 * (1 - 0.38)) * (1 - 0.1)
    assert am * 4750 / (dense_cbd * 1838) == pytest.approx(0.94 / 0.06)


def test_calendering_keeps_the_solid_volume_and_the_footprint():
    z = calendered_height(100e-6, 0.48, 0.305)
    assert z * (1 - 0.305) == pytest.approx(100e-6 * (1 - 0.48))
    assert round(z * 1e6, 1) == 74.8        # Duquesnoy et al. 2020, Fig. 3B


def _calendered(porosity=0.35, thickness=40e-6):
    comp = Composition(polarity="positive", active_material="NMC111", conductive_additive="C65",
                       binder="PVDF", solvent="NMP", am_mass_fraction=0.95,
                       conductive_mass_fraction=0.025, binder_mass_fraction=0.025,
                       am_density=4750.0, conductive_density=1900.0, binder_density=1780.0)
    t0 = thickness * (1 - porosity) / (1 - 0.45)
    return CalenderedElectrode(composition=comp, thickness=thickness, porosity=porosity,
                               thickness_before=t0, porosity_before=0.45, line_load=3e5,
                               pressure=5e7, areal_loading=0.01, am_loading=0.0095,
                               areal_capacity=5e4, am_volume_fraction=0.6,
                               cbd_volume_fraction=0.05, particle_radius=2e-6)


def test_from_calendered_uses_the_electrode_numbers():
    cal = _calendered()
    m = from_calendered(cal, voxel_size=1e-6, box_xy=25e-6, seed=0)
    assert m.shape == (40, 25, 25)
    assert m.metadata["target"]["porosity_total"] == pytest.approx(0.35)
    m2 = from_calendered(cal, voxel_size=1e-6, box_xy=25e-6, seed=0, height_before=50e-6)
    assert m2.shape[0] == round(calendered_height(50e-6, 0.45, 0.35) * 1e6)


def test_psd_from_percentiles_and_from_a_list():
    p = lognormal(2.4e-6, 4.0e-6, 8.6e-6)
    d10, d50, d90 = p.percentiles()
    assert d50 == pytest.approx(4.0e-6)
    assert d90 / d10 == pytest.approx(8.6 / 2.4, rel=1e-9)   # the d10-d90 span is kept
    s = p.sample(20000, np.random.default_rng(0))
    assert np.median(s) == pytest.approx(4.0e-6, rel=0.03)
    q = measured([3e-6, 5e-6])
    assert set(np.unique(q.sample(50, np.random.default_rng(1)))) == {3e-6, 5e-6}


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(porosity=1.2), "porosity"),
    (dict(am_mass_fraction=0.0), "am_mass_fraction"),
    (dict(cbd_nanoporosity=1.0), "cbd_nanoporosity"),
    (dict(bound_pore=-0.1), "bound_pore"),
    (dict(porosity=0.2, cbd_nanoporosity=0.6, am_mass_fraction=0.9), "does not fit"),
    (dict(voxel_size=0.5), "voxel_size"),
    (dict(thickness=2e-6), "voxels"),
])
def test_refuses_bad_input(kwargs, match):
    args = dict(porosity=0.35, am_mass_fraction=0.95, seed=0, **SMALL)
    args.update(kwargs)
    with pytest.raises(StructureError, match=match):
        generate_electrode(**args)


@settings(max_examples=12, deadline=None)
@given(porosity=st.floats(0.25, 0.6), w_am=st.floats(0.9, 0.98), en=st.floats(0.0, 0.4),
       seed=st.integers(0, 1000))
def test_phase_fractions_for_any_recipe(porosity, w_am, en, seed):
    m = generate_electrode(porosity=porosity, am_mass_fraction=w_am, cbd_nanoporosity=en,
                           seed=seed, thickness=24e-6, voxel_size=1e-6, box_xy=24e-6)
    got, target = m.phase_fractions(), m.metadata["target"]
    for key in ("pore", "active_material", "carbon_binder_domain"):
        assert abs(got[key] - target[key]) <= 0.005
