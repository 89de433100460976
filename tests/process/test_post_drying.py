"""Post-drying (model ``sorption``): residual moisture versus temperature, time, binder."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinline.materials import Material, MaterialLibrary
from twinline.process.post_drying import (
    FREUNDLICH_N,
    ISOSTERIC_HEAT,
    MODELS,
    R_GAS,
    TAU_REF,
    desorption_time_constant,
    equilibrium_moisture,
    post_dry,
    saturation_pressure,
    water_partial_pressure,
)
from twinline.process.products import CalenderedElectrode, Composition, FinishedElectrode
from twinline.spec.errors import MaterialError, ValidityWarning
from twinline.spec.recipe import PostDryingSection

LIB = MaterialLibrary({
    "AM": Material("AM", "active_material", {"density": 4750.0, "water_sorption": 3e-4}),
    "CA": Material("CA", "conductive_additive", {"density": 1900.0, "water_sorption": 5e-3}),
    "PVDF": Material("PVDF", "binder", {"density": 1780.0, "water_sorption": 4e-4,
                                         "melting_temperature": 444.15}),
    "CMC": Material("CMC", "binder", {"density": 1600.0, "water_sorption": 0.15}),
    "dry": Material("dry", "binder", {"density": 1600.0}),
})


def calendered(binder="PVDF", thickness=60e-6):
    comp = Composition("positive", "AM", "CA", binder, "NMP", 0.94, 0.03, 0.03, 4750.0,
                       1900.0, 1780.0)
    return CalenderedElectrode(
        composition=comp, thickness=thickness, porosity=0.3, thickness_before=90e-6,
        porosity_before=0.5, line_load=5e5, pressure=60e6, areal_loading=0.2,
        am_loading=0.19, areal_capacity=1e5, am_volume_fraction=0.6, cbd_volume_fraction=0.1,
        particle_radius=2e-6, width=0.2)


def x50(binder_uptake):
    return 0.94 * 3e-4 + 0.03 * 5e-3 + 0.03 * binder_uptake


def test_saturation_pressure_matches_steam_tables():
    # Steam tables (IAPWS): 3.17 kPa at 25 degC, 47.4 kPa at 80 degC; ice 1.08 Pa at -60 degC
    assert float(saturation_pressure(298.15)) == pytest.approx(3169.0, rel=0.01)
    assert float(saturation_pressure(353.15)) == pytest.approx(47414.0, rel=0.03)
    assert float(saturation_pressure(213.15)) == pytest.approx(1.08, rel=0.03)


def test_isotherm_reduces_to_the_reference_uptake_at_25c_50rh():
    p_ref = 0.5 * saturation_pressure(298.15)
    assert float(equilibrium_moisture(7e-4, p_ref, 298.15)) == pytest.approx(7e-4, rel=1e-12)


def test_isotherm_obeys_clausius_clapeyron_with_the_isosteric_heat():
    # constant uptake: d ln p / d(1/T) = -Q/R
    T1, T2, p1 = 350.0, 380.0, 200.0
    x = equilibrium_moisture(1e-3, p1, T1)
    # solve X(p2, T2) = X(p1, T1) analytically: p2 = p1 exp(-Q/R (1/T2 - 1/T1))
    p2 = p1 * np.exp(-ISOSTERIC_HEAT / R_GAS * (1 / T2 - 1 / T1))
    assert float(equilibrium_moisture(1e-3, p2, T2)) == pytest.approx(float(x), rel=1e-10)
    assert FREUNDLICH_N > 1


@settings(max_examples=50, deadline=None)
@given(T=st.floats(333.15, 423.15), dT=st.floats(1.0, 30.0), p=st.floats(1.0, 1000.0))
def test_equilibrium_falls_with_temperature_and_rises_with_water_pressure(T, dT, p):
    x = equilibrium_moisture(1e-3, p, T)
    assert equilibrium_moisture(1e-3, p, T + dT) < x
    assert equilibrium_moisture(1e-3, 2 * p, T) > x


def test_time_constant_follows_arrhenius_and_gas_diffusion_is_small_for_thin_coatings():
    assert float(desorption_time_constant(393.15)) == pytest.approx(TAU_REF, rel=1e-12)
    assert float(desorption_time_constant(333.15)) > 5 * TAU_REF
    thin = float(desorption_time_constant(393.15, thickness=80e-6, porosity=0.3,
                                          particle_diameter=8e-6, gas_pressure=1e5))
    assert thin - TAU_REF < 1.0  # seconds: desorption, not the pores, limits


def test_partial_pressure_vacuum_is_the_chamber_pressure_argon_the_dew_point():
    assert float(water_partial_pressure("vacuum", 50.0, 213.15)) == 50.0
    assert float(water_partial_pressure("argon", 1e5, 213.15)) == pytest.approx(
        float(saturation_pressure(213.15)))


def test_long_bake_reaches_the_equilibrium_and_zero_time_keeps_storage_moisture():
    cal = calendered()
    with pytest.warns(ValidityWarning, match="time = 72 h"):
        long = post_dry(PostDryingSection(time="72 h", temperature="120 degC"), cal, LIB)
    x_eq = equilibrium_moisture(x50(4e-4), 100.0, 393.15)
    assert long.residual_moisture == pytest.approx(float(x_eq), rel=1e-6)
    with pytest.warns(ValidityWarning, match="post_drying: time"):
        short = post_dry(PostDryingSection().model_copy(update={"time": 1e-6}), cal, LIB)
    assert short.residual_moisture == pytest.approx(x50(4e-4), rel=1e-6)


def test_first_order_approach_in_time():
    cal = calendered()
    T = 393.15
    x0, x_eq = x50(4e-4), float(equilibrium_moisture(x50(4e-4), 100.0, T))
    sec = PostDryingSection(temperature="120 degC").model_copy(
        update={"time": np.array([0.5, 1.0, 2.0]) * TAU_REF})
    out = post_dry(sec, cal, LIB)
    tau = float(desorption_time_constant(T, thickness=60e-6, porosity=0.3,
                                         particle_diameter=4e-6, gas_pressure=100.0))
    expected = x_eq + (x0 - x_eq) * np.exp(-np.array([0.5, 1.0, 2.0]) * TAU_REF / tau)
    np.testing.assert_allclose(out.residual_moisture, expected, rtol=1e-10)


def test_cmc_binder_holds_more_water_than_pvdf_and_misses_the_target():
    sec = PostDryingSection(temperature="120 degC", time="12 h", target_moisture="300 ppm")
    pvdf = post_dry(sec, calendered("PVDF"), LIB)
    cmc = post_dry(sec, calendered("CMC"), LIB)
    assert cmc.residual_moisture > 5 * pvdf.residual_moisture
    assert pvdf.moisture_ok and not cmc.moisture_ok
    # Literature order: NMC/PVDF cathodes reach tens to a few hundred ppm after 12 h vacuum
    assert 5e-6 < pvdf.residual_moisture < 3e-4


def test_hotter_longer_and_drier_bakes_leave_less_water():
    cal = calendered()
    base = post_dry(PostDryingSection(temperature="80 degC", time="6 h"), cal, LIB)
    hot = post_dry(PostDryingSection(temperature="130 degC", time="6 h"), cal, LIB)
    long = post_dry(PostDryingSection(temperature="80 degC", time="24 h"), cal, LIB)
    argon = post_dry(PostDryingSection(temperature="80 degC", time="6 h", atmosphere="argon",
                                       pressure="1 bar", dew_point="-60 degC"), cal, LIB)
    assert hot.residual_moisture < base.residual_moisture
    assert long.residual_moisture < base.residual_moisture
    assert argon.residual_moisture < base.residual_moisture  # 1 Pa water vs 100 Pa


def test_result_is_a_finished_electrode_that_round_trips():
    out = post_dry(PostDryingSection(), calendered(), LIB)
    assert isinstance(out, FinishedElectrode) and MODELS["sorption"] is post_dry
    assert FinishedElectrode.from_dict(out.to_dict()).residual_moisture == pytest.approx(
        out.residual_moisture)


def test_out_of_range_temperature_and_near_binder_melting_warn():
    with pytest.warns(ValidityWarning, match="post_drying: temperature"):
        post_dry(PostDryingSection(temperature="40 degC"), calendered(), LIB)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        post_dry(PostDryingSection(temperature="160 degC"), calendered(), LIB)
    messages = [str(w.message) for w in caught]
    assert any("melting point 171 degC" in m and "[-273.1, 151] degC" in m for m in messages)
    assert any("[60, 150] degC" in m for m in messages)


def test_missing_water_sorption_names_the_material():
    with pytest.raises(MaterialError, match=r"'dry'.*water_sorption"):
        post_dry(PostDryingSection(), calendered(), LIB, binder="dry")
