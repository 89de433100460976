"""What a line parameter is, and its value in SI: the one check every ingested value passes.

A parameter is named either

* by catalogue id with an electrode prefix, ``cathode.coating.am_loading`` (the catalogue's
  ``coating.am_loading``; cell parameters have no prefix, ``formation.coulombic_efficiency``),
  or
* by recipe path, for settings the catalogue does not list,
  ``cathode.formulation.active_material.mass_fraction`` or ``cathode.drying.zones.0.temperature``;
  a non-numeric recipe setting (``cathode.formulation.active_material.material``) is stored as
  text.

:func:`resolve` tells which, with its SI unit; :func:`to_si` converts a value given in a unit to
SI with pint, refusing a unit of the wrong dimension, a non-numeric value and a value outside the
catalogue's valid range — each with a message that names the parameter, value, unit and what is
allowed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache, lru_cache

from twinline.twin.errors import IngestError

ELECTRODES = ("cathode", "anode")
#: Recipe paths of non-numeric settings (material names, methods) stored as text.
TEXT_SUFFIXES = (".material", ".method", ".solvent", ".current_collector", ".atmosphere",
                 ".separator", ".electrolyte", ".format", ".can", ".model")


@dataclass(frozen=True)
class ParameterInfo:
    """``parameter`` as stored; ``catalogue_id`` (without electrode) or None for a recipe path;
    ``si_unit``; ``text`` True for a non-numeric setting; ``low``/``high`` the valid range in
    SI (infinite when none)."""

    parameter: str
    catalogue_id: str | None
    si_unit: str
    text: bool = False
    low: float = -math.inf
    high: float = math.inf


@cache
def resolve(parameter: str) -> ParameterInfo:
    """Describe ``parameter`` (catalogue id with electrode prefix, or recipe path).

    Raises :class:`IngestError` naming the closest catalogue ids when it is neither.
    """
    from twinline.spec.catalogue import catalogue
    from twinline.spec.errors import RecipeError
    from twinline.spec.fields import field_at

    name = str(parameter).strip()
    cat = catalogue()
    head, _, rest = name.partition(".")
    bare = rest if head in ELECTRODES else name
    if bare in cat:
        p = cat[bare]
        low, high = -math.inf, math.inf
        if p.valid_range is not None:
            lo, hi = p.valid_range
            low = p.to_si(lo) if lo is not None else -math.inf
            high = p.to_si(hi) if hi is not None else math.inf
        return ParameterInfo(name, bare, p.si_unit, low=low, high=high)
    if name.endswith(TEXT_SUFFIXES):
        return ParameterInfo(name, None, "", text=True)
    try:
        spec = field_at(name)
    except RecipeError:
        import difflib

        ids = [f"{e}.{k}" for e in ELECTRODES for k in cat] + list(cat)
        near = difflib.get_close_matches(name, ids, n=2, cutoff=0.6)
        raise IngestError(f"parameter {name!r} is neither a catalogue id (with electrode "
                          "prefix, e.g. 'cathode.coating.am_loading') nor a recipe path"
                          + (f"; did you mean {' or '.join(map(repr, near))}?" if near else "")
                          ) from None
    return ParameterInfo(name, None, spec.unit, low=spec.low, high=spec.high)


def to_si(parameter: str, value: float | str, unit: str) -> tuple[float | None, str | None]:
    """``(SI value, None)`` of a numeric parameter, ``(None, text)`` of a text setting.

    Raises :class:`IngestError` for a unit of the wrong dimension, a non-numeric or
    non-finite value, or a value outside the parameter's valid range.
    """
    from twinline.spec.errors import RecipeError
    from twinline.spec.units import parse_quantity

    info = resolve(parameter)
    if info.text:
        return None, str(value).strip()
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise IngestError(f"{parameter} = {value!r}: not a number") from None
    if not math.isfinite(number):
        raise IngestError(f"{parameter} = {value!r}: not a finite number")
    unit = (unit or "").strip()
    linear = _linear(info.si_unit, unit)
    if linear is not None:
        si = linear[0] * number + linear[1]
    else:  # pint refuses the unit (and says why) or it does not convert linearly
        try:
            si = parse_quantity(f"{number!r} {unit}" if unit else number, info.si_unit,
                                name=parameter)
        except RecipeError as err:
            raise IngestError(str(err)) from None
    if not info.low <= si <= info.high:
        raise IngestError(f"{parameter} = {number:g} {unit}".rstrip() + ": outside the valid range "
                          f"[{info.low:g}, {info.high:g}] {info.si_unit or '(dimensionless)'}")
    return si, None


@lru_cache(maxsize=4096)
def _linear(si_unit: str, unit: str) -> tuple[float, float] | None:
    """``(slope, offset)`` with SI = slope * value + offset for a value in ``unit`` (degC has
    an offset), from pint once per unit pair: a pint parse costs ~1 ms, so converting every
    value with it held a line feed of a few hundred samples/s at a full core. None when pint
    refuses the unit or the conversion is not linear: :func:`to_si` then converts (or
    raises) value by value."""
    from twinline.spec.errors import RecipeError
    from twinline.spec.units import parse_quantity

    def conv(x: float) -> float:
        return parse_quantity(f"{x!r} {unit}" if unit else x, si_unit)

    try:
        offset = conv(0.0)
        slope = conv(1.0) - offset
        if not math.isclose(conv(1000.0), offset + 1000.0 * slope, rel_tol=1e-12,
                            abs_tol=1e-300):
            return None
    except RecipeError:
        return None
    return slope, offset
