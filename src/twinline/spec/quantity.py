"""Pydantic field types that take a quantity with a unit and store an SI float.

``SI("Pa", gt=0)`` accepts ``"60 MPa"``, ``{"value": 60, "unit": "MPa"}`` or a pint quantity,
converts it once to pascal and checks the range; the error names the unit and the range, so
the recipe loader can print one line a person understands.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from twinline.spec.errors import RecipeError, quote


def _range_text(unit: str, ge: float | None, gt: float | None, le: float | None,
                lt: float | None) -> str:
    lo = f"[{ge:g}" if ge is not None else (f"({gt:g}" if gt is not None else "(-inf")
    hi = f"{le:g}]" if le is not None else (f"{lt:g})" if lt is not None else "inf)")
    return f"{lo}, {hi} {unit or '(dimensionless)'}".rstrip()


def SI(unit: str, *, ge: float | None = None, gt: float | None = None,
       le: float | None = None, lt: float | None = None, example: str | None = None) -> Any:
    """Annotated float type for a quantity stored in ``unit`` (an SI unit) with a range."""

    def convert(value: Any) -> float:
        from twinline.spec.units import parse_quantity

        try:
            x = parse_quantity(value, unit, name="value")
        except RecipeError as err:
            raise ValueError(str(err).removeprefix("value = ").removeprefix("value: ")) from None
        bad = ((ge is not None and x < ge) or (gt is not None and x <= gt)
               or (le is not None and x > le) or (lt is not None and x >= lt))
        if bad or not math.isfinite(x):
            shown = (quote(value) if isinstance(value, int | float)
                     else f"{quote(value)} (= {x:.6g} {unit or '-'})")
            raise ValueError(f"{shown} is outside the allowed range "
                             f"{_range_text(unit, ge, gt, le, lt)}")
        return x

    schema: dict[str, Any] = {
        "anyOf": [
            {"type": "string", "description": f"a quantity with a unit convertible to {unit}"},
            {"type": "object", "properties": {"value": {"type": "number"},
                                              "unit": {"type": "string"}},
             "required": ["value", "unit"]},
        ] + ([{"type": "number"}] if unit == "" else []),
        "x-si-unit": unit or "dimensionless",
        "x-range": _range_text(unit, ge, gt, le, lt),
    }
    if example:
        schema["examples"] = [example]
    def serialise(x: float) -> Any:  # round-trips through convert()
        return x if unit == "" else f"{x!r} {unit}"

    return Annotated[float, BeforeValidator(convert), WithJsonSchema(schema),
                     PlainSerializer(serialise, when_used="json")]


#: A fraction in [0, 1]: accepts 0.96, "0.96" or "96 %".
Fraction = SI("", ge=0.0, le=1.0, example="96 %")
