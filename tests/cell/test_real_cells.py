"""Two published commercial cells from their published electrodes (issue 17 part 1):
capacity within 5 % and energy within 7 % of the published figures at C/20, and the
Kokam within 3 % of PyBaMM's Ecker2015 set run directly (scaled to its 44 electrode pairs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

os.environ.setdefault("PYBAMM_OPTOUT_TELEMETRY", "true")
pybamm = pytest.importorskip("pybamm")

ROOT = Path(__file__).resolve().parents[2]
#: name -> (recipe, published capacity [A h], published energy [W h] or None)
PUBLISHED = {
    "lg_m50": ("lg_m50_21700.yaml", 5.0, 18.2),  # LG datasheet via Chen2020
    "kokam_slpb75106100": ("kokam_slpb75106100.yaml", 7.5, None),  # Ecker2015
}


def _c20(recipe: str):
    from twinline.chain import run_chain
    from twinline.spec.recipe import load_recipe

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = run_chain(load_recipe(ROOT / "examples" / recipe), cell=True, c_rates=(0.05,))
    return run.cell


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_example_cell_meets_its_published_capacity_and_energy(name):
    recipe, q_pub, e_pub = PUBLISHED[name]
    perf = _c20(recipe)
    assert abs(perf.capacity[0] / q_pub - 1) <= 0.05
    if e_pub is not None:
        assert abs(perf.energy[0] / e_pub - 1) <= 0.07


@pytest.mark.slow
def test_kokam_matches_pybamm_ecker2015_run_directly():
    perf = _c20(PUBLISHED["kokam_slpb75106100"][0])
    p = pybamm.ParameterValues("Ecker2015")
    q = float(p["Nominal cell capacity [A.h]"])
    p["Current function [A]"] = q / 20
    sol = pybamm.Simulation(pybamm.lithium_ion.DFN(), parameter_values=p).solve(
        [0, 3600 * 26], initial_soc=1.0
    )
    direct = 44 * float(sol["Discharge capacity [A.h]"].entries[-1])
    assert abs(perf.capacity[0] / direct - 1) <= 0.03


@pytest.mark.slow
def test_validate_cells_json_has_the_agreed_keys():
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "validate_cells.py"), "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    cells = json.loads(out.stdout)["cells"]
    assert set(cells) == set(PUBLISHED)
    for name, c in cells.items():
        for key in (
            "capacity_Ah",
            "energy_Wh",
            "published_capacity_Ah",
            "published_energy_Wh",
            "pybamm_direct_capacity_Ah",
            "vs_pybamm_capacity",
            "rate_ratio_1C_C20",
        ):
            assert key in c, f"{name}.{key}"
        assert c["published_capacity_Ah"] == PUBLISHED[name][1]
        assert 0 < c["rate_ratio_1C_C20"] <= 1.0
