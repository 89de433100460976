"""`twinline spec` verbs: browse and export the data specification (catalogue)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer

app = typer.Typer(help="The data specification: list, show and export the catalogue of "
                       "manufacturing parameters.", no_args_is_help=True)


class ListFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class ExportFormat(StrEnum):
    jsonschema = "jsonschema"
    jsonld = "jsonld"
    csv = "csv"


def _as_csv(rows: list[dict]) -> str:
    import csv
    import io

    from twinline.spec.catalogue import JSON_KEYS

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(JSON_KEYS), lineterminator="\n")
    w.writeheader()
    for r in rows:
        r = dict(r)
        r["models"] = ";".join(r["models"])
        vr = r["valid_range"]
        r["valid_range"] = "" if vr is None else "..".join(
            "" if v is None else f"{v:g}" for v in vr)
        r["online"] = "" if r["online"] is None else str(r["online"]).lower()
        r["iri"] = r["iri"] or ""
        w.writerow(r)
    return buf.getvalue()


@app.command("list")
def list_(
    step: str | None = typer.Option(None, "--step", "-s",
                                    help="only this step (mixing, coating, drying, "
                                         "calendering, slitting, post_drying, assembly, "
                                         "filling, formation)"),
    category: str | None = typer.Option(None, "--category", "-c",
                                        help="only this category: MP, PP or SP"),
    online: bool = typer.Option(False, "--online", help="only parameters measurable online"),
    fmt: ListFormat = typer.Option(ListFormat.table, "--format", "-f", help="output format"),
) -> None:
    """List catalogue parameters.

    Example: twinline spec list --step calendering --category MP
    """
    from twinline.cli.common import console, handle_errors

    with handle_errors():
        from twinline.spec.catalogue import catalogue

        params = catalogue().select(step=step, category=category,
                                    online=True if online else None)
        if fmt is ListFormat.json:
            typer.echo(json.dumps([p.to_dict() for p in params], indent=2, ensure_ascii=False))
            return
        if fmt is ListFormat.csv:
            typer.echo(_as_csv([p.to_dict() for p in params]), nl=False)
            return
        from rich.table import Table

        table = Table(title=f"{len(params)} parameters", show_lines=False)
        table.add_column("id", no_wrap=True)
        for col in ("cat", "unit", "measured by", "online", "models", "valid range"):
            table.add_column(col, overflow="fold")
        for p in params:
            table.add_row(p.id + (" [dim]+[/dim]" if p.addition else ""), p.category,
                          p.unit or "-", p.measured_by,
                          {True: "yes", False: "no", None: ""}[p.online],
                          " ".join(p.models), p.range_text())
        console.print(table)
        console.print("[dim]+ = addition to the LiPLANET tables (needed by twinline's "
                      "models)[/dim]")


@app.command("show")
def show(
    parameter_id: str = typer.Argument(..., metavar="ID", help="parameter id, e.g. "
                                                              "calendering.porosity"),
    fmt: ListFormat = typer.Option(ListFormat.table, "--format", "-f",
                                   help="table or json (csv: one row)"),
) -> None:
    """Show everything the catalogue knows about one parameter.

    Example: twinline spec show calendering.line_load
    """
    from twinline.cli.common import console, handle_errors

    with handle_errors():
        from twinline.spec.catalogue import catalogue

        p = catalogue().get(parameter_id)
        if fmt is ListFormat.json:
            d = p.to_dict()
            d.update(original_unit=p.original_unit, si_unit=p.si_unit, addition=p.addition,
                     notes=p.notes)
            typer.echo(json.dumps(d, indent=2, ensure_ascii=False))
            return
        if fmt is ListFormat.csv:
            typer.echo(_as_csv([p.to_dict()]), nl=False)
            return
        from rich.table import Table

        t = Table(show_header=False, title=p.id)
        t.add_column("field", style="bold")
        t.add_column("value", overflow="fold")
        rows = [("name", p.name), ("step", p.step), ("category", p.category),
                ("unit", p.unit or "dimensionless"), ("SI unit inside", p.si_unit or "-"),
                ("unit as printed", p.original_unit), ("measured by", p.measured_by),
                ("resolution", p.resolution),
                ("online", {True: "yes", False: "no", None: "n/a"}[p.online]),
                ("models", ", ".join(p.models)), ("valid range", p.range_text()),
                ("IRI", p.iri), ("addition", "yes" if p.addition else "no (LiPLANET table)"),
                ("notes", p.notes)]
        for k, v in rows:
            if v:
                t.add_row(k, v)
        console.print(t)


@app.command("export")
def export(
    fmt: ExportFormat = typer.Option(..., "--format", "-f",
                                     help="jsonschema (recipe schema), jsonld or csv "
                                          "(catalogue)"),
    out: Path | None = typer.Option(None, "--out", "-o", help="write to this file "
                                                              "(default: standard output)"),
) -> None:
    """Export the recipe JSON Schema or the catalogue (JSON-LD with EMMO IRIs, CSV).

    Example: twinline spec export --format jsonschema --out recipe.schema.json
    """
    from twinline.atomic import write_atomic
    from twinline.cli.common import err_console, fail, handle_errors

    with handle_errors():
        from twinline.outdir import check_writable_output
        from twinline.spec.export import export as do_export

        if out is not None:
            check_writable_output(out, "file")

        text = do_export(fmt.value)
        if out is None:
            typer.echo(text, nl=False)
        else:
            try:
                write_atomic(out, text)
            except OSError as err:
                raise fail(f"{out}: cannot write ({err.strerror})") from None
            err_console.print(f"wrote {out} ({len(text.encode()):,} bytes)")
