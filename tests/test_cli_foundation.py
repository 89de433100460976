"""CLI of the foundation: spec list/show/export, recipe check, materials list/show.

Bad input must give one line on stderr that names the file and the parameter, and exit 2.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from twinline.cli import app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NMC111 = EXAMPLES / "nmc111_cathode.yaml"
POUCH = EXAMPLES / "nmc622_graphite_pouch.yaml"
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert err.startswith("error:"), err
    assert "\n" not in err, err
    assert "Traceback" not in result.output
    return err


# ------------------------------------------------------------------ spec
def test_spec_list_json_is_the_whole_catalogue():
    r = invoke("spec", "list", "--format", "json")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert len(data) >= 113
    keys = ["id", "step", "name", "category", "unit", "measured_by", "resolution", "online",
            "models", "valid_range", "iri"]
    assert all(list(d) == keys for d in data)
    assert {d["step"] for d in data} == {"mixing", "coating", "drying", "calendering",
                                         "slitting", "post_drying", "assembly", "filling",
                                         "formation"}
    import pint

    reg = pint.UnitRegistry()
    for d in data:
        reg.Unit(d["unit"])  # every unit string is a valid pint unit


def test_spec_list_filters():
    r = invoke("spec", "list", "--category", "MP", "--step", "calendering", "--format", "json")
    ids = {d["id"] for d in json.loads(r.stdout)}
    assert {"calendering.gap", "calendering.speed", "calendering.temperature"} <= ids
    assert ids & {"calendering.line_load", "calendering.pressure"}
    assert all(d["category"] == "MP" for d in json.loads(r.stdout))
    r = invoke("spec", "list", "--online", "--format", "json")
    assert all(d["online"] is True for d in json.loads(r.stdout))
    r = invoke("spec", "list", "--step", "calendering", "--format", "csv")
    assert r.stdout.splitlines()[0].startswith("id,step,name,category,unit")
    r = invoke("spec", "list", "--step", "drying")
    assert r.exit_code == 0 and "drying.porosity" in r.stdout


def test_spec_list_bad_filter():
    err = one_line_error(invoke("spec", "list", "--step", "calender"))
    assert "calendering" in err


def test_spec_show():
    r = invoke("spec", "show", "calendering.line_load", "--format", "json")
    d = json.loads(r.stdout)
    assert d["unit"] == "kN/cm" and d["si_unit"] == "N/m" and d["addition"] is True
    r = invoke("spec", "show", "calendering.porosity")
    assert r.exit_code == 0 and "w3id.org/emmo" in r.stdout
    err = one_line_error(invoke("spec", "show", "calendering.lineload"))
    assert "calendering.line_load" in err


def test_spec_export(tmp_path):
    out = tmp_path / "schema.json"
    r = invoke("spec", "export", "--format", "jsonschema", "--out", out)
    assert r.exit_code == 0
    schema = json.loads(out.read_text())
    assert schema["title"] == "twinline recipe" and "$defs" in schema
    r = invoke("spec", "export", "--format", "jsonld")
    assert "@context" in json.loads(r.stdout)
    r = invoke("spec", "export", "--format", "csv")
    assert len(r.stdout.splitlines()) >= 114
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write left nothing behind


# ------------------------------------------------------------------ recipe check
@pytest.mark.parametrize("path", [NMC111, POUCH], ids=["nmc111", "pouch"])
def test_recipe_check_passes_the_examples(path):
    if not path.exists():
        pytest.skip(f"{path.name} not written yet")
    r = invoke("recipe", "check", path)
    assert r.exit_code == 0, r.output
    assert "ok" in r.stdout


def test_recipe_check_shows_units():
    r = invoke("recipe", "check", NMC111)
    for text in ("NMC111", "96 wt%", "300 µm", "60 MPa", "60 °C", "80 °C", "0.54 m/min"):
        assert text in r.stdout, text


def _write(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(NMC111.read_text("utf-8"))
    data = copy.deepcopy(data)
    mutate(data)
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(data, sort_keys=False))
    return f


def _set(*path_and_value):
    *path, value = path_and_value

    def mutate(d):
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = value
    return mutate


BAD = {
    "wrong unit": (_set("cathode", "calendering", "pressure", "60 m/s"),
                   ["cathode.calendering.pressure", "60 m/s", "[length] / [time]", "Pa"]),
    "out of range": (_set("cathode", "mixing", "solid_content", 1.3),
                     ["cathode.mixing.solid_content", "1.3", "[0, 1]"]),
    "fraction above one": (_set("cathode", "formulation", "binder", "mass_fraction", "130 %"),
                           ["cathode.formulation.binder.mass_fraction", "130 %"]),
    "fractions not summing to 1": (
        _set("cathode", "formulation", "binder", "mass_fraction", 0.05),
        ["cathode.formulation", "sum to 1.03"]),
    "unknown material": (_set("cathode", "formulation", "active_material", "material",
                              "NMC999"),
                         ["cathode.formulation.active_material.material", "NMC999"]),
    "unknown parameter": (_set("cathode", "coating", "spead", "0.3 m/s"),
                          ["cathode.coating.spead", "unknown parameter"]),
    "bare number": (_set("cathode", "coating", "gap", 300),
                    ["cathode.coating.gap", "300", "has no unit"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_recipe_check_rejects_bad_input_in_one_line(tmp_path, case):
    mutate, must = BAD[case]
    f = _write(tmp_path, mutate)
    err = one_line_error(invoke("recipe", "check", f))
    assert str(f) in err
    for text in must:
        assert text in err, (text, err)


def test_recipe_check_malformed_empty_missing(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("cathode:\n  coating: {gap: 300 um\n")
    err = one_line_error(invoke("recipe", "check", bad))
    assert "broken.yaml" in err and "malformed YAML" in err
    empty = tmp_path / "empty.yaml"
    empty.write_text("\n")
    err = one_line_error(invoke("recipe", "check", empty))
    assert "empty.yaml" in err and "empty" in err
    err = one_line_error(invoke("recipe", "check", tmp_path / "missing.yaml"))
    assert "missing.yaml" in err and "cannot read" in err


def test_recipe_check_with_extra_materials(tmp_path):
    mats = tmp_path / "m.yaml"
    mats.write_text("materials:\n  NMC-X:\n    kind: active_material\n    properties:\n"
                    "      polarity: positive\n      density: 4.7 g/cm^3\n")
    f = _write(tmp_path, _set("cathode", "formulation", "active_material", "material",
                              "NMC-X"))
    assert invoke("recipe", "check", f, "--materials", mats).exit_code == 0
    one_line_error(invoke("recipe", "check", f))
    err = one_line_error(invoke("recipe", "check", f, "--materials", tmp_path / "no.yaml"))
    assert "no.yaml" in err


# ------------------------------------------------------------------ materials
def test_materials_list_and_show():
    r = invoke("materials", "list", "--format", "json")
    names = {m["name"] for m in json.loads(r.stdout)}
    assert {"NMC111", "NMC622", "NMC811", "LFP", "graphite", "SiOx-graphite", "C65", "PVDF",
            "CMC", "SBR", "NMP", "water", "Al", "Cu", "PE", "PP", "LP30", "LP57"} <= names
    r = invoke("materials", "list", "--kind", "solvent")
    assert r.exit_code == 0 and "NMP" in r.stdout and "NMC111" not in r.stdout
    r = invoke("materials", "show", "LP30", "--format", "json")
    d = json.loads(r.stdout)
    assert d["properties"]["conductivity"] == {"value": 1.119, "unit": "S/m",
                                               "source": d["properties"]["conductivity"]
                                               ["source"]}
    r = invoke("materials", "show", "NMC111")
    assert "4.75" in r.stdout and "g/cm^3" in r.stdout and "Duquesnoy2020" in r.stdout
    err = one_line_error(invoke("materials", "show", "NMC812"))
    assert "NMC811" in err
    one_line_error(invoke("materials", "list", "--kind", "metal"))


def test_materials_user_file(tmp_path):
    f = tmp_path / "m.yaml"
    f.write_text("materials:\n  LTO:\n    kind: active_material\n    properties:\n"
                 "      polarity: negative\n      density: {value: 3.5, unit: g/cm^3, "
                 "source: test}\n")
    r = invoke("materials", "show", "LTO", "--materials", f)
    assert r.exit_code == 0 and "3.5" in r.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("materials:\n  X:\n    kind: solvent\n    properties:\n"
                   "      density: 1 m/s\n")
    err = one_line_error(invoke("materials", "list", "--materials", bad))
    assert "bad.yaml" in err and "X.density" in err


def test_recipe_check_rejects_unknown_step_model(tmp_path):
    f = _write(tmp_path, _set("cathode", "calendering", "model", "heckle"))
    err = one_line_error(invoke("recipe", "check", f))
    assert "cathode.calendering.model" in err and "heckle" in err


def test_recipe_check_rejects_duplicate_keys(tmp_path):
    text = NMC111.read_text("utf-8").replace("    gap: 300 um\n",
                                              "    gap: 300 um\n    gap: 200 um\n")
    f = tmp_path / "dup.yaml"
    f.write_text(text)
    err = one_line_error(invoke("recipe", "check", f))
    assert "dup.yaml" in err and "duplicate key 'gap'" in err


def test_recipe_check_validates_tolerances(tmp_path):
    f = _write(tmp_path, _set("tolerances", {"cathode.coating.gapp": "5 um"}))
    err = one_line_error(invoke("recipe", "check", f))
    assert "cathode.coating.gapp" in err
    f = _write(tmp_path, _set("tolerances", {"cathode.coating.gap": "5 s"}))
    err = one_line_error(invoke("recipe", "check", f))
    assert "cathode.coating.gap" in err and "[time]" in err


def test_recipe_defaults_lists_every_setting_with_units():
    r = invoke("recipe", "defaults", "--json")
    assert r.exit_code == 0
    rows = {row["setting"]: row for row in json.loads(r.stdout)}
    speed = rows["electrode.calendering.speed"]
    assert speed["default"] == pytest.approx(0.54) and speed["unit"] == "m/min"
    assert rows["electrode.post_drying.temperature"]["default"] == pytest.approx(120.0)
    assert rows["electrode.post_drying.temperature"]["unit"] == "degC"
    assert rows["electrode.drying.zones"]["required"] is True
    assert rows["electrode.mixing.solid_content"]["range"].startswith("[0, 1]")
    assert all(row["description"] or row["setting"].endswith(("method", "zones", "cycles",
                                                              "format", "atmosphere"))
               for row in rows.values())
    assert invoke("recipe", "defaults").exit_code == 0


def test_binary_files_are_refused_in_one_line(tmp_path):
    f = tmp_path / "bin.yaml"
    f.write_bytes(bytes(range(128, 256)))
    assert "not a text" in one_line_error(invoke("recipe", "check", f))
    assert "not a text" in one_line_error(invoke("materials", "list", "--materials", f))
