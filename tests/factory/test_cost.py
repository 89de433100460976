"""Cost per kWh in BatPaC's structure: the parts sum to the total; the tornado's trends."""

import pytest

from twinline.factory.cost import PARTS, cost, tornado
from twinline.factory.flows import material_flows
from twinline.factory.plant import plant_from_dict


def test_cost_sums_to_its_parts(bill, giga):
    c = cost(bill, giga)
    assert set(c.per_kWh) == set(PARTS)
    assert sum(c.per_kWh.values()) == pytest.approx(c.total_per_kWh, rel=1e-12)
    assert sum(c.per_cell.values()) == pytest.approx(c.total_per_cell, rel=1e-12)
    assert c.total_per_kWh == pytest.approx(c.total_per_cell / (bill.energy / 1e3))
    # materials + scrap equal the priced material flows
    assert c.per_kWh["materials"] + c.per_kWh["scrap"] == pytest.approx(
        sum(c.materials_by_name.values()))
    # a mature plant: materials dominate (seed 003: about 70-75 % of manufacturing cost)
    share = (c.per_kWh["materials"] + c.per_kWh["scrap"]) / c.total_per_kWh
    assert 0.6 < share < 0.95


def test_energy_part_is_the_energy_times_its_prices(bill, giga):
    from twinline.factory.energy import energy

    e = energy(bill, giga)
    c = cost(bill, giga, energy_result=e, flows=material_flows(bill, giga))
    expected = (e.by_utility_per_kWh["electricity"] * giga.prices.electricity_per_kWh
                + e.by_utility_per_kWh["heat"] * giga.prices.heat_per_kWh)
    assert c.per_kWh["energy"] == pytest.approx(expected)


def test_a_price_override_in_the_plant_changes_only_its_material(bill):
    base = plant_from_dict({"name": "x", "steps": {"coating": {"machines": 2}}})
    dear = plant_from_dict({"name": "x", "steps": {"coating": {"machines": 2}},
                            "prices": {"materials_per_kg": {"NMC622": 52.0}}})
    a, b = cost(bill, base), cost(bill, dear)
    assert b.materials_by_name["NMC622"] == pytest.approx(2 * a.materials_by_name["NMC622"])
    assert b.materials_by_name["graphite"] == pytest.approx(a.materials_by_name["graphite"])


def test_tornado_levers_move_cost_the_expected_way(bill, giga):
    bars = {b.lever: b for b in tornado(bill, giga, spread=0.2)}
    assert set(bars) == {"coating line speed", "scrap rate of every step",
                         "electrode thickness", "dry-room volume", "electricity price"}
    assert bars["electrode thickness"].cost_high < bars["electrode thickness"].cost_low
    assert bars["coating line speed"].cost_high < bars["coating line speed"].cost_low
    for lever in ("scrap rate of every step", "dry-room volume", "electricity price"):
        assert bars[lever].cost_high > bars[lever].cost_low
    swings = [b.swing for b in tornado(bill, giga)]
    assert swings == sorted(swings, reverse=True)
