"""CO2 per kWh: energy by carrier times its intensity plus documented material footprints."""

import pytest

from twinline.factory.carbon import carbon
from twinline.factory.energy import energy
from twinline.factory.plant import plant_from_dict


def test_footprint_is_energy_times_intensity_plus_materials(bill, giga):
    e = energy(bill, giga)
    c = carbon(bill, giga, energy_result=e)
    assert c.by_source["electricity"] == pytest.approx(
        e.by_utility_per_kWh["electricity"] * 0.25)
    assert c.by_source["heat"] == pytest.approx(e.by_utility_per_kWh["heat"] * 0.202)
    known = [v for v in c.by_stage.values() if v is not None]
    assert sum(known) == pytest.approx(c.total_per_kWh)
    assert c.by_stage["distribution"] is None
    assert "LP57" in c.materials_without_figure and "NMC622" not in c.materials_without_figure


def test_a_cleaner_grid_lowers_only_the_production_stage(bill):
    eu = plant_from_dict({"name": "x", "steps": {"coating": {"machines": 2}},
                          "carbon": {"grid": "EU27"}})
    green = plant_from_dict({"name": "x", "steps": {"coating": {"machines": 2}},
                             "carbon": {"grid": "renewable"}})
    a, b = carbon(bill, eu), carbon(bill, green)
    assert b.total_per_kWh < a.total_per_kWh
    key = "raw_material_acquisition_and_pre_processing"
    assert b.by_stage[key] == pytest.approx(a.by_stage[key])
    user = plant_from_dict({"name": "x", "steps": {"coating": {"machines": 2}},
                            "carbon": {"grid_intensity": "0.5 kg/kWh"}})
    assert carbon(bill, user).grid_intensity == pytest.approx(0.5)
