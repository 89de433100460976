"""Check that a recipe's materials exist in the library and are of the right kind.

The recipe schema (:mod:`twinline.spec.recipe`) only knows material *names*; this module,
which sits one layer above ``spec``, resolves them against a :class:`MaterialLibrary`:

* every named material exists (unknown names get a "did you mean" hint);
* each is of the kind its slot needs (active material, conductive additive, binder, solvent,
  current collector, separator, electrolyte);
* the active material's polarity fits the electrode (cathode → positive, anode → negative);
* the binder is processed in the formulation's solvent when the library says which
  (``binder.solvent``), e.g. PVDF with NMP, CMC/SBR with water.

Each problem raises :class:`~twinline.spec.errors.RecipeError` naming the recipe path of the
parameter, the value and the allowed choices.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from twinline.materials import MaterialLibrary, load_library
from twinline.spec.errors import MaterialError, RecipeError

if TYPE_CHECKING:
    from twinline.spec.recipe import Recipe

_POLARITY = {"cathode": "positive", "anode": "negative"}


def recipe_library(recipe: Recipe, *extra_files: str | Path) -> MaterialLibrary:
    """The built-in library plus the recipe's ``materials_files`` and ``extra_files``.

    ``materials_files`` are resolved relative to the recipe file's folder.
    """
    files = [recipe.base_dir / f for f in recipe.materials_files] + [Path(f) for f in extra_files]
    try:
        return load_library(*files)
    except MaterialError as err:
        raise RecipeError(f"materials_files: {err}") from None


def check_recipe_materials(recipe: Recipe, library: MaterialLibrary) -> list[str]:
    """Check every material the recipe names; return notes (one line each) on what was used.

    Raises
    ------
    RecipeError
        Naming the parameter path (e.g. ``cathode.formulation.binder.material``), the value
        and the allowed materials of that kind.
    """
    notes: list[str] = []
    for side, el in recipe.electrodes().items():
        f = el.formulation
        am = library.require(f.active_material.material, "active_material",
                             parameter=f"{side}.formulation.active_material.material")
        pol = am.get("polarity", None)
        if pol is not None and pol != _POLARITY[side]:
            choices = [m.name for m in library.of_kind("active_material")
                       if m.get("polarity", None) == _POLARITY[side]]
            raise RecipeError(
                f"{side}.formulation.active_material.material = {am.name!r} is a {pol} "
                f"electrode material; a {side} needs a {_POLARITY[side]} one: {choices}")
        library.require(f.conductive_additive.material, "conductive_additive",
                        parameter=f"{side}.formulation.conductive_additive.material")
        binder = library.require(f.binder.material, "binder",
                                 parameter=f"{side}.formulation.binder.material")
        solvent = library.require(f.solvent, "solvent", parameter=f"{side}.formulation.solvent")
        wanted = binder.get("solvent", None)
        if wanted is not None and str(wanted).lower() != solvent.name.lower():
            fits = [m.name for m in library.of_kind("binder")
                    if str(m.get("solvent", "")).lower() == solvent.name.lower()]
            raise RecipeError(
                f"{side}.formulation.solvent = {solvent.name!r} does not dissolve/disperse the "
                f"binder {binder.name!r}, which is processed in {wanted!r}; use solvent "
                f"{wanted!r} or a binder for {solvent.name!r}: {fits}")
        cc = library.require(el.current_collector, "current_collector",
                             parameter=f"{side}.current_collector")
        notes.append(f"{side}: {am.name} / {f.conductive_additive.material} / {binder.name} in "
                     f"{solvent.name} on {cc.name}")
    if recipe.cell is not None:
        sep = library.require(recipe.cell.separator, "separator", parameter="cell.separator")
        ely = library.require(recipe.cell.electrolyte, "electrolyte",
                              parameter="cell.electrolyte")
        notes.append(f"cell: separator {sep.name}, electrolyte {ely.name}")
    return notes
