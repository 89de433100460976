"""The recipe's optional ``spec_limits`` section: units converted once to SI, the catalogue's
outputs and valid ranges enforced, one-line errors, a JSON round trip, the JSON Schema."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from twinline.spec.errors import RecipeError
from twinline.spec.export import recipe_json_schema
from twinline.spec.recipe import parse_recipe

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "nmc111_cathode.yaml"


@pytest.fixture(scope="module")
def base():
    return yaml.safe_load(EXAMPLE.read_text("utf-8"))


def _with(base, limits):
    return parse_recipe({**copy.deepcopy(base), "spec_limits": limits}, "line.yaml")


def test_limits_are_stored_in_si_with_the_parameters_unit(base):
    r = _with(
        base,
        {
            "cathode.calendering.porosity": {"lower": "28 %", "upper": "32 %"},
            "cathode.coating.am_loading": {"lower": "31 mg/cm^2", "upper": 35, "unit": "mg/cm^2"},
            "cathode.calendering.thickness": {"upper": "110 um"},
        },
    )
    por = r.spec_limits["cathode.calendering.porosity"]
    assert (por.lower, por.upper, por.unit) == (pytest.approx(0.28), pytest.approx(0.32), "")
    am = r.spec_limits["cathode.coating.am_loading"]
    assert am.unit == "kg/m^2"
    assert am.lower == pytest.approx(0.31) and am.upper == pytest.approx(0.35)  # 1 mg/cm² = 0.01
    th = r.spec_limits["cathode.calendering.thickness"]
    assert th.lower is None and th.upper == pytest.approx(110e-6) and th.unit == "m"
    assert parse_recipe(yaml.safe_load(EXAMPLE.read_text("utf-8")), "x").spec_limits == {}


def test_a_recipe_with_limits_round_trips_through_json(base):
    r = _with(base, {"cathode.coating.am_loading": {"lower": "31 mg/cm^2", "upper": "35 mg/cm^2"}})
    again = parse_recipe(json.loads(r.model_dump_json()), "again")
    assert again.spec_limits == r.spec_limits


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (
            {"cathode.calendering.porosity": {"lower": "28 um"}},
            r"spec_limits: cathode\.calendering\.porosity\.lower = '28 um' has the wrong unit",
        ),
        (
            {"cathode.coating.am_loading": {"lower": 31}},
            r"cathode\.coating\.am_loading\.lower = 31 has no unit: .*kg/m\^2",
        ),
        (
            {"cathode.coating.am_loading": {"lower": "31 mg/cm^2", "upper": "2 mg/cm^2"}},
            r"lower 0\.31 kg/m\^2 must be below upper 0\.02 kg/m\^2",
        ),
        (
            {"cathode.calendering.porosity": {"upper": 1.3}},
            r"porosity\.upper = 1\.3 \(= 1\.3 -\) is outside the valid range \[0, 1\]",
        ),
        (
            {"cathode.calendering.porosty": {"lower": 0.3}},
            r"'cathode\.calendering\.porosty' is no "
            r"catalogue parameter",
        ),
        (
            {"cathode.calendering.pressure": {"lower": "30 MPa"}},
            r"calendering\.pressure is a MP \(a machine setting\)",
        ),
        ({"cathode.calendering.porosity": {"lowr": 0.3}}, r"unknown field\(s\) \['lowr'\]"),
        ({"cathode.calendering.porosity": {}}, r"give 'lower', 'upper' or both"),
        ({"cathode.calendering.porosity": "0.3"}, r"expected \{lower: \.\., upper: \.\.\}"),
    ],
)
def test_bad_limits_give_one_line_naming_parameter_value_and_unit(base, limits, message):
    with pytest.raises(RecipeError, match=message) as err:
        _with(base, limits)
    assert str(err.value).startswith("line.yaml: spec_limits")
    assert "\n" not in str(err.value)


def test_the_json_schema_describes_the_section():
    jsonschema = pytest.importorskip("jsonschema")
    schema = recipe_json_schema()
    assert "spec_limits" in schema["properties"]
    limit = schema["$defs"]["SpecLimit"]["properties"]["lower"]
    assert {"type": "string"} in [{"type": a["type"]} for a in limit["anyOf"]]
    v = jsonschema.Draft202012Validator(schema)
    data = yaml.safe_load(EXAMPLE.read_text("utf-8"))
    data["spec_limits"] = {"cathode.calendering.porosity": {"lower": "28 %", "upper": "32 %"}}
    assert list(v.iter_errors(data)) == []
    data["spec_limits"] = {"cathode.calendering.porosity": {"lower": [0.28]}}
    assert not v.is_valid(data)


def test_recipe_check_refuses_a_bad_limit_with_exit_2(tmp_path, base):
    from twinline.cli import app

    data = copy.deepcopy(base)
    data["spec_limits"] = {"cathode.coating.am_loading": {"lower": "31 um"}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    r = CliRunner().invoke(app, ["recipe", "check", str(path)], catch_exceptions=False)
    assert r.exit_code == 2, r.output
    err = r.stderr.strip()
    assert err.startswith("error:") and "\n" not in err and "am_loading.lower" in err
