"""The redesign changes structure, not results: every example recipe's run.json outputs are
pinned (``data/pinned_outputs.json``, written by ``make_pins.py`` before the chain became a
package) and must come out the same within 1e-9 relative (the cell's DFN outputs 2e-8:
``RTOL_CELL``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from chain.make_pins import CASES, outputs

PINS = json.loads((Path(__file__).with_name("data") / "pinned_outputs.json").read_text("utf-8"))
RTOL = 1e-9
#: The cell's DFN outputs (``cell.*``) depend on the process's history at ~1e-9 (the built DFN
#: and its solver are reused across recipes; which state carries over was not pinned down). Measured
#: 2026-12-01 on ``pouch_cell_structure`` (C/20 capacity, same structure to the last digit):
#: 6.8e-10 relative after one earlier cell run with the parfor solver, 3.0e-9 with the slab
#: solver (whose tortuosity factors differ from the parfor ones by 3.6e-10; the capacities
#: standalone by 4.7e-9 at C/20, 7.7e-9 at 2 C). 2e-8 holds those, far below any physical change.
RTOL_CELL = 2e-8
SLOW = {"pouch_cell_structure"}
#: Changes of results intended since the pins were written, with the pinned value they
#: replace (none now: the pins were rewritten for issue 17 parts 1 and 2 — the structure
#: outputs without --structure became the closed form fitted to the 3D model, the 3D box grew
#: from 8·d50 to 12·d50, the PyBaMM set is re-based on the manufactured electrode and
#: formation is counted once).
INTENDED: dict[str, dict[str, float]] = {}


def _close(a, b, rtol: float = RTOL) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(
            _close(x, y, rtol) for x, y in zip(a, b, strict=True)
        )
    if a is None or b is None:
        return a is b
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return math.isclose(float(a), float(b), rel_tol=rtol, abs_tol=1e-300)


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
            rtol = RTOL_CELL if key.startswith("cell.") else RTOL
            if not _close(got[key].get(field), value, rtol):
                bad.append(f"{key}.{field}: {got[key].get(field)!r} != pinned {value!r}")
    assert not bad, "\n".join(bad)
