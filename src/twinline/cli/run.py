"""Top-level ``twinline`` verbs of the run layer: ``run`` and ``cite``."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add this module's verbs to the main app."""
    app.command("run")(run)
    app.command("cite")(cite)


def run(
    recipe: Path = typer.Argument(..., help="recipe YAML file"),
    out: Path = typer.Option(Path("out"), "--out", "-o", help="output folder"),
    samples: int = typer.Option(0, "--samples", "-n", min=0,
                                help="Monte Carlo samples of the machine tolerances"),
    seed: int = typer.Option(0, "--seed", help="random seed (Monte Carlo, 3D structure)"),
    structure: bool = typer.Option(False, "--structure",
                                   help="generate and analyse a 3D cathode structure (without "
                                   "it the structure parameters come from a closed form "
                                   "fitted to the 3D model)"),
    extrapolate: bool = typer.Option(False, "--extrapolate",
                                     help="with --structure: also extrapolate the 3D "
                                     "tortuosity factors and σ_eff to zero voxel size "
                                     "(the image split 2×2×2, Richardson; 3-5× the analysis "
                                     "time) and report them beside the raw values; the "
                                     "outputs and the cell keep the raw values"),
    cell: bool = typer.Option(False, "--cell", help="simulate the cell with PyBaMM"),
    materials: list[Path] = typer.Option([], "--materials", "-m",
                                         help="extra materials file(s) (YAML)"),
    no_report: bool = typer.Option(False, "--no-report", help="write run.json only"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar (it is also off "
                               "when stderr is not a terminal)"),
) -> None:
    """Run the process chain on a recipe; write DIR/run.json and DIR/report.html.

    Monte Carlo runs in chunks of 200 000 samples. Peak memory: about 0.3 GB
    + 0.3 kB per sample and electrode (1e7 samples of a cathode: ~3 GB);
    the outputs' values are kept so that percentiles are exact.

    Example: twinline run examples/nmc111_cathode.yaml --out out --samples 1000 --seed 1
    """
    from twinline.cli.common import console, err_console, handle_errors
    from twinline.outdir import output_folder

    if extrapolate and not structure:
        from twinline.cli.common import fail

        raise fail("--extrapolate needs --structure: it extrapolates the 3D analysis's "
                   "transport numbers to zero voxel size")

    with handle_errors(), output_folder(out, verb="run"):  # checked and locked before work
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from twinline.chain import resolve_materials, run_chain
        from twinline.materials import load_library
        from twinline.spec.recipe import load_recipe

        rec = load_recipe(recipe)
        lib = resolve_materials(rec)
        if materials:
            lib = lib.merged(load_library(*materials))
        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                      console=err_console, transient=True,
                      disable=quiet or not err_console.is_terminal) as bar:
            task = bar.add_task("chain", total=1.0)

            def progress(stage: str, frac: float) -> None:
                bar.update(task, description=stage, completed=frac)

            result = run_chain(rec, materials=lib, structure=structure, cell=cell, seed=seed,
                               samples=samples, progress=progress,
                               extrapolate_structure=extrapolate)
            from twinline.outdir import commit_files, staging_dir

            with staging_dir(out) as tmp:  # run.json and report.html published as one unit
                result.save(tmp / "run.json")
                files = {"run.json": tmp / "run.json"}
                if not no_report:
                    from twinline.report.html import write_report

                    bar.update(task, description="report")
                    files["report.html"] = write_report(tmp / "report.html", result, rec, lib)
                commit_files(out, files, names=("run.json", "report.html"))
        _summary(result, console)
        for step in result.steps:
            if step.get("step") == "target":  # settings solved for target properties
                console.print(f"{step['scope']}: solved coating.gap = {step['gap'] * 1e6:.1f} um"
                              f", calendering.pressure = {step['pressure'] / 1e6:.1f} MPa "
                              f"(targets: loading {step['target_loading'] * 100:.3g} mg/cm^2, "
                              f"porosity {step['target_porosity']:.3f})", highlight=False)
        console.print(f"wrote {out / 'run.json'}"
                      + ("" if no_report else f" and {out / 'report.html'}"))


def _summary(result, console) -> None:
    from rich.table import Table

    keys = ("coating.loading", "coating.areal_capacity", "drying.porosity",
            "calendering.thickness", "calendering.porosity", "post_drying.residual_moisture")
    table = Table(title=f"{result.recipe_name}: key outputs")
    for col in ("parameter", "value", "std", "unit"):
        table.add_column(col, justify="right" if col in ("value", "std") else "left")
    from twinline.chain import POLARITY

    for electrode in (e for e in result.products if e in POLARITY):
        for k in keys:
            o = result.outputs.get(f"{electrode}.{k}")
            if o is None:
                continue
            table.add_row(f"{electrode}.{k}", f"{o['value']:.4g}", f"{o['std']:.2g}",
                          o["unit"] or "-")
    console.print(table)
    for w in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}", highlight=False, soft_wrap=True)


def cite(
    source: Path = typer.Argument(..., help="run.json or recipe YAML"),
    keys_only: bool = typer.Option(False, "--keys", help="print the keys only"),
) -> None:
    """Print the BibTeX entries of the models a run (or a recipe) uses.

    Example: twinline cite out/run.json > refs.bib
    """
    from twinline.chain.citations import bibtex_entries, citation_keys
    from twinline.cli.common import console, fail, handle_errors

    with handle_errors():
        keys = citation_keys(source)
        entries = bibtex_entries()
        missing = [k for k in keys if k not in entries]
        if keys_only:
            console.print("\n".join(keys), highlight=False)
        else:
            print("\n\n".join(entries[k] for k in keys if k in entries))
        if missing:
            raise fail(f"no BibTeX entry for {missing} in twinline/references.bib")
