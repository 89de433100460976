"""The ``twinline`` command (Typer + Rich).

Every verb is a thin layer over the Python API; heavy imports happen inside the verbs so
that ``twinline --help`` is fast. Errors of type :class:`~twinline.spec.TwinlineError` are
printed on one line and exit with code 2 (see :func:`twinline.cli.common.fail`).
"""

from __future__ import annotations

import typer

from twinline.cli import (
    calibrate,
    cell,
    factory,
    learn,
    line,
    line_data,
    materials,
    recipe,
    run,
    serve,
    spec,
    structure,
    twin,
)

app = typer.Typer(
    name="twinline",
    help="A digital twin of lithium-ion battery cell manufacturing.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _every_verb(ctx: typer.Context) -> None:
    """Set-up shared by every verb: twinline's warnings print as one ``warning:`` line."""
    from twinline.cli.common import install_warning_printer

    ctx.call_on_close(install_warning_printer())


app.add_typer(spec.app, name="spec")
app.add_typer(recipe.app, name="recipe")
app.add_typer(materials.app, name="materials")
app.add_typer(structure.app, name="structure")
app.add_typer(cell.app, name="cell")
app.add_typer(line.app, name="line")
run.register(app)
learn.register(app)
calibrate.register(app)
line_data.register(app)
factory.register(app)
serve.register(app)
twin.register(app)


def main() -> None:
    """Entry point of the ``twinline`` script."""
    import os

    os.environ.setdefault("PYBAMM_OPTOUT_TELEMETRY", "true")
    app()
