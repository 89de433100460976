"""`twinline calibrate` verbs: fit model constants to measurements and write materials files."""

from __future__ import annotations

from pathlib import Path

import typer

from twinline.atomic import write_atomic
from twinline.cli.common import console, handle_errors

app = typer.Typer(help="Fit model constants to measurements; write them to a materials file.",
                  no_args_is_help=True)


@app.command("slurry")
def slurry(
    data: Path = typer.Argument(..., help="rheometer CSV: shear_rate [1/s], viscosity [Pa s], "
                                          "optionally solid_content [-] (units in brackets)"),
    out: Path = typer.Option(Path("materials.yaml"), "--out", "-o",
                             help="materials YAML to write"),
    recipe: Path | None = typer.Option(None, "--recipe",
                                       help="take the formulation from this recipe"),
    electrode: str = typer.Option("cathode", "--electrode", help="cathode or anode (--recipe)"),
    active_material: str = typer.Option("NMC111", "--active-material"),
    am_fraction: float = typer.Option(0.96, "--am-fraction", help="AM mass fraction [-]"),
    conductive: str = typer.Option("C65", "--conductive"),
    conductive_fraction: float = typer.Option(0.02, "--conductive-fraction"),
    binder: str = typer.Option("PVDF", "--binder"),
    binder_fraction: float = typer.Option(0.02, "--binder-fraction"),
    solvent: str = typer.Option("NMP", "--solvent"),
    solid_content: float | None = typer.Option(
        None, "--solid-content", help="solid mass fraction [-] if the CSV has no column"),
    materials_file: list[Path] = typer.Option([], "--materials",
                                              help="extra materials files (YAML)"),
) -> None:
    """Fit the slurry rheology (Krieger–Dougherty + Cross) to rheometer data.

    Example: twinline calibrate slurry examples/rheometer.csv --am-fraction 0.96
    --out my_materials.yaml
    """
    with handle_errors():
        from twinline.outdir import check_writable_output

        check_writable_output(out, "file")
        from twinline.materials import load_library
        from twinline.process.calibrate import (
            fit_slurry_rheology,
            materials_yaml,
            read_rheometer_csv,
        )
        from twinline.process.composition import resolve_composition
        from twinline.spec.errors import RecipeError, quote
        from twinline.spec.recipe import ElectrodeRecipe, Formulation, load_recipe

        lib = load_library(*materials_file)
        if recipe is not None:
            rec = load_recipe(recipe)
            el = rec.electrodes().get(electrode)
            if el is None:
                raise RecipeError(f"{recipe}: has no {quote(electrode)} electrode; it has "
                                  f"{sorted(rec.electrodes())}")
            if rec.materials_files:
                lib = load_library(*materials_file,
                                   *[rec.base_dir / f for f in rec.materials_files])
        else:
            try:
                form = Formulation(
                    active_material={"material": active_material, "mass_fraction": am_fraction},
                    conductive_additive={"material": conductive,
                                         "mass_fraction": conductive_fraction},
                    binder={"material": binder, "mass_fraction": binder_fraction},
                    solvent=solvent)
            except ValueError as err:
                msg = str(err).splitlines()
                raise RecipeError(f"formulation: {msg[-1].strip() if msg else err}") from None
            el = ElectrodeRecipe.model_construct(formulation=form)
        polarity = lib.require(el.formulation.active_material.material, "active_material",
                               parameter="active material").get("polarity", "positive")
        comp = resolve_composition(el, lib, polarity)
        rheo = read_rheometer_csv(data, solid_content=solid_content)
        fit = fit_slurry_rheology(rheo, comp, lib)
        write_atomic(out, materials_yaml(fit, lib, source=data.name))
    console.print(f"fitted {', '.join(fit.fitted)} to {fit.n_points} points: RMSE of "
                  f"log10(viscosity [Pa s]) {fit.rmse_before:.3f} → {fit.rmse_after:.3f}")
    from twinline.materials import PROPERTY_UNITS

    for name in fit.fitted:
        console.print(f"  {name} = {fit.constants[name]:.4g} {PROPERTY_UNITS[name] or '-'}")
    for note in fit.notes:
        console.print(f"  note: {note}")
    console.print(f"wrote {out} (use it with --materials or a recipe's materials_files)")


def register(app_: typer.Typer) -> None:
    """Add ``twinline calibrate`` to the main app."""
    app_.add_typer(app, name="calibrate")
