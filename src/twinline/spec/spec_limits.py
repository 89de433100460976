r"""Specification limits of a recipe's outputs (the optional ``spec_limits`` section).

A recipe may state the lower and/or upper specification limit (LSL, USL) of any catalogue
*output* (a structure or process parameter, category SP or PP) that the line measures. The
key is the parameter as it is stored: the catalogue id with its electrode for an electrode
output, the bare catalogue id for a cell output::

    spec_limits:
      cathode.calendering.porosity: {lower: 28 %, upper: 32 %}
      cathode.coating.am_loading: {lower: 31 mg/cm^2, upper: 35 mg/cm^2}
      cathode.calendering.thickness: {upper: 110 um}           # one-sided
      cathode.drying.porosity: {lower: 0.44, upper: 0.50, unit: ""}   # numbers in a unit

Limits are quantities with units (converted once, here, to the parameter's SI unit) or plain
numbers with a ``unit`` key (a dimensionless parameter takes plain numbers without one). Each
limit must lie inside the catalogue's valid range of the parameter, and ``lower < upper``.
The stored :class:`SpecLimit` holds SI floats and the SI unit, so that ``model_dump`` of a
recipe validates again unchanged.

The twin uses them for the capability indices :math:`C_p = (USL-LSL)/6\sigma` and
:math:`C_{pk} = \min(USL-\mu, \mu-LSL)/3\sigma` (Montgomery 2019, §8.2) and for the alarms of
a measurement outside them (:mod:`twinline.twin.capability`).

References
----------
.. [1] D. C. Montgomery, Introduction to Statistical Quality Control, 8th ed., Wiley (2019).
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twinline.spec.errors import RecipeError, SpecError, quote

#: Catalogue categories a specification limit may be stated for (outputs of the line).
OUTPUT_CATEGORIES = ("SP", "PP")
_LIMIT_SCHEMA = {
    "anyOf": [
        {"type": "string", "description": 'a quantity with a unit, e.g. "28 %" or "110 um"'},
        {
            "type": "number",
            "description": "a number in `unit` (or a fraction when the parameter is dimensionless)",
        },
        {"type": "null"},
    ]
}


class SpecLimit(BaseModel):
    """Lower and/or upper specification limit of one output, SI floats in ``unit``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lower: float | None = Field(
        None, description="lower specification limit (LSL)", json_schema_extra=_LIMIT_SCHEMA
    )
    upper: float | None = Field(
        None, description="upper specification limit (USL)", json_schema_extra=_LIMIT_SCHEMA
    )
    unit: str = Field(
        "", description="unit of plain-number limits (after validation: the parameter's SI unit)"
    )

    @model_validator(mode="after")
    def _ordered(self) -> SpecLimit:
        if self.lower is None and self.upper is None:
            raise ValueError("give 'lower', 'upper' or both")
        if self.lower is not None and self.upper is not None and not self.lower < self.upper:
            u = f" {self.unit}" if self.unit else ""
            raise ValueError(f"lower {self.lower:g}{u} must be below upper {self.upper:g}{u}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """``{"lower", "upper", "unit"}`` (SI; None for a missing side)."""
        return {"lower": self.lower, "upper": self.upper, "unit": self.unit}


def output_parameter(key: str) -> Any:
    """The catalogue :class:`~twinline.spec.catalogue.Parameter` of a spec-limit key
    (``cathode.calendering.porosity`` or a cell output such as
    ``formation.coulombic_efficiency``); :class:`RecipeError` naming the choice otherwise."""
    from twinline.spec.catalogue import catalogue

    cat = catalogue()
    head, _, rest = key.partition(".")
    pid = rest if head in ("cathode", "anode") else key
    try:
        param = cat[pid]
    except (SpecError, KeyError):
        raise RecipeError(
            f"{quote(key)} is no catalogue parameter (write ELECTRODE.step.name, "
            "e.g. cathode.calendering.porosity, or a cell output such as "
            "formation.coulombic_efficiency)"
        ) from None
    if param.category not in OUTPUT_CATEGORIES:
        raise RecipeError(
            f"{key} is a {param.category} (a machine setting); specification "
            "limits are for outputs (categories SP, PP)"
        )
    return param


def _limit(key: str, side: str, value: Any, unit_key: str | None, param: Any) -> float | None:
    from twinline.spec.units import parse_quantity

    if value is None:
        return None
    si = param.si_unit
    name = f"{key}.{side}"
    if isinstance(value, int | float) and not isinstance(value, bool) and unit_key:
        value = {"value": value, "unit": unit_key}
    x = parse_quantity(value, si, name=name)
    if not math.isfinite(x):
        raise RecipeError(f"{name} = {quote(value)}: a specification limit must be finite")
    rng = param.valid_range
    if rng is not None:
        lo, hi = (None if v is None else param.to_si(v) for v in rng)
        if (lo is not None and x < lo) or (hi is not None and x > hi):
            text = (
                f"[{'-inf' if lo is None else f'{lo:g}'}, "
                f"{'inf' if hi is None else f'{hi:g}'}] {si or '(dimensionless)'}"
            )
            raise RecipeError(
                f"{name} = {quote(value)} (= {x:.6g} {si or '-'}) is outside the valid range {text}"
            )
    return x


def parse_spec_limits(data: Any) -> dict[str, dict[str, Any]]:
    """Validate a raw ``spec_limits`` mapping and convert it to SI:
    ``{key: {"lower", "upper", "unit"}}`` (the parameter's SI unit).

    Raises :class:`RecipeError` (one line: key, value, unit, allowed range) on a key that is
    no catalogue output, an unknown field, a value without a unit or of the wrong dimension,
    or a limit outside the parameter's valid range.
    """
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RecipeError(
            f"spec_limits must be a mapping OUTPUT: {{lower, upper}}, got {quote(data)}"
        )
    out: dict[str, dict[str, Any]] = {}
    for key, entry in data.items():
        key = str(key)
        param = output_parameter(key)
        if isinstance(entry, SpecLimit):
            entry = entry.to_dict()
        if not isinstance(entry, dict):
            raise RecipeError(
                f"{key}: expected {{lower: .., upper: ..}} with units, got {quote(entry)}"
            )
        unknown = set(entry) - {"lower", "upper", "unit"}
        if unknown:
            raise RecipeError(
                f"{key}: unknown field(s) {sorted(unknown)}; use lower, upper "
                "(and unit for plain numbers)"
            )
        unit_key = entry.get("unit")
        if unit_key is not None and not isinstance(unit_key, str):
            raise RecipeError(f"{key}.unit = {quote(unit_key)}: expected a unit text")
        out[key] = {
            "lower": _limit(key, "lower", entry.get("lower"), unit_key, param),
            "upper": _limit(key, "upper", entry.get("upper"), unit_key, param),
            "unit": param.si_unit,
        }
    return out
