"""Campaign points applied to recipes, and the chain as a campaign evaluation.

A campaign value is an SI float addressed by a dotted recipe path
(``cathode.calendering.pressure``). :func:`apply_point` writes it into the recipe's YAML
data as ``"<x> <SI unit>"`` and re-validates, so range checks still apply. Two couplings
keep a recipe consistent:

* setting ``<electrode>.formulation.active_material.mass_fraction`` rescales the conductive
  additive and binder so that the three fractions still sum to 1 (their ratio is kept,
  e.g. CB:PVDF = 1:1);
* setting ``calendering.pressure`` removes ``calendering.line_load`` and vice versa.

:class:`ChainEvaluator` follows the campaign protocol ``evaluate(point, seed) -> dict`` by
running :func:`twinline.chain.run_chain` and returning the chosen catalogue outputs, converted
from the units the run reports (µm, MPa, % ...) to SI base units (m, Pa, fraction ...).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from twinline.spec.errors import RecipeError
from twinline.spec.fields import field_at


def si_unit(path: str) -> str:
    """SI unit of the recipe field at ``path`` (``""`` for a dimensionless one).

    Raises :class:`RecipeError` when the path names no numeric recipe field.
    """
    return field_at(path).unit


def preferred_unit(path: str, q: Any) -> str:
    """The SI unit of recipe path ``path``; for a name that is not a recipe path (a chain
    output, a campaign's own input) the SI spelling of the pint quantity ``q``."""
    try:
        return si_unit(path)
    except RecipeError:
        pass
    base = q.to_base_units()
    if base.dimensionless:
        return ""
    for u in ("Pa", "N/m", "J", "W", "S/m", "m^2/s", "C/m^2"):
        if base.check(u):
            return u
    return f"{base.units:~}".replace(" ", "")


def _set(data: dict[str, Any], parts: list[str], value: Any, path: str) -> None:
    node: Any = data
    for p in parts[:-1]:
        if isinstance(node, list):
            try:
                node = node[int(p)]
            except (ValueError, IndexError):
                raise RecipeError(f"campaign parameter {path!r}: no list item {p!r}") from None
            continue
        if p not in node or node[p] is None:
            node[p] = {}
        node = node[p]
    node[parts[-1]] = value


def apply_point(recipe_data: Mapping[str, Any], point: Mapping[str, float]) -> dict[str, Any]:
    """Recipe YAML data with the campaign ``point`` written in (SI values), not validated.

    Keys of ``point`` that are not recipe paths (no electrode/cell prefix) are ignored, so
    an evaluation may carry its own extra inputs.
    """
    data = copy.deepcopy(dict(recipe_data))
    for path, x in point.items():
        parts = path.split(".")
        if parts[0] not in ("cathode", "anode", "cell", "filling", "formation"):
            continue
        unit = si_unit(path)
        value: Any = float(x) if unit == "" else f"{float(x)!r} {unit}"
        _set(data, parts, value, path)
        if parts[1:] == ["formulation", "active_material", "mass_fraction"]:
            form = data[parts[0]]["formulation"]
            ca = _fraction(form["conductive_additive"]["mass_fraction"])
            bi = _fraction(form["binder"]["mass_fraction"])
            rest = 1.0 - float(x)
            share = ca / (ca + bi) if ca + bi > 0 else 0.5
            form["conductive_additive"]["mass_fraction"] = rest * share
            form["binder"]["mass_fraction"] = rest * (1.0 - share)
        if parts[1] == "calendering" and parts[-1] in ("pressure", "line_load"):
            other = "line_load" if parts[-1] == "pressure" else "pressure"
            data[parts[0]]["calendering"].pop(other, None)
    return data


def check_paths(paths: Sequence[str]) -> None:
    """Raise :class:`RecipeError` for a path that names no numeric recipe field (before a
    campaign spends time on points that would all fail)."""
    for path in paths:
        parts = path.split(".")
        if parts[0] not in ("cathode", "anode", "cell", "filling", "formation"):
            raise RecipeError(f"parameter {path!r} is not a recipe path; it must start with "
                              "cathode., anode., cell., filling. or formation.")
        si_unit(path)


def _fraction(v: Any) -> float:
    from twinline.spec.units import parse_quantity

    return parse_quantity(v, "", name="mass_fraction")


def recipe_data(recipe: Any) -> dict[str, Any]:
    """A recipe (model or path) as JSON-able YAML data with units (round-trips)."""
    from pathlib import Path

    from twinline.spec.recipe import Recipe, load_recipe

    if isinstance(recipe, str | Path):
        recipe = load_recipe(recipe)
    if not isinstance(recipe, Recipe):
        raise RecipeError(f"expected a Recipe or a path, got {type(recipe).__name__}")
    data = recipe.model_dump(mode="json", exclude_none=True)
    data.pop("source_path", None)
    return data


def model_versions(recipe: Any) -> dict[str, str]:
    """The step model chosen for each electrode step, plus the twinline version."""
    import twinline
    from twinline.chain.steps import model_name, section_of
    from twinline.spec.steps import steps

    out = {"twinline": twinline.__version__}
    for el, e in recipe.electrodes().items():
        for step in steps("electrode"):
            out[f"{el}.{step.name}"] = model_name(step, section_of(e, step))
    return out


def to_si(value: float, unit: str) -> float:
    """``value`` in ``unit`` (as ``Run.outputs`` reports it: µm, MPa, %, °C ...) in SI base
    units (m, Pa, fraction, K ...)."""
    if not unit:
        return float(value)
    from twinline.spec.units import Q_

    return float(Q_(value, unit).to_base_units().magnitude)


@dataclass
class ChainEvaluator:
    """Campaign evaluation through the whole chain: ``evaluate(point, seed) -> outputs``.

    Parameters
    ----------
    recipe : dict
        Base recipe YAML data (:func:`recipe_data`).
    outputs : list of str, optional
        Catalogue ids of ``Run.outputs`` to return (e.g. ``cathode.calendering.porosity``);
        default all numeric outputs.
    structure, cell : bool
        Passed to :func:`twinline.chain.run_chain`.
    """

    recipe: dict[str, Any]
    outputs: Sequence[str] | None = None
    structure: bool = False
    cell: bool = False
    chain_options: dict[str, Any] = field(default_factory=dict)

    def __call__(self, point: dict[str, float], seed: int) -> dict[str, Any]:
        from twinline.chain import run_chain
        from twinline.learn.dataset import stable_hash
        from twinline.spec.recipe import parse_recipe

        data = apply_point(self.recipe, point)
        recipe = parse_recipe(data, origin="campaign point")
        run = run_chain(recipe, structure=self.structure, cell=self.cell, seed=seed,
                        **self.chain_options)
        outs = run.outputs
        keys = list(self.outputs) if self.outputs is not None else list(outs)
        missing = [k for k in keys if k not in outs]
        if missing:
            raise RecipeError(f"the chain does not report {missing}; it reports "
                              f"{sorted(outs)[:20]}...")
        res: dict[str, Any] = {}
        for k in keys:
            entry = outs[k]
            v = entry["value"] if isinstance(entry, Mapping) else entry
            unit = entry.get("unit", "") if isinstance(entry, Mapping) else ""
            try:
                res[k] = to_si(float(v), unit)
            except (TypeError, ValueError):
                continue
        res["recipe_hash"] = stable_hash(data)
        return res
