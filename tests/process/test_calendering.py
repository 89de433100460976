"""Calendering: Heckel law limits, the three trends of the in-silico paper, conservation."""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from twinline.materials import builtin_library
from twinline.process.calendering import (
    calender,
    calendering_constants,
    heckel_porosity,
    predict_porosity,
    pressure_from_gap,
)
from twinline.process.products import Composition, DryElectrode
from twinline.spec.errors import ProcessError
from twinline.spec.recipe import CalenderingSection

LIB = builtin_library()


def nmc(am=0.95):
    cb = (1.0 - am) / 2.0
    return Composition("positive", "NMC111", "C65", "PVDF", "NMP", am, cb, cb,
                       4750.0, 1900.0, 1780.0)


def electrode(porosity=0.48, thickness=120e-6, am=0.95):
    return DryElectrode(composition=nmc(am), thickness=thickness, porosity=porosity,
                        areal_loading=0.03, am_loading=0.03 * am, areal_capacity=1.6e4,
                        drying_time=100.0, dry_at_exit=True, residual_solvent=0.0,
                        binder_migration=1.0, energy_per_area=1e5, solvent_evaporated=0.015)


def section(pressure=None, line_load=None, temperature=333.15):
    base = CalenderingSection(pressure="60 MPa").model_dump()
    return CalenderingSection.model_construct(**{**base, "pressure": pressure,
                                                 "line_load": line_load,
                                                 "roll_temperature": temperature})


def test_heckel_limits():
    p = np.linspace(0.0, 8e8, 50)
    eps = heckel_porosity(p, 0.5, porosity_min=0.2, compaction_pressure=4e7)
    assert eps[0] == pytest.approx(0.5) and eps[-1] == pytest.approx(0.2, abs=1e-8)
    assert np.all(np.diff(eps) < 0)


@settings(max_examples=50, deadline=None)
@given(p=st.floats(0.0, 2e8), dp=st.floats(1e5, 1e8), eps0=st.floats(0.35, 0.6),
       am=st.floats(0.90, 0.97))
def test_trend_porosity_falls_with_pressure(p, dp, eps0, am):
    eps = predict_porosity(nmc(am), eps0, np.array([p, p + dp]), LIB)
    eps_min, _, _ = calendering_constants(nmc(am), eps0, 333.15, LIB)
    assert eps[1] <= eps[0] and eps[1] >= eps_min
    if eps[0] - eps_min > 1e-9:                           # strictly, until fully compacted
        assert eps[1] < eps[0]


@settings(max_examples=50, deadline=None)
@given(p=st.floats(1e6, 2e8), eps0=st.floats(0.35, 0.6), am=st.floats(0.90, 0.96),
       dam=st.floats(0.005, 0.03))
def test_trend_higher_am_fraction_keeps_more_porosity(p, eps0, am, dam):
    low = predict_porosity(nmc(am), eps0, p, LIB)
    high = predict_porosity(nmc(am + dam), eps0, p, LIB)
    assert high > low


@settings(max_examples=50, deadline=None)
@given(p=st.floats(5e7, 2e8), eps0=st.floats(0.40, 0.55), d=st.floats(0.01, 0.05),
       am=st.floats(0.93, 0.96))
def test_trend_higher_initial_porosity_reaches_lower_porosity(p, eps0, d, am):
    """In-silico calendering data (Duquesnoy 2020): a looser coating compacts further."""
    assume(eps0 + d <= 0.6)
    loose = predict_porosity(nmc(am), eps0 + d, p, LIB)
    dense = predict_porosity(nmc(am), eps0, p, LIB)
    eps_min, _, _ = calendering_constants(nmc(am), eps0, 333.15, LIB)
    assert loose <= dense
    if dense - eps_min > 1e-9:                            # strictly, until both are jammed
        assert loose < dense


def test_in_silico_pressure_porosity_levels():
    """Porosity at the paper's high and low pressures, AM 95 %, initial porosity 0.45."""
    hi = predict_porosity(nmc(0.95), 0.45, pressure_from_gap(1.0), LIB)
    lo = predict_porosity(nmc(0.95), 0.45, pressure_from_gap(91.0), LIB)
    assert 0.2 < hi < lo < 0.45


@settings(max_examples=30, deadline=None)
@given(p=st.floats(1e6, 1.5e8), eps0=st.floats(0.4, 0.55), t0=st.floats(50e-6, 250e-6))
def test_solid_volume_and_mass_are_conserved(p, eps0, t0):
    e = electrode(eps0, t0)
    c = calender(section(pressure=p), e, LIB)
    assert c.thickness * (1 - c.porosity) == pytest.approx(t0 * (1 - eps0), rel=1e-12)
    assert c.areal_loading == e.areal_loading
    assert c.am_volume_fraction + c.cbd_volume_fraction + c.porosity == pytest.approx(1.0)
    assert c.thickness < t0


def test_line_load_and_pressure_round_trip():
    e = electrode()
    by_p = calender(section(pressure=6e7), e, LIB)
    assert 1e4 < by_p.line_load < 1e6                     # 10–1000 N/mm (Meyer 2017)
    by_q = calender(section(line_load=by_p.line_load), e, LIB)
    assert by_q.pressure == pytest.approx(6e7, rel=1e-6)
    assert by_q.porosity == pytest.approx(by_p.porosity, rel=1e-9)


def test_warm_rolls_compact_more():
    e = electrode()
    cold = calender(section(pressure=3e7, temperature=298.15), e, LIB)
    warm = calender(section(pressure=3e7, temperature=363.15), e, LIB)
    assert warm.porosity < cold.porosity


def test_vectorised_pressures_and_crack_flag():
    e = electrode()
    p = np.array([1e7, 6e7, 3e8])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = calender(section(pressure=p), e, LIB)
    assert np.all(np.diff(c.porosity) < 0)
    assert list(np.asarray(c.crack_risk)) == [False, False, True]
    assert np.all(np.diff(c.springback) > 0)


def test_impossible_input_porosity_names_the_step():
    with pytest.raises(ProcessError, match="calendering: porosity before calendering"):
        calender(section(pressure=6e7), electrode(porosity=1.2), LIB)


def test_line_load_is_pressure_times_nip_contact_width():
    """q_L = P·sqrt(R·Δh), Δh the thickness reduction in the nip (after spring-back)."""
    e = electrode()
    c = calender(section(pressure=5e7), e, LIB)
    nip = c.thickness / (1.0 + c.springback)
    assert c.line_load == pytest.approx(5e7 * np.sqrt(0.125 * (e.thickness - nip)), rel=1e-12)


def test_pressure_beyond_the_fitted_range_warns():
    from twinline.spec.errors import ValidityWarning

    with pytest.warns(ValidityWarning, match=r"calendering: pressure = 300 MPa .*\[0, 200\] MPa"):
        calender(section(pressure=3e8), electrode(), LIB)


def test_negative_line_load_is_refused():
    with pytest.raises(ProcessError, match="calendering: line_load = -5 N/m"):
        calender(section(line_load=np.array([1e5, -5.0])), electrode(), LIB)
