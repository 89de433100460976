"""The twin loop's verbs: ``twinline twin run|replay|predict|alarms|capability|recommend`` and
``twinline twin calibration list|show|rollback`` (thin layers over :mod:`twinline.twin.loop`,
:mod:`twinline.twin.live`, :mod:`twinline.twin.replay`, :mod:`twinline.twin.capability` and
:mod:`twinline.twin.recommend`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from twinline.cli.common import QUIET_HELP, console, handle_errors, progress_bar

DB_HELP = ("database: an SQLite file (default twinline.db in the working folder) or an "
           "SQLAlchemy URL such as postgresql+psycopg://user@host:5432/line")

app = typer.Typer(help="The twin loop: predict before measure, learn from the line, watch it, "
                       "recommend settings.",
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
            table.add_column(col, overflow="fold")  # folded, never cut with "…"
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
                samples: int = typer.Option(64, "--samples", help="Monte Carlo samples over "
                                            "the recipe's machine tolerances (0: none)"),
                seed: int = typer.Option(0, "--seed", help="seed of the Monte Carlo"),
                as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Predict every catalogue output of an object from its effective settings with the
    active calibration, and store the predictions with the calibration version. The
    uncertainty combines the calibration's posterior, the model's error and the machine
    tolerances (Monte Carlo).

    Example: twinline twin predict CR-0001 --recipe examples/nmc111_cathode.yaml --db line.db
    """
    with handle_errors():
        from twinline.twin.errors import TwinError
        from twinline.twin.loop import TwinLoop

        base = _recipe(recipe)
        with _open(db) as store:
            store.trace(object_id)  # an unknown object: one-line error before any work
            if samples < 0:
                raise TwinError(f"--samples = {samples}: must be >= 0")
            loop = TwinLoop(store, base, samples=samples, seed=seed)
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
            table.add_column(col, overflow="fold")  # folded, never cut with "…"
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


@app.command("capability")
def capability_cmd(recipe: Path = typer.Option(..., "--recipe", help="recipe YAML whose "
                                               "spec_limits section gives the limits"),
                   db: str = typer.Option("twinline.db", "--db", help=DB_HELP),
                   as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Print Cp and Cpk of every measured parameter with specification limits (moving-range
    sigma; n, mean and the limits in the catalogue's units).

    Example: twinline twin capability --recipe line_recipe.yaml --db line.db
    """
    with handle_errors():
        from twinline.twin.capability import CPK_REQUIRED, capability_table
        from twinline.twin.errors import TwinError

        base = _recipe(recipe)
        if not base.spec_limits:
            raise TwinError(f"{recipe}: the recipe has no spec_limits section (e.g. "
                            "spec_limits: {cathode.calendering.porosity: {lower: 28 %, "
                            "upper: 32 %}})")
        with _open(db) as store:
            rows = capability_table(store, base.spec_limits)
        if as_json:
            typer.echo(json.dumps([r.to_dict() for r in rows]))
            return
        if not rows:
            typer.echo(f"no measurements of {sorted(base.spec_limits)} in {db}")
            return
        from rich.table import Table

        from twinline.spec.spec_limits import output_parameter

        def shown(par: str, x: float | None) -> str:
            return "-" if x is None or x != x else f"{output_parameter(par).from_si(x):.4g}"

        def index(x: float) -> str:
            low = f" (< {CPK_REQUIRED:g})" if x < CPK_REQUIRED else ""
            return "-" if x != x else f"{x:.2f}{low}"

        table = Table(title=f"capability against the specification limits of {recipe.name}")
        for col in ("parameter", "unit", "n", "LSL", "USL", "mean", "sigma (MR)", "Cp",
                    "Cpk"):
            table.add_column(col, overflow="fold")  # folded, never cut with "…"
        for r in rows:
            label = f"{r.parameter} [{r.conditions}]" if r.conditions else r.parameter
            p = output_parameter(r.parameter)  # a spread converts without the offset
            sigma = "-" if r.sigma != r.sigma else f"{p.from_si(r.sigma) - p.from_si(0.0):.3g}"
            table.add_row(label, r.shown_unit or "-", str(r.n), shown(r.parameter, r.lower),
                          shown(r.parameter, r.upper), shown(r.parameter, r.mean), sigma,
                          "-" if r.cp != r.cp else f"{r.cp:.2f}", index(r.cpk))
        console.print(table)


@app.command("recommend")
def recommend_cmd(recipe: Path = typer.Option(..., "--recipe", help="base recipe YAML"),
                  target: list[str] = typer.Option(..., "--target", help="NAME=VALUE±TOL "
                                                   "with units, e.g. "
                                                   "cathode.calendering.porosity=0.30±0.01; "
                                                   "repeat for more"),
                  adjust: str | None = typer.Option(None, "--adjust", help="recipe paths of "
                                                    "the settings to adjust, comma-separated "
                                                    "(default: the gap for coating targets, "
                                                    "the line load or pressure for "
                                                    "calendering targets)"),
                  db: str | None = typer.Option(None, "--db", help=DB_HELP + "; its active "
                                                "calibration is used (none: the package "
                                                "defaults)"),
                  object_id: str | None = typer.Option(None, "--object", help="start from "
                                                       "this object's effective settings and "
                                                       "batch"),
                  window: list[str] = typer.Option([], "--window", help="machine window "
                                                   "PATH=LOW..HIGH with units (default: the "
                                                   "field's admissible range)"),
                  samples: int = typer.Option(64, "--samples", help="Monte Carlo samples "
                                              "over the machine tolerances (uncertainty)"),
                  seed: int = typer.Option(0, "--seed", help="seed of the Monte Carlo"),
                  out: Path | None = typer.Option(None, "--json", help="write the "
                                                  "recommendation as JSON to this file")
                  ) -> None:
    """Propose settings for the next object that reach target outputs with the calibrated
    twin; refuse, saying why, targets the adjustable settings cannot reach. Exit code 1 when
    a target is refused.

    Example: twinline twin recommend --recipe examples/nmc111_cathode.yaml --db line.db
    --target cathode.calendering.porosity=0.30±0.01 --adjust cathode.calendering.line_load
    """
    with handle_errors():
        from twinline.twin.recommend import _fmt, parse_window, recommend

        base = _recipe(recipe)
        windows = dict(parse_window(w) for w in window)
        paths = [p.strip() for p in adjust.split(",") if p.strip()] if adjust else None
        if out is not None:
            from twinline.outdir import check_writable_output

            check_writable_output(out, "file")
        if db is None:
            rec = recommend(base, target, adjust=paths, windows=windows, samples=samples,
                            seed=seed)
        else:
            with _open(db) as store:
                if object_id is not None:
                    store.trace(object_id)  # an unknown object: one-line error
                rec = recommend(base, target, adjust=paths, store=store, object_id=object_id,
                                windows=windows, samples=samples, seed=seed)
        if out is not None:
            from twinline.atomic import write_atomic

            write_atomic(out, json.dumps(rec.to_dict(), indent=1))
        from rich.table import Table

        title = (f"recommendation ({'reachable' if rec.reachable else 'REFUSED'}), "
                 f"calibration {rec.calibration_version}"
                 + (f", object {rec.object} {rec.groups}" if rec.object else ""))
        table = Table(title=title)
        for col in ("setting", "current", "recommended", "machine window"):
            table.add_column(col, overflow="fold")  # folded, never cut with "…"
        for p, v in rec.settings.items():
            u = rec.units.get(p, "")
            lo, hi = rec.windows[p]
            table.add_row(p, _fmt(p, rec.current[p], u), _fmt(p, v, u),
                          f"{_fmt(p, lo, u)} .. {_fmt(p, hi, u)}")
        console.print(table)
        outputs = Table()
        for col in ("target output", "target", "predicted ± sd", "met"):
            outputs.add_column(col, overflow="fold")  # folded, never cut with "…"
        for t in rec.targets:
            m, sd = rec.predicted[t.parameter], rec.uncertainty[t.parameter]
            outputs.add_row(t.parameter, f"{_fmt(t.parameter, t.value, t.unit)} ± "
                            f"{_fmt(t.parameter, t.tolerance, t.unit)}",
                            f"{_fmt(t.parameter, m, t.unit)} ± "
                            f"{_fmt(t.parameter, sd, t.unit)}",
                            "yes" if abs(m - t.value) <= t.tolerance else "no")
        console.print(outputs)
        for msg in rec.messages:
            console.print(("[red]refused:[/red] " if "reach" in msg or "conflicts" in msg
                           else "note: ") + msg, soft_wrap=True)
        if not rec.reachable:
            raise typer.Exit(code=1)


def register(main: typer.Typer) -> None:
    """Add ``twinline twin ...`` to ``main``."""
    main.add_typer(app, name="twin")
