"""`twinline cell` verbs: simulate the cell of a recipe, export its BPX parameter set."""

from __future__ import annotations

from pathlib import Path

import typer

from twinline.atomic import write_atomic
from twinline.cli.common import console, fail, handle_errors

app = typer.Typer(help="cell commands: assembly, filling, formation and PyBaMM performance.",
                  no_args_is_help=True)


def _parse_rates(text: str) -> tuple[float, ...]:
    from twinline.spec.errors import quote

    try:
        rates = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise fail(f"--c-rates must be comma-separated numbers, got {quote(text)} "
                   f"(for example 0.5,1,2)") from None
    if not rates:
        raise fail("--c-rates is empty; give for example 0.5,1,2")
    return rates


def _simulate(recipe: Path, rates: tuple[float, ...], model: str, structure: bool, seed: int):
    """The cell of the same chain run as ``twinline run --cell [--structure]``; the run's
    validity warnings are printed as ``warning: ...`` lines on stderr."""
    from twinline.chain import run_chain
    from twinline.cli.common import err_console
    from twinline.spec.recipe import load_recipe

    run = run_chain(load_recipe(recipe), structure=structure, cell=True, seed=seed,
                    c_rates=rates, cell_model=model)
    for message in run.warnings:
        err_console.print(f"warning: {message}", highlight=False, soft_wrap=True,
                          markup=False)
    return run.cell


@app.command()
def simulate(
    recipe: Path = typer.Argument(..., help="recipe YAML with cathode, anode and cell"),
    c_rates: str = typer.Option("0.5,1,2", "--c-rates", help="discharge C-rates [1/h]"),
    json_out: bool = typer.Option(False, "--json", help="print the summary as JSON"),
    model: str = typer.Option("DFN", "--model", help="PyBaMM model: DFN, SPMe or SPM"),
    structure: bool = typer.Option(False, "--structure",
                                   help="use a 3D structure of the cathode (slower)"),
    seed: int = typer.Option(0, "--seed", help="seed of the stochastic parts"),
    out: Path | None = typer.Option(None, "--out", help="write the full result (JSON)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar (it is also off "
                               "when stderr is not a terminal)"),
) -> None:
    """Recipe → electrodes → assembled, filled, formed cell → discharge curves.

    Example: twinline cell simulate examples/nmc622_graphite_pouch.yaml --c-rates 0.5,1,2
    """
    import json

    rates = _parse_rates(c_rates)
    with handle_errors():
        if out is not None:
            from twinline.outdir import check_writable_output

            check_writable_output(out, "file")  # before the simulation, not after
        from twinline.cli.common import progress_bar

        with progress_bar("simulating the cell", quiet=quiet):
            perf = _simulate(recipe, rates, model, structure, seed)
    summary = perf.summary()
    if out is not None:
        write_atomic(out, json.dumps(perf.to_dict(), indent=1, default=float))
    if json_out:
        typer.echo(json.dumps(summary, indent=2))
        return
    from rich.table import Table

    t = Table(title=f"{recipe.name}: {perf.model} on {perf.parameter_set}")
    t.add_column("C-rate [1/h]")
    t.add_column("capacity [A h]")
    t.add_column("energy [W h]")
    for c, q, e in zip(perf.c_rates, perf.capacity, perf.energy, strict=True):
        t.add_row(f"{c:g}", f"{q:.3f}", f"{e:.2f}")
    console.print(t)
    rows = [
        ("specific energy", f"{perf.specific_energy:.1f} W h/kg"),
        ("energy density", f"{perf.energy_density:.1f} W h/L"),
        ("internal resistance (pulse)", f"{perf.internal_resistance * 1e3:.2f} mΩ"),
        ("cell mass", f"{perf.mass * 1e3:.1f} g"),
        ("N/P ratio", f"{perf.n_p_ratio:.3f}"),
        ("stacking scrap probability", f"{summary['scrap_probability']:.3f}"),
        ("electrolyte", f"{summary['electrolyte_volume_mL']:.2f} mL"),
        ("wetting time", f"{summary['wetting_time_s'] / 3600:.2f} h"),
        ("first-cycle efficiency", f"{summary['first_cycle_efficiency']:.3f}"),
        ("formation time", f"{summary['formation_time_h']:.1f} h"),
        ("self-discharge flagged", f"{summary['self_discharge_flagged_fraction'] * 100:.1f} %"),
        ("tortuosity factors from", perf.tortuosity_source),
    ]
    for k, v in rows:
        console.print(f"{k}: {v}", highlight=False)


@app.command("export-bpx")
def export_bpx_cmd(
    recipe: Path = typer.Argument(..., help="recipe YAML with cathode, anode and cell"),
    out: Path = typer.Option(..., "--out", help="BPX JSON file to write"),
    model: str = typer.Option("DFN", "--model", help="PyBaMM model: DFN, SPMe or SPM"),
    seed: int = typer.Option(0, "--seed", help="seed of the stochastic parts"),
) -> None:
    """Write the cell's parameter set as BPX JSON (validated when `bpx` is installed).

    Example: twinline cell export-bpx examples/nmc622_graphite_pouch.yaml --out cell.bpx.json
    """
    from twinline.cell.bpx import export_bpx

    with handle_errors():
        from twinline.outdir import check_writable_output

        check_writable_output(out, "file")  # before the simulation, not after
        perf = _simulate(recipe, (1.0,), model, False, seed)
        text = export_bpx(perf, title=recipe.stem)
    write_atomic(out, text)
    console.print(f"wrote {out} (BPX, {perf.parameter_set} base set)", highlight=False)
