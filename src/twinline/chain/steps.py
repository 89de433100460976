"""Walking the step table: one step, one electrode, the recipe sections of a step.

Every step of :data:`twinline.spec.steps.STEP_TABLE` is evaluated the same way by
:func:`run_step`: its section from the recipe (or the step module's ``Section`` defaults when
the recipe has none), its model by name (:func:`twinline.process.registry.get_model`), then

    product = model(section, incoming product, materials, **values passed in)

with the time it took and the model recorded. :func:`evaluate_electrode` runs the electrode
steps in order from a :class:`~twinline.process.products.Composition`.
"""

from __future__ import annotations

import time
from typing import Any

from twinline.spec.errors import ProcessError
from twinline.spec.steps import Step, steps

#: Electrode name -> polarity of its active material.
POLARITY = {"cathode": "positive", "anode": "negative"}


def section_of(container: Any, step: Step) -> Any:
    """The recipe section of ``step`` in ``container`` (electrode recipe or recipe).

    When the recipe has none (``None`` or no such attribute), the step module's ``Section``
    with its defaults.
    """
    section = getattr(container, step.section, None)
    if section is not None:
        return section
    from twinline.process.registry import step_module

    return step_module(step.name).Section()


def model_name(step: Step, section: Any) -> str:
    """The model a section selects (the step's default model when it names none)."""
    from twinline.process.registry import default_model

    return str(getattr(section, "model", None) or default_model(step.name))


def check_model_names(recipe: Any) -> None:
    """Every step section of the recipe names a model that exists (else :class:`RecipeError`
    naming the electrode, the step and the choices)."""
    from twinline.process.registry import get_model
    from twinline.spec.errors import RecipeError

    for side, electrode in recipe.electrodes().items():
        for step in steps("electrode"):
            section = section_of(electrode, step)
            try:
                get_model(step.name, model_name(step, section))
            except RecipeError as err:
                raise RecipeError(f"{side}.{err}") from None
    for step in steps("cell"):
        get_model(step.name, model_name(step, section_of(recipe, step)))


def electrode_sections(electrode: Any) -> dict[str, Any]:
    """The recipe sections of one electrode keyed by step name."""
    return {s.name: section_of(electrode, s) for s in steps("electrode")}


def run_step(step: Step, section: Any, incoming: Any, materials: Any, *, scope: str,
             log: list[dict[str, Any]] | None = None, **values: Any) -> Any:
    """Evaluate one step and append ``{step, scope, model, product, seconds}`` to ``log``.

    A :class:`ProcessError` is re-raised with the scope (electrode name or ``cell``) in
    front.
    """
    from twinline.process.registry import get_model

    name = model_name(step, section)
    fn = get_model(step.name, name)
    t0 = time.perf_counter()
    try:
        product = fn(section, incoming, materials, **values)
    except ProcessError as err:
        raise ProcessError(f"{scope}: {err}") from None
    if log is not None:
        log.append({"step": step.name, "scope": scope, "model": name,
                    "product": type(product).__name__,
                    "seconds": time.perf_counter() - t0})
    return product


def evaluate_electrode(name: str, electrode: Any, composition: Any, materials: Any, *,
                       sections: dict[str, Any] | None = None,
                       timings: dict[str, float] | None = None,
                       log: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Run the electrode steps in order; returns ``{product key: product}``.

    ``sections`` overrides the recipe sections (Monte Carlo passes sections holding arrays,
    built with ``Section.model_construct``).
    """
    sec = sections if sections is not None else electrode_sections(electrode)
    products: dict[str, Any] = {}
    prev: Any = composition
    for step in steps("electrode"):
        entries: list[dict[str, Any]] = []
        prev = run_step(step, sec[step.name], prev, materials, scope=name, log=entries)
        products[step.product] = prev
        if timings is not None:
            key = f"{name}.{step.name}"
            timings[key] = timings.get(key, 0.0) + entries[0]["seconds"]
        if log is not None:
            log.extend(entries)
    return products


def resolve_materials(recipe: Any, materials: Any = None) -> Any:
    """The material library of a recipe: its ``materials_files`` over the built-in one."""
    from twinline.materials import builtin_library, load_library

    if materials is not None:
        return materials
    files = [recipe.base_dir / f for f in recipe.materials_files]
    return load_library(*files) if files else builtin_library()


#: Electrolyte whose conductivity the closed forms use when the recipe has no cell section.
DEFAULT_ELECTROLYTE = "LP30"


def electrolyte_name(recipe: Any) -> str:
    """The recipe's electrolyte (``cell.electrolyte``), LP30 without a cell section."""
    return recipe.cell.electrolyte if recipe.cell is not None else DEFAULT_ELECTROLYTE


def electrolyte_conductivity(recipe: Any, materials: Any) -> float:
    """Bulk ionic conductivity of the recipe's electrolyte [S/m] (material library)."""
    return float(materials.require(electrolyte_name(recipe), "electrolyte",
                                   parameter="cell.electrolyte").get("conductivity"))
