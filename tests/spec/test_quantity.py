"""The SI(...) pydantic field type: conversion, range checks, JSON schema."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from twinline.spec.quantity import SI, Fraction


class M(BaseModel):
    gap: SI("m", gt=0, le=2e-3)
    t: SI("K", gt=273.15, lt=523.15) = 298.15
    f: Fraction = 0.5


def test_converts_once_to_si():
    m = M(gap="300 um", t="80 degC", f="96 %")
    assert m.gap == pytest.approx(3e-4)
    assert m.t == pytest.approx(353.15)
    assert m.f == pytest.approx(0.96)


@pytest.mark.parametrize("field, value, message", [
    ("gap", "3 mm", r"outside the allowed range \(0, 0.002\] m"),
    ("gap", "-1 um", "outside the allowed range"),
    ("t", "300 degC", r"outside the allowed range \(273.15, 523.15\) K"),
    ("f", 1.3, r"1.3 is outside the allowed range \[0, 1\]"),
    ("gap", "nan um", "outside the allowed range"),
    ("t", "1e400 K", "outside the allowed range"),
    ("gap", "3 s", "wrong unit"),
])
def test_range_and_unit_errors(field, value, message):
    data = {"gap": "300 um", field: value}
    with pytest.raises(ValidationError, match=message):
        M(**data)


def test_infinite_values_are_refused_even_without_an_upper_bound():
    class Open(BaseModel):
        rate: SI("m^3/s", gt=0)

    assert Open(rate="20 mL/min").rate == pytest.approx(20e-6 / 60)
    with pytest.raises(ValidationError, match="outside the allowed range"):
        Open(rate="1e400 mL/min")


def test_json_round_trip():
    m = M(gap="300 um")
    again = M.model_validate_json(m.model_dump_json())
    assert again == m


def test_schema_states_unit_and_range():
    s = M.model_json_schema()["properties"]["gap"]
    assert s["x-si-unit"] == "m" and s["x-range"] == "(0, 0.002] m"
