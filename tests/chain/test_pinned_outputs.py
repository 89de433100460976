"""The redesign changes structure, not results: every example recipe's run.json outputs are
pinned (``data/pinned_outputs.json``, written by ``make_pins.py`` before the chain became a
package) and must come out the same within 1e-9 relative."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from chain.make_pins import CASES, outputs

PINS = json.loads((Path(__file__).with_name("data") / "pinned_outputs.json").read_text("utf-8"))
RTOL = 1e-9
SLOW = {"pouch_cell_structure"}
#: Changes of results the redesign intends, with the pinned value they replace:
#: ``twinline run --cell --structure`` now fills the cell with the imbibition of the same 3D
#: image it analyses (before, only ``twinline cell simulate --structure`` did, on a second
#: image), so the trapped gas lowers the wetting degree from 1.0 to 0.986.
#: Issue 17 part 1: the PyBaMM set is re-based on the manufactured electrode and formation is
#: counted once (twinline.cell.rebase): the pouch example's C/2 capacity 8.11 -> 9.30 A h,
#: energy 30.0 -> 34.2 W h (the cell figures below).
#: Merging main into the issue-17 branch moves the structure case's cell figures by at most
#: 3.3e-6 relative (verified: the merge commit alone gives the values below; the branch before
#: the merge gives the earlier ones); main's 3D transport changes (flux-spread criterion, red
#: half sweep) are the only changes on that path. Then the set's formation loss that is added
#: back is the fixed point of twinline's own formation law (twinline.cell.rebase.
#: set_formation_loss; before: (1 - eta) x the formed capacity, which left a set-like cell
#: ~1 % short of the set's inventory): C/2 9.30 -> 9.38 A h, 34.2 -> 34.4 W h.
INTENDED: dict[str, dict[str, Any]] = {
    "pouch_cell_structure": {
        "filling.wetting_degree": 0.9864160215793712,
        "cell.capacity_Ah": [9.378863474919168, 7.953684104246611, 5.775461067108327],
        "cell.energy_Wh": [34.437504329312816, 28.724870113932564, 20.187001333523234],
        "cell.energy_density_Wh_per_L": 349.6644326979343,
        "cell.internal_resistance_mOhm": 13.133736240259633,
        "cell.sei_lithium_loss_Ah": 1.1306562742274273,
        "cell.specific_energy_Wh_per_kg": 220.4687937249811,
        "formation.internal_resistance": 13.133736240259633,
        "formation.sei_lithium_loss": 0.09031083591564346,
    },
}


def _close(a, b) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if a is None or b is None:
        return a is b
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return math.isclose(float(a), float(b), rel_tol=RTOL, abs_tol=1e-300)


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow) if c in SLOW else c
                                  for c in CASES])
def test_outputs_match_the_pins(case):
    got = outputs(case)
    want = {k: dict(v) for k, v in PINS[case].items()}
    for key, value in INTENDED.get(case, {}).items():
        want[key]["value"] = value
    assert set(want) <= set(got), f"outputs lost: {sorted(set(want) - set(got))}"
    bad = []
    for key, entry in want.items():
        for field, value in entry.items():
            if not _close(got[key].get(field), value):
                bad.append(f"{key}.{field}: {got[key].get(field)!r} != pinned {value!r}")
    assert not bad, "\n".join(bad)
