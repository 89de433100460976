"""One typed description per numeric recipe field: SI unit, range, default, catalogue row.

Every quantity field of the recipe is declared once with :func:`~twinline.spec.quantity.SI`,
which attaches a :class:`~twinline.spec.quantity.SIRange` to its annotation. This module
reads that object (never the JSON-schema text generated from it) and joins the catalogue
row the field maps to, so that uncertainty, campaigns, the JSON-schema export and the CLI
all read the same :class:`FieldSpec`:

* :func:`field_spec` — the description of field ``name`` of a recipe section class, or
  ``None`` when the field is not an SI quantity;
* :func:`recipe_fields` — every numeric recipe path, electrodes spelt out
  (``cathode.coating.gap``, ``anode.coating.gap``) and dryer zones written with the
  wildcard ``*`` for the zone index (``cathode.drying.zones.*.temperature``);
* :func:`field_at` — the description of one concrete path
  (``anode.drying.zones.1.temperature``), or a :class:`RecipeError` naming the choices.

Integer counts (``cell.layers``) and text settings are not quantities and have no
:class:`FieldSpec`.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from twinline.spec.catalogue import catalogue
from twinline.spec.errors import RecipeError
from twinline.spec.quantity import SIRange
from twinline.spec.steps import steps

#: Recipe section class name → catalogue step of its fields.
SECTION_STEP: dict[str, str] = {**{s.section_class: s.name for s in steps()},
                                "DryingZone": "drying"}
#: Recipe field names whose catalogue id differs from ``step.field``.
FIELD_ALIASES: dict[str, str] = {
    "calendering.roll_temperature": "calendering.temperature",
    "drying.web_speed": "drying.line_speed",
    "drying.length": "drying.zone_length",
    "slitting.speed": "slitting.slitting_speed",
    "cell.layers": "assembly.layers",
    "assembly.layers": "assembly.layers",
}
#: Wildcard written in :attr:`FieldSpec.path` for "any electrode" / "any dryer zone".
WILDCARD = "*"


def catalogue_id_for(section: str, field_name: str) -> str | None:
    """The catalogue id of recipe field ``field_name`` of section class ``section``."""
    step = SECTION_STEP.get(section)
    if step is None:
        return None
    cand = FIELD_ALIASES.get(f"{step}.{field_name}", f"{step}.{field_name}")
    return cand if cand in catalogue() else None


@dataclass(frozen=True)
class FieldSpec:
    """The description of one numeric recipe field.

    Attributes
    ----------
    path : str
        Recipe path; ``*`` stands for any electrode (from :func:`field_spec`) or any dryer
        zone (``cathode.drying.zones.*.temperature``).
    section : type
        The pydantic section class that declares the field.
    name : str
        The field name in that class.
    unit : str
        SI unit of the stored float (``""``: dimensionless).
    low, high : float
        Admissible interval in ``unit`` (``-inf``/``inf`` when unbounded).
    low_closed, high_closed : bool
        Whether the end itself is admissible.
    description : str
        The field's description.
    default : float or None
        The default value in SI (``None`` when required or when the default is "unset").
    required : bool
        True when a recipe must give the value.
    catalogue_id : str or None
        The catalogue parameter the field is, if any.
    resolution : str
        The catalogue's measurement resolution as printed (``""`` if none).
    resolution_si : float or None
        That resolution as one standard deviation in ``unit``, parsed when the catalogue
        loaded (:attr:`twinline.spec.catalogue.Parameter.resolution_si`).
    resolution_relative : float or None
        A resolution given as a fraction of the value (``± 2 %`` → 0.02).
    """

    path: str
    section: type
    name: str
    unit: str
    low: float = -math.inf
    high: float = math.inf
    low_closed: bool = False
    high_closed: bool = False
    description: str = ""
    default: float | None = None
    required: bool = False
    catalogue_id: str | None = None
    resolution: str = ""
    resolution_si: float | None = None
    resolution_relative: float | None = None

    @property
    def range(self) -> SIRange:
        """The admissible interval as an :class:`SIRange`."""
        return SIRange(self.unit, self.low, self.high, self.low_closed, self.high_closed)

    @property
    def range_text(self) -> str:
        """``(0, 0.002] m``-style text of the range (as the JSON schema's ``x-range``)."""
        return self.range.text()


def si_range_of(annotation: Any) -> SIRange | None:
    """The :class:`SIRange` attached by ``SI(...)`` to ``annotation`` (inside an
    ``Optional``/``Union`` too), or None if the annotation is not an SI quantity."""
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(meta, SIRange):
            return meta
    for arg in typing.get_args(annotation):
        found = si_range_of(arg)
        if found is not None:
            return found
    return None


def _section_paths() -> dict[type, str]:
    from twinline.spec.cell_recipe import CellSection, FillingSection, FormationSection
    from twinline.spec.recipe import (
        CalenderingSection,
        CoatingSection,
        Component,
        DryingSection,
        DryingZone,
        ElectrodeRecipe,
        MixingSection,
        PostDryingSection,
        SlittingSection,
    )

    e = WILDCARD
    return {
        ElectrodeRecipe: e, MixingSection: f"{e}.mixing", CoatingSection: f"{e}.coating",
        DryingSection: f"{e}.drying", DryingZone: f"{e}.drying.zones.{WILDCARD}",
        CalenderingSection: f"{e}.calendering", SlittingSection: f"{e}.slitting",
        PostDryingSection: f"{e}.post_drying", Component: f"{e}.formulation.{WILDCARD}",
        CellSection: "cell", FillingSection: "filling", FormationSection: "formation",
    }


@cache
def field_spec(section_cls: type, name: str) -> FieldSpec | None:
    """The description of field ``name`` of recipe section ``section_cls``.

    Returns None when the class has no such field or the field is not an SI quantity.
    """
    fields = getattr(section_cls, "model_fields", None)
    info = fields.get(name) if fields is not None else None
    if info is None:
        return None
    rng = None
    for meta in info.metadata:  # pydantic moves a plain Annotated's metadata here
        if isinstance(meta, SIRange):
            rng = meta
    rng = rng or si_range_of(info.annotation)
    if rng is None:
        return None
    required = info.default is PydanticUndefined and info.default_factory is None
    default = None if required or info.default_factory is not None else info.default
    pid = catalogue_id_for(section_cls.__name__, name)
    param = catalogue()[pid] if pid is not None else None
    base = _section_paths().get(section_cls, section_cls.__name__)
    return FieldSpec(
        path=f"{base}.{name}", section=section_cls, name=name, unit=rng.unit, low=rng.low,
        high=rng.high, low_closed=rng.low_closed, high_closed=rng.high_closed,
        description=info.description or "",
        default=float(default) if isinstance(default, int | float) else None,
        required=required, catalogue_id=pid,
        resolution=param.resolution if param is not None else "",
        resolution_si=param.resolution_in(rng.unit) if param is not None else None,
        resolution_relative=param.resolution_relative if param is not None else None)


def _walk(cls: type[BaseModel], prefix: str) -> list[FieldSpec]:
    out: list[FieldSpec] = []
    for name, info in cls.model_fields.items():
        spec = field_spec(cls, name)
        if spec is not None:
            out.append(_replace_path(spec, f"{prefix}.{name}"))
            continue
        sub = _model_class(info.annotation)
        if sub is None:
            continue
        is_list = typing.get_origin(info.annotation) is list
        out += _walk(sub, f"{prefix}.{name}.{WILDCARD}" if is_list else f"{prefix}.{name}")
    return out


def _replace_path(spec: FieldSpec, path: str) -> FieldSpec:
    from dataclasses import replace

    return replace(spec, path=path)


def _model_class(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_class(arg)
        if found is not None:
            return found
    return None


@cache
def recipe_sections() -> dict[str, type[BaseModel]]:
    """Every pydantic class reachable from the recipe, keyed by class name (the JSON
    schema's ``$defs`` names)."""
    from twinline.spec.recipe import Recipe

    found: dict[str, type[BaseModel]] = {}

    def visit(cls: type[BaseModel]) -> None:
        if cls.__name__ in found:
            return
        found[cls.__name__] = cls
        for info in cls.model_fields.values():
            sub = _model_class(info.annotation)
            if sub is not None:
                visit(sub)

    visit(Recipe)
    return found


@cache
def recipe_fields() -> tuple[FieldSpec, ...]:
    """Every numeric recipe path, in the order of the recipe schema.

    Electrode paths are spelt out for ``cathode`` and ``anode``; dryer zones use ``*`` for
    the zone index (``cathode.drying.zones.*.temperature``).
    """
    from twinline.spec.cell_recipe import CellSection, FillingSection, FormationSection
    from twinline.spec.recipe import ElectrodeRecipe

    out: list[FieldSpec] = []
    for electrode in ("cathode", "anode"):
        out += _walk(ElectrodeRecipe, electrode)
    for prefix, cls in (("cell", CellSection), ("filling", FillingSection),
                        ("formation", FormationSection)):
        out += _walk(cls, prefix)
    return tuple(out)


def field_at(path: str) -> FieldSpec:
    """The description of the numeric recipe field at a concrete ``path``.

    A dryer zone is addressed by its index (``cathode.drying.zones.0.temperature``).
    Raises :class:`RecipeError` naming the numeric fields when ``path`` names none.
    """
    parts = path.split(".")
    if len(parts) >= 4 and parts[1] == "drying" and parts[2] == "zones":
        if not parts[3].isdigit():
            raise RecipeError(f"recipe path {path!r}: address a drying zone as "
                              "ELECTRODE.drying.zones.<index>.<field>")
        parts[3] = WILDCARD
    key = ".".join(parts)
    specs = {s.path: s for s in recipe_fields()}
    if key in specs:
        return specs[key]
    prefix = ".".join(parts[:-1]) + "."
    here = sorted(p.removeprefix(prefix) for p in specs if p.startswith(prefix)
                  and "." not in p.removeprefix(prefix))
    hint = (f"choose from {here}" if here
            else "paths start with cathode., anode., cell., filling. or formation.")
    raise RecipeError(f"recipe path {path!r} names no numeric recipe field; {hint}")
