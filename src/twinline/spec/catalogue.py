"""The data specification as code: the catalogue of manufacturing parameters.

Every parameter of the LiPLANET data-specification tables (Zanotto et al., *Batteries &
Supercaps* 2022, Tables 5–12: 113 rows over mixing, coating, drying, calendering, slitting,
post-drying, cell assembly, electrolyte filling/wetting and formation/degassing) is one row of
``catalogue.csv`` beside this module, together with the parameters twinline's models need that
the tables lack (``addition = true``: line load, areal capacity, N/P ratio, ...). The header of
the data file lists the conversion artefacts of the source that were corrected.

Each :class:`Parameter` has a stable id ``step.snake_name`` where ``step`` is one of
:data:`twinline.spec.steps.STEP_TABLE`, a category (``MP`` machine parameter, ``PP`` process
parameter, ``SP`` structure parameter), a pint unit string (``""`` = dimensionless, or a
text-valued parameter such as a set-up choice), how it is measured, the measurement resolution
as printed, whether it can be measured online, the model families that use it, a physically
valid range and an EMMO IRI where a term exists.

Usage::

    from twinline.spec.catalogue import catalogue
    cat = catalogue()
    p = cat.get("calendering.line_load")        # SpecError (with close matches) if unknown
    cat.select(step="calendering", category="MP")
    p.to_si("1 kN/cm")                          # -> 1e5 (N/m)
"""

from __future__ import annotations

import csv
import difflib
import io
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from twinline.spec.errors import RecipeError, SpecError, quote
from twinline.spec.steps import step_names

#: Parameter categories: machine, process and structure parameters.
CATEGORIES: tuple[str, ...] = ("MP", "PP", "SP")
#: Model families named by the data-specification paper.
MODEL_TYPES: tuple[str, ...] = ("empirical", "continuum", "discrete", "ml")
#: Columns of ``catalogue.csv``, in order.
COLUMNS: tuple[str, ...] = ("id", "step", "name", "category", "unit", "original_unit",
                            "measured_by", "resolution", "online", "models", "valid_range",
                            "iri", "addition", "notes")
#: SI units preferred for display of SI values (first match of dimensionality wins).
_PREFERRED_SI: tuple[str, ...] = (
    "m", "kg", "s", "K", "A", "mol", "m/s", "Pa", "N", "N/m", "J", "W", "W/m^2", "Pa*s",
    "kg/m^3", "kg/m^2", "m^2", "m^3", "m^3/s", "1/s", "V", "ohm", "S/m", "C", "C/kg", "C/m^2",
    "rad/s", "Pa*m^0.5", "J/kg", "J/kg/K", "m^2/s", "kg/mol", "mol/m^3")
#: Keys of the public JSON form of a parameter (``twinline spec list --format json``).
JSON_KEYS: tuple[str, ...] = ("id", "step", "name", "category", "unit", "measured_by",
                              "resolution", "online", "models", "valid_range", "iri")


@dataclass(frozen=True)
class Parameter:
    """One row of the data specification.

    Attributes
    ----------
    id : str
        ``step.snake_name``, stable.
    unit : str
        pint unit in which values are written and shown (``""``: dimensionless or text).
    valid_range : tuple of (float or None, float or None) or None
        Physically valid interval in ``unit``; ``None`` ends are open; ``None`` = no range.
    online : bool or None
        ``True`` measurable in-line, ``False`` offline only, ``None`` not applicable.
    resolution_si : float or None
        The measurement resolution as one standard deviation in :attr:`si_unit` (temperatures
        as differences: ``± 1 °C`` → 1.0 K), parsed once from :attr:`resolution` when the
        row is built; ``None`` when the text is a bare unit (``mbar``), a range, a percentage
        or not a number with a unit of this parameter's dimension.
    resolution_relative : float or None
        A resolution written as a percentage of the value (``± 2 %`` → 0.02) for a parameter
        with a unit; ``None`` otherwise.
    """

    id: str
    step: str
    name: str
    category: str
    unit: str
    original_unit: str = ""
    measured_by: str = ""
    resolution: str = ""
    online: bool | None = None
    models: tuple[str, ...] = ()
    valid_range: tuple[float | None, float | None] | None = None
    iri: str = ""
    addition: bool = False
    notes: str = ""
    snake_name: str = field(init=False, repr=False)
    resolution_si: float | None = field(init=False, repr=False, compare=False)
    resolution_relative: float | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "snake_name", self.id.split(".", 1)[1])
        absolute, relative = _parse_resolution(self.resolution, self.si_unit, name=self.id)
        object.__setattr__(self, "resolution_si", absolute)
        object.__setattr__(self, "resolution_relative", relative)

    @property
    def si_unit(self) -> str:
        """The SI unit the package uses inside for this parameter (``""`` if dimensionless)."""
        if not self.unit:
            return ""
        from twinline.spec.units import ureg

        reg = ureg()
        dim = reg.Quantity(1.0, self.unit).dimensionality
        if not dim:
            return ""
        for name in _PREFERRED_SI:
            if reg.Unit(name).dimensionality == dim:
                return name
        return f"{reg.Quantity(1.0, self.unit).to_base_units().units:~C}"

    def to_si(self, value: Any) -> float:
        """Parse ``value`` (``"1 kN/cm"``, ``{value, unit}``, a number in :attr:`unit`) to SI."""
        from twinline.spec.units import parse_quantity

        if isinstance(value, int | float) and not isinstance(value, bool) and self.unit:
            value = {"value": value, "unit": self.unit}
        target = self.si_unit
        return parse_quantity(value, target, name=self.id)

    def from_si(self, value_si: float) -> float:
        """Convert an SI value of this parameter to :attr:`unit` (for display)."""
        from twinline.spec.units import to_unit

        if not self.unit:
            return float(value_si)
        return to_unit(value_si, self.si_unit, self.unit)

    def resolution_in(self, unit: str) -> float | None:
        """:attr:`resolution_si` converted to ``unit`` (None if none, or of another dimension)."""
        if self.resolution_si is None:
            return None
        if unit == self.si_unit:
            return self.resolution_si
        import pint

        from twinline.spec.units import Q_

        try:
            return float(Q_(self.resolution_si, self.si_unit or "").m_as(unit))
        except pint.DimensionalityError:
            return None

    def in_range(self, value: float) -> bool:
        """True when ``value`` (in :attr:`unit`) lies in :attr:`valid_range` (or no range)."""
        if self.valid_range is None:
            return True
        lo, hi = self.valid_range
        return (lo is None or value >= lo) and (hi is None or value <= hi)

    def range_text(self) -> str:
        """``"0 .. 1"``-style text of the valid range with the unit, or ``""``."""
        if self.valid_range is None:
            return ""
        lo, hi = self.valid_range
        txt = f"{'-inf' if lo is None else f'{lo:g}'} .. {'inf' if hi is None else f'{hi:g}'}"
        return f"{txt} {self.unit}".rstrip()

    def to_dict(self) -> dict[str, Any]:
        """The public JSON form (keys :data:`JSON_KEYS`)."""
        return {
            "id": self.id, "step": self.step, "name": self.name, "category": self.category,
            "unit": self.unit, "measured_by": self.measured_by, "resolution": self.resolution,
            "online": self.online, "models": list(self.models),
            "valid_range": None if self.valid_range is None else list(self.valid_range),
            "iri": self.iri or None,
        }

    def to_row(self) -> dict[str, str]:
        """The row of ``catalogue.csv`` (all text)."""
        rng = ""
        if self.valid_range is not None:
            lo, hi = self.valid_range
            rng = f"{'' if lo is None else f'{lo:g}'}..{'' if hi is None else f'{hi:g}'}"
        return {
            "id": self.id, "step": self.step, "name": self.name, "category": self.category,
            "unit": self.unit, "original_unit": self.original_unit,
            "measured_by": self.measured_by, "resolution": self.resolution,
            "online": "" if self.online is None else str(self.online).lower(),
            "models": ";".join(self.models), "valid_range": rng, "iri": self.iri,
            "addition": str(self.addition).lower(), "notes": self.notes,
        }


class Catalogue(Mapping[str, Parameter]):
    """An ordered, read-only ``id → Parameter`` mapping with lookups that explain themselves."""

    def __init__(self, parameters: list[Parameter]):
        self._params = {p.id: p for p in parameters}
        if len(self._params) != len(parameters):
            seen: set[str] = set()
            dup = sorted({p.id for p in parameters if p.id in seen or seen.add(p.id)})
            raise SpecError(f"catalogue: duplicate parameter ids {dup}")

    def __getitem__(self, pid: str) -> Parameter:
        return self.get(pid)

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __contains__(self, pid: object) -> bool:
        return pid in self._params

    def get(self, pid: str, default: Any = ...) -> Parameter:  # type: ignore[override]
        """The parameter ``pid``; :class:`SpecError` naming close matches if unknown."""
        p = self._params.get(pid)
        if p is not None:
            return p
        if default is not ...:
            return default
        near = self.close_matches(pid)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise SpecError(f"unknown parameter {quote(pid)}: ids are 'step.name' with step one of "
                        f"{', '.join(step_names())}{hint} (twinline spec list)")

    def close_matches(self, pid: str, n: int = 5) -> list[str]:
        """Ids that look like ``pid`` (misspelt id, or the name without its step)."""
        ids = list(self._params)
        near = difflib.get_close_matches(pid, ids, n=n, cutoff=0.6)
        tail = pid.rsplit(".", 1)[-1]
        # the same name in another step, e.g. 'line_load' -> 'calendering.line_load'
        near += [i for i in ids if i.endswith("." + tail) and i not in near]
        # a misspelt name without its step, e.g. 'lineload' -> 'calendering.line_load'
        by_name = {i.split(".", 1)[1]: i for i in ids}
        for name in difflib.get_close_matches(tail, list(by_name), n=n, cutoff=0.75):
            if by_name[name] not in near:
                near.append(by_name[name])
        return near[:n]

    def parameters(self) -> list[Parameter]:
        return list(self._params.values())

    def select(self, *, step: str | None = None, category: str | None = None,
               online: bool | None = None, addition: bool | None = None) -> list[Parameter]:
        """Parameters filtered by step, category (MP/PP/SP), online flag and addition flag."""
        if step is not None and step not in step_names():
            near = difflib.get_close_matches(step, step_names(), n=1, cutoff=0.5)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise SpecError(f"unknown step {quote(step)}; steps are "
                            f"{', '.join(step_names())}{hint}")
        if category is not None and category.upper() not in CATEGORIES:
            raise SpecError(f"unknown category {quote(category)}; categories are MP, PP, SP")
        out = []
        for p in self._params.values():
            if step is not None and p.step != step:
                continue
            if category is not None and p.category != category.upper():
                continue
            if online is not None and p.online is not online:
                continue
            if addition is not None and p.addition is not addition:
                continue
            out.append(p)
        return out

    def steps(self) -> list[str]:
        return [s for s in step_names() if any(p.step == s for p in self._params.values())]

    def to_csv(self) -> str:
        """The catalogue as CSV text (no comment header)."""
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
        w.writeheader()
        for p in self._params.values():
            w.writerow(p.to_row())
        return buf.getvalue()


#: Temperature units in a resolution text, read as differences (``± 1 °C`` is 1 K wide).
_TEMPERATURE_DELTAS: dict[str, str] = {"°C": "delta_degC", "degC": "delta_degC",
                                       "celsius": "delta_degC", "°F": "delta_degF",
                                       "degF": "delta_degF"}


def _leading_number(text: str) -> tuple[float, str] | None:
    """The number a text starts with and the rest (``"0.05 m/min"`` → ``(0.05, "m/min")``)."""
    for end in range(len(text), 0, -1):
        head = text[:end]
        if head[-1] not in "0123456789.":
            continue
        try:
            return float(head), text[end:].strip()
        except ValueError:
            continue
    return None


def _parse_resolution(text: str, si_unit: str, *,
                      name: str) -> tuple[float | None, float | None]:
    """``(absolute in si_unit, relative)`` of a resolution text such as ``± 0.05 m/min``.

    Only the first comma-separated part counts (``±1 °C, Humidity < 1.0 %``); a bare unit, a
    range or a text of another dimension gives ``(None, None)``.
    """
    from twinline.spec.units import parse_quantity

    first = text.split(",")[0].replace("±", "").replace("+/-", "").strip()
    found = _leading_number(first)
    if found is None:
        return None, None
    value, unit = found
    if unit == "%" and si_unit != "":
        return None, abs(value) / 100.0
    if unit == "" and si_unit != "":
        return None, None
    unit = _TEMPERATURE_DELTAS.get(unit, unit)
    try:
        sigma = parse_quantity(f"{value!r} {unit}".strip(), si_unit, name=name)
    except RecipeError:
        return None, None
    if not math.isfinite(sigma) or sigma <= 0:
        return None, None
    return abs(sigma), None


def _parse_bool(text: str, *, where: str) -> bool | None:
    t = text.strip().lower()
    if t in ("true", "yes", "1"):
        return True
    if t in ("false", "no", "0"):
        return False
    if t == "":
        return None
    raise SpecError(f"{where}: expected true/false/empty, got {text!r}")


def _parse_range(text: str, *, where: str) -> tuple[float | None, float | None] | None:
    t = text.strip()
    if not t:
        return None
    if ".." not in t:
        raise SpecError(f"{where}: valid_range must look like 'lo..hi', got {text!r}")
    lo_s, hi_s = (s.strip() for s in t.split("..", 1))
    try:
        lo = float(lo_s) if lo_s else None
        hi = float(hi_s) if hi_s else None
    except ValueError:
        raise SpecError(f"{where}: valid_range {text!r} is not numeric") from None
    if lo is not None and hi is not None and not lo <= hi:
        raise SpecError(f"{where}: valid_range {text!r} has lo > hi")
    if any(v is not None and math.isnan(v) for v in (lo, hi)):
        raise SpecError(f"{where}: valid_range {text!r} contains NaN")
    return lo, hi


def parse_catalogue(text: str, origin: str = "catalogue.csv") -> Catalogue:
    """Parse catalogue CSV text (lines starting with ``#`` are comments) and check every row.

    Checks: known columns, id ``step.snake_name`` consistent with ``step``, step in
    :data:`twinline.spec.steps.STEP_TABLE`, category in :data:`CATEGORIES`, unit parsable by
    pint, models in :data:`MODEL_TYPES`, boolean and range syntax. Raises :class:`SpecError`
    naming the line.
    """
    from twinline.spec.units import is_unit

    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    reader = csv.DictReader(lines)
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise SpecError(f"{origin}: columns must be {list(COLUMNS)}, got {reader.fieldnames}")
    params: list[Parameter] = []
    for k, row in enumerate(reader, start=2):
        where = f"{origin}: row {k} ({row.get('id', '?')})"
        pid, step = row["id"].strip(), row["step"].strip()
        if step not in step_names():
            raise SpecError(f"{where}: unknown step {step!r}; steps are {', '.join(step_names())}")
        if not pid.startswith(step + ".") or not pid.split(".", 1)[1].replace("_", "a").isalnum():
            raise SpecError(f"{where}: id must be '{step}.snake_name'")
        if row["category"] not in CATEGORIES:
            raise SpecError(f"{where}: category {row['category']!r} not in {CATEGORIES}")
        if not is_unit(row["unit"]):
            raise SpecError(f"{where}: unit {row['unit']!r} is not a pint unit")
        models = tuple(m.strip() for m in row["models"].split(";") if m.strip())
        bad = [m for m in models if m not in MODEL_TYPES]
        if bad:
            raise SpecError(f"{where}: unknown model types {bad}; allowed {MODEL_TYPES}")
        params.append(Parameter(
            id=pid, step=step, name=row["name"].strip(), category=row["category"],
            unit=row["unit"].strip(), original_unit=row["original_unit"].strip(),
            measured_by=row["measured_by"].strip(), resolution=row["resolution"].strip(),
            online=_parse_bool(row["online"], where=where), models=models,
            valid_range=_parse_range(row["valid_range"], where=where), iri=row["iri"].strip(),
            addition=bool(_parse_bool(row["addition"], where=where)),
            notes=row["notes"].strip()))
    return Catalogue(params)


@cache
def catalogue() -> Catalogue:
    """The built-in catalogue (``twinline/spec/catalogue.csv``), parsed once."""
    text = resources.files("twinline.spec").joinpath("catalogue.csv").read_text("utf-8")
    return parse_catalogue(text, "twinline/spec/catalogue.csv")


def header_comment() -> str:
    """The comment header of the data file (provenance and corrections), without ``#``."""
    text = resources.files("twinline.spec").joinpath("catalogue.csv").read_text("utf-8")
    return "\n".join(ln[1:].removeprefix(" ") for ln in text.splitlines()
                     if ln.startswith("#"))
