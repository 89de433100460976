"""Resolve a recipe's formulation against the material library into a :class:`Composition`.

Checks that every named material exists and has the right kind, that the active material's
polarity matches the electrode, and that the binder is processed in the recipe's solvent
(a mismatch — PVDF in water — is refused: the binder would not dissolve).
"""

from __future__ import annotations

from twinline.materials import MaterialLibrary
from twinline.process.products import Composition, Polarity
from twinline.spec.errors import RecipeError
from twinline.spec.recipe import ElectrodeRecipe


def resolve_composition(electrode: ElectrodeRecipe, materials: MaterialLibrary,
                        polarity: Polarity) -> Composition:
    """The dry-solid :class:`Composition` of one electrode.

    Parameters
    ----------
    electrode : ElectrodeRecipe
        Its ``formulation`` (material names and mass fractions, solvent).
    materials : MaterialLibrary
    polarity : {"positive", "negative"}
        ``positive`` for the cathode, ``negative`` for the anode.

    Raises
    ------
    RecipeError
        Unknown material, wrong kind, wrong polarity, or binder/solvent mismatch; the message
        names the recipe parameter and the allowed choices.

    Examples
    --------
    >>> from twinline.materials import builtin_library
    >>> from twinline.spec.recipe import load_recipe
    >>> rec = load_recipe("examples/nmc111_cathode.yaml")  # doctest: +SKIP
    >>> resolve_composition(rec.cathode, builtin_library(), "positive").am_density  # doctest: +SKIP
    4750.0
    """
    if polarity not in ("positive", "negative"):
        raise RecipeError(f"polarity = {polarity!r}; allowed: 'positive', 'negative'")
    f = electrode.formulation
    side = "cathode" if polarity == "positive" else "anode"
    am = materials.require(f.active_material.material, "active_material",
                           parameter=f"{side}.formulation.active_material.material")
    ca = materials.require(f.conductive_additive.material, "conductive_additive",
                           parameter=f"{side}.formulation.conductive_additive.material")
    binder = materials.require(f.binder.material, "binder",
                               parameter=f"{side}.formulation.binder.material")
    solvent = materials.require(f.solvent, "solvent", parameter=f"{side}.formulation.solvent")
    am_pol = am.get("polarity", polarity)
    if am_pol != polarity:
        choices = [m.name for m in materials.of_kind("active_material")
                   if m.get("polarity", None) == polarity]
        raise RecipeError(
            f"{side}.formulation.active_material.material = {am.name!r} is a {am_pol} "
            f"electrode material; the {side} needs a {polarity} one: {choices}")
    b_solv = binder.get("solvent", None)
    if b_solv is not None and str(b_solv).lower() != solvent.name.lower():
        fits = [m.name for m in materials.of_kind("binder")
                if str(m.get("solvent", "")).lower() == solvent.name.lower()]
        raise RecipeError(
            f"{side}.formulation.binder.material = {binder.name!r} is processed in "
            f"{b_solv!r}, but {side}.formulation.solvent = {solvent.name!r}; choose a binder "
            f"for {solvent.name!r}: {fits}")
    return Composition(
        polarity=polarity,
        active_material=am.name,
        conductive_additive=ca.name,
        binder=binder.name,
        solvent=solvent.name,
        am_mass_fraction=float(f.active_material.mass_fraction),
        conductive_mass_fraction=float(f.conductive_additive.mass_fraction),
        binder_mass_fraction=float(f.binder.mass_fraction),
        am_density=am.get("density"),
        conductive_density=ca.get("density"),
        binder_density=binder.get("density"),
    )
