"""The line's data verbs: ``twinline db upgrade|stats|check``, ``twinline trace``,
``twinline track`` and ``twinline ingest`` (thin layers over :mod:`twinline.twin`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from twinline.cli.common import console, handle_errors

DB_HELP = ("database: an SQLite file (default twinline.db in the working folder) or an "
           "SQLAlchemy URL such as postgresql+psycopg://user@host:5432/line")

db_app = typer.Typer(help="The line's database: migrate it, count it, check it.",
                     no_args_is_help=True)


def _open(db: str, *, create: bool = False):
    from twinline.twin.store import Store

    return Store.open(db, create=create)


@db_app.command("upgrade")
def db_upgrade(db: str = typer.Option("twinline.db", "--db", help=DB_HELP)) -> None:
    """Create the database, or migrate it to this twinline's schema (Alembic).

    Example: twinline db upgrade --db line.db
    """
    with handle_errors():
        from twinline.twin.store import Store
        from twinline.twin.store.store import database_url

        url = database_url(db)
        if url.startswith("sqlite:///"):
            folder = Path(url.removeprefix("sqlite:///")).parent
            if not folder.is_dir():
                from twinline.twin.errors import StoreError

                raise StoreError(f"--db {db}: the folder {folder} does not exist")
        before, after = Store.upgrade_database(db)
        if before == after:
            typer.echo(f"{db}: already at schema revision {after}")
        else:
            typer.echo(f"{db}: schema revision {before or '(new database)'} -> {after}")


@db_app.command("stats")
def db_stats(db: str = typer.Option("twinline.db", "--db", help=DB_HELP),
             as_json: bool = typer.Option(False, "--json", help="print JSON: objects, edges, "
                                                                "settings, measurements")) -> None:
    """Count the objects, genealogy edges, settings and measurements.

    Example: twinline db stats --db line.db --json
    """
    with handle_errors():
        with _open(db) as store:
            counts = store.stats()
        if as_json:
            typer.echo(json.dumps(counts))
            return
        from rich.table import Table

        table = Table(title=f"{db}", show_header=True)
        table.add_column("what")
        table.add_column("count", justify="right")
        for key, value in counts.items():
            table.add_row(key, f"{value:,}")
        console.print(table)


@db_app.command("check")
def db_check(db: str = typer.Option("twinline.db", "--db", help=DB_HELP)) -> None:
    """Check the database's integrity: foreign keys, orphan objects, duplicate natural
    keys, genealogy cycles. Exit 0 when healthy; exit 1 with the problems, one per line.

    Example: twinline db check --db line.db
    """
    with handle_errors():
        with _open(db) as store:
            problems = store.check()
    if problems:
        for p in problems:
            typer.echo(p)
        raise typer.Exit(1)
    typer.echo(f"{db}: healthy")


def _shown(parameter: str, value: float | None, text: str | None, unit: str) -> str:
    """A stored value in the unit it was given in."""
    if value is None:
        return str(text)
    from twinline.spec.units import to_unit
    from twinline.twin.ingest.parameters import resolve

    try:
        shown = to_unit(value, resolve(parameter).si_unit, unit) if unit else value
    except Exception:  # a unit stored by another tool: show SI
        return f"{value:.6g} (SI)"
    return f"{shown:.6g} {unit}".rstrip()


def _print_lineage(entries: list[Any], title: str) -> None:
    from rich.markup import escape
    from rich.text import Text
    from rich.tree import Tree

    class _Node:  # labels fold instead of being cut at the terminal's width
        def __init__(self, tree: Tree) -> None:
            self.tree = tree

        def add(self, markup: str) -> _Node:
            return _Node(self.tree.add(Text.from_markup(markup, overflow="fold")))

    tree = Tree(Text(title, overflow="fold"))
    root = _Node(tree)
    for e in entries:
        head = (f"[bold]{escape(e.object_id)}[/bold]  {e.kind}  depth {e.depth}"
                + (f"  <- {escape(', '.join(sorted(e.parents)))}" if e.parents else ""))
        node = root.add(head)
        for s in e.settings:
            cond = "  " + escape(f"[{s['conditions']}]") if s["conditions"] else ""
            node.add(f"setting  {escape(s['parameter'])} = "
                     f"{escape(_shown(s['parameter'], s['value'], s['text'], s['unit']))}{cond}")
        groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for m in e.measurements:
            groups.setdefault((m["parameter"], m["conditions"], m["unit"]), []).append(m)
        for (par, cond, unit), ms in groups.items():
            c = "  " + escape(f"[{cond}]") if cond else ""
            if len(ms) == 1:
                m = ms[0]
                node.add(f"measured {escape(par)} = "
                         f"{escape(_shown(par, m['value'], m['text'], unit))}{c}")
                continue
            vals = [m["value"] for m in ms if m["value"] is not None]
            if not vals:
                node.add(f"measured {escape(par)}: {len(ms)} readings{c}")
                continue
            mean = sum(vals) / len(vals)
            node.add(f"measured {escape(par)}: {len(ms)} readings, mean "
                     f"{escape(_shown(par, mean, None, unit))}, range "
                     f"{escape(_shown(par, min(vals), None, unit))} .. "
                     f"{escape(_shown(par, max(vals), None, unit))}{c}")
    console.print(tree)


def _lineage(object_id: str, db: str, as_json: bool, *, up: bool) -> None:
    with handle_errors():
        with _open(db) as store:
            entries = store.trace(object_id) if up else store.track(object_id)
        if as_json:
            typer.echo(json.dumps([e.to_dict() for e in entries]))
            return
        what = "upstream history" if up else "downstream objects"
        _print_lineage(entries, f"{what} of {object_id} ({len(entries) - 1} "
                                f"{'ancestors' if up else 'descendants'})")


def trace(object_id: str = typer.Argument(..., metavar="OBJECT", help="the line's id"),
          db: str = typer.Option("twinline.db", "--db", help=DB_HELP),
          as_json: bool = typer.Option(False, "--json", help="print a JSON list: object, "
                                       "kind, depth, parents, settings, measurements")) -> None:
    """Trace an object upstream: it and every ancestor (depth 1 = its parents ...) with
    settings and measurements.

    Example: twinline trace DISC-0042 --db line.db
    """
    _lineage(object_id, db, as_json, up=True)


def track(object_id: str = typer.Argument(..., metavar="OBJECT", help="the line's id"),
          db: str = typer.Option("twinline.db", "--db", help=DB_HELP),
          as_json: bool = typer.Option(False, "--json", help="print a JSON list: object, "
                                       "kind, depth, parents, settings, measurements")) -> None:
    """Track an object downstream: it and every descendant (depth 1 = its children ...).

    Example: twinline track SB-2019-06-13 --db line.db --json
    """
    _lineage(object_id, db, as_json, up=False)


def ingest(file: Path = typer.Argument(..., help="CSV or Parquet file, long format (columns "
                                       "time, object, kind, parent, parameter, value, unit, "
                                       "role, conditions) or wide with --map"),
           db: str = typer.Option("twinline.db", "--db", help=DB_HELP),
           wide_map: Path | None = typer.Option(None, "--map", help="YAML map of a wide file "
                                                "(column -> parameter, unit, role)"),
           source: str | None = typer.Option(None, "--source", help="source name of the rows "
                                             "(default: the file's name); part of the natural "
                                             "key that makes re-ingesting a no-op"),
           as_json: bool = typer.Option(False, "--json", help="print the counts as JSON")
           ) -> None:
    """Store a file of the line's settings and measurements, all or nothing.

    Every row is checked (unit against the catalogue, number, range, time not in the future,
    kind, parent, no genealogy cycle); any bad row stores nothing and exits 2 listing the bad
    rows as FILE:LINE: reason. Re-ingesting the same file adds nothing.

    Example: twinline ingest coating.csv --db line.db;
    twinline ingest gauges.parquet --map examples/line_data/coating_wide.map.yaml
    """
    with handle_errors():
        from twinline.twin.ingest.files import prepare, store_prepared

        if not file.is_file():
            from twinline.twin.errors import IngestError

            raise IngestError(f"{file}: no such file")
        prep = prepare(file, wide_map=wide_map, source=source)  # check before opening
        with _open(db, create=True) as store:
            result = store_prepared(store, prep)
        if as_json:
            typer.echo(json.dumps(result.to_dict()))
            return
        rate = result.rows / result.seconds if result.seconds > 0 else float("inf")
        typer.echo(f"{file.name}: {result.new} new, {result.already} already stored "
                   f"({result.objects} new objects, {result.edges} new edges; "
                   f"{result.seconds:.2f} s, {rate:,.0f} rows/s)")


def register(app: typer.Typer) -> None:
    """Add the line's data verbs to ``app``."""
    app.add_typer(db_app, name="db")
    app.command("trace")(trace)
    app.command("track")(track)
    app.command("ingest")(ingest)
