"""twinline.chain: the process chain, recipe → every product of the line → a Run.

Parts, each importing only those above it in this list:

* :mod:`~twinline.chain.record` — the :class:`Run` record and its JSON;
* :mod:`~twinline.chain.outputs` — the output table (catalogue ids, display units, the
  closed-form structure estimates);
* :mod:`~twinline.chain.steps` — the walk over the step table: one step, one electrode;
* :mod:`~twinline.chain.structure` — the 3D structure of a calendered electrode (one sizing
  rule);
* :mod:`~twinline.chain.cell` — the cell walk (assembly → filling → formation) and the
  discharge, with what PyBaMM and the 3D image hand the cell steps;
* :mod:`~twinline.chain.uncertainty` — Monte Carlo propagation of machine tolerances;
* :mod:`~twinline.chain.runner` — :func:`run_chain`, which reads like the line;
* :mod:`~twinline.chain.citations` — the BibTeX keys and entries of a run or recipe.
"""

from __future__ import annotations

from twinline.chain.cell import run_cell, simulate_cell
from twinline.chain.record import Run, load_run
from twinline.chain.runner import POLARITY, run_chain
from twinline.chain.steps import evaluate_electrode, resolve_materials

__all__ = ["POLARITY", "Run", "evaluate_electrode", "load_run", "resolve_materials",
           "run_cell", "run_chain", "simulate_cell"]
