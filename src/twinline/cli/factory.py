"""``twinline factory``: the production view of a recipe in a plant, and its passport record.

``twinline factory RECIPE --plant PLANT.yaml --out DIR`` (the ``build`` verb, also reached
without its name) and ``twinline factory passport RUN.json --out passport.json``.
"""

from __future__ import annotations

from pathlib import Path

import typer
from typer.core import TyperGroup


class _DefaultBuild(TyperGroup):
    """``twinline factory RECIPE ...`` means ``twinline factory build RECIPE ...``."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["build", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=_DefaultBuild, no_args_is_help=True,
                  help="Factory view: material flow and yield, energy, cost and CO2 per kWh, "
                       "battery-passport record. Example: twinline factory "
                       "examples/nmc622_graphite_pouch.yaml --plant "
                       "examples/plant_gigafactory.yaml --out out/factory")


def register(main: typer.Typer) -> None:
    """Add ``factory`` to the main app."""
    main.add_typer(app, name="factory")


@app.command("build")
def build(
    recipe: Path = typer.Argument(..., help="recipe YAML file (a full cell: cathode, anode, "
                                  "cell sections)"),
    plant: Path | None = typer.Option(None, "--plant", "-p", help="plant YAML file (default: "
                                      "the reference plant of the package's defaults)"),
    out: Path = typer.Option(Path("factory"), "--out", "-o", help="output folder"),
    c_rate: float = typer.Option(1 / 3, "--c-rate", min=0.01, max=10.0,
                                 help="discharge rate [1/h] at which the cell's rated "
                                      "capacity and energy are taken"),
    seed: int = typer.Option(0, "--seed", help="random seed of the chain and the line model"),
    replications: int = typer.Option(1, "--replications", min=0, max=100,
                                     help="replications of the line's discrete-event "
                                          "simulation over one year (0: skip it)"),
    lot: int = typer.Option(0, "--lot", min=0, help="cells per lot moved through the "
                                                     "simulated line (0: about 20 000 lots "
                                                     "a year)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Run the chain with the cell, then write DIR/factory.json and DIR/factory.html.

    Prints the energy per kWh of cell by step (against the published 20.3-37.5 kWh/kWh),
    cost per kWh by part and the CO2 per kWh.

    Example: twinline factory examples/nmc622_graphite_pouch.yaml --plant
    examples/plant_gigafactory.yaml --out out/factory
    """
    from twinline.cli.common import console, handle_errors, progress_bar
    from twinline.outdir import output_folder

    with handle_errors(), output_folder(out, verb="factory"):
        import json

        from twinline.chain import run_chain
        from twinline.factory.plant import load_plant
        from twinline.factory.view import factory_view, reference_plant
        from twinline.outdir import commit_files, staging_dir
        from twinline.report.factory_report import write_factory_report
        from twinline.spec.recipe import load_recipe

        pl = load_plant(plant) if plant is not None else reference_plant()
        rec = load_recipe(recipe)
        with progress_bar("chain", quiet=quiet, total=1.0) as bar:
            run = run_chain(rec, cell=True, seed=seed, c_rates=(c_rate,),
                            progress=lambda stage, frac: bar(frac * 0.8, description=stage))
            bar(0.85, description="factory")
            view = factory_view(run, pl, replications=replications, lot_cells=lot, seed=seed)
            data = view.to_dict()
            bar(0.95, description="report")
            with staging_dir(out) as tmp:
                (tmp / "factory.json").write_text(json.dumps(data, indent=2), "utf-8")
                html = write_factory_report(tmp / "factory.html", data)
                commit_files(out, {"factory.json": tmp / "factory.json", "factory.html": html})
        _summary(data, console)
        console.print(f"wrote {out / 'factory.json'} and {out / 'factory.html'}")


def _summary(data: dict, console) -> None:
    from rich.table import Table

    e = data["energy_kWh_per_kWh"]
    t = Table(title=f"{data['recipe']} in {data['plant']['name']}: energy per kWh of cell")
    for col in ("step", "electricity [kWh/kWh]", "heat [kWh/kWh]"):
        t.add_column(col, justify="left" if col == "step" else "right")
    for step, d in e["by_step"].items():
        t.add_row(step, f"{d['electricity']:.2f}", f"{d['heat']:.2f}")
    t.add_row("total", f"{e['by_utility']['electricity']:.2f}", f"{e['by_utility']['heat']:.2f}")
    console.print(t)
    total = e["total"]
    where = ("inside" if 20.3 <= total <= 37.5 else "outside")
    o, c = data["output"], data["cost_per_kWh"]
    console.print(f"energy {total:.1f} kWh/kWh ({where} 20.3-37.5 kWh/kWh, Degen et al. 2023); "
                  f"output {o['GWh_per_year']:.3g} GWh/a, bottleneck {o['bottleneck']}",
                  highlight=False)
    parts = ", ".join(f"{k.replace('_', ' ')} {v:.1f}" for k, v in c["parts"].items())
    console.print(f"cost {c['total']:.1f} {c['currency']}/kWh ({parts})", highlight=False)
    console.print(f"CO2 {data['co2_kg_per_kWh']['total_per_kWh']:.1f} kg CO2e/kWh",
                  highlight=False)
    tp = data.get("throughput")
    if tp:
        console.print(f"simulated line: {tp['good_cells_per_year'] / 1e6:.3g} M good cells/a "
                      f"({tp['replications']} replication(s)), bottleneck {tp['bottleneck']}",
                      highlight=False)


@app.command("passport")
def passport(
    run_json: Path = typer.Argument(..., help="run.json of `twinline run RECIPE --cell`"),
    out: Path = typer.Option(Path("passport.json"), "--out", "-o", help="output JSON file"),
    plant: Path | None = typer.Option(None, "--plant", "-p", help="plant YAML file (default: "
                                      "the reference plant)"),
    date: str | None = typer.Option(None, "--date", help="manufacturing date, YYYY-MM-DD "
                                    "(default: the plant's manufacturing_date)"),
    place: str | None = typer.Option(None, "--place", help="manufacturing place (default: "
                                     "the plant's location)"),
    trace: list[str] = typer.Option([], "--id", help="traceability id of the twin store, "
                                    "KEY=VALUE (repeatable), e.g. --id store=sqlite:///line.db "
                                    "--id lot=L-0042"),
) -> None:
    """Write the manufacturing part of an EU battery-passport record, validated.

    Regulation (EU) 2023/1542: carbon footprint per kWh and per life-cycle stage, materials
    and masses, date and place as given, rated capacity and energy from the cell model.

    Example: twinline factory passport out/run.json --plant examples/plant_gigafactory.yaml
    --out passport.json --id lot=L-0042
    """
    from twinline.cli.common import console, fail, handle_errors

    with handle_errors():
        import json

        from twinline.atomic import write_atomic
        from twinline.chain.record import load_run
        from twinline.factory.passport import passport as make_passport
        from twinline.factory.passport import validate_passport
        from twinline.factory.plant import load_plant
        from twinline.factory.view import reference_plant
        from twinline.outdir import check_writable_output

        ids = {}
        for item in trace:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise fail(f"--id {item!r}: expected KEY=VALUE (e.g. lot=L-0042)")
            ids[key.strip()] = value.strip()
        check_writable_output(out, "file")
        pl = load_plant(plant) if plant is not None else reference_plant()
        run = load_run(run_json)
        record = make_passport(run, pl, date=date, place=place, ids=ids)
        validate_passport(record)
        write_atomic(out, json.dumps(record, indent=2))
        cf = record["carbon_footprint"]["total_kg_CO2e_per_kWh"]
        console.print(f"wrote {out}: {record['rated_energy_Wh']:.1f} Wh, "
                      f"{cf:.1f} kg CO2e/kWh (schema-valid)", highlight=False)
