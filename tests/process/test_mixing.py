"""Mixing: slurry fractions, Krieger–Dougherty level, Cross shape, coatability, refusals."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinline.materials import builtin_library
from twinline.process.mixing import (
    COATABLE_VISCOSITY,
    cross_viscosity,
    krieger_dougherty,
    mix,
    predict_viscosity,
    slurry_fractions,
    slurry_viscosity,
)
from twinline.process.products import Composition
from twinline.process.registry import get_model
from twinline.spec.errors import ProcessError, RecipeError, ValidityWarning
from twinline.spec.recipe import MixingSection

LIB = builtin_library()


def nmc(am=0.96):
    cb = (1.0 - am) / 2.0
    return Composition("positive", "NMC111", "C65", "PVDF", "NMP", am, cb, cb,
                       4750.0, 1900.0, 1780.0)


def section(ws):
    return MixingSection.model_construct(**{**MixingSection().model_dump(), "solid_content": ws})


def test_einstein_limit_of_krieger_dougherty():
    phi = np.array([1e-4, 1e-3])
    assert krieger_dougherty(phi, 0.64, 2.5) == pytest.approx(1.0 + 2.5 * phi, rel=1e-5)


def test_krieger_dougherty_diverges_at_max_packing():
    phi = np.linspace(0.0, 0.63, 50)
    eta = krieger_dougherty(phi, 0.64, 2.5)
    assert np.all(np.diff(eta) > 0) and eta[-1] > 100
    assert np.isinf(krieger_dougherty(0.64, 0.64, 2.5))


def test_cross_law_limits_and_power_law_slope():
    assert cross_viscosity(1e-9, 100.0, 0.01, 10.0, 0.4) == pytest.approx(100.0, rel=1e-4)
    assert cross_viscosity(1e12, 100.0, 0.01, 10.0, 0.4) == pytest.approx(0.01, rel=1e-3)
    g = np.array([100.0, 200.0])       # λγ = 1000–2000: power-law region, slope n − 1
    eta = cross_viscosity(g, 1e4, 0.0, 10.0, 0.4)
    slope = np.diff(np.log(eta)) / np.diff(np.log(g))
    assert slope[0] == pytest.approx(0.4 - 1.0, abs=0.02)


@settings(max_examples=40, deadline=None)
@given(ws=st.floats(0.3, 0.8), am=st.floats(0.85, 0.98))
def test_slurry_volume_fractions_sum_to_one_and_mass_balances(ws, am):
    fr = slurry_fractions(nmc(am), ws, 1028.0)
    total = fr["am"] + fr["ca"] + fr["binder"] + fr["solvent"]
    assert total == pytest.approx(1.0, abs=1e-12)
    # mass of solids per slurry volume / density = solid content
    c = nmc(am)
    solid_mass = (fr["am"] * c.am_density + fr["ca"] * c.conductive_density
                  + fr["binder"] * c.binder_density)
    assert solid_mass / fr["density"] == pytest.approx(ws, rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(ws=st.floats(0.55, 0.72), d=st.floats(0.005, 0.03), gamma=st.floats(1.0, 500.0))
def test_viscosity_rises_with_solid_content(ws, d, gamma):
    eta = predict_viscosity(nmc(0.95), np.array([ws, ws + d]), gamma, LIB)
    assert eta[1] > eta[0]


def test_shear_thinning_over_the_model_range():
    g = np.logspace(-1, 3, 40)
    eta = predict_viscosity(nmc(0.96), 0.68, g, LIB)
    assert np.all(np.diff(eta) < 0)


def test_mix_broadcasts_over_monte_carlo_samples():
    ws = np.array([0.60, 0.65, 0.70])
    arr = mix(section(ws), nmc(), LIB)
    for i, w in enumerate(ws):
        one = mix(section(float(w)), nmc(), LIB)
        assert arr.density[i] == pytest.approx(one.density, rel=1e-12)
        assert arr.viscosity_at_coating[i] == pytest.approx(one.viscosity_at_coating, rel=1e-12)
    assert slurry_viscosity(arr, 25.0).shape == (3,)


def test_artistic_order_of_magnitude():
    """NMC/C65/PVDF 96:2:2 at 67 % solids: 2.8 Pa s at 25 s⁻¹ on the ARTISTIC line."""
    s = mix(section(0.669), nmc(0.96), LIB, shear_rate=25.0)
    assert 1.4 < s.viscosity_at_coating < 5.6
    assert s.coatable


def test_too_thin_and_too_thick_slurries_are_flagged():
    thin = mix(section(0.40), nmc(0.96), LIB, shear_rate=25.0)
    assert thin.viscosity_at_coating < COATABLE_VISCOSITY[0] and not thin.coatable
    with pytest.warns(ValidityWarning, match="max packing"):
        thick = mix(section(0.80), nmc(0.92), LIB, shear_rate=25.0)
    assert thick.viscosity_at_coating > COATABLE_VISCOSITY[1] and not thick.coatable


def test_shear_rate_outside_range_warns():
    with pytest.warns(ValidityWarning, match="mixing: shear_rate"):
        mix(section(0.65), nmc(), LIB, shear_rate=5000.0)


def test_impossible_solid_content_names_the_step():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ProcessError, match="mixing: solid_content"):
            mix(section(np.array([0.6, 1.0])), nmc(), LIB)


def test_registry_finds_the_model_and_suggests_close_names():
    assert get_model("mixing", "krieger-cross") is mix
    with pytest.raises(RecipeError, match="did you mean 'krieger-cross'"):
        get_model("mixing", "kreiger-cross")


def _electrode(am="NMC111", binder="PVDF", solvent="NMP"):
    from twinline.spec.recipe import ElectrodeRecipe

    return ElectrodeRecipe.model_validate({
        "formulation": {"active_material": {"material": am, "mass_fraction": 0.96},
                        "conductive_additive": {"material": "C65", "mass_fraction": 0.02},
                        "binder": {"material": binder, "mass_fraction": 0.02},
                        "solvent": solvent},
        "current_collector": "Al", "coating": {"gap": "200 um"},
        "drying": {"zones": [{"temperature": "90 degC", "length": "2 m"}]},
        "calendering": {"pressure": "60 MPa"}})


def test_composition_resolves_densities_and_refuses_mismatches():
    from twinline.process.composition import resolve_composition

    c = resolve_composition(_electrode(), LIB, "positive")
    assert c.am_density == pytest.approx(4750.0) and c.solvent == "NMP"
    with pytest.raises(RecipeError, match=r"graphite.*negative.*cathode needs a positive"):
        resolve_composition(_electrode(am="graphite"), LIB, "positive")
    with pytest.raises(RecipeError, match=r"processed in 'NMP'.*solvent = 'water'"):
        resolve_composition(_electrode(solvent="water"), LIB, "positive")
    with pytest.raises(RecipeError, match=r"unknown material 'NMC11'.*did you mean"):
        resolve_composition(_electrode(am="NMC11"), LIB, "positive")
