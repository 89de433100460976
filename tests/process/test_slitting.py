"""Slitting (model ``edge-risk``): edge-defect risk versus speed, method and coating."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinline.process.products import CalenderedElectrode, Composition
from twinline.process.slitting import (
    COATING_RISK_REF,
    MODELS,
    SPEED_WINDOW,
    SlitElectrode,
    edge_defect_risk,
    slit,
)
from twinline.spec.errors import ProcessError, ValidityWarning
from twinline.spec.recipe import SlittingSection

COMP = Composition("positive", "NMC111", "C65", "PVDF", "NMP", 0.96, 0.02, 0.02,
                   4750.0, 1900.0, 1780.0)


def calendered(thickness=60e-6, porosity=0.30, width=0.25):
    return CalenderedElectrode(
        composition=COMP, thickness=thickness, porosity=porosity, thickness_before=90e-6,
        porosity_before=0.5, line_load=5e5, pressure=60e6, areal_loading=0.2,
        am_loading=0.192, areal_capacity=1e5, am_volume_fraction=0.6,
        cbd_volume_fraction=0.1, particle_radius=2e-6, width=width, foil_thickness=22e-6)


def test_reference_coating_gives_the_reference_risk_at_low_speed():
    r, r_v, r_c = edge_defect_risk(0.5, 60e-6, 0.30)
    assert r_c == pytest.approx(COATING_RISK_REF, rel=1e-12)
    assert r_v < 1e-3
    assert r == pytest.approx(1 - (1 - r_v) * (1 - r_c), rel=1e-12)


def test_speed_term_is_one_half_at_the_window_limit_and_rises_beyond():
    v_max = SPEED_WINDOW["rotary_knife"][1]
    _, r_v, _ = edge_defect_risk(np.array([v_max, 1.2 * v_max, 1.5 * v_max]), 60e-6, 0.3)
    assert r_v[0] == pytest.approx(0.5, abs=1e-12)
    assert r_v[1] == pytest.approx(1 / (1 + np.exp(-2.0)), rel=1e-12)
    assert r_v[2] > 0.99


def test_laser_window_is_slower_than_rotary_knife():
    v = 1.2  # m/s = 72 m/min: above the laser window, inside the knife window
    r_laser = edge_defect_risk(v, 60e-6, 0.3, method="laser")[0]
    r_knife = edge_defect_risk(v, 60e-6, 0.3, method="rotary_knife")[0]
    assert r_laser > 0.8 > 0.1 > r_knife


@settings(max_examples=60, deadline=None)
@given(v=st.floats(0.05, 5.0), dv=st.floats(0.01, 2.0), L=st.floats(10e-6, 200e-6),
       eps=st.floats(0.1, 0.6))
def test_risk_is_bounded_and_monotonic_in_speed_thickness_porosity(v, dv, L, eps):
    r0 = edge_defect_risk(v, L, eps)[0]
    assert 0.0 <= r0 <= 1.0
    assert edge_defect_risk(v + dv, L, eps)[0] >= r0
    assert edge_defect_risk(v, 1.5 * L, eps)[0] >= r0       # thicker: worse edges
    assert edge_defect_risk(v, L, min(eps * 1.2, 0.95))[0] >= r0  # less compacted: worse


def test_slit_keeps_the_electrode_and_defaults_to_the_coated_width():
    cal = calendered()
    out = slit(SlittingSection(speed="100 m/min"), cal)
    assert isinstance(out, SlitElectrode)
    assert out.electrode is cal and out.width == pytest.approx(0.25)
    assert MODELS["edge-risk"] is slit


def test_slit_broadcasts_over_speed_samples():
    sec = SlittingSection().model_copy(update={"speed": np.array([0.5, 1.0, 3.0])})
    with pytest.warns(ValidityWarning, match="180 m/min"):  # the largest sample is checked
        out = slit(sec, calendered())
    assert out.edge_defect_risk.shape == (3,)
    assert np.all(np.diff(out.edge_defect_risk) > 0)


def test_speed_outside_the_window_warns_naming_step_and_range():
    with pytest.warns(ValidityWarning, match=r"slitting: speed \(rotary_knife\).*m/min"):
        slit(SlittingSection(speed="4 m/s"), calendered())


def test_speed_inside_the_window_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ValidityWarning)
        slit(SlittingSection(speed="100 m/min", width="200 mm"), calendered())


def test_slit_wider_than_the_coating_is_refused():
    with pytest.raises(ProcessError, match="slitting: width"):
        slit(SlittingSection(speed="1 m/s", width="0.3 m"), calendered(width=0.25))
