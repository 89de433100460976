"""The cell walk: assembly → filling → formation over the step table, then the discharge.

The cell steps are process steps like the electrode ones; what only PyBaMM or a 3D image can
give them is computed here and passed in (a step never calls a solver):

* ``assembly`` gets the :class:`~twinline.process.products.ElectrodePair` of the two
  finished electrodes and the seed of its stacking Monte Carlo;
* ``filling`` gets the tortuosity factors of cathode, anode and separator (3D analysis or
  Bruggeman, the same numbers PyBaMM is given), the cathode's structure analysis and the
  imbibition of its 3D image when one was built;
* ``formation`` gets the balanced cell before formation and the simulated SEI growth
  (:func:`twinline.cell.formation_inputs`).

The formed cell is then discharged (:func:`twinline.cell.performance`). A step added to the
cell part of the table without an entry in :data:`VALUES` gets no values passed in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twinline.chain.steps import run_step, section_of
from twinline.spec.errors import CellError
from twinline.spec.steps import steps


@dataclass
class CellWalk:
    """What the walk knows besides the products: inputs, and what the hooks computed."""

    materials: Any
    seed: int = 0
    structure: Any = None
    imbibition: Any = None
    prepared: Any = None            # twinline.cell.FormationInputs, once computed
    timings: dict[str, float] = field(default_factory=dict)


def _assembly_values(section: Any, incoming: Any, walk: CellWalk) -> dict[str, Any]:
    return {"seed": walk.seed}


def _filling_values(section: Any, incoming: Any, walk: CellWalk) -> dict[str, Any]:
    from twinline.cell import pybamm_inputs

    _, inputs, _ = pybamm_inputs(incoming, walk.materials, structure=walk.structure)
    return {"tortuosity_factor": {
        "cathode": inputs["Positive electrode tortuosity factor (electrolyte)"],
        "anode": inputs["Negative electrode tortuosity factor (electrolyte)"],
        "separator": inputs["Separator tortuosity factor (electrolyte)"]},
        "structure": walk.structure, "imbibition": walk.imbibition}


def _formation_values(section: Any, incoming: Any, walk: CellWalk) -> dict[str, Any]:
    from twinline.cell import formation_inputs

    walk.prepared = formation_inputs(incoming.cell, section, walk.materials,
                                     structure=walk.structure)
    p = walk.prepared
    return {"sei": p.sei, "capacity": p.capacity, "lithium_inventory": p.lithium_inventory,
            "ocv_slope": p.ocv_slope, "seed": walk.seed}


#: Step name → function(section, incoming product, walk) → keyword values for the step.
VALUES: dict[str, Callable[[Any, Any, CellWalk], dict[str, Any]]] = {
    "assembly": _assembly_values,
    "filling": _filling_values,
    "formation": _formation_values,
}


def electrode_pair(recipe: Any, products: dict[str, dict[str, Any]]) -> Any:
    """The :class:`~twinline.process.products.ElectrodePair` a cell is assembled from."""
    from twinline.process.products import ElectrodePair

    if recipe.cathode is None or recipe.anode is None:
        raise CellError("a cell needs both a 'cathode' and an 'anode' in the recipe")
    for name in ("cathode", "anode"):
        if "finished" not in products.get(name, {}):
            raise CellError(f"the cell needs the finished {name} (products[{name!r}]"
                            f"['finished'])")
    return ElectrodePair(cathode=products["cathode"]["finished"],
                         anode=products["anode"]["finished"],
                         cathode_foil=recipe.cathode.current_collector,
                         anode_foil=recipe.anode.current_collector,
                         cathode_foil_thickness=recipe.cathode.current_collector_thickness,
                         anode_foil_thickness=recipe.anode.current_collector_thickness)


def run_cell(recipe: Any, products: dict[str, dict[str, Any]], materials: Any, *,
             structure: Any = None, imbibition: Any = None, seed: int = 0,
             c_rates: tuple[float, ...] = (0.5, 1.0, 2.0), model: str = "DFN",
             log: list[dict[str, Any]] | None = None) -> tuple[dict[str, Any], Any]:
    """Walk the cell steps from the chain's electrodes and discharge the formed cell.

    Parameters
    ----------
    recipe : Recipe
        Needs ``cathode`` and ``anode``; ``cell``, ``filling`` and ``formation`` sections
        (their defaults when absent).
    products : dict
        ``{"cathode": {"finished": FinishedElectrode, ...}, "anode": {...}}``.
    materials : MaterialLibrary
    structure : StructureAnalysis, optional
        Cathode structure analysis (tortuosity factors, pore size).
    imbibition : ImbibitionResult, optional
        Imbibition of the cathode's 3D image.
    seed : int
        Seed of the stacking and screening Monte Carlo.
    c_rates : tuple of float
        Discharge C-rates [1/h].
    model : {"DFN", "SPMe", "SPM"}
    log : list, optional
        Receives one entry per step (see :func:`twinline.chain.steps.run_step`).

    Returns
    -------
    products : dict
        ``{"cell": Cell, "filled": FilledCell, "formed": FormedCell}`` (step table keys).
    performance : CellPerformance
    """
    from twinline.cell import check_c_rates, performance
    from twinline.spec.cell_recipe import CellSection

    rates = check_c_rates(c_rates)
    walk = CellWalk(materials=materials, seed=seed, structure=structure,
                    imbibition=imbibition)
    prev: Any = electrode_pair(recipe, products)
    cell_products: dict[str, Any] = {}
    for step in steps("cell"):
        section = section_of(recipe, step)
        t0 = time.perf_counter()
        values = VALUES[step.name](section, prev, walk) if step.name in VALUES else {}
        prev = run_step(step, section, prev, materials, scope="cell", log=log, **values)
        if log is not None:  # the time of the values passed in belongs to the step
            log[-1]["seconds"] = time.perf_counter() - t0
        cell_products[step.product] = prev
    if walk.prepared is None:
        raise CellError("the cell steps ran without formation; a cell is discharged once "
                        "formed")
    perf = performance(cell_products["formed"], recipe.cell or CellSection(), walk.prepared,
                       c_rates=rates,
                       model=model)
    return cell_products, perf


def simulate_cell(recipe: Any, products: dict[str, dict[str, Any]], materials: Any = None, *,
                  structure: Any = None, imbibition: Any = None,
                  c_rates: tuple[float, ...] = (0.5, 1.0, 2.0), model: str = "DFN",
                  seed: int = 0) -> Any:
    """The :class:`~twinline.cell.CellPerformance` of the cell made of ``products``.

    :func:`run_cell` without the cell products; ``materials`` default to the built-in
    library.
    """
    if materials is None:
        from twinline.materials import builtin_library

        materials = builtin_library()
    return run_cell(recipe, products, materials, structure=structure, imbibition=imbibition,
                    seed=seed, c_rates=c_rates, model=model)[1]
