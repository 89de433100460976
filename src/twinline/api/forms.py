"""The recipe as a web form: one input per recipe setting, grouped by step, and back.

The calculator page (:mod:`twinline.api.pages`) shows a recipe as a form. This module is
the pure part of that page (no web framework here):

* :func:`form_groups` — the inputs of a recipe, read from the recipe schema (the pydantic
  section classes and :func:`twinline.spec.fields.field_spec`), grouped by electrode and
  step. A numeric setting is a number in the unit the recipe was written in (``300`` with
  ``um``), with its admissible range converted to that unit for the browser's ``min``/``max``;
  settings the recipe leaves out show their schema default (blank when the default is
  "unset", e.g. ``calendering.line_load`` when ``pressure`` is given);
* :func:`recipe_data` — the nested recipe mapping of submitted form values
  (``{"cathode.coating.gap": "300 um"}``), ready for :func:`twinline.spec.recipe.parse_recipe`,
  which checks units and ranges and names the setting in its one-line messages;
* :func:`default_recipe_data` — the bundled default recipe (a copy of
  ``examples/nmc111_cathode.yaml``, the ARTISTIC NMC111 cathode).

Values stay text with their units until the recipe parser converts them to SI.
"""

from __future__ import annotations

import math
import re
import typing
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from twinline.spec.errors import RecipeError, quote

#: The bundled default recipe (same text as ``examples/nmc111_cathode.yaml``).
DEFAULT_RECIPE = Path(__file__).parent / "web" / "default_recipe.yaml"
#: Most form values one submission may hold (a recipe has about 100 settings).
MAX_FIELDS = 500
#: Unit shown for a setting the recipe leaves out, by SI unit (others: the SI unit).
_SHOWN_UNIT = {"K": "degC"}
#: Settings the form does not show (file references, free-form tables, the model choice).
#: Not in the form: the calculator makes electrodes from machine settings (a measured or a
#: target-property electrode is given in a recipe file).
_SKIP = {"materials_files", "tolerances", "source_path", "description", "model", "measured",
         "target"}
_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


@dataclass(frozen=True)
class FormField:
    """One input of the recipe form.

    Attributes
    ----------
    path : str
        Recipe path (``cathode.drying.zones.0.temperature``); the input's name.
    label : str
        Short label (``gap``, ``zone 1 temperature``).
    kind : str
        ``quantity`` (number + unit), ``integer``, ``choice``, ``bool`` or ``text``.
    value : str
        Current value as text (the number only, for a quantity; ``""`` = unset).
    unit : str
        Unit of ``value`` for a quantity (pint spelling; ``""`` dimensionless).
    low, high : float or None
        Admissible range in ``unit`` (None: unbounded); the browser's min/max.
    range_text : str
        The range as the recipe schema writes it, in SI (``(0, 0.002] m``).
    options : tuple of str
        Choices of a ``choice`` field.
    required : bool
        True when a recipe must give the value.
    description : str
        The schema's description of the setting.
    """

    path: str
    label: str
    kind: str
    value: str = ""
    unit: str = ""
    low: float | None = None
    high: float | None = None
    range_text: str = ""
    options: tuple[str, ...] = ()
    required: bool = False
    description: str = ""


@dataclass
class FormGroup:
    """The inputs of one step of one electrode (``cathode · coating``)."""

    key: str
    title: str
    fields: list[FormField] = field(default_factory=list)


def default_recipe_data() -> dict[str, Any]:
    """The bundled default recipe as parsed YAML (a fresh mapping each call)."""
    from twinline.spec.yamlfile import read_yaml

    return read_yaml(DEFAULT_RECIPE, what="recipe")


def _literal_options(annotation: Any) -> tuple[str, ...]:
    if typing.get_origin(annotation) is typing.Literal:
        return tuple(str(a) for a in typing.get_args(annotation))
    for arg in typing.get_args(annotation):
        found = _literal_options(arg)
        if found:
            return found
    return ()


def _model_class(annotation: Any) -> type | None:
    from twinline.spec.fields import _model_class as find

    return find(annotation)


def _split_quantity(raw: Any, si_unit: str) -> tuple[str, str]:
    """``"300 um"`` → (``"300"``, ``"um"``); a bare number keeps the SI unit."""
    if isinstance(raw, bool) or raw is None:
        return "", si_unit
    if isinstance(raw, int | float):
        return f"{raw:g}", si_unit
    m = _NUMBER.match(str(raw))
    if m is None:
        return str(raw), si_unit
    unit = m.group(2)
    if unit in ("%", "percent"):
        return m.group(1), "percent"
    return m.group(1), unit or si_unit


def _convert(value_si: float, si_unit: str, unit: str) -> float | None:
    from twinline.spec.units import to_unit

    if not math.isfinite(value_si):
        return None
    try:
        return float(f"{to_unit(value_si, si_unit, unit):.6g}")
    except Exception:  # an exotic unit: leave the bound to the server
        return None


def _quantity_field(spec: Any, path: str, label: str, raw: Any) -> FormField:
    if raw is None:
        unit = _SHOWN_UNIT.get(spec.unit, spec.unit)
        value = "" if spec.default is None else f"{_convert(spec.default, spec.unit, unit):g}"
    else:
        value, unit = _split_quantity(raw, spec.unit)
    return FormField(path=path, label=label, kind="quantity", value=value, unit=unit,
                     low=_convert(spec.low, spec.unit, unit),
                     high=_convert(spec.high, spec.unit, unit),
                     range_text=spec.range_text, required=spec.required,
                     description=spec.description)


def _walk(cls: type, prefix: str, data: dict[str, Any], group: str,
          groups: dict[str, FormGroup], label_prefix: str = "") -> None:
    from pydantic_core import PydanticUndefined

    from twinline.spec.fields import field_spec

    for name, info in cls.model_fields.items():
        if name in _SKIP:
            continue
        path = f"{prefix}.{name}" if prefix else name
        raw = data.get(name) if isinstance(data, dict) else None
        sub = _model_class(info.annotation)
        spec = field_spec(cls, name)
        if sub is not None and spec is None:
            if typing.get_origin(info.annotation) is list:
                for i, item in enumerate(raw or [{}]):
                    _walk(sub, f"{path}.{i}", item or {}, group, groups,
                          f"{label_prefix}{name.rstrip('s')} {i + 1} ")
            elif name in _STEPS:
                _walk(sub, path, raw or {}, f"{prefix.split('.')[0]}.{name}", groups)
            else:
                _walk(sub, path, raw or {}, group, groups,
                      f"{label_prefix}{name.replace('_', ' ')} ")
            continue
        label = f"{label_prefix}{name.replace('_', ' ')}"
        if spec is not None:
            f = _quantity_field(spec, path, label, raw)
        else:
            default = None if info.default is PydanticUndefined else info.default
            value = raw if raw is not None else default
            options = _literal_options(info.annotation)
            required = info.is_required()
            if options:
                f = FormField(path, label, "choice", "" if value is None else str(value),
                              options=options, required=required,
                              description=info.description or "")
            elif info.annotation is bool:
                f = FormField(path, label, "bool", "true" if value else "false",
                              options=("true", "false"), description=info.description or "")
            elif info.annotation is int:
                f = FormField(path, label, "integer", "" if value is None else str(value),
                              required=required, description=info.description or "")
            elif info.annotation is str:
                f = FormField(path, label, "text", "" if value is None else str(value),
                              required=required, description=info.description or "")
            else:
                continue
        groups.setdefault(group, FormGroup(group, group.replace(".", " · ").replace("_", " "))
                          ).fields.append(f)


#: Section names that are steps (a group of their own in the form).
_STEPS = ("formulation", "mixing", "coating", "drying", "calendering", "slitting",
          "post_drying")


def form_groups(data: dict[str, Any] | None = None) -> list[FormGroup]:
    """The form inputs of recipe ``data`` (parsed YAML; default: the bundled recipe).

    Every setting of each electrode the recipe has, in schema order, grouped as
    ``recipe``, ``cathode.electrode``, ``cathode.formulation``, ``cathode.mixing`` … The
    cell, filling and formation sections are not shown (the calculator runs the electrode
    chain).
    """
    from twinline.spec.recipe import ElectrodeRecipe

    data = default_recipe_data() if data is None else data
    groups: dict[str, FormGroup] = {"recipe": FormGroup("recipe", "recipe")}
    groups["recipe"].fields.append(FormField("name", "name", "text",
                                             str(data.get("name", "unnamed recipe"))))
    for electrode in ("cathode", "anode"):
        if not isinstance(data.get(electrode), dict):
            continue
        _walk(ElectrodeRecipe, electrode, data[electrode], f"{electrode}.electrode", groups)
    return list(groups.values())


@cache
def _kinds() -> dict[str, str]:
    """Recipe path (indices as ``*``) → field kind, over both electrodes and any zone."""
    both = {"name": "text"}
    data = default_recipe_data()
    for electrode in ("cathode", "anode"):
        data[electrode] = data.get("cathode")
    for g in form_groups(data):
        for f in g.fields:
            both[re.sub(r"\.\d+\.", ".*.", f.path)] = f.kind
    return both


def recipe_data(values: dict[str, Any]) -> dict[str, Any]:
    """The nested recipe mapping of submitted form values (``path → text``).

    Blank values are left out (the schema default applies); ``bool`` fields become
    booleans, ``integer`` fields integers; a numeric path segment is a list index
    (``cathode.drying.zones.1.temperature``). Raises :class:`RecipeError` naming the path
    for an unknown path, too many values or a malformed index.
    """
    if not isinstance(values, dict):
        raise RecipeError(f"form: expected a mapping of recipe paths to values, got "
                          f"{type(values).__name__}")
    if len(values) > MAX_FIELDS:
        raise RecipeError(f"form: {len(values)} values; at most {MAX_FIELDS} are accepted")
    kinds = _kinds()
    out: dict[str, Any] = {}
    for path, value in values.items():
        key = re.sub(r"\.\d+\.", ".*.", str(path))
        kind = kinds.get(key)
        if kind is None:
            raise RecipeError(f"form: unknown recipe setting {quote(path)}")
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if not isinstance(value, str | int | float | bool):
            raise RecipeError(f"form: {path} = {quote(value)}: expected text")
        if kind == "bool":
            value = str(value).strip().lower() in ("true", "1", "yes", "on")
        elif kind == "quantity" and isinstance(value, str) and _NUMBER.match(value) \
                and not _NUMBER.match(value).group(2):
            value = float(value)  # a dimensionless number: written as a number, not text
        elif kind == "integer":
            try:
                value = int(str(value).strip())
            except ValueError:
                raise RecipeError(f"form: {path} = {quote(value)}: expected a whole "
                                  "number") from None
        _put(out, str(path).split("."), value, str(path))
    return out


def _put(node: dict[str, Any] | list, parts: list[str], value: Any, path: str) -> None:
    head, rest = parts[0], parts[1:]
    if isinstance(node, list):
        index = int(head)
        if index > len(node) or index >= 100:
            raise RecipeError(f"form: {path}: list index {index} skips an entry")
        if index == len(node):
            node.append([] if rest and rest[0].isdigit() else {})
        if not rest:
            node[index] = value
            return
        _put(node[index], rest, value, path)
        return
    if not rest:
        node[head] = value
        return
    child = node.setdefault(head, [] if rest[0].isdigit() else {})
    _put(child, rest, value, path)


def flat_values(data: dict[str, Any]) -> dict[str, str]:
    """``path → value text`` of every form input of recipe ``data`` (quantities as
    ``"300 um"``): what an uploaded recipe fills into the form."""
    out: dict[str, str] = {}
    for g in form_groups(data):
        for f in g.fields:
            out[f.path] = f"{f.value} {f.unit}".strip() if f.kind == "quantity" and f.value \
                else f.value
    return out
