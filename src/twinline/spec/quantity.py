"""Pydantic field types that take a quantity with a unit and store an SI float.

``SI("Pa", gt=0)`` accepts ``"60 MPa"``, ``{"value": 60, "unit": "MPa"}`` or a pint quantity,
converts it once to pascal and checks the range; the error names the unit and the range, so
the recipe loader can print one line a person understands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from twinline.spec.errors import RecipeError, quote


@dataclass(frozen=True)
class SIRange:
    """The unit and admissible interval of one SI quantity field, kept as data.

    ``SI(...)`` attaches one to the field's annotation; :mod:`twinline.spec.fields` reads it
    (never the JSON-schema text, which is generated from it by :meth:`text`).

    Attributes
    ----------
    unit : str
        SI unit of the stored float (``""``: dimensionless).
    low, high : float
        Interval ends in ``unit`` (``-inf``/``inf`` when unbounded).
    low_closed, high_closed : bool
        Whether the end itself is allowed (``ge``/``le``) or not (``gt``/``lt``).
    """

    unit: str
    low: float = -math.inf
    high: float = math.inf
    low_closed: bool = False
    high_closed: bool = False

    @classmethod
    def from_bounds(cls, unit: str, ge: float | None, gt: float | None, le: float | None,
                    lt: float | None) -> SIRange:
        """The range of ``SI(unit, ge=..., gt=..., le=..., lt=...)``."""
        low = ge if ge is not None else (gt if gt is not None else -math.inf)
        high = le if le is not None else (lt if lt is not None else math.inf)
        return cls(unit, float(low), float(high), ge is not None, le is not None)

    def contains(self, x: float) -> bool:
        """True when ``x`` (in :attr:`unit`) is finite and inside the interval."""
        if not math.isfinite(x):
            return False
        above = x >= self.low if self.low_closed else x > self.low
        below = x <= self.high if self.high_closed else x < self.high
        return above and below

    def text(self) -> str:
        """Interval text such as ``(0, 0.002] m`` (the JSON schema's ``x-range``)."""
        lo = (f"{'[' if self.low_closed else '('}{self.low:g}" if math.isfinite(self.low)
              else "(-inf")
        hi = (f"{self.high:g}{']' if self.high_closed else ')'}" if math.isfinite(self.high)
              else "inf)")
        return f"{lo}, {hi} {self.unit or '(dimensionless)'}".rstrip()


def SI(unit: str, *, ge: float | None = None, gt: float | None = None,
       le: float | None = None, lt: float | None = None, example: str | None = None) -> Any:
    """Annotated float type for a quantity stored in ``unit`` (an SI unit) with a range.

    The annotation carries an :class:`SIRange` (read by :mod:`twinline.spec.fields`).
    """
    rng = SIRange.from_bounds(unit, ge, gt, le, lt)

    def convert(value: Any) -> float:
        from twinline.spec.units import parse_quantity

        try:
            x = parse_quantity(value, unit, name="value")
        except RecipeError as err:
            raise ValueError(str(err).removeprefix("value = ").removeprefix("value: ")) from None
        if not rng.contains(x):
            shown = (quote(value) if isinstance(value, int | float)
                     else f"{quote(value)} (= {x:.6g} {unit or '-'})")
            raise ValueError(f"{shown} is outside the allowed range "
                             f"{rng.text()}")
        return x

    schema: dict[str, Any] = {
        "anyOf": [
            {"type": "string", "description": f"a quantity with a unit convertible to {unit}"},
            {"type": "object", "properties": {"value": {"type": "number"},
                                              "unit": {"type": "string"}},
             "required": ["value", "unit"]},
        ] + ([{"type": "number"}] if unit == "" else []),
        "x-si-unit": unit or "dimensionless",
        "x-range": rng.text(),
    }
    if example:
        schema["examples"] = [example]

    def serialise(x: float) -> Any:  # round-trips through convert()
        return x if unit == "" else f"{x!r} {unit}"

    return Annotated[float, rng, BeforeValidator(convert), WithJsonSchema(schema),
                     PlainSerializer(serialise, when_used="json")]


#: A fraction in [0, 1]: accepts 0.96, "0.96" or "96 %".
Fraction = SI("", ge=0.0, le=1.0, example="96 %")
