"""``twinline line``: the simulated pilot line and ingestion from a line over OPC UA."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="The line over OPC UA: a simulated pilot line, and ingestion from a "
                       "line into the store.", no_args_is_help=True)


@app.command("simulate")
def simulate(
    recipe: Path = typer.Option(..., "--recipe", help="recipe YAML file"),
    port: int = typer.Option(4840, "--port", min=1, max=65535, help="TCP port to listen on"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    rate: str = typer.Option("10Hz", "--rate", help="samples per second per tag"),
    seed: int = typer.Option(0, "--seed", help="random seed of the noise"),
    duration: str = typer.Option("", "--duration",
                                 help="stop after this long (e.g. 10min; default: until "
                                      "Ctrl-C / SIGTERM)"),
    record: Path | None = typer.Option(None, "--record",
                                       help="write every published sample to this CSV (the "
                                            "long format of 'twinline ingest')"),
    write_map: Path | None = typer.Option(None, "--write-map",
                                          help="write the tag map (YAML) of the address space"),
    defect: list[str] = typer.Option([], "--defect",
                                     help="inject NAME@TIME: gap-step, dryer-fault, slurry-change "
                                          "(e.g. gap-step@60s); repeatable"),
    roll_every: str = typer.Option("30s", "--roll-every",
                                   help="a new coated roll this often (a new slurry batch "
                                        "every three rolls)"),
    lanes: int = typer.Option(1, "--lanes", min=1,
                              help="lanes of each traversing gauge (thickness, areal weight)"),
    linger: str = typer.Option("3s", "--linger",
                               help="keep serving (history included) this long after the last "
                                    "sample"),
) -> None:
    """Serve a simulated pilot line over OPC UA, its values from twinline's own chain.

    Address space: Objects/Line/<Electrode>/<Machine> (Mixer, Coater, Dryer, Calender,
    Slitter) with the online settings and gauges of the catalogue and an object_id variable
    per machine; every variable is historized (HistoryRead).

    Example: twinline line simulate --recipe examples/nmc111_cathode.yaml --port 4840
    --duration 10min --record rec.csv --write-map tags.yaml --defect gap-step@60s
    """
    from twinline.cli.common import err_console, handle_errors
    from twinline.twin.line.simulate import parse_defect, parse_quantity_option, simulate_line

    with handle_errors():
        rate_hz = parse_quantity_option("--rate", rate, "1/s")
        seconds = parse_quantity_option("--duration", duration, "s") if duration else None
        every = parse_quantity_option("--roll-every", roll_every, "s")
        linger_s = parse_quantity_option("--linger", linger, "s")
        defects = [parse_defect(d) for d in defect]
        if not recipe.is_file():
            from twinline.twin.errors import TwinError

            raise TwinError(f"--recipe {recipe}: no such file")
        for path in (record, write_map):
            if path is not None:
                from twinline.outdir import check_writable_output

                check_writable_output(path, "file")
        stats = simulate_line(
            recipe, port=port, host=host, rate=rate_hz, seed=seed, duration=seconds,
            record=record, write_map=write_map, defects=defects, roll_every=every,
            lanes=lanes, linger=linger_s,
            ready=lambda ep, line: err_console.print(
                f"serving {len(line.tags)} tags of {len(line.machines)} machines at {ep} "
                f"({rate_hz:g} Hz)", highlight=False))
    err_console.print(f"published {stats.samples} samples, {stats.objects} object ids, "
                      f"{stats.seconds:.1f} s", highlight=False)


@app.command("ingest")
def ingest(
    source: str = typer.Option(..., "--from", help="OPC UA endpoint, opc.tcp://HOST:PORT"),
    map_path: Path = typer.Option(..., "--map", help="tag map YAML (twinline line simulate "
                                                     "--write-map writes one)"),
    db: str = typer.Option("twinline.db", "--db", help="database file or SQLAlchemy URL"),
    duration: str = typer.Option("", "--duration",
                                 help="stop after this long (default: until Ctrl-C / "
                                      "SIGTERM)"),
    json_out: bool = typer.Option(False, "--json", help="print the counts as JSON"),
) -> None:
    """Store every data change of the mapped tags, with the server's source timestamps.

    On start it reads the server's history (HistoryRead) of each tag from the last time
    stored for it, so a restart after a crash or a network cut loses nothing and stores
    nothing twice. Writes are batched, one transaction every 0.5 s; a tag's changes are
    stored in time order once its history confirms them (a catch-up every 2 s).

    Example: twinline line ingest --from opc.tcp://127.0.0.1:4840 --map tags.yaml
    --db line.db --duration 10min
    """
    from twinline.cli.common import console, handle_errors
    from twinline.twin.ingest.opcua import ingest_opcua
    from twinline.twin.line.simulate import parse_quantity_option

    with handle_errors():
        seconds = parse_quantity_option("--duration", duration, "s") if duration else None
        stats = ingest_opcua(source, map_path, db, duration=seconds)
    if json_out:
        import json

        console.print_json(json.dumps(stats.to_dict()))
        return
    console.print(f"stored {stats.stored} records ({stats.backfilled} of {stats.received} "
                  f"from history), {stats.objects} objects, {stats.edges} edges; rejected "
                  f"{stats.rejected}", highlight=False)
    for reason in stats.reasons:
        console.print(f"  rejected: {reason}", highlight=False, soft_wrap=True)
