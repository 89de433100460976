"""Two published commercial cells from their published electrodes vs their nominal figures.

    python benchmarks/validate_cells.py [--json]

For each example recipe (examples/lg_m50_21700.yaml, examples/kokam_slpb75106100.yaml): the
measured electrodes (twinline.chain.measured) through the cell steps and a C/20 discharge
(twinline.chain.cell.simulate_cell), against the published nominal capacity/energy and
against PyBaMM run directly on the parameter set the cell was published with (DFN, C/20,
from initial_soc=1, scaled by the number of electrode pairs: the M50's set is the whole
wound strip, the Kokam's one 0.101 m x 0.085 m pair of the 44 in the cell, see the example).
Keys: cells.<name>.capacity_Ah, .energy_Wh, .published_capacity_Ah, .published_energy_Wh,
.pybamm_direct_capacity_Ah, .pybamm_direct_energy_Wh, .vs_pybamm_capacity (goal <= 3 %),
.rate_ratio_1C_C20 (twin), .pybamm_direct_rate_ratio_1C_C20 and .published_rate_ratio_1C_C20
(None: no published rate test of either cell is in /work/shared/reference).
Diagnostic ``.same_cathode_capacity``: the twin rerun with the cathode material's specific
capacity set to what the parameter set's cathode holds per area (:func:`set_cathode_capacity`),
so that the two describe the same cathode; its ``vs_pybamm_*`` isolate everything but that
one material datum.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("PYBAMM_OPTOUT_TELEMETRY", "true")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

#: name → (recipe, published capacity [A h], published energy [W h] or None, PyBaMM set,
#: electrode pairs in the cell per PyBaMM set area)
CELLS = {
    "lg_m50": ("examples/lg_m50_21700.yaml", 5.0, 18.2, "Chen2020", 1),
    "kokam_slpb75106100": ("examples/kokam_slpb75106100.yaml", 7.5, None, "Ecker2015", 44),
}


def twin(path: str, cathode_capacity: float | None = None) -> tuple[float, float, float]:
    """C/20 capacity [A h], energy [W h] and the 1C/C-20 capacity ratio of the recipe's cell.

    ``cathode_capacity`` [C/kg]: the cathode material's practical specific capacity in place of
    the library's (the "same cathode capacity" diagnostic, :func:`set_cathode_capacity`)."""
    import warnings

    from twinline.chain.cell import simulate_cell
    from twinline.chain.measured import measured_products
    from twinline.materials import builtin_library
    from twinline.process.composition import resolve_composition
    from twinline.spec.recipe import load_recipe

    recipe = load_recipe(ROOT / path)
    materials = builtin_library()
    if cathode_capacity is not None:
        am = recipe.cathode.formulation.active_material.material
        materials = materials.with_properties(
            am, {"practical_specific_capacity": cathode_capacity},
            source="validate_cells: the parameter set's own cathode capacity")
    products = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, pol in (("cathode", "positive"), ("anode", "negative")):
            el = getattr(recipe, name)
            comp = resolve_composition(el, materials, pol)
            products[name] = measured_products(el, comp, materials)
        perf = simulate_cell(recipe, products, materials, c_rates=(0.05, 1.0))
    return perf.capacity[0], perf.energy[0], perf.capacity[1] / perf.capacity[0]


def set_cathode_capacity(path: str, pset: str) -> float:
    r"""The cathode material's specific capacity [C/kg] at which the recipe's cathode stores per
    area what the parameter set's stores between its cut-offs (a diagnostic, not a default):

    .. math:: q_{set} = \frac{c_{max}\, \varepsilon_{AM}\, L\, F\, \Delta y_{set}}{m_{AM}}

    (the set's maximum concentration, AM volume fraction and thickness, its cathode window
    :math:`\Delta y_{set}` from its own balance, :func:`twinline.cell.rebase.set_reference`;
    :math:`m_{AM}` the recipe's measured loading × AM mass fraction, per side). Running the
    twin with it separates the material datum from everything else in the comparison."""
    import pybamm

    from twinline.cell.rebase import FARADAY, set_reference
    from twinline.materials import builtin_library
    from twinline.process.composition import resolve_composition
    from twinline.spec.recipe import load_recipe

    p = pybamm.ParameterValues(pset)
    per_area = (
        float(p["Maximum concentration in positive electrode [mol.m-3]"])
        * float(p["Positive electrode active material volume fraction"])
        * float(p["Positive electrode thickness [m]"])
        * FARADAY
        * set_reference(pset).positive_window
    )
    recipe = load_recipe(ROOT / path)
    comp = resolve_composition(recipe.cathode, builtin_library(), "positive")
    return per_area / (float(recipe.cathode.measured.loading) * comp.am_mass_fraction)


def pybamm_direct(pset: str, pairs: int) -> tuple[float, float, float]:
    """C/20 capacity, energy of the set run directly (DFN, initial_soc=1) × pairs, and its
    1C/C-20 capacity ratio (1 C = the C/20 capacity per hour, as the twin's)."""
    import numpy as np
    import pybamm

    out = []
    q = None
    for c in (0.05, 1.0):
        p = pybamm.ParameterValues(pset)
        q = q or float(p["Nominal cell capacity [A.h]"])
        p["Current function [A]"] = q * c
        sol = pybamm.Simulation(pybamm.lithium_ion.DFN(), parameter_values=p).solve(
            [0, 3600 / c * 1.3], initial_soc=1.0
        )
        t, v = sol["Time [s]"].entries, sol["Voltage [V]"].entries
        cap = float(sol["Discharge capacity [A.h]"].entries[-1])
        out.append((cap, float(np.trapezoid(v * q * c, t) / 3600)))
        q = cap  # 1 C of the set's own C/20 capacity
    return out[0][0] * pairs, out[0][1] * pairs, out[1][0] / out[0][0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print JSON")
    args = ap.parse_args()
    out: dict = {"cells": {}}
    for name, (path, q_pub, e_pub, pset, pairs) in CELLS.items():
        t0 = time.perf_counter()
        cap, en, ratio = twin(path)
        dcap, den, dratio = pybamm_direct(pset, pairs)
        q_set = set_cathode_capacity(path, pset)
        scap, sen, _ = twin(path, cathode_capacity=q_set)
        out["cells"][name] = {
            "capacity_Ah": cap,
            "energy_Wh": en,
            "published_capacity_Ah": q_pub,
            "published_energy_Wh": e_pub,
            "pybamm_direct_capacity_Ah": dcap,
            "pybamm_direct_energy_Wh": den,
            "parameter_set": pset,
            "capacity_error": cap / q_pub - 1,
            "energy_error": (en / e_pub - 1) if e_pub else None,
            "vs_pybamm_capacity": cap / dcap - 1,
            "vs_pybamm_energy": en / den - 1,
            "rate_ratio_1C_C20": ratio,
            "pybamm_direct_rate_ratio_1C_C20": dratio,
            "published_rate_ratio_1C_C20": None,
            "electrode_pairs": pairs,
            "same_cathode_capacity": {
                "set_cathode_specific_capacity_mAh_per_g": q_set / 3600.0,
                "capacity_Ah": scap,
                "energy_Wh": sen,
                "vs_pybamm_capacity": scap / dcap - 1,
                "vs_pybamm_energy": sen / den - 1,
            },
            "seconds": time.perf_counter() - t0,
        }
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(
        f"{'cell':20s} {'Q twin':>8s} {'Q pub':>6s} {'err':>7s} {'E twin':>8s} {'E pub':>6s} "
        f"{'err':>7s} {'Q PyBaMM':>9s} {'twin/PyB':>8s} {'1C/C20':>7s} {'PyB':>6s}"
    )
    for name, c in out["cells"].items():
        ee = f"{c['energy_error']:+7.1%}" if c["energy_error"] is not None else "    n/a"
        ep = f"{c['published_energy_Wh']:6.1f}" if c["published_energy_Wh"] else "   n/a"
        print(
            f"{name:20s} {c['capacity_Ah']:8.3f} {c['published_capacity_Ah']:6.2f} "
            f"{c['capacity_error']:+7.1%} {c['energy_Wh']:8.2f} {ep} {ee} "
            f"{c['pybamm_direct_capacity_Ah']:9.3f} {c['vs_pybamm_capacity']:+8.1%} "
            f"{c['rate_ratio_1C_C20']:7.3f} {c['pybamm_direct_rate_ratio_1C_C20']:6.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
