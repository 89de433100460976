"""`twinline materials` verbs: list and show the material library (built-in + user files)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

app = typer.Typer(help="The material library: list materials and show their properties "
                       "with units and sources.", no_args_is_help=True)

#: Unit in which a person reads each property (SI inside); others are shown in SI.
DISPLAY_UNITS: dict[str, str] = {
    "density": "g/cm^3", "specific_capacity": "mA*h/g", "particle_d10": "um",
    "particle_d50": "um", "particle_d90": "um", "thickness": "um", "viscosity": "mPa*s",
    "glass_transition_temperature": "degC", "melting_temperature": "degC",
    "boiling_point": "degC", "surface_tension": "mN/m", "contact_angle": "deg",
    "salt_concentration": "mol/L", "heat_of_vaporisation": "kJ/kg",
    "heat_capacity": "kJ/kg/K", "youngs_modulus": "GPa",
    "specific_surface_area": "m^2/g", "molar_mass": "g/mol", "compaction_pressure": "MPa",
    "conductivity": "mS/cm",
}


class Format(StrEnum):
    table = "table"
    json = "json"


def _display(prop: str, value: Any) -> tuple[str, str]:
    """(value text, unit text) of a property for people."""
    from twinline.materials import PROPERTY_UNITS
    from twinline.spec.units import to_unit

    si = PROPERTY_UNITS.get(prop)
    if si is None or not isinstance(value, int | float) or isinstance(value, bool):
        return str(value), ""
    unit = DISPLAY_UNITS.get(prop, si)
    shown = to_unit(value, si, unit) if unit != si else float(value)
    return f"{shown:.6g}", unit or "-"


@app.command("list")
def list_(
    kind: str | None = typer.Option(None, "--kind", "-k",
                                    help="only this kind (active_material, "
                                         "conductive_additive, binder, solvent, "
                                         "current_collector, separator, electrolyte)"),
    materials: list[Path] = typer.Option([], "--materials", "-m",
                                         help="extra materials file(s) (YAML)"),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="output format"),
) -> None:
    """List the materials (built-in plus --materials files).

    Example: twinline materials list --kind active_material
    """
    from twinline.cli.common import console, handle_errors

    with handle_errors():
        from twinline.materials import KINDS, load_library
        from twinline.spec.errors import MaterialError, quote

        if kind is not None and kind not in KINDS:
            raise MaterialError(f"unknown kind {quote(kind)}; kinds are {', '.join(KINDS)}")
        lib = load_library(*materials)
        mats = [m for m in lib.values() if kind is None or m.kind == kind]
        if fmt is Format.json:
            typer.echo(json.dumps([m.to_dict() for m in mats], indent=2, ensure_ascii=False))
            return
        from rich.table import Table

        t = Table(title=f"{len(mats)} materials")
        for col in ("name", "kind", "density", "description"):
            t.add_column(col, overflow="fold")
        for m in mats:
            dens = " ".join(_display("density", m.properties["density"])) \
                if "density" in m.properties else ""
            t.add_row(m.name, m.kind, dens, m.description)
        console.print(t)


@app.command("show")
def show(
    name: str = typer.Argument(..., metavar="NAME", help="material name, e.g. NMC111"),
    materials: list[Path] = typer.Option([], "--materials", "-m",
                                         help="extra materials file(s) (YAML)"),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="output format"),
) -> None:
    """Show a material's properties with units and the source of each value.

    Example: twinline materials show NMP
    """
    from twinline.cli.common import console, handle_errors

    with handle_errors():
        from twinline.materials import load_library

        m = load_library(*materials)[name]
        if fmt is Format.json:
            typer.echo(json.dumps(m.to_dict(), indent=2, ensure_ascii=False))
            return
        from rich.table import Table

        t = Table(title=f"{m.name} ({m.kind})", caption=m.description)
        for col in ("property", "value", "unit", "source"):
            t.add_column(col, overflow="fold")
        for k, v in m.properties.items():
            val, unit = _display(k, v)
            t.add_row(k, val, unit, m.source(k))
        console.print(t)
