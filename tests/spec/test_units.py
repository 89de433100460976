"""The unit registry: parsing, conversion round trips, clear errors."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinline.spec.errors import RecipeError
from twinline.spec.units import Q_, is_unit, parse_quantity, to_unit, ureg

# (unit a person writes, SI unit inside, factor to SI) for linear units
LINEAR = [("um", "m", 1e-6), ("mm", "m", 1e-3), ("MPa", "Pa", 1e6), ("bar", "Pa", 1e5),
          ("m/min", "m/s", 1 / 60), ("kN/cm", "N/m", 1e5), ("mg/cm^2", "kg/m^2", 1e-2),
          ("g/cm^3", "kg/m^3", 1e3), ("mPa*s", "Pa*s", 1e-3), ("h", "s", 3600.0),
          ("mA*h/g", "C/kg", 3600.0), ("mS/cm", "S/m", 0.1), ("percent", "", 1e-2),
          ("ppm", "", 1e-6), ("mL/min", "m^3/s", 1e-6 / 60), ("kJ/kg", "J/kg", 1e3)]

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


def test_one_registry():
    assert ureg() is ureg()
    assert Q_("1 kN/cm").to("N/m").magnitude == pytest.approx(1e5)


@pytest.mark.parametrize("unit, si, factor", LINEAR)
def test_known_factors(unit, si, factor):
    assert parse_quantity(f"1 {unit}", si) == pytest.approx(factor, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(value=finite, case=st.sampled_from(LINEAR))
def test_round_trip_value_unit_si_unit(value, case):
    unit, si, _ = case
    x_si = parse_quantity({"value": value, "unit": unit}, si)
    back = to_unit(x_si, si, unit)
    assert back == pytest.approx(value, rel=1e-12, abs=1e-300)


@settings(max_examples=60, deadline=None)
@given(celsius=st.floats(min_value=-200, max_value=1000, allow_nan=False))
def test_round_trip_offset_temperatures(celsius):
    kelvin = parse_quantity(f"{celsius!r} degC", "K")
    assert kelvin == pytest.approx(celsius + 273.15, abs=1e-9)
    assert to_unit(kelvin, "K", "degC") == pytest.approx(celsius, abs=1e-9)
    assert to_unit(kelvin, "K", "degF") == pytest.approx(celsius * 9 / 5 + 32, abs=1e-7)


@settings(max_examples=40, deadline=None)
@given(value=st.floats(min_value=1e-6, max_value=1e6), case=st.sampled_from(LINEAR))
def test_string_and_mapping_forms_agree(value, case):
    unit, si, _ = case
    a = parse_quantity(f"{value!r} {unit}", si)
    b = parse_quantity({"value": value, "unit": unit}, si)
    assert a == pytest.approx(b, rel=1e-12)


def test_dimensionless_accepts_numbers_and_percent():
    assert parse_quantity(0.96, "") == 0.96
    assert parse_quantity("96 %", "") == pytest.approx(0.96)
    assert parse_quantity("0.96", "") == pytest.approx(0.96)


@pytest.mark.parametrize("value, unit, message", [
    ("60 m/s", "Pa", r"wrong unit \(\[length\] / \[time\]\).*convertible to Pa"),
    (60, "Pa", "has no unit.*for example \"60 MPa\""),
    ("60", "Pa", "has no unit"),
    ("60 furlongz", "Pa", "not a quantity twinline can read"),
    (True, "Pa", "expected a quantity"),
    ({"value": 1}, "m", "expected"),
    ("3 kg", "", "wrong unit.*dimensionless"),
    (")", "m", "not a quantity twinline can read"),
    ("1/0 s", "s", "not a quantity twinline can read"),
])
def test_errors_name_value_and_expected_unit(value, unit, message):
    with pytest.raises(RecipeError, match=message) as info:
        parse_quantity(value, unit, name="calendering.pressure")
    assert str(info.value).startswith("calendering.pressure")
    assert "\n" not in str(info.value)


def test_is_unit():
    assert is_unit("") and is_unit("mA*h/cm^2") and is_unit("degC")
    assert not is_unit("furlongz") and not is_unit("m/")


def test_nan_is_a_float_not_an_error_here():
    # range checks (quantity.SI) refuse NaN; the parser itself just converts
    assert math.isnan(parse_quantity("nan m", "m"))


def test_a_remembered_quantity_text_gives_the_same_value_and_errors_stay():
    from twinline.spec import units

    units._MEMO.clear()
    first = parse_quantity("300 um", "m", name="coating.gap")
    assert ("300 um", "m") in units._MEMO
    assert parse_quantity("300 um", "m", name="other") == first == pytest.approx(3e-4, rel=1e-15)
    # the same text in another unit is converted afresh: the wrong dimension is still refused
    with pytest.raises(RecipeError, match=r"calendering.line_load = '300 um' has the wrong unit"):
        parse_quantity("300 um", "N/m", name="calendering.line_load")
    # text that fails is never remembered, and fails the same way every time
    for _ in range(2):
        with pytest.raises(RecipeError, match="no unit"):
            parse_quantity("300", "m", name="coating.gap")
    assert ("300", "m") not in units._MEMO
    assert parse_quantity("20 degC", "K") == pytest.approx(293.15)
