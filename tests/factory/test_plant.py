"""The plant description: defaults with sources, units at the edge, one-line refusals."""

import pytest

from twinline.factory.errors import FactoryError
from twinline.factory.plant import LINE, defaults, line_view, load_plant, plant_from_dict

from .conftest import GIGA, PILOT


def test_every_default_step_has_its_figures_and_every_section_a_source():
    d = defaults()
    assert set(d["steps"]) == set(LINE)
    for section in ("operation", "dry_room", "clean_room", "climate", "formation", "solvent",
                    "cost"):
        for key, entry in d[section].items():
            assert entry.get("source"), f"{section}.{key} has no source"
    for key in ("scrap", "speed", "cycle_time", "idle_power", "specific_energy", "capex"):
        assert d["step_sources"][key]


def test_units_are_converted_once_and_defaults_fill_the_rest():
    p = plant_from_dict({"name": "x", "steps": {"coating": {"speed": "60 m/min",
                                                            "machines": 2}},
                         "dry_room": {"volume": "1000 m^3", "dew_point": "-50 degC"}})
    s = p.step("coating")
    assert s.speed == pytest.approx(1.0) and s.width == pytest.approx(1.4)
    assert s.machines == 2 and s.scrap == pytest.approx(0.005)
    assert s.cycle_time == pytest.approx(1 / 1.4)
    assert p.dry_room.dew_point == pytest.approx(223.15)
    assert p.step("mixing").mtbf == pytest.approx(200 * 3600)
    assert p.carbon.grid_intensity * 3.6e6 == pytest.approx(0.25)


@pytest.mark.parametrize("data, words", [
    ({"name": "x", "steps": {"coatin": {}}}, ["unknown step 'coatin'", "did you mean 'coating'"]),
    ({"name": "x", "dry_room": {"volume": 5}}, ["dry_room.volume", "has no unit", "m^3"]),
    ({"name": "x", "operation": {"availability": "120 %"}},
     ["operation.availability", "outside the allowed range [0, 1]"]),
    ({"name": "x", "carbon": {"grid": "EU"}}, ["unknown grid 'EU'", "EU27"]),
    ({"name": "x", "dry_room": {"colour": "red"}}, ["dry_room.colour"]),
    ([1, 2], ["a plant file is a mapping"]),
])
def test_bad_plants_are_refused_on_one_line(data, words):
    with pytest.raises(FactoryError) as err:
        plant_from_dict(data, origin="plant.yaml")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("plant.yaml")
    for w in words:
        assert w in msg


def test_examples_load_and_the_line_view_is_plain_data(tmp_path):
    import json

    giga, pilot = load_plant(GIGA), load_plant(PILOT)
    assert giga.step("coating").machines == 6 and pilot.step("stacking").cycle_time == 120
    view = line_view(giga)
    json.dumps(view)
    names = [m["name"] for m in view["machines"]]
    assert names[:2] == ["cathode.mixing", "anode.mixing"] and "stacking" in names
    assert "cathode.drying" not in names       # the dryer is part of the coating line
    keys = {"name", "cycle_time_s", "unit", "mtbf_h", "mttr_h", "changeover_s",
            "changeover_every", "scrap", "count"}
    assert all(keys <= set(m) for m in view["machines"])
    assert view["buffers"][0] == {"after": "coating", "capacity": 20}
    bad = tmp_path / "p.yaml"
    bad.write_text("name: x\nname: y\n")
    with pytest.raises(FactoryError, match=r"p\.yaml"):
        load_plant(bad)
