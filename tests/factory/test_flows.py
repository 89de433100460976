"""Material flow and yield: the mass balance closes through the yield cascade."""

import math

import pytest

from twinline.factory.errors import FactoryError
from twinline.factory.flows import (
    cell_bill,
    flows_summary,
    material_flows,
    yield_cascade,
)
from twinline.factory.plant import plant_from_dict


def test_bill_matches_the_cell_design(pouch_run, bill):
    masses = pouch_run.products["cell"]["cell"].design.masses
    assert bill.cathode.coating_mass == pytest.approx(masses["cathode_coating"])
    assert sum(bill.cathode.solids.values()) == pytest.approx(masses["cathode_coating"])
    assert bill.cathode.solids["NMC622"] == pytest.approx(0.94 * masses["cathode_coating"])
    assert bill.energy == pytest.approx(pouch_run.cell.energy[0])
    assert bill.cathode.solvent == "NMP" and bill.anode.solvent == "water"
    assert 0 < bill.cathode.drying_heat_share < 1


def test_mass_balance_closes_for_every_material(bill, pilot):
    flows = material_flows(bill, pilot)
    for f in flows:
        assert f.balance_error == pytest.approx(0, abs=1e-12), f.material
        assert f.input == pytest.approx(f.product + f.scrap + f.recovered + f.lost)
        assert sum(f.scrap_by_step.values()) == pytest.approx(f.scrap)
    s = flows_summary(flows, bill)
    tot = s["per_cell_kg"]
    assert tot["input"] == pytest.approx(tot["product"] + tot["scrap"] + tot["recovered"]
                                         + tot["lost"])
    # the product of the flows is the cell: every component except the solvents
    assert tot["product"] == pytest.approx(bill.cell_mass - 0.0, rel=0.02)


def test_active_material_input_is_the_cell_content_over_the_cascade(bill, pilot):
    am = next(f for f in material_flows(bill, pilot) if f.material == "NMC622")
    assert am.input == pytest.approx(bill.cathode.solids["NMC622"] / 0.975 ** 15)
    sep = next(f for f in material_flows(bill, pilot) if f.role == "separator")
    assert sep.input == pytest.approx(bill.separator_mass / 0.975 ** 8)   # stacking onwards


def test_solvent_is_recovered_or_lost_at_the_dryer(bill, giga):
    flows = {f.role: f for f in material_flows(bill, giga)}
    nmp, water = flows["cathode solvent"], flows["anode solvent"]
    assert nmp.product == 0 and nmp.recovered == pytest.approx(0.95 * (nmp.recovered + nmp.lost))
    assert water.recovered == 0 and water.lost > 0
    assert set(nmp.scrap_by_step) == {"mixing", "coating"}


def test_cascade_reproduces_the_seed_003_yield_and_refuses_full_scrap(bill):
    c = yield_cascade(plant_from_dict({"name": "x"}))
    assert c[-1].cumulative == pytest.approx(0.995 ** 15)
    assert [x.path for x in c].count("cathode") == 7
    # 25 steps x 99.5 % -> 88 % (seed 003)
    assert math.prod([0.995] * 25) == pytest.approx(0.882, abs=1e-3)
    with pytest.raises(FactoryError, match="scrap"):
        material_flows(bill, plant_from_dict({"name": "x", "steps": {"mixing": {
            "scrap": 1.0}}}))


def test_a_run_without_a_cell_is_refused(pouch_run):
    from dataclasses import replace

    with pytest.raises(FactoryError, match="--cell"):
        cell_bill(replace(pouch_run, cell=None))
