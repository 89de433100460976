"""The cell inside the chain: run_chain(cell=True) outputs; light imports; design properties."""

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cell.cellkit import electrode
from twinline.materials import builtin_library
from twinline.process.cell_design import design_cell
from twinline.spec.cell_recipe import CellSection

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "nmc622_graphite_pouch.yaml"
LIB = builtin_library()

CELL_IDS = ("assembly.n_p_ratio", "assembly.stack_weight", "assembly.scrap_probability",
            "filling.electrolyte_quantity", "filling.wetting_time", "filling.wetting_degree",
            "formation.coulombic_efficiency", "formation.initial_capacity_loss",
            "formation.internal_resistance", "formation.sei_lithium_loss",
            "formation.formation_time")


@pytest.mark.slow
def test_run_chain_with_the_cell_reports_every_cell_id():
    pytest.importorskip("pybamm")
    from twinline.chain import run_chain
    from twinline.spec.recipe import load_recipe

    run = run_chain(load_recipe(EXAMPLE), cell=True)
    for pid in CELL_IDS:
        assert pid in run.outputs, pid
    assert run.outputs["assembly.n_p_ratio"]["value"] == pytest.approx(
        run.products["anode"]["calendered"].areal_capacity
        / run.products["cathode"]["calendered"].areal_capacity)
    assert run.cell is not None and len(run.cell.capacity) == 3


def test_importing_the_cell_package_does_not_import_pybamm():
    code = ("import sys, twinline.cell, twinline.process.cell_design, twinline.process.assembly, "
            "twinline.process.filling, twinline.process.formation, "
            "twinline.structure.imbibition, twinline.cli.cell; "
            "print('pybamm' in sys.modules, 'porespy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "False"]


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 30), st.floats(0.02, 0.3), st.floats(0.02, 0.2), st.floats(0.2, 0.5),
       st.floats(40e-6, 150e-6))
def test_pouch_budget_is_positive_and_consistent(layers, length, width, porosity, thickness):
    cat = electrode("positive", thickness=thickness, porosity=porosity,
                    am_fraction=0.9 - porosity, capacity_mah_cm2=3.0)
    ano = electrode("negative", thickness=thickness * 1.1, porosity=porosity,
                    am_fraction=0.9 - porosity, capacity_mah_cm2=3.3)
    sec = CellSection().model_copy(update={"layers": layers, "cathode_length": length,
                                           "cathode_width": width})
    d = design_cell(sec, cat, ano, LIB)
    assert all(v >= 0 for v in d.masses.values())
    assert d.pore_volume["cathode"] == pytest.approx(
        2 * layers * length * width * thickness * porosity)
    assert d.n_p_ratio == pytest.approx(1.1)
    assert d.stack_thickness > 2 * layers * thickness
