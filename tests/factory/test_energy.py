"""Energy per kWh: the anchors, fixed loads spread by line speed, the dry-room dew point."""

import itertools

import pytest

from twinline.factory.energy import (
    dry_room_power,
    energy,
    humidity_ratio,
    saturation_pressure,
    size_line,
)
from twinline.factory.errors import FactoryError
from twinline.factory.plant import plant_from_dict


def test_psychrometrics_match_table_values():
    assert saturation_pressure(293.15) == pytest.approx(2339, rel=0.005)     # 20 °C
    assert saturation_pressure(233.15) == pytest.approx(12.84, rel=0.02)     # -40 °C, ice
    assert humidity_ratio(saturation_pressure(293.15)) == pytest.approx(0.01475, rel=0.01)


def test_gigafactory_lands_in_the_published_range(bill, giga):
    e = energy(bill, giga)
    assert 20.3 <= e.total_per_kWh <= 37.5               # Degen et al. 2023
    gwh = e.sizing.cells_per_year * bill.energy / 1e9
    assert gwh > 10 and e.sizing.bottleneck.endswith("coating")
    assert sum(sum(v.values()) for v in e.per_kWh.values()) == pytest.approx(e.total_per_kWh)
    big = e.per_kWh["drying"]["heat"] + e.per_kWh["dry_room"]["heat"]
    assert big > 0.3 * e.total_per_kWh                     # drying and dry rooms dominate


def test_energy_per_kwh_falls_with_line_speed(bill):
    def total(speed):
        p = plant_from_dict({"name": "x", "steps": {"coating": {"machines": 2,
                                                                "speed": speed}},
                             "dry_room": {"volume": "20000 m^3"}})
        return energy(bill, p).total_per_kWh
    values = [total(s) for s in ("20 m/min", "40 m/min", "60 m/min", "80 m/min")]
    assert all(a > b for a, b in itertools.pairwise(values))


def test_energy_rises_as_the_dew_point_is_lowered(bill):
    def plant(dp):
        return plant_from_dict({"name": "x", "steps": {"coating": {"machines": 2}},
                                "dry_room": {"volume": "20000 m^3", "dew_point": dp}})
    dps = ("-20 degC", "-30 degC", "-40 degC", "-50 degC", "-60 degC")
    room = [dry_room_power(plant(d))["regeneration"] for d in dps]
    tot = [energy(bill, plant(d)).total_per_kWh for d in dps]
    assert all(a < b for a, b in itertools.pairwise(room))
    assert all(a < b for a, b in itertools.pairwise(tot))


def test_formation_energy_follows_the_cells_efficiency(bill, giga):
    from dataclasses import replace

    e1 = energy(bill, giga).per_kWh["formation"]["electricity"]
    e2 = energy(replace(bill, first_cycle_efficiency=0.8), giga).per_kWh["formation"][
        "electricity"]
    assert e2 > e1


def test_a_plant_without_machine_counts_is_refused(bill):
    p = plant_from_dict({"name": "x"})
    with pytest.raises(FactoryError, match="machines"):
        size_line(bill, p)
