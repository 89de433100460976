"""`twinline recipe` verbs: check a recipe file (schema, units, ranges and materials)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

app = typer.Typer(help="Recipes: check a recipe file before running it.",
                  no_args_is_help=True)


def _q(pid: str, value_si: float | None) -> str:
    """An SI value shown in the catalogue's display unit of ``pid`` (``"-"`` if None)."""
    if value_si is None:
        return "-"
    from twinline.spec.catalogue import catalogue

    p = catalogue().get(pid)
    shown = p.from_si(value_si)
    if not p.unit:
        return f"{shown:.4g}"
    unit = {"percent": "%", "degC": "°C", "um": "µm"}.get(p.unit, p.unit)
    return f"{shown:.4g} {unit}"


def _electrode_table(side: str, el: Any, lib: Any):
    from rich.table import Table

    from twinline.spec.units import to_unit

    t = Table(title=f"{side}", show_header=True, title_justify="left")
    t.add_column("setting", style="bold")
    t.add_column("value", overflow="fold")
    f = el.formulation
    for slot in ("active_material", "conductive_additive", "binder"):
        comp = getattr(f, slot)
        t.add_row(slot.replace("_", " "), f"{comp.material}  {100 * comp.mass_fraction:.4g} wt%")
    t.add_row("solvent", f.solvent)
    foil = el.current_collector_thickness
    if foil is None:
        foil = lib[el.current_collector].get("thickness", None)
    t.add_row("current collector",
              f"{el.current_collector}" + ("" if foil is None else
                                            f"  {to_unit(foil, 'm', 'um'):.4g} µm"))
    t.add_row("mixing", f"solid content {_q('mixing.solid_content', el.mixing.solid_content)}, "
                        f"{_q('mixing.mixing_time', el.mixing.mixing_time)}, "
                        f"{_q('mixing.rotational_speed', el.mixing.rotational_speed)}, "
                        f"{_q('mixing.temperature', el.mixing.temperature)}")
    c = el.coating
    how = (f"gap {_q('coating.gap', c.gap)}" if c.method == "comma"
           else f"flow {_q('coating.flow_rate', c.flow_rate)}")
    t.add_row("coating", f"{c.method}, {how}, speed {_q('coating.speed', c.speed)}, "
                         f"width {_q('coating.width', c.width)}")
    zones = ", ".join(f"{_q('drying.temperature', z.temperature)} × "
                      f"{_q('drying.zone_length', z.length)}" for z in el.drying.zones)
    t.add_row("drying", f"{len(el.drying.zones)} zone(s): {zones}")
    k = el.calendering
    load = (f"line load {_q('calendering.line_load', k.line_load)}" if k.line_load is not None
            else f"pressure {_q('calendering.pressure', k.pressure)}")
    t.add_row("calendering", f"{load}, rolls {_q('calendering.temperature', k.roll_temperature)}"
                             f", {_q('calendering.speed', k.speed)}")
    t.add_row("slitting", f"{el.slitting.method}, "
                          f"{_q('slitting.slitting_speed', el.slitting.speed)}")
    pd = el.post_drying
    t.add_row("post-drying", f"{_q('post_drying.temperature', pd.temperature)}, "
                             f"{_q('post_drying.time', pd.time)}, {pd.atmosphere}")
    return t


def _check_model_names(rec: Any) -> None:
    """Every ``<step>.model`` of each electrode names a step model that exists."""
    from twinline.chain.steps import check_model_names

    check_model_names(rec)


def _check_tolerances(rec: Any) -> None:
    """Every ``tolerances`` key names a machine parameter of the recipe, with a valid unit."""
    if not rec.tolerances:
        return
    from twinline.chain.uncertainty import resolve_tolerances

    resolve_tolerances(rec, use_catalogue=False)


@app.command("check")
def check(
    file: Path = typer.Argument(..., metavar="FILE", help="recipe YAML file"),
    materials: list[Path] = typer.Option([], "--materials", "-m",
                                         help="extra materials file(s) (YAML)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="print only 'ok' or the error"),
) -> None:
    """Validate a recipe: schema, units, ranges and materials; print its key settings.

    Bad input prints one line naming the file, the parameter, the value and the expected
    unit/range, and exits with code 2.

    Example: twinline recipe check examples/nmc111_cathode.yaml
    """
    from twinline.cli.common import console, handle_errors
    from twinline.spec.errors import TwinlineError

    with handle_errors():
        from twinline.materials.check import check_recipe_materials, recipe_library
        from twinline.spec.recipe import load_recipe

        rec = load_recipe(file)
        try:
            lib = recipe_library(rec, *materials)
            notes = check_recipe_materials(rec, lib)
            _check_model_names(rec)
            _check_tolerances(rec)
        except TwinlineError as err:
            msg = str(err)
            raise type(err)(msg if msg.startswith(str(file)) else f"{file}: {msg}") from None
        if quiet:
            console.print(f"{file}: ok")
            return
        console.print(f"[bold]{rec.name}[/bold]  ({file})")
        if rec.description:
            console.print(rec.description)
        for side, el in rec.electrodes().items():
            console.print(_electrode_table(side, el, lib))
        if rec.cell is not None:
            cell = rec.cell
            console.print(f"cell: {cell.format}, {cell.layers} layers, separator "
                          f"{cell.separator}, electrolyte {cell.electrolyte}; filling factor "
                          f"{rec.filling.electrolyte_factor:g} × pore volume")
        for n in notes:
            console.print(f"[dim]materials {n}[/dim]")
        if rec.tolerances:
            tol = ", ".join(f"{k} ± {v}" for k, v in rec.tolerances.items())
            console.print(f"tolerances: {tol}")
        console.print("[green]ok[/green]: schema, units, ranges and materials are valid")



def recipe_defaults() -> list[dict[str, Any]]:
    """Every numeric/choice recipe setting with its default, unit, range and description.

    Rows are keyed by section path (``electrode.coating.speed``; ``electrode`` stands for
    ``cathode`` or ``anode``). Defaults are shown in the catalogue's display unit where the
    setting is a catalogue parameter, else in SI. Required settings have ``required=True``.
    """
    from pydantic import BaseModel
    from pydantic_core import PydanticUndefined

    from twinline.spec.catalogue import catalogue
    from twinline.spec.cell_recipe import CellSection, FillingSection, FormationSection
    from twinline.spec.fields import catalogue_id_for, field_spec
    from twinline.spec.recipe import (
        CalenderingSection,
        CoatingSection,
        DryingSection,
        DryingZone,
        MixingSection,
        PostDryingSection,
        SlittingSection,
    )

    sections = [("electrode.mixing", MixingSection), ("electrode.coating", CoatingSection),
                ("electrode.drying", DryingSection), ("electrode.drying.zones[]", DryingZone),
                ("electrode.calendering", CalenderingSection),
                ("electrode.slitting", SlittingSection),
                ("electrode.post_drying", PostDryingSection), ("cell", CellSection),
                ("filling", FillingSection), ("formation", FormationSection)]
    cat = catalogue()
    rows: list[dict[str, Any]] = []
    for path, cls in sections:
        for name, field in cls.model_fields.items():
            spec = field_spec(cls, name)
            si = spec.unit if spec is not None else ""
            rng = spec.range_text if spec is not None else ""
            required = field.default is PydanticUndefined and field.default_factory is None
            default = (None if required else
                       field.default_factory() if field.default_factory is not None
                       else field.default)
            if isinstance(default, BaseModel | list | dict):
                continue
            pid = catalogue_id_for(cls.__name__, name)
            shown, unit = default, si
            if pid is not None and isinstance(default, float):
                shown, unit = cat[pid].from_si(default), cat[pid].unit
            rows.append({"setting": f"{path}.{name}", "default": shown, "unit": unit,
                         "si_unit": si,
                         "range": rng, "required": required, "catalogue_id": pid,
                         "description": field.description or ""})
    return rows


@app.command("defaults")
def defaults(
    json_out: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
) -> None:
    """List every recipe setting with its default value and unit (used when it is missing).

    Example: twinline recipe defaults
    """
    import json

    from twinline.cli.common import console, handle_errors

    with handle_errors():
        rows = recipe_defaults()
        if json_out:
            typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        from rich.table import Table

        t = Table(title="recipe settings and their defaults")
        t.add_column("setting", no_wrap=True)
        for col in ("default", "allowed (SI)", "description"):
            t.add_column(col, overflow="fold")
        for r in rows:
            d = r["default"]
            shown = ("required" if r["required"] else "-" if d is None
                     else f"{d:.6g} {r['unit']}".rstrip() if isinstance(d, float)
                     else str(d))
            t.add_row(r["setting"], shown, r["range"], r["description"])
        console.print(t)
