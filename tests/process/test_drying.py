"""Drying: heat/mass transfer, drying curve vs a numerical integration, shrinkage, energy."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinline.materials import Material, MaterialLibrary, builtin_library
from twinline.process.coating import coat
from twinline.process.drying import (
    DRY_CRITERION,
    dry,
    energy_per_kg_solvent,
    film_temperature,
    transfer_coefficients,
    vapour_pressure,
)
from twinline.process.mixing import mix
from twinline.process.products import Composition
from twinline.spec.errors import ProcessError
from twinline.spec.recipe import CoatingSection, DryingSection, DryingZone, MixingSection

LIB = builtin_library()
NMP = LIB["NMP"]
COMP = Composition("positive", "NMC111", "C65", "PVDF", "NMP", 0.96, 0.02, 0.02,
                   4750.0, 1900.0, 1780.0)
KWH = 3.6e6


def film(gap=200e-6, ws=0.67, speed=0.005, lib=LIB):
    sec = MixingSection.model_construct(**{**MixingSection().model_dump(), "solid_content": ws})
    coating = CoatingSection.model_construct(**{
        **CoatingSection(gap="200 um").model_dump(), "gap": gap, "speed": speed})
    return coat(coating, mix(sec, COMP, lib), lib)


def dryer(*zones, recovery=True):
    zs = [DryingZone.model_construct(temperature=t, length=l, air_velocity=v)
          for t, l, v in zones]
    return DryingSection.model_construct(model="convective", zones=zs, web_speed=None,
                                         solvent_recovery=recovery)


def test_antoine_gives_the_normal_boiling_point():
    p = vapour_pressure(NMP.get("boiling_point"), NMP.get("antoine_a"), NMP.get("antoine_b"),
                        NMP.get("antoine_c"))
    assert p == pytest.approx(101325.0, rel=0.02)


def test_energy_per_kg_nmp_matches_the_literature():
    """10.2 kWh per kg NMP and 45 × the heat of vaporisation (Ahmed 2016), within 20 %."""
    t_air = 373.15
    h, beta = transfer_coefficients(t_air, 10.0, NMP.get("diffusivity_in_air"))
    tf, _ = film_temperature(t_air, h, beta, NMP)
    total, heat = energy_per_kg_solvent(t_air, tf, NMP)
    assert total / KWH == pytest.approx(10.2, rel=0.20)
    assert heat / NMP.get("heat_of_vaporisation") == pytest.approx(45.0, rel=0.20)
    no_recovery, _ = energy_per_kg_solvent(t_air, tf, NMP, recovery=False)
    assert no_recovery < total


@settings(max_examples=30, deadline=None)
@given(t=st.floats(320.0, 430.0), v=st.floats(2.0, 30.0), dt=st.floats(2.0, 20.0))
def test_wet_bulb_film_temperature_and_flux_trends(t, v, dt):
    d = NMP.get("diffusivity_in_air")
    h, beta = transfer_coefficients(np.array([t, t + dt]), v, d)
    tf, flux = film_temperature(np.array([t, t + dt]), h, beta, NMP)
    assert np.all(tf < np.array([t, t + dt])) and np.all(tf > 273.15)
    assert flux[1] > flux[0]                              # hotter air dries faster
    h2, b2 = transfer_coefficients(t, 1.5 * v, d)
    assert film_temperature(t, h2, b2, NMP)[1] > flux[0]  # faster air dries faster
    # heat balance closes at the film temperature
    assert 2 * h[0] * (t - tf[0]) == pytest.approx(flux[0] * NMP.get("heat_of_vaporisation"),
                                                   rel=1e-6)


def test_drying_time_matches_a_numerical_integration():
    """Closed-form zone drying vs explicit integration of dS/dt = −ṁ·min(1, S/S_c)."""
    f = film()
    sec = dryer((353.15, 1.0, 5.0), (373.15, 1.0, 5.0))
    d = dry(sec, f, LIB)
    # reference: step through both zones with a small time step
    s = f.solvent_loading
    s_c = d.porosity * d.thickness * NMP.get("density")
    s_dry = DRY_CRITERION * f.areal_loading
    dt, t, t_dry = 0.01, 0.0, None
    for temp in (353.15, 373.15):
        h, beta = transfer_coefficients(temp, 5.0, NMP.get("diffusivity_in_air"))
        rate = float(film_temperature(temp, h, beta, NMP)[1])
        for _ in range(round(1.0 / f.web_speed / dt)):
            s -= dt * rate * min(1.0, s / s_c)
            t += dt
            if t_dry is None and s <= s_dry:
                t_dry = t
    assert d.dry_at_exit
    assert d.drying_time == pytest.approx(t_dry, rel=0.01)
    assert d.residual_solvent == pytest.approx(s, rel=0.02)


def test_short_dryer_leaves_the_film_wet():
    d = dry(dryer((353.15, 1.0, 5.0)), film(speed=0.1), LIB)
    assert not d.dry_at_exit
    assert d.residual_solvent > DRY_CRITERION * d.areal_loading
    assert d.drying_time > 1.0 / 0.1


@settings(max_examples=25, deadline=None)
@given(gap=st.floats(60e-6, 400e-6), ws=st.floats(0.58, 0.72))
def test_shrinkage_conserves_solid_volume_and_mass(gap, ws):
    f = film(gap=gap, ws=ws)
    d = dry(dryer((373.15, 2.0, 5.0)), f, LIB)
    assert d.thickness * (1 - d.porosity) == pytest.approx(f.areal_loading / COMP.solid_density,
                                                           rel=1e-12)
    assert d.areal_loading == f.areal_loading
    assert 0.0 < d.thickness < f.wet_thickness
    assert d.solvent_evaporated + d.residual_solvent == pytest.approx(f.solvent_loading,
                                                                      rel=1e-9)
    assert 0.4 < d.porosity < 0.6                         # ARTISTIC discs: 45–57 %


def test_thin_coatings_are_more_porous():
    """Wall effect: the ARTISTIC 50 µm-gap discs are 5–8 points more porous than 300 µm ones."""
    thin = dry(dryer((373.15, 2.0, 5.0)), film(gap=50e-6), LIB)
    thick = dry(dryer((373.15, 2.0, 5.0)), film(gap=300e-6), LIB)
    assert thin.porosity - thick.porosity > 0.03


def test_binder_migration_grows_with_drying_rate():
    f = film()
    slow = dry(dryer((333.15, 2.0, 5.0)), f, LIB)
    fast = dry(dryer((403.15, 2.0, 20.0)), f, LIB)
    assert fast.binder_migration > slow.binder_migration > 0


def test_vectorised_zone_temperatures():
    f = film()
    temps = np.array([343.15, 363.15, 383.15])
    d = dry(dryer((temps, 1.0, 5.0)), f, LIB)
    for i, t in enumerate(temps):
        one = dry(dryer((float(t), 1.0, 5.0)), f, LIB)
        assert d.drying_time[i] == pytest.approx(one.drying_time, rel=1e-12)
        assert d.energy_per_area[i] == pytest.approx(one.energy_per_area, rel=1e-12)
    assert np.all(np.diff(d.drying_time) < 0)


def test_impossible_porosity_raises_naming_the_step():
    nmc = LIB["NMC111"]
    bad = Material(nmc.name, nmc.kind, {**nmc.properties, "consolidation_porosity": 1.3})
    lib = LIB.merged(MaterialLibrary({"NMC111": bad}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ProcessError, match="drying: porosity"):
            dry(dryer((373.15, 2.0, 5.0)), film(lib=lib), lib)


def test_negative_zone_length_is_refused():
    with pytest.raises(ProcessError, match="drying: zone length = -1 m"):
        dry(dryer((373.15, np.array([1.0, -1.0]), 5.0)), film(), LIB)
