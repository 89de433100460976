"""The manufacturing part of an EU battery-passport record (Regulation (EU) 2023/1542).

The regulation's passport (Art. 77, Annex XIII) carries, among much else, the battery's
carbon footprint per kWh and its share per life-cycle stage (Art. 7, Annex II), its
materials, the manufacturing date and place, and its rated capacity and energy. A twin of
cell production can compute part of that: :func:`passport` fills it from a chain run (the
cell model's capacity and energy, the cell's materials and masses), a plant (the production
footprint, :mod:`twinline.factory.carbon`) and what the user states (date, place, the
twin store's traceability ids). The record validates against
``twinline/factory/data/passport.schema.json`` (:func:`validate_passport`).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from twinline.factory.errors import FactoryError
from twinline.factory.plant import Plant

__all__ = ["SCHEMA_PATH", "passport", "schema", "validate_passport"]

SCHEMA_PATH = Path(__file__).with_name("data") / "passport.schema.json"


@cache
def _schema_text() -> str:
    return SCHEMA_PATH.read_text("utf-8")


def schema() -> dict[str, Any]:
    """The JSON Schema of the record (a fresh copy)."""
    return json.loads(_schema_text())


def passport(run: Any, plant: Plant, *, date: str | None = None, place: str | None = None,
             ids: dict[str, str] | None = None) -> dict[str, Any]:
    """The passport record of the cell of ``run`` made in ``plant``.

    Parameters
    ----------
    run : Run
        A chain run made with ``cell=True``.
    plant : Plant
        Its ``manufacturing_date`` and ``location`` are used unless ``date``/``place`` say
        otherwise.
    date, place : str, optional
        Manufacturing date (ISO 8601, ``2026-12-01``) and place, as given.
    ids : dict, optional
        Traceability ids of the twin's store (``{"store": "sqlite:///line.db", "lot": ...}``).

    Raises
    ------
    FactoryError
        The run has no cell, or ``date`` is not an ISO date.
    """
    from datetime import date as _date

    from twinline.factory.carbon import carbon
    from twinline.factory.flows import cell_bill

    day = date if date is not None else plant.manufacturing_date
    if day is not None:
        try:
            _date.fromisoformat(str(day)[:10])
        except ValueError:
            raise FactoryError(f"manufacturing date {day!r} is not an ISO date "
                               "(YYYY-MM-DD)") from None
    bill = cell_bill(run)
    co2 = carbon(bill, plant)
    total = co2.total_per_kWh
    share = {k: (None if v is None or total <= 0 else v / total)
             for k, v in co2.by_stage.items()}
    mats: list[dict[str, Any]] = []
    for path, e in bill.electrodes().items():
        roles = ("active material", "conductive additive", "binder")
        for (name, mass), role in zip(e.solids.items(), roles, strict=True):
            mats.append({"name": name, "role": f"{path} {role}", "mass_kg": mass})
        mats.append({"name": e.foil, "role": f"{path} current collector",
                     "mass_kg": e.foil_mass})
    mats += [{"name": bill.separator, "role": "separator", "mass_kg": bill.separator_mass},
             {"name": bill.electrolyte, "role": "electrolyte", "mass_kg": bill.electrolyte_mass},
             {"name": "tabs", "role": "tabs", "mass_kg": bill.tabs_mass},
             {"name": "casing", "role": "casing", "mass_kg": bill.casing_mass}]
    version = dict(getattr(run, "versions", {}) or {}).get("twinline", "unknown")
    return {
        "schema_version": "twinline-passport-manufacturing/1",
        "regulation": "Regulation (EU) 2023/1542",
        "battery_model": {
            "identifier": bill.recipe_name, "category": "cell (twinline model)",
            "format": bill.format,
            "chemistry": {"cathode_active_material": next(iter(bill.cathode.solids)),
                          "anode_active_material": next(iter(bill.anode.solids)),
                          "electrolyte": bill.electrolyte}},
        "manufacturing": {"date": None if day is None else str(day),
                          "place": place if place is not None else (plant.location or None),
                          "plant": plant.name},
        "rated_capacity_Ah": bill.capacity, "rated_energy_Wh": bill.energy,
        "nominal_voltage_V": bill.nominal_voltage, "mass_kg": bill.cell_mass,
        "carbon_footprint": {
            "total_kg_CO2e_per_kWh": total,
            "by_life_cycle_stage_kg_CO2e_per_kWh": co2.by_stage,
            "share_by_life_cycle_stage": share,
            "grid_intensity_kg_CO2e_per_kWh": co2.grid_intensity,
            "heat_intensity_kg_CO2e_per_kWh": co2.heat_intensity,
            "materials_without_figure": co2.materials_without_figure,
            "method": ("twinline factory model: plant electricity and heat per kWh times the "
                       "given carbon intensities, plus cradle-to-gate material footprints "
                       "where a figure is given; distribution and end of life not computed")},
        "materials": mats,
        "traceability": {"recipe": bill.recipe_name,
                         "run_created": str(getattr(run, "created", "") or ""),
                         "ids": {str(k): str(v) for k, v in (ids or {}).items()}},
        "generated_by": f"twinline {version}",
    }


def validate_passport(record: dict[str, Any]) -> None:
    """Check a record against the shipped schema (needs ``jsonschema``).

    Raises
    ------
    FactoryError
        The record does not validate (the message names the field), or ``jsonschema`` is
        not installed.
    """
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - installed with the test extras
        raise FactoryError("validating a passport needs jsonschema: pip install "
                           "jsonschema") from None
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(record), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.path) or "(record)"
        raise FactoryError(f"passport record invalid at {where}: {e.message[:300]}")
