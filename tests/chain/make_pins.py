"""Regenerate ``data/pinned_outputs.json``: the run.json outputs of every example recipe.

Run only when a change of results is intended, and say so in the commit message:

    python tests/chain/make_pins.py
"""

from __future__ import annotations

import json
from pathlib import Path

from twinline.chain import run_chain
from twinline.spec.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[2]
#: (recipe, options) pairs pinned; the fast ones run in the default suite.
CASES: dict[str, tuple[str, dict]] = {
    "nmc111": ("examples/nmc111_cathode.yaml", {}),
    "nmc111_mc": ("examples/nmc111_cathode.yaml", {"samples": 200, "seed": 1}),
    "pouch": ("examples/nmc622_graphite_pouch.yaml", {}),
    "pouch_mc": ("examples/nmc622_graphite_pouch.yaml", {"samples": 100, "seed": 3}),
    "pouch_cell_structure": ("examples/nmc622_graphite_pouch.yaml",
                             {"cell": True, "structure": True, "seed": 0}),
}


def outputs(case: str) -> dict:
    path, options = CASES[case]
    run = run_chain(load_recipe(ROOT / path), **options)
    data = json.loads(run.to_json())
    pinned = dict(data["outputs"])
    if run.cell is not None:  # the cell's own figures, under a "cell." prefix
        summary = run.cell.summary()
        for key in ("capacity_Ah", "energy_Wh", "specific_energy_Wh_per_kg",
                    "energy_density_Wh_per_L", "internal_resistance_mOhm", "mass_g",
                    "first_cycle_efficiency", "sei_lithium_loss_Ah", "wetting_time_s"):
            value = summary[key]
            pinned[f"cell.{key}"] = {"value": value}
    return pinned


if __name__ == "__main__":
    pins = {case: outputs(case) for case in CASES}
    out = Path(__file__).with_name("data") / "pinned_outputs.json"
    out.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n", "utf-8")
    print(f"wrote {out}")
