"""The passport record validates against the schema that ships with the package."""

import json

import pytest

from twinline.factory.errors import FactoryError
from twinline.factory.passport import SCHEMA_PATH, passport, schema, validate_passport
from twinline.factory.view import factory_view, reference_plant


def test_passport_validates_and_carries_the_cell_model(pouch_run, giga):
    jsonschema = pytest.importorskip("jsonschema")
    rec = passport(pouch_run, giga, ids={"store": "sqlite:///line.db", "lot": "L-0042"})
    jsonschema.Draft202012Validator.check_schema(schema())
    jsonschema.validate(rec, schema())
    validate_passport(rec)
    assert rec["rated_energy_Wh"] == pytest.approx(pouch_run.cell.energy[0])
    assert rec["rated_capacity_Ah"] == pytest.approx(pouch_run.cell.capacity[0])
    assert rec["manufacturing"] == {"date": "2026-12-01", "place": "Central Europe (example)",
                                    "plant": "Gigafactory (21 GWh/a)"}
    assert rec["traceability"]["ids"]["lot"] == "L-0042"
    masses = sum(m["mass_kg"] for m in rec["materials"])
    assert masses == pytest.approx(pouch_run.cell.mass, rel=0.02)
    stages = rec["carbon_footprint"]["by_life_cycle_stage_kg_CO2e_per_kWh"]
    assert sum(v for v in stages.values() if v is not None) == pytest.approx(
        rec["carbon_footprint"]["total_kg_CO2e_per_kWh"])
    json.dumps(rec)
    assert SCHEMA_PATH.is_file()


def test_a_broken_record_and_a_bad_date_are_refused(pouch_run, giga):
    rec = passport(pouch_run, giga)
    rec["rated_energy_Wh"] = -1
    with pytest.raises(FactoryError, match="rated_energy_Wh"):
        validate_passport(rec)
    with pytest.raises(FactoryError, match="ISO date"):
        passport(pouch_run, giga, date="yesterday")


def test_factory_view_is_json_and_the_reference_plant_sizes(pouch_run):
    view = factory_view(pouch_run, reference_plant())
    d = json.loads(json.dumps(view.to_dict()))
    assert d["output"]["GWh_per_year"] > 10
    assert d["cost_per_kWh"]["total"] == pytest.approx(sum(d["cost_per_kWh"]["parts"].values()))
    assert abs(d["materials"]["balance_error_kg"]) < 1e-12
    assert d["throughput"] is None
