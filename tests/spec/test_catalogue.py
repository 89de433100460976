"""The catalogue: every LiPLANET row present, ids, units, ranges, additions, lookups."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinline.spec.catalogue import (
    CATEGORIES,
    JSON_KEYS,
    MODEL_TYPES,
    catalogue,
    header_comment,
    parse_catalogue,
)
from twinline.spec.errors import SpecError
from twinline.spec.steps import step_names
from twinline.spec.units import is_unit, ureg

#: Ids the chain reports; they must exist (agreed interface between the engineers).
AGREED_IDS = """
mixing.solid_content mixing.density mixing.viscosity mixing.solid_volume_fraction
coating.speed coating.gap coating.wet_film_thickness coating.loading coating.am_loading
coating.areal_capacity drying.line_speed drying.temperature drying.coating_thickness
drying.porosity drying.weight drying.energy_consumption drying.drying_time
drying.binder_migration_number drying.residual_solvent calendering.gap calendering.pressure
calendering.line_load calendering.speed calendering.temperature calendering.thickness
calendering.porosity calendering.cross_plane_tortuosity_factors
calendering.solid_tortuosity_factor calendering.effective_ionic_conductivity
calendering.active_surface calendering.cc_coverage_am calendering.cc_coverage_cbd
calendering.springback calendering.crack_risk slitting.slitting_speed
slitting.edge_defect_risk post_drying.temperature post_drying.time
post_drying.residual_moisture assembly.n_p_ratio assembly.stack_weight
assembly.scrap_probability filling.electrolyte_quantity filling.wetting_time
filling.wetting_degree formation.coulombic_efficiency formation.initial_capacity_loss
formation.internal_resistance formation.sei_lithium_loss formation.formation_time
""".split()


def test_every_liplanet_row_is_there_once():
    cat = catalogue()
    table_rows = cat.select(addition=False)
    assert len(table_rows) == 113  # Tables 5-12 of Zanotto2022
    assert len(cat) >= 113
    assert set(cat.steps()) == set(step_names())  # all nine steps covered
    counts = {s: len(cat.select(step=s, addition=False)) for s in step_names()}
    # per-table counts of the source (Tables 5-12), after moving the three post-drying
    # settings printed in the slitting part of Table 9 to post_drying
    assert counts == {"mixing": 18, "coating": 13, "drying": 16, "calendering": 16,
                      "slitting": 4, "post_drying": 11, "assembly": 13, "filling": 10,
                      "formation": 12}


def test_rows_are_well_formed():
    cat = catalogue()
    for p in cat.values():
        assert p.id == f"{p.step}.{p.snake_name}"
        assert p.snake_name == p.snake_name.lower() and " " not in p.snake_name
        assert p.step in step_names() and p.category in CATEGORIES
        assert is_unit(p.unit), p.id
        assert set(p.models) <= set(MODEL_TYPES)
        assert p.iri == "" or p.iri.startswith("https://w3id.org/emmo")
        if p.valid_range is not None:
            lo, hi = p.valid_range
            assert lo is None or hi is None or lo <= hi


def test_agreed_ids_exist_and_have_si_units():
    cat = catalogue()
    missing = [i for i in AGREED_IDS if i not in cat]
    assert not missing
    # the units the chain will convert to must be real pint units with an SI form
    reg = ureg()
    for i in AGREED_IDS:
        p = cat[i]
        assert reg.Quantity(1.0, p.unit or "").check(reg.Quantity(1.0, p.si_unit or "")
                                                     .dimensionality)


def test_valid_ranges_are_physical_bounds():
    cat = catalogue()
    for p in cat.values():
        if p.unit == "degC":
            assert p.valid_range is not None and p.valid_range[0] == -273.15, p.id
        if p.valid_range is not None and p.unit == "" and p.snake_name.endswith("porosity"):
            assert p.valid_range == (0.0, 1.0)
    # typical windows stay in the notes, not in the bounds: a 60 m/min coater is possible
    assert cat["coating.speed"].in_range(60.0) and not cat["coating.speed"].in_range(-1.0)
    assert "0.3-30 m/min" in cat["coating.speed"].notes


def test_calendering_machine_parameters():
    ids = {p.snake_name for p in catalogue().select(step="calendering", category="MP")}
    assert {"gap", "speed", "temperature"} <= ids
    assert ids & {"line_load", "pressure"} == {"line_load", "pressure"}


def test_units_convert_as_expected():
    cat = catalogue()
    assert cat["calendering.line_load"].to_si("1 kN/cm") == pytest.approx(1e5)
    assert cat["calendering.line_load"].to_si(2.0) == pytest.approx(2e5)  # bare = display unit
    assert cat["coating.gap"].to_si("300 um") == pytest.approx(3e-4)
    assert cat["calendering.temperature"].to_si("60 degC") == pytest.approx(333.15)
    assert cat["calendering.temperature"].from_si(333.15) == pytest.approx(60.0)
    assert cat["coating.loading"].from_si(0.2) == pytest.approx(20.0)  # kg/m² -> mg/cm²
    assert cat["drying.porosity"].si_unit == ""
    assert cat["mixing.solid_content"].to_si("65 %") == pytest.approx(0.65)


def test_fixes_of_the_conversion_artefacts_are_applied():
    cat = catalogue()
    # 'mbar' moved from the slitting-speed accuracy cell to the pressure row
    assert "mbar" not in cat["slitting.slitting_speed"].resolution
    assert cat["post_drying.pressure"].unit == "mbar"
    # post-drying one-row shift: thermo-hygrometer belongs to the dew point
    assert cat["post_drying.dew_point"].measured_by == "Thermo-hygrometer"
    assert cat["post_drying.binder_system"].measured_by == ""
    # Table 8 stray 'Peel test' in the ML slot is not a model type
    assert "ml" not in cat["calendering.adhesion"].models
    # prose beats misplaced N/A markers: the Heckel model uses roll temperature
    assert "empirical" in cat["calendering.temperature"].models
    assert "discrete" in cat["filling.wetting_time"].models
    # German technique translated
    assert "Karl-Fischer" in cat["slitting.residual_humidity"].measured_by
    assert "coulometrischen" not in cat["slitting.residual_humidity"].measured_by
    # Sec. 4.1 defines formulation and solid content as machine parameters
    assert cat["mixing.solid_content"].category == "MP"
    assert cat["mixing.formulation"].category == "MP"
    head = header_comment()
    assert "shifted up by one row" in head and "mbar" in head


def test_json_form_has_exactly_the_agreed_keys():
    d = catalogue()["calendering.porosity"].to_dict()
    assert tuple(d) == JSON_KEYS
    assert d["valid_range"] == [0.0, 1.0]
    assert d["iri"].startswith("https://w3id.org/emmo#EMMO_")


def test_filters():
    cat = catalogue()
    online = cat.select(online=True)
    assert online and all(p.online is True for p in online)
    sp = cat.select(category="sp")  # case-insensitive
    assert sp and all(p.category == "SP" for p in sp)
    with pytest.raises(SpecError, match="calendering"):
        cat.select(step="calender")
    with pytest.raises(SpecError, match="MP, PP, SP"):
        cat.select(category="XP")


def test_unknown_id_suggests_close_matches():
    cat = catalogue()
    with pytest.raises(SpecError, match=r"calendering\.line_load"):
        cat.get("calendering.lineload")
    with pytest.raises(SpecError, match=r"calendering\.line_load"):
        cat.get("line_load")
    assert cat.get("nope.nothing", None) is None


def test_csv_round_trip():
    cat = catalogue()
    again = parse_catalogue(cat.to_csv(), "round-trip")
    assert list(again) == list(cat)
    assert all(again[i] == cat[i] for i in cat)


@pytest.mark.parametrize("row, message", [
    ("mixing.x,mixing,X,MP,furlongz,,,,,,,,false,", "not a pint unit"),
    ("mixing.x,baking,X,MP,,,,,,,,,false,", "unknown step"),
    ("coating.x,mixing,X,MP,,,,,,,,,false,", "id must be"),
    ("mixing.x,mixing,X,XP,,,,,,,,,false,", "category"),
    ("mixing.x,mixing,X,MP,,,,,maybe,,,,false,", "true/false"),
    ("mixing.x,mixing,X,MP,,,,,,magic,,,false,", "model types"),
    ("mixing.x,mixing,X,MP,,,,,,,2..1,,false,", "lo > hi"),
])
def test_bad_catalogue_rows_are_refused(row, message):
    header = ",".join(["id", "step", "name", "category", "unit", "original_unit",
                       "measured_by", "resolution", "online", "models", "valid_range", "iri",
                       "addition", "notes"])
    with pytest.raises(SpecError, match=message):
        parse_catalogue(f"# comment\n{header}\n{row}\n")


def test_chain_outputs_convert_to_the_catalogue_display_units():
    """Interface check: every output a step reports has a catalogue unit it converts to."""
    from twinline.chain.outputs import STRUCTURE_OUTPUTS
    from twinline.process.registry import step_outputs
    from twinline.spec.units import to_unit

    cat = catalogue()
    rows = [(pid, out.si_unit) for s in step_names() for pid, out in step_outputs(s).items()]
    rows += [(pid, si) for pid, si, *_ in STRUCTURE_OUTPUTS]
    assert len(rows) > 40
    for pid, si in rows:
        p = cat[pid]
        to_unit(1.0, si, p.unit or "")  # raises DimensionalityError on a mismatch


@settings(max_examples=80, deadline=None)
@given(pid=st.sampled_from([p.id for p in catalogue().values() if p.unit]),
       value=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_display_unit_round_trip(pid, value):
    p = catalogue()[pid]
    assert p.from_si(p.to_si({"value": value, "unit": p.unit})) == pytest.approx(
        value, rel=1e-9, abs=1e-9)
