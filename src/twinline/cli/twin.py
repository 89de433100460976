"""The twin loop's verbs: ``twinline twin run|replay|predict|alarms`` and ``twinline twin
calibration list|show|rollback`` (thin layers over :mod:`twinline.twin.loop`,
:mod:`twinline.twin.live` and :mod:`twinline.twin.replay`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from twinline.cli.common import QUIET_HELP, console, handle_errors, progress_bar

DB_HELP = ("database: an SQLite file (default twinline.db in the working folder) or an "
           "SQLAlchemy URL such as postgresql+psycopg://user@host:5432/line")

app = typer.Typer(help="The twin loop: predict before measure, learn from the line, watch it.",
                  no_args_is_help=True)
calibration_app = typer.Typer(help="The calibration's stored versions: list, show, roll back.",
                              no_args_is_help=True)
app.add_typer(calibration_app, name="calibration")


def _open(db: str):
    from twinline.twin.store import Store

    return Store.open(db, create=False)


def _recipe(path: Path):
    from twinline.spec.recipe import load_recipe

    return load_recipe(path)


@app.command("replay")
def replay_cmd(file: Path = typer.Argument(..., help="long-format CSV or Parquet file "
                                           "(the ingestion format)"),
               recipe: Path = typer.Option(..., "--recipe", help="base recipe YAML"),
               db: str | None = typer.Option(None, "--db", help=DB_HELP + "; default a "
                                             "temporary database, removed afterwards"),
               out: Path | None = typer.Option(None, "--json", help="write the rows and the "
                                               "summary as JSON to this file"),
               seed: int = typer.Option(0, "--seed", help="seed of the Monte Carlo"),
               samples: int = typer.Option(0, "--samples", help="Monte Carlo samples over "
                                           "the machine tolerances per prediction"),
               groups_kept: int | None = typer.Option(None, "--groups-kept", min=1,
                                                      help="keep the offsets of only this "
                                                      "many recent batches and rolls in "
                                                      "the calibration (default all; "
                                                      "'twin run' keeps 8)"),
               quiet: bool = typer.Option(False, "--quiet", help=QUIET_HELP)) -> None:
    """Stream a recorded file through the twin in time order, as if live: every measurement
    is predicted from everything before it (static: the package defaults; twin: the
    calibration at that moment), then stored and learnt from.

    Example: twinline twin replay line.csv --recipe examples/nmc111_cathode.yaml --json r.json
    """
    with handle_errors():
        from twinline.twin.errors import TwinError
        from twinline.twin.replay import replay

        if not file.is_file():
            raise TwinError(f"{file}: no such file")
        if out is not None:
            from twinline.outdir import check_writable_output

            check_writable_output(out, "file")
        base = _recipe(recipe)
        with progress_bar("replay", quiet=quiet) as bar:
            def progress(done: int, total: int) -> None:
                bar(done, total=total)

            if db is None:
                result = replay(file, base, seed=seed, samples=samples, progress=progress,
                                groups_kept=groups_kept)
            else:
                from twinline.twin.store import Store

                with Store.open(db, create=True) as store:
                    result = replay(file, base, store=store, seed=seed, samples=samples,
                                    progress=progress, groups_kept=groups_kept)
        if out is not None:
            from twinline.atomic import write_atomic

            write_atomic(out, json.dumps(result.to_dict(), indent=1))
        from rich.table import Table

        table = Table(title=f"{file.name}: {len(result.rows)} measurements predicted, "
                            f"{result.updates} calibration updates, {result.alarms} alarms")
        for col in ("parameter", "n", "median |err| static %", "median |err| twin %",
                    "RMSE static", "RMSE twin", "coverage 90 %"):
            table.add_column(col)
        for par, s in result.summary.items():
            table.add_row(par, str(s["n"]), f"{s['median_abs_pct_static']:.2f}",
                          f"{s['median_abs_pct_twin']:.2f}", f"{s['rmse_static']:.4g}",
                          f"{s['rmse_twin']:.4g}", f"{100 * s['coverage_90']:.0f}")
        console.print(table)


@app.command("run")
def run_cmd(recipe: Path = typer.Option(..., "--recipe", help="base recipe YAML"),
            db: str = typer.Option("twinline.db", "--db", help=DB_HELP),
            source: str | None = typer.Option(None, "--from", help="OPC UA endpoint "
                                              "opc.tcp://HOST:PORT to ingest from (with "
                                              "--map); without it the loop follows --db as "
                                              "another process fills it"),
            map_path: Path | None = typer.Option(None, "--map", help="tag map YAML (twinline "
                                                 "line simulate --write-map writes one); "
                                                 "without --from: the order and the series "
                                                 "of the records the loop follows"),
            duration: str = typer.Option("", "--duration", help="stop after this long (e.g. "
                                         "10min; default: until Ctrl-C / SIGTERM)"),
            name: str = typer.Option("default", "--name", help="the loop's name: its "
                                     "position in the store is kept under it"),
            seed: int = typer.Option(0, "--seed", help="seed of the Monte Carlo"),
            samples: int = typer.Option(0, "--samples", help="Monte Carlo samples over the "
                                        "machine tolerances per prediction"),
            groups_kept: int = typer.Option(8, "--groups-kept", min=1, help="keep the offsets "
                                            "of only this many recent batches and rolls in "
                                            "the calibration"),
            as_json: bool = typer.Option(False, "--json", help="print the counts as JSON")
            ) -> None:
    """Keep the twin current as the line's data arrive: predict every step before its
    measurements, store residuals, update the calibration, watch with the alarm policy.

    With --from/--map it ingests over OPC UA itself; otherwise it follows a database that
    'twinline ingest' or 'twinline line ingest' fills, taking each time once all tags
    are stored up to it, and resumes after its stored position when restarted.

    Example: twinline twin run --from opc.tcp://127.0.0.1:4840 --map tags.yaml --db line.db
    --recipe examples/nmc111_cathode.yaml --duration 10min
    """
    with handle_errors():
        from twinline.twin.errors import TwinError
        from twinline.twin.line.simulate import parse_quantity_option

        seconds = parse_quantity_option("--duration", duration, "s") if duration else None
        if source is not None and map_path is None:
            raise TwinError("--from needs --map (the tag map of the OPC UA endpoint)")
        if map_path is not None and not map_path.is_file():
            raise TwinError(f"--map {map_path}: no such file")
        if samples < 0:
            raise TwinError(f"--samples {samples}: must be >= 0")
        base = _recipe(recipe)
        if source is not None:
            from twinline.twin.live import run_opcua

            stats = run_opcua(source, map_path, db, base, name=name, duration=seconds,
                              seed=seed, samples=samples, groups_kept=groups_kept)
        else:
            from twinline.twin.live import run_store

            stats = run_store(db, base, name=name, map_path=map_path, duration=seconds,
                              seed=seed, samples=samples, groups_kept=groups_kept)
    if as_json:
        typer.echo(json.dumps(stats.to_dict()))
        return
    console.print(f"processed {stats.steps} steps at {stats.times} times: "
                  f"{stats.measurements} measurements predicted, {stats.updates} calibration "
                  f"updates, {stats.alarms} alarms; position {stats.position or '-'}",
                  highlight=False)


@app.command("predict")
def predict_cmd(object_id: str = typer.Argument(..., metavar="OBJECT", help="the line's id"),
                recipe: Path = typer.Option(..., "--recipe", help="base recipe YAML"),
                db: str = typer.Option("twinline.db", "--db", help=DB_HELP),
                as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Predict every catalogue output of an object from its effective settings with the
    active calibration, and store the predictions with the calibration version.

    Example: twinline twin predict CR-0001 --recipe examples/nmc111_cathode.yaml --db line.db
    """
    with handle_errors():
        from twinline.twin.loop import TwinLoop

        base = _recipe(recipe)
        with _open(db) as store:
            store.trace(object_id)  # an unknown object: one-line error before any work
            loop = TwinLoop(store, base)
            ctx = loop.context(object_id)
            result = loop.predict_object(object_id, context=ctx)
            version = loop.calibration.id
        if as_json:
            typer.echo(json.dumps({"object": object_id, "calibration": version,
                                   "groups": ctx.groups, "skipped_settings": ctx.skipped,
                                   "predictions": {k: {"mean": m, "std": s}
                                                   for k, (m, s) in result.items()}}))
            return
        from rich.table import Table

        table = Table(title=f"{object_id}: calibration {version}, groups {ctx.groups}")
        for col in ("output", "mean (SI)", "std (SI)"):
            table.add_column(col)
        for k, (m, s) in result.items():
            table.add_row(k, f"{m:.5g}", f"{s:.3g}")
        console.print(table)


@calibration_app.command("list")
def calibration_list(db: str = typer.Option("twinline.db", "--db", help=DB_HELP),
                     as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """List the stored calibration versions, oldest first (* marks the active one).

    Example: twinline twin calibration list --db line.db
    """
    with handle_errors():
        with _open(db) as store:
            versions = store.calibrations()
        if as_json:
            typer.echo(json.dumps(versions))
            return
        for v in versions:
            mark = "*" if v["active"] else " "
            typer.echo(f"{mark} {v['version']}  parent {v['parent'] or '-':16}  "
                       f"{v['created']}  {v['measurements']} measurements")


@calibration_app.command("show")
def calibration_show(version: str = typer.Argument(..., metavar="V", help="version id"),
                     db: str = typer.Option("twinline.db", "--db", help=DB_HELP),
                     as_json: bool = typer.Option(False, "--json", help="print the stored "
                                                  "state as JSON")) -> None:
    """Show one calibration version: each constant's posterior mean and 90 % interval, and
    its group offsets.

    Example: twinline twin calibration show 3f2a9c0d1e2b4a5c --db line.db
    """
    with handle_errors():
        from twinline.twin.calibration import Calibration

        with _open(db) as store:
            state = store.calibration_state(version)
        if as_json:
            typer.echo(json.dumps(state))
            return
        cal = Calibration.from_dict(state)
        typer.echo(f"calibration {cal.id} (parent {cal.parent_id or '-'}), "
                   f"{len(cal.measurements)} measurements")
        for i, spec in enumerate(cal.constants):
            z, sd = float(cal.mean[i]), float(cal.cov[i, i]) ** 0.5
            lo, hi = spec.from_z(z - 1.645 * sd), spec.from_z(z + 1.645 * sd)
            typer.echo(f"  {spec.name} = {spec.from_z(z):.5g}  (90 %: {lo:.5g} .. {hi:.5g}; "
                       f"prior {spec.prior_mean:.5g})")
        for j in range(len(cal.constants), len(cal.labels)):
            typer.echo(f"  {cal.labels[j]}: offset {cal.mean[j]:+.4f} ± "
                       f"{float(cal.cov[j, j]) ** 0.5:.4f} (transformed)")


@calibration_app.command("rollback")
def calibration_rollback(version: str = typer.Argument(..., metavar="V",
                                                       help="version to make active"),
                         db: str = typer.Option("twinline.db", "--db", help=DB_HELP)) -> None:
    """Make an earlier calibration version the active one (predictions use it from now on).

    Example: twinline twin calibration rollback 3f2a9c0d1e2b4a5c --db line.db
    """
    with handle_errors():
        with _open(db) as store:
            store.activate_calibration(version)
        typer.echo(f"active calibration: {version}")


@app.command("alarms")
def alarms_cmd(db: str = typer.Option("twinline.db", "--db", help=DB_HELP),
               parameter: str | None = typer.Option(None, "--parameter", help="only this "
                                                    "parameter"),
               as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Print the stored SPC alarms (object, parameter, series, rule, time, value).

    Example: twinline twin alarms --db line.db --json
    """
    with handle_errors():
        with _open(db) as store:
            alarms: list[dict[str, Any]] = store.alarms(parameter=parameter)
        if as_json:
            typer.echo(json.dumps(alarms))
            return
        if not alarms:
            typer.echo("no alarms")
        for a in alarms:
            typer.echo(f"{a['time']}  {a['object']}  {a['parameter']} ({a['series']})  "
                       f"{a['rule']}: {a['message']}")


def register(main: typer.Typer) -> None:
    """Add ``twinline twin ...`` to ``main``."""
    main.add_typer(app, name="twin")
