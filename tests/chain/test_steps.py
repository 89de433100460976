"""The step table is the one list of steps: a toy step registered at run time runs in the
chain with nothing else changed; a cell run lists every step in the physical order."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from twinline.chain import run_chain
from twinline.process.products import CalenderedElectrode
from twinline.spec.recipe import load_recipe
from twinline.spec.steps import Step, register_step, step_names, steps, unregister_step

ROOT = Path(__file__).resolve().parents[2]
POUCH = ROOT / "examples" / "nmc622_graphite_pouch.yaml"


class PlasmaSection(BaseModel):
    """Settings of a toy plasma treatment (defaults only: the recipe has no section)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    model: str = "toy"
    thickness_loss: float = 1e-7  # [m] ablated from the coating surface


def plasma_treat(section: PlasmaSection, electrode: CalenderedElectrode, materials
                 ) -> CalenderedElectrode:
    """Toy step: ablate ``thickness_loss`` from the coating (a real one would document its
    equations and sources)."""
    return electrode.replace(thickness=electrode.thickness - section.thickness_loss)


@pytest.fixture
def toy_step():
    module = types.ModuleType("toy_plasma_step")
    module.MODELS = {"toy": plasma_treat}
    module.Section = PlasmaSection
    module.CITATIONS = ()
    sys.modules[module.__name__] = module
    step = Step("plasma_treatment", "electrode", module.__name__, "treated",
                "plasma_treatment", "PlasmaSection",
                "twinline.process.products:CalenderedElectrode")
    register_step(step, after="calendering")
    yield step
    unregister_step(step.name)
    del sys.modules[module.__name__]


def test_a_registered_step_runs_in_the_chain_between_its_neighbours(toy_step):
    assert step_names("electrode")[3:6] == ("calendering", "plasma_treatment", "slitting")
    run = run_chain(load_recipe(ROOT / "examples" / "nmc111_cathode.yaml"))
    order = [e["step"] for e in run.steps if e["scope"] == "cathode"]
    assert order == ["mixing", "coating", "drying", "calendering", "plasma_treatment",
                     "slitting", "post_drying"]
    prods = run.products["cathode"]
    assert prods["treated"].thickness == pytest.approx(prods["calendered"].thickness - 1e-7,
                                                       rel=1e-12)
    # the next step receives the toy step's product
    assert prods["slit"].electrode == prods["treated"]
    assert run.models["cathode.plasma_treatment"] == "toy"
    # and the record round-trips, the toy product included
    back = type(run).from_json(run.to_json())
    assert back.products["cathode"]["treated"] == prods["treated"]


def test_unregistering_restores_the_table(toy_step):
    unregister_step(toy_step.name)
    assert "plasma_treatment" not in step_names()
    assert len(steps()) == 9


def test_a_cell_run_lists_every_step_mixing_to_formation_fill_before_form():
    run = run_chain(load_recipe(POUCH), cell=True, c_rates=(1.0,))
    data = json.loads(run.to_json())
    listed = [(e["scope"], e["step"]) for e in data["steps"]]
    electrode_steps = list(step_names("electrode"))
    assert listed == ([("cathode", s) for s in electrode_steps]
                      + [("anode", s) for s in electrode_steps]
                      + [("cell", "assembly"), ("cell", "filling"), ("cell", "formation")])
    assert [e["product"] for e in data["steps"][-3:]] == ["Cell", "FilledCell", "FormedCell"]
    assert all(e["seconds"] >= 0 for e in data["steps"])
    assert set(data["products"]["cell"]) == {"cell", "filled", "formed"}
    # the formed cell carries the filled one (fill before form) in the record too
    formed = run.products["cell"]["formed"]
    assert formed.filled == run.products["cell"]["filled"]
    assert formed.filled.electrolyte_volume > 0


def test_cell_simulate_reports_the_same_cell_as_run_cell(tmp_path):
    from typer.testing import CliRunner

    from twinline.cli import app

    res = CliRunner().invoke(app, ["cell", "simulate", str(POUCH), "--c-rates", "0.5,1",
                                   "--json"])
    assert res.exit_code == 0, res.output
    cli = json.loads(res.stdout)   # warnings (e.g. an extrapolated closed form) go to stderr
    run = run_chain(load_recipe(POUCH), cell=True, c_rates=(0.5, 1.0))
    assert cli == json.loads(json.dumps(run.cell.summary()))
