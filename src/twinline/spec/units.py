"""One pint registry for the whole package, and the conversions at the edges.

Inside twinline every number is an SI float (or NumPy array of them). Values enter with a
unit (``"60 MPa"``, ``{"value": 0.3, "unit": "m/s"}``) through a recipe, a material file or
the CLI and are converted *once*, here. ``UnitRegistry()`` is slow (0.2–0.6 s), so it is
built lazily on first use.
"""

from __future__ import annotations

import re
from functools import cache
from tokenize import TokenError
from typing import Any

from twinline.spec.errors import RecipeError, elide, quote

# What pint's string parser raises on text that is not a quantity (measured on 4,000 random
# strings: TokenError, AssertionError for "3 kg/", UndefinedUnitError, DefinitionSyntaxError,
# ValueError, ZeroDivisionError for "1/0"); pint's own errors are added where pint is imported.
_PARSE_ERRORS: tuple[type[Exception], ...] = (
    TokenError, AssertionError, ValueError, TypeError, ArithmeticError, SyntaxError,
    AttributeError, KeyError, IndexError)
_POWER_CHAIN = re.compile(r"(\*\*|\^)[-+()\s\d.eE]*(\*\*|\^)")
_POWER = re.compile(r"(?:\*\*|\^)\s*\(?\s*([-+]?\s*\d*\.?\d+(?:[eE][-+]?\d+)?)")
MAX_QUANTITY_CHARS = 200
"""Longest quantity text parsed (``"300 um"``); pint's parser is quadratic on long text."""
MAX_EXPONENT = 12
"""Largest power a quantity string may write (``m**3``); pint evaluates ``10**10**10``."""
MEMO_SIZE = 4096
"""Quantity texts remembered with their value (:func:`parse_quantity`)."""

# ("300 um", "m") -> 3e-4: a quantity text read once is not parsed by pint again (a recipe
# holds ~25 of them; re-running a recipe with one setting changed repeats the others).
# Only successful conversions are kept, so every error path and message is unchanged.
_MEMO: dict[tuple[str, str], float] = {}


def _check_powers(text: str, name: str, unit: str) -> None:
    """Refuse text pint would take minutes on: very long, or powers like ``10**10**10``."""
    if len(text) > MAX_QUANTITY_CHARS:
        raise RecipeError(
            f"{name} = {quote(text)} is {len(text):,} characters long, not a quantity (at most "
            f"{MAX_QUANTITY_CHARS}); expected {_expected(unit)}")
    big = [m.group(1) for m in _POWER.finditer(text)
           if abs(float(m.group(1).replace(" ", ""))) > MAX_EXPONENT]
    if big or _POWER_CHAIN.search(text):
        raise RecipeError(
            f"{name} = {quote(text)} raises to a power beyond ±{MAX_EXPONENT} or chains powers; "
            f"expected {_expected(unit)}")


@cache
def ureg():
    """The package's single :class:`pint.UnitRegistry` (offset units such as degC allowed)."""
    import pint

    reg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    reg.define("ppm_mass = 1e-6 = ppmw")
    reg.formatter.default_format = "~P"
    pint.set_application_registry(reg)
    return reg


def Q_(value: Any, unit: str | None = None):
    """Build a quantity in the package registry (``Q_("60 MPa")`` or ``Q_(60, "MPa")``)."""
    reg = ureg()
    return reg.Quantity(value) if unit is None else reg.Quantity(value, unit)


def parse_quantity(value: Any, unit: str, *, name: str = "value") -> float:
    """Convert ``value`` to a float in ``unit``.

    ``value`` may be a string with a unit (``"300 um"``), a mapping
    ``{"value": 300, "unit": "um"}`` or a pint quantity. A bare number is accepted only when
    ``unit`` is dimensionless. Raises :class:`RecipeError` naming ``name``, the value and the
    expected unit when the unit is missing, unknown or of the wrong dimension.
    """
    if isinstance(value, str):
        hit = _MEMO.get((value, unit))
        if hit is not None:
            return hit
        x = _parse_quantity(value, unit, name=name)
        if len(_MEMO) >= MEMO_SIZE:
            _MEMO.clear()
        _MEMO[(value, unit)] = x
        return x
    return _parse_quantity(value, unit, name=name)


def _parse_quantity(value: Any, unit: str, *, name: str) -> float:
    """:func:`parse_quantity` without the memo."""
    import pint

    reg = ureg()
    target = reg.Unit(unit)
    try:
        if isinstance(value, dict):
            if set(value) - {"value", "unit"} or "value" not in value:
                raise RecipeError(f"{name}: expected {{value, unit}}, got {quote(value)}")
            unit_text = value.get("unit", "") or ""
            if isinstance(unit_text, str):
                _check_powers(unit_text, name, unit)
            q = reg.Quantity(float(value["value"]), unit_text)
        elif isinstance(value, reg.Quantity):
            q = value
        elif isinstance(value, bool):
            raise RecipeError(f"{name} = {quote(value)}: expected a quantity in {unit}")
        elif isinstance(value, int | float):
            if not target.dimensionless:
                raise RecipeError(
                    f"{name} = {quote(value)} has no unit: expected {_expected(unit)}; write "
                    f"the value with its unit (for example "
                    f"\"{_number_text(value)} {_example_unit(unit)}\")")
            q = reg.Quantity(float(value), "")
        elif isinstance(value, str):
            _check_powers(value, name, unit)
            q = reg.Quantity(value.strip())
            if not isinstance(q, reg.Quantity):  # a bare number string
                q = reg.Quantity(float(q), "")
        else:
            raise RecipeError(f"{name} = {quote(value)}: expected a quantity in {unit}")
        if q.dimensionless and not target.dimensionless:
            raise RecipeError(
                f"{name} = {quote(value)} has no unit: expected {_expected(unit)}; write the "
                f"value with its unit (for example "
                f"\"{_number_text(value)} {_example_unit(unit)}\")")
        return float(q.m_as(target))
    except RecipeError:
        raise
    except pint.DimensionalityError:
        raise RecipeError(
            f"{name} = {quote(value)} has the wrong unit{_dimension_of(value)}: expected "
            f"{_expected(unit)}") from None
    except (pint.PintError, *_PARSE_ERRORS) as err:  # see _PARSE_ERRORS
        why = elide(str(err)) or "syntax error"
        raise RecipeError(
            f"{name} = {quote(value)} is not a quantity twinline can read ({why}); "
            f"expected {_expected(unit)}") from None


def _number_text(value: Any) -> str:
    """The number a person wrote, for a hint (a long string is cut, see :func:`quote`)."""
    return quote(value)[1:-1] if isinstance(value, str) else f"{value}"


def _expected(unit: str) -> str:
    """Text for the expected kind of value in an error message."""
    if not unit or ureg().Unit(unit).dimensionless:
        return "a plain number or a fraction such as \"96 %\" (dimensionless)"
    return f"a quantity with a unit convertible to {unit}"


def _example_unit(unit: str) -> str:
    """A unit a person would write for a quantity stored in ``unit`` (for hints)."""
    common = {"m": "um", "Pa": "MPa", "K": "degC", "s": "min", "m/s": "m/min",
              "N/m": "kN/m", "kg/m^3": "g/cm^3", "kg/m^2": "mg/cm^2", "m^3/s": "mL/min"}
    return common.get(unit, unit)


def _dimension_of(value: Any) -> str:
    """`` (a speed [length/time])``-style hint of what a wrongly-united value is."""
    try:
        dim = Q_(value["value"], value["unit"]) if isinstance(value, dict) else Q_(str(value))
        return f" ({dim.dimensionality})"
    except (RecipeError, *_PARSE_ERRORS):
        return ""


def to_unit(value_si: float, si_unit: str, unit: str) -> float:
    """Convert an SI float in ``si_unit`` to ``unit`` (for output at the edge)."""
    return float(Q_(value_si, si_unit).m_as(unit))


def is_unit(text: str) -> bool:
    """True when ``text`` is a unit string pint can parse (``""`` is dimensionless)."""
    try:
        ureg().Unit(text)
    except _PARSE_ERRORS:  # pint's UndefinedUnitError is an AttributeError
        return False
    return True
