"""Top-level `twinline` verbs of the learn layer: campaign, surrogate, design, study."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from twinline.atomic import write_atomic
from twinline.cli.common import QUIET_HELP, console, fail, handle_errors, progress_bar

surrogate_app = typer.Typer(help="Fit and use surrogate models of a dataset.",
                            no_args_is_help=True)


#: Exit code of ``twinline campaign`` when some (not all) points failed.
EXIT_POINTS_FAILED = 3


def _split(text: str | None) -> list[str]:
    return [s.strip() for s in (text or "").split(",") if s.strip()]


def _length(text: str, name: str) -> float:
    from twinline.spec.units import parse_quantity

    return parse_quantity(text, "m", name=name)


def campaign(
    recipe: Path = typer.Argument(..., help="base recipe YAML"),
    param: list[str] = typer.Option(..., "--param", "-p", help="path=low:high[:levels], "
                                    "e.g. cathode.calendering.pressure=20MPa:170MPa:5"),
    outputs: str = typer.Option("", help="comma-separated Run.outputs ids (default all)"),
    design: str = typer.Option("lhs", help="factorial | lhs | sobol"),
    points: int = typer.Option(16, help="points (per axis for factorial)"),
    replicates: int = typer.Option(1, help="evaluations per point, averaged"),
    seed: int = typer.Option(0, help="campaign seed"),
    structure: bool = typer.Option(False, help="generate and analyse the 3D structure"),
    cell: bool = typer.Option(False, help="simulate the cell"),
    workers: int = typer.Option(0, help="local Dask workers (0: serial)"),
    scheduler: str = typer.Option("", help="existing Dask scheduler, tcp://host:port"),
    out: Path = typer.Option(Path("campaign"), help="dataset folder (resumable)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
) -> None:
    """Run a design of experiments through the chain into a Parquet dataset.

    Failed points (impossible settings) are listed with their reason
    in OUT/campaign.json ("failed"). Exit code: 0 all points ok;
    3 some points failed (the others are stored); 2 bad input, or every point failed.
    A corrupt Parquet part found on resume is named in a warning,
    set aside as *.corrupt, and its points are computed again.

    Example: twinline campaign examples/nmc111_cathode.yaml -p
    cathode.calendering.pressure=20MPa:170MPa -p cathode.coating.gap=200um:300um
    --points 32 --out runs/cal
    """
    from twinline.outdir import output_folder

    with handle_errors(), output_folder(out, verb="campaign"):  # checked and locked first
        from twinline.learn.campaign import Campaign, Parameter, stable_hash
        from twinline.learn.executors import make_executor
        from twinline.learn.recipe_points import (
            ChainEvaluator,
            check_paths,
            model_versions,
            recipe_data,
        )
        from twinline.spec.recipe import load_recipe

        base = load_recipe(recipe)
        data = recipe_data(base)
        params = [Parameter.parse(p) for p in param]
        check_paths([p.name for p in params])
        camp = Campaign(params, ChainEvaluator(data, _split(outputs) or None,
                                               structure=structure, cell=cell),
                        design=design, points=points, replicates=replicates, seed=seed,
                        name=f"campaign {recipe.name}",
                        metadata={"recipe_hash": stable_hash(data), "recipe": data,
                                  "model_versions": model_versions(base)})
        ex = make_executor(workers=workers, scheduler=scheduler or None)
        try:
            res = camp.run(out, executor=ex, progress=not quiet)
        finally:
            ex.close()
        failed = int((res.table.status != "ok").sum()) if len(res.table) else 0
        if len(res.table) and failed == len(res.table):
            raise fail(f"every point failed, e.g. {res.table.status.iloc[0]}")
        console.print(f"{res.evaluated} points evaluated, {res.skipped} already done, "
                      f"{failed} failed; {len(res.table)} rows in {out} "
                      f"({res.wall_s:.1f} s, {res.executor})")
        if failed:
            first = res.table[res.table.status != "ok"].iloc[0]
            raise fail(f"{failed} of {len(res.table)} points failed (listed with their reason "
                       f"in {out / 'campaign.json'}), e.g. point {int(first.point_id)}: "
                       f"{first.status}", code=EXIT_POINTS_FAILED)


@surrogate_app.command("fit")
def surrogate_fit(
    dataset: Path = typer.Argument(..., help="dataset folder, .parquet or .csv"),
    inputs: str = typer.Option(..., help="comma-separated input columns"),
    outputs: str = typer.Option(..., help="comma-separated output columns"),
    kind: str = typer.Option("gp", help="gp | gbr | mlp"),
    cv: int = typer.Option(5, help="cross-validation folds (0: none)"),
    test_size: float = typer.Option(0.2, help="held-out share for R²/MAPE"),
    seed: int = typer.Option(0),
    out: Path = typer.Option(Path("surrogate.joblib"), help="model file (+ .json)"),
) -> None:
    """Fit a surrogate and report held-out R² and MAPE.

    Example: twinline surrogate fit runs/cal --inputs cathode.calendering.pressure
    --outputs cathode.calendering.porosity --kind gp --out cal.joblib
    """
    with handle_errors():
        from twinline.outdir import check_writable_output

        check_writable_output(out, "file")
        from rich.table import Table

        from twinline.learn.dataset import design_ranges, read_dataset, widen_bounds
        from twinline.learn.surrogate import fit_surrogate

        frame = read_dataset(dataset, ok_only=True)
        sur = fit_surrogate(frame, _split(inputs), _split(outputs), kind=kind, cv=cv,
                            test_size=test_size, seed=seed)
        widen_bounds(sur, design_ranges(dataset))  # trained over the campaign's ranges
        path = sur.save(out)
        table = Table("output", "test R² [-]", "test MAPE [%]", "CV R² [-]", "rows")
        for o, m in sur.metrics.items():
            table.add_row(o, f"{m.get('r2', float('nan')):.4f}",
                          f"{m.get('mape', float('nan')):.2f}",
                          f"{m.get('cv_r2', float('nan')):.4f}", str(m.get("n_train")))
        console.print(table)
        console.print(f"saved {path} and {path.with_suffix('.json')}")


@surrogate_app.command("predict")
def surrogate_predict(
    model: Path = typer.Argument(..., help="surrogate file from 'surrogate fit'"),
    set_: list[str] = typer.Option([], "--set", help="input=value (SI), repeatable"),
    csv: Path = typer.Option(None, help="CSV of inputs (one column per input)"),
    out: Path = typer.Option(None, help="write predictions to this CSV"),
) -> None:
    """Predict with a saved surrogate (mean, and std for a Gaussian process).

    Example: twinline surrogate predict cal.joblib --set cathode.calendering.pressure=6e7
    """
    with handle_errors():
        if out is not None:
            from twinline.outdir import check_writable_output

            check_writable_output(out, "file")
        import pandas as pd

        from twinline.learn.surrogate import SurrogateError, load_surrogate

        sur = load_surrogate(model)
        if csv is not None:
            frame = pd.read_csv(csv)
        else:
            vals = {}
            for s in set_:
                if "=" not in s:
                    raise SurrogateError(f"--set {s!r}: expected input=value")
                k, v = s.split("=", 1)
                try:
                    vals[k.strip()] = [float(v)]
                except ValueError:
                    raise SurrogateError(f"--set {s!r}: value must be a number in SI "
                                         "units") from None
            frame = pd.DataFrame(vals)
        mean, std = sur.predict(frame, return_std=True)
        res = frame.copy()
        for j, o in enumerate(sur.outputs):
            res[o] = mean[:, j]
            if sur.has_std:
                res[f"{o}_std"] = std[:, j]
        if out is not None:
            write_atomic(out, res.to_csv(index=False))
            console.print(f"{len(res)} predictions written to {out}")
        else:
            for _, row in res.iterrows():
                for o in sur.outputs:
                    unit = sur.units.get(o, "") or "-"
                    sd = f" ± {row[o + '_std']:.4g}" if sur.has_std else ""
                    console.print(f"{o} = {row[o]:.6g}{sd} [{unit}]")


def design(
    targets: Path = typer.Argument(..., help="targets YAML (parameters, objectives, "
                                   "constraints)"),
    surrogate: Path = typer.Option(None, help="optimise on this surrogate (fast)"),
    recipe: Path = typer.Option(None, help="or optimise on the chain with this base recipe"),
    trials: int = typer.Option(0, help="override the number of trials"),
    out: Path = typer.Option(Path("design_report.html"), help="HTML report with the front"),
    extrapolate: bool = typer.Option(False, help="with --surrogate: keep bounds that reach "
                                     "outside its training range (default: clip them to it)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
) -> None:
    """Inverse design: settings that meet the targets (Pareto front).

    With --surrogate, bounds beyond its training range are clipped to it
    with a warning naming the parameter and the range (exit 2 when they miss it);
    with --extrapolate they are kept, and every proposed point outside
    the range is flagged as an extrapolation.

    Example: twinline design examples/design_targets.yaml --surrogate study/surrogates/gp.joblib
    """
    with handle_errors():
        from twinline.outdir import check_writable_output

        check_writable_output(out, "file")
        from rich.table import Table

        from twinline.cli.common import err_console
        from twinline.learn.inverse import (
            from_evaluate,
            limit_to_training_range,
            load_targets,
            optimise,
            surrogate_predictor,
        )
        from twinline.report.study_report import write_design_report
        from twinline.spec.errors import RecipeError

        problem = load_targets(targets)
        if trials:
            problem.trials = trials
        if (surrogate is None) == (recipe is None):
            raise RecipeError("give exactly one of --surrogate MODEL or --recipe RECIPE")
        if surrogate is not None:
            from twinline.learn.surrogate import load_surrogate

            sur = load_surrogate(surrogate)
            trained = dict(sur.bounds)
            for note in limit_to_training_range(problem, trained, extrapolate=extrapolate):
                err_console.print(f"[yellow]warning:[/yellow] {escape(note)}",
                                  highlight=False, soft_wrap=True)
            fixed = {k: 0.5 * (lo + hi) for k, (lo, hi) in sur.bounds.items()
                     if k not in problem.bounds}
            predict = surrogate_predictor(sur, fixed=fixed)
            model = f"surrogate {surrogate} ({sur.kind})"
        else:
            from twinline.learn.recipe_points import ChainEvaluator, check_paths, recipe_data

            check_paths(list(problem.bounds))
            predict = from_evaluate(ChainEvaluator(recipe_data(recipe), problem.outputs))
            model = f"chain on {recipe}"
            trained = {}
        with progress_bar("optimising", quiet=quiet, total=problem.trials) as bar:
            res = optimise(problem, predict, trained=trained,
                           progress=lambda done, total: bar(done, total))
        write_design_report(out, res, model=model)
        if not res.best:
            raise fail(f"no feasible settings in {len(res.trials)} trials; widen the "
                       f"bounds or tolerances (report: {out})")
        from twinline.learn.inverse import display

        known = dict(getattr(sur, "units", {})) if surrogate is not None else {}
        table = Table("quantity", "best value")
        for k in list(problem.bounds) + problem.outputs:
            si = problem.units.get(k) or known.get(k, "")
            flag = " (extrapolation)" if k in res.extrapolated else ""
            table.add_row(k, display(res.best[k], si, problem.shown_units.get(k, "")) + flag)
        console.print(table)
        console.print(f"{len(res.front)} settings on the Pareto front "
                      f"({res.wall_s:.1f} s); report: {out}")
        n_extra = int((res.front["extrapolation"] != "").sum()) if len(res.front) else 0
        if n_extra:
            err_console.print(
                f"[yellow]warning:[/yellow] {n_extra} of {len(res.front)} settings on the front "
                "lie outside the surrogate's training range (extrapolations)"
                + (f"; the best one in {', '.join(res.extrapolated)}" if res.extrapolated
                   else ""), highlight=False, soft_wrap=True)


def study(
    name: str = typer.Argument(..., help="study name: calendering-nmc111"),
    out: Path = typer.Option(..., help="output folder (resumable)"),
    points: int = typer.Option(440, help="training/test points (440: the paper's "
                               "factorial); as many validation points"),
    replicates: int = typer.Option(10, help="structures per point, averaged"),
    voxel: str = typer.Option("1 um", help="voxel edge (paper: 1 um)"),
    box: str = typer.Option("50 um", help="in-plane box edge (paper: 50 um)"),
    workers: int = typer.Option(0, help="local Dask workers (0: serial)"),
    scheduler: str = typer.Option("", help="existing Dask scheduler tcp://host:port"),
    seed: int = typer.Option(0),
    calendering: str = typer.Option("insilico", help="calender constants: insilico (the "
                                    "paper's simulated calender) or line (the lab calender "
                                    "of the material library)"),
    paper_data: Path = typer.Option(None, help="the paper's insilico_structures_train.csv "
                                    "to overlay on the maps"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
) -> None:
    """Reproduce the in-silico calendering study, learn from it, write an HTML report.

    Example (small): twinline study calendering-nmc111 --out study --points 8
    --replicates 1 --voxel 2um
    """
    from twinline.outdir import output_folder

    with handle_errors(), output_folder(out, verb="study"):  # checked and locked first
        from twinline.learn.study import run_study
        from twinline.report.study_report import study_report
        from twinline.spec.errors import RecipeError

        if name != "calendering-nmc111":
            raise RecipeError(f"study {name!r} is unknown; choose from ['calendering-nmc111']")
        res = run_study(out, points=points, replicates=replicates,
                        voxel_size=_length(voxel, "--voxel"), workers=workers,
                        box_xy=_length(box, "--box"),
                        scheduler=scheduler or None, seed=seed, paper_data=paper_data,
                        calendering=calendering, progress=not quiet)
        report = study_report(res)
        from rich.table import Table

        table = Table("surrogate", "output", "validation R² [-]", "validation MAPE [%]")
        for kind, sc in res.scores.items():
            for o, m in (sc["validation"] or sc["test"]).items():
                table.add_row(kind, o, f"{m.get('r2', float('nan')):.4f}",
                              f"{m.get('mape', float('nan')):.2f}")
        console.print(table)
        for eq in res.equations.values():
            console.print(f"{eq}   (R² {eq.r2:.4f})", highlight=False)
        console.print(f"campaign {res.timing['campaign_s']:.1f} s "
                      f"({res.timing['evaluated']} new points, {res.timing['executor']}); "
                      f"report: {report}")


def register(app: typer.Typer) -> None:
    """Add this module's verbs to the main app."""
    app.command("campaign")(campaign)
    app.add_typer(surrogate_app, name="surrogate")
    app.command("design")(design)
    app.command("study")(study)
