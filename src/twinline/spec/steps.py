"""The step table: every manufacturing step, mixing to formation, listed once.

A step is a registered step function with one contract,

    (recipe section, incoming product, materials) → product,

implemented in the module :attr:`Step.module` (``twinline.process.<name>``) as a mapping
``MODELS = {model name: function}`` and a mapping ``OUTPUTS`` of the catalogue parameters the
step reports (see :mod:`twinline.process.registry`). The chain (:mod:`twinline.chain`) walks
this table in order: first the electrode steps, once per electrode (the incoming product of
``mixing`` is the electrode's :class:`~twinline.process.products.Composition`), then the cell
steps (the incoming product of ``assembly`` is the
:class:`~twinline.process.products.ElectrodePair` of both finished electrodes). Every other
place that needs the list of steps (the catalogue, the model registry, campaigns, the JSON
schema export, the CLI) reads it from here.

Adding a step is: one module in ``twinline/process/``, one :class:`Step` in
:data:`STEP_TABLE` (or :func:`register_step` at run time), and its rows in
``spec/catalogue.csv`` (see ``CONTRIBUTING.md``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from twinline.spec.errors import SpecError

Scope = Literal["electrode", "cell"]


@dataclass(frozen=True)
class Step:
    """One manufacturing step.

    Attributes
    ----------
    name : str
        Catalogue step name (``calendering``); parameters are ``<name>.<parameter>``.
    scope : {"electrode", "cell"}
        Electrode steps run once per electrode, cell steps once per cell.
    module : str
        Module that defines ``MODELS`` (and ``OUTPUTS``, ``CITATIONS``).
    product : str
        Key of the step's product in :attr:`twinline.chain.Run.products`.
    section : str
        Attribute of the electrode recipe (electrode steps) or of the recipe (cell steps)
        that holds the step's settings; when the recipe has none, the step module's
        ``Section`` with its defaults is used.
    section_class : str
        Name of the recipe schema class of that section (JSON Schema ``$defs`` name).
    product_type : str
        Name of the product class in :mod:`twinline.process.products` (or, for a step
        added at run time, a ``module:Class`` path).
    """

    name: str
    scope: Scope
    module: str
    product: str
    section: str
    section_class: str
    product_type: str


#: The steps in process order. Fill before form: a cell is formed once it is wetted.
STEP_TABLE: list[Step] = [
    Step("mixing", "electrode", "twinline.process.mixing", "slurry", "mixing",
         "MixingSection", "Slurry"),
    Step("coating", "electrode", "twinline.process.coating", "wet_film", "coating",
         "CoatingSection", "WetFilm"),
    Step("drying", "electrode", "twinline.process.drying", "dry", "drying", "DryingSection",
         "DryElectrode"),
    Step("calendering", "electrode", "twinline.process.calendering", "calendered",
         "calendering", "CalenderingSection", "CalenderedElectrode"),
    Step("slitting", "electrode", "twinline.process.slitting", "slit", "slitting",
         "SlittingSection", "SlitElectrode"),
    Step("post_drying", "electrode", "twinline.process.post_drying", "finished", "post_drying",
         "PostDryingSection", "FinishedElectrode"),
    Step("assembly", "cell", "twinline.process.assembly", "cell", "cell", "CellSection",
         "Cell"),
    Step("filling", "cell", "twinline.process.filling", "filled", "filling", "FillingSection",
         "FilledCell"),
    Step("formation", "cell", "twinline.process.formation", "formed", "formation",
         "FormationSection", "FormedCell"),
]


def steps(scope: Scope | None = None) -> tuple[Step, ...]:
    """The steps in process order, optionally only those of one scope."""
    return tuple(s for s in STEP_TABLE if scope is None or s.scope == scope)


def step_names(scope: Scope | None = None) -> tuple[str, ...]:
    """Names of :func:`steps` (``("mixing", "coating", ...)``)."""
    return tuple(s.name for s in steps(scope))


def get_step(name: str) -> Step:
    """The step called ``name``; an unknown name is a :class:`SpecError` with the choices."""
    for s in STEP_TABLE:
        if s.name == name:
            return s
    names = step_names()
    near = difflib.get_close_matches(str(name), names, n=1, cutoff=0.5)
    raise SpecError(f"unknown process step {name!r}; steps are {', '.join(names)}"
                    + (f"; did you mean {near[0]!r}?" if near else ""))


def register_step(step: Step, *, after: str) -> None:
    """Insert ``step`` into the step table after the step called ``after`` (this process).

    For a new step shipped with twinline, add it to :data:`STEP_TABLE` instead.
    """
    if any(s.name == step.name for s in STEP_TABLE):
        raise SpecError(f"step {step.name!r} is already in the step table")
    anchor = get_step(after)
    if anchor.scope != step.scope:
        raise SpecError(f"step {step.name!r} ({step.scope}) cannot follow {after!r} "
                        f"({anchor.scope})")
    STEP_TABLE.insert(STEP_TABLE.index(anchor) + 1, step)


def unregister_step(name: str) -> None:
    """Remove a step added by :func:`register_step` (no error when absent)."""
    STEP_TABLE[:] = [s for s in STEP_TABLE if s.name != name]
