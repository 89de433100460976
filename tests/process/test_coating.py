"""Coating: loading identity, slot-die flow balance, viscocapillary window, comma correlation."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinline.materials import builtin_library
from twinline.process.coating import (
    coat,
    coating_shear_rate,
    comma_wet_thickness,
    slot_die_min_wet_thickness,
)
from twinline.process.mixing import mix
from twinline.process.products import Composition
from twinline.spec.errors import ProcessError, ValidityWarning
from twinline.spec.recipe import CoatingSection, MixingSection

LIB = builtin_library()
COMP = Composition("positive", "NMC111", "C65", "PVDF", "NMP", 0.96, 0.02, 0.02,
                   4750.0, 1900.0, 1780.0)


def slurry(ws=0.67):
    sec = MixingSection.model_construct(**{**MixingSection().model_dump(), "solid_content": ws})
    return mix(sec, COMP, LIB, shear_rate=25.0)


def comma(gap, speed=0.005, ratio=None):
    return CoatingSection.model_construct(**{
        **CoatingSection(gap="200 um").model_dump(), "gap": gap, "speed": speed,
        "gap_to_wet_ratio": ratio})


def slot(q, width=0.25, speed=0.5):
    return CoatingSection.model_construct(**{
        **CoatingSection(method="slot_die", flow_rate="1 mL/s").model_dump(),
        "flow_rate": q, "width": width, "speed": speed})


@settings(max_examples=40, deadline=None)
@given(gap=st.floats(60e-6, 450e-6), ws=st.floats(0.55, 0.73))
def test_areal_loading_is_wet_thickness_times_density_times_solid_content(gap, ws):
    s = slurry(ws)
    film = coat(comma(gap), s, LIB)
    assert film.areal_loading == pytest.approx(film.wet_thickness * s.density * ws, rel=1e-12)
    assert film.am_loading == pytest.approx(0.96 * film.areal_loading, rel=1e-12)
    q = LIB["NMC111"].get("specific_capacity")
    assert film.areal_capacity == pytest.approx(film.am_loading * q, rel=1e-12)
    # wet film = solids + solvent
    assert film.areal_loading + film.solvent_loading == pytest.approx(
        film.wet_thickness * s.density, rel=1e-12)


def test_slot_die_lays_down_all_the_metered_slurry():
    s = slurry(0.67)
    q, w, u = 3e-6, 0.3, 0.05
    film = coat(slot(q, w, u), s, LIB)
    assert film.wet_thickness == pytest.approx(q / (w * u), rel=1e-12)
    # mass flow in = mass laid down per second
    assert film.areal_loading * w * u == pytest.approx(q * s.density * 0.67, rel=1e-12)


def test_low_flow_limit_limits():
    assert slot_die_min_wet_thickness(100e-6, 1e-8) < 1e-7            # Ca → 0: h_min → 0
    assert slot_die_min_wet_thickness(100e-6, 1e6) == pytest.approx(100e-6, rel=1e-3)
    ca = np.logspace(-3, 1, 20)
    assert np.all(np.diff(slot_die_min_wet_thickness(100e-6, ca)) > 0)


def test_slot_die_window_closes_as_the_web_speeds_up():
    """Fixed 100 µm wet film: Ca = ηU/σ grows with U until the bead breaks (low-flow limit)."""
    u = np.array([0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ValidityWarning)
        films = coat(slot(q=100e-6 * 0.25 * u, width=0.25, speed=u), slurry(0.67), LIB)
    window = np.asarray(films.in_coating_window)
    assert window[0] and not window[-1]
    assert np.all(np.diff(window.astype(int)) <= 0)      # once out, stays out


def test_comma_wet_thickness_grows_with_gap_and_ratio_override():
    gaps = np.linspace(50e-6, 400e-6, 30)
    h = comma_wet_thickness(gaps, 0.33)
    assert np.all(np.diff(h) > 0)
    film = coat(comma(300e-6, ratio=0.8), slurry(), LIB)
    assert film.wet_thickness == pytest.approx(240e-6, rel=1e-12)


def test_comma_shear_rate_is_speed_over_gap():
    """ARTISTIC line: 5 mm/s over 200 µm is 25 s⁻¹ (5000 / gap[µm])."""
    assert coating_shear_rate(comma(200e-6, speed=0.005)) == pytest.approx(25.0)
    film = coat(comma(200e-6, speed=0.005), slurry(), LIB)
    assert film.slurry.coating_shear_rate == pytest.approx(25.0)


def test_artistic_loading_order_of_magnitude():
    """96 % AM, 67 % solids, 200 µm gap: 25–27 mg/cm² AM on the ARTISTIC line."""
    film = coat(comma(200e-6), slurry(0.669), LIB)
    assert 22.0 < film.am_loading * 100 < 30.0     # kg/m² → mg/cm²


def test_vectorised_over_gap_samples():
    gaps = np.array([150e-6, 200e-6, 250e-6])
    films = coat(comma(gaps), slurry(), LIB)
    for i, g in enumerate(gaps):
        assert films.wet_thickness[i] == pytest.approx(coat(comma(g), slurry(), LIB).wet_thickness)


def test_negative_gap_is_impossible():
    with pytest.raises(ProcessError, match="coating: gap = -5e-06 m"):
        coat(comma(np.array([100e-6, -5e-6])), slurry(), LIB)
