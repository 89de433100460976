"""Exports: the recipe JSON Schema validates the examples; JSON-LD and CSV of the catalogue."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path

import pytest
import yaml

from twinline.spec.catalogue import COLUMNS, catalogue
from twinline.spec.errors import SpecError
from twinline.spec.export import catalogue_jsonld, export, recipe_json_schema

jsonschema = pytest.importorskip("jsonschema")

EXAMPLES = sorted(
    p for p in (Path(__file__).resolve().parents[2] / "examples").glob("*.yaml")
    if {"cathode", "anode"} & set(yaml.safe_load(p.read_text("utf-8")) or {}))  # recipes only


@pytest.fixture(scope="module")
def validator():
    schema = recipe_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_validate_against_the_exported_schema(validator, path):
    data = yaml.safe_load(path.read_text("utf-8"))
    errors = [e.message for e in validator.iter_errors(data)]
    assert errors == []


def test_schema_rejects_what_the_loader_rejects(validator):
    # the first example with machine settings (measured electrodes have no coating section)
    data = next(d for d in (yaml.safe_load(p.read_text("utf-8")) for p in EXAMPLES)
                if "coating" in (d.get("cathode") or d.get("anode") or {}))
    side = "cathode" if data.get("cathode") else "anode"
    bad = copy.deepcopy(data)
    bad[side]["coating"]["spead"] = "1 m/s"  # unknown key
    assert not validator.is_valid(bad)
    bad = copy.deepcopy(data)
    bad[side]["formulation"]["binder"]["mass_fraction"] = [1]  # wrong type
    assert not validator.is_valid(bad)


def test_schema_is_enriched_with_catalogue_terms():
    defs = recipe_json_schema()["$defs"]
    gap = defs["CoatingSection"]["properties"]["gap"]
    assert gap["x-catalogue-id"] == "coating.gap" and gap["x-category"] == "MP"
    t = defs["CalenderingSection"]["properties"]["roll_temperature"]
    assert t["x-catalogue-id"] == "calendering.temperature"
    assert t["x-iri"] == catalogue()["calendering.temperature"].iri
    assert t["default"] == "298.15 K"  # SI defaults written as quantities
    ll = defs["CalenderingSection"]["properties"]["line_load"]
    assert ll["x-catalogue-id"] == "calendering.line_load"


def test_jsonld_uses_only_catalogue_iris():
    doc = catalogue_jsonld()
    ctx = doc["@context"]
    assert ctx["emmo"] == "https://w3id.org/emmo#"
    assert ctx["iri"] == {"@id": "skos:exactMatch", "@type": "@id"}
    graph = doc["@graph"]
    assert len(graph) == len(catalogue())
    cat = catalogue()
    for node in graph:
        pid = node["@id"].rsplit(":", 1)[1]
        assert node.get("iri", "") == cat[pid].iri  # never invented
    json.dumps(doc)  # serialisable
    porosity = next(n for n in graph if n["@id"].endswith("calendering.porosity"))
    assert porosity["min_value"] == 0 and porosity["max_value"] == 1


def test_csv_export_has_every_row():
    rows = list(csv.DictReader(io.StringIO(export("csv"))))
    assert len(rows) == len(catalogue())
    assert tuple(rows[0]) == COLUMNS


def test_unknown_format():
    with pytest.raises(SpecError, match="jsonschema, jsonld or csv"):
        export("xml")
