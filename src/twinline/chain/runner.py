"""``run_chain``: recipe → every product of the line, with warnings, timing and a Run.

The run reads like the line (:data:`twinline.spec.steps.STEP_TABLE`):

1. the electrode steps, mixing → coating → drying → calendering → slitting → post-drying, for
   the cathode and the anode (:func:`twinline.chain.steps.evaluate_electrode`), each from the
   electrode's :class:`~twinline.process.products.Composition`;
2. optionally the 3D mesostructure of the calendered cathode (:mod:`twinline.chain.structure`),
   whose tortuosity factors, surfaces and coverages replace the closed-form estimates;
3. optionally the cell steps, assembly → filling → formation, and the discharge
   (:mod:`twinline.chain.cell`);
4. optionally Monte Carlo propagation of the machine tolerances through the electrode steps
   (:mod:`twinline.chain.uncertainty`); the cell outputs and a 3D structure are evaluated once
   (their ``std`` is the model's own or 0).

It records every product, the outputs keyed by catalogue id (``cathode.calendering.porosity``:
``{value, unit, std}`` in the catalogue's display unit; :mod:`twinline.chain.outputs`), the
validity warnings, every step with its model and time, the package versions and the
citations (BibTeX keys of ``twinline/references.bib``).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from functools import cache
from typing import Any

from twinline.chain.outputs import (
    STRUCTURE_IDS,
    collect_outputs,
    output_entry,
    step_values,
)
from twinline.chain.record import Run
from twinline.chain.steps import (
    POLARITY,
    electrode_sections,
    electrolyte_conductivity,
    electrolyte_name,
    evaluate_electrode,
    resolve_materials,
)
from twinline.chain.structure import porosity_note, structure_entry, zero_voxel_entry
from twinline.spec.errors import ProcessError, RecipeError, ValidityWarning
from twinline.spec.steps import steps


def run_chain(recipe: Any, *, materials: Any = None, structure: bool = False,
              cell: bool = False, seed: int = 0, samples: int = 0,
              c_rates: tuple[float, ...] = (0.5, 1.0, 2.0), cell_model: str = "DFN",
              progress: Callable[[str, float], None] | None = None,
              extrapolate_structure: bool = False) -> Run:
    """Evaluate the process chain for a recipe.

    Parameters
    ----------
    recipe : Recipe
        From :func:`twinline.spec.recipe.load_recipe`.
    materials : MaterialLibrary, optional
        Default: the recipe's ``materials_files`` over the built-in library.
    structure : bool
        Generate and analyse a 3D mesostructure of the calendered cathode (slow: seconds).
    cell : bool
        Assemble, fill and form the cell and discharge it (PyBaMM; needs both electrodes).
    seed : int
        Seed of every random step (3D generation, stacking, screening, Monte Carlo).
    samples : int
        Monte Carlo samples of the machine tolerances (0: deterministic only).
    c_rates : tuple of float
        Discharge C-rates of the cell [1/h].
    cell_model : {"DFN", "SPMe", "SPM"}
        PyBaMM model of the discharge.
    progress : callable, optional
        ``progress(stage, fraction_done)``; the CLI wires it to a Rich progress bar.
    extrapolate_structure : bool
        With ``structure``: also extrapolate the 3D transport numbers to zero voxel size
        (:mod:`twinline.structure.extrapolation`, 3-5× the analysis time). The outputs and
        the cell keep the raw values; each structure transport output gets a
        ``zero_voxel_size`` record beside it and the cell's inputs a ``cell_input`` note.

    Returns
    -------
    Run

    Raises
    ------
    RecipeError, MaterialError
        Unknown material or model name, inconsistent recipe.
    ProcessError
        A step produced a physically impossible product (the message names the recipe
        file, the electrode, the step and the settings it follows from).
    CellError
        The cell cannot be built, formed or discharged.
    """
    from datetime import UTC, datetime

    from twinline.process.composition import resolve_composition
    from twinline.process.registry import model_citations

    t_start = time.perf_counter()
    report = progress or (lambda stage, frac: None)
    if int(samples) < 0:
        raise RecipeError(f"samples = {samples} must be >= 0")
    if extrapolate_structure and not structure:
        raise RecipeError("extrapolate_structure = True needs structure = True (the "
                          "extrapolation is of the 3D analysis; --extrapolate needs --structure)")
    materials = resolve_materials(recipe, materials)
    kappa = electrolyte_conductivity(recipe, materials)
    timings: dict[str, float] = {}
    models: dict[str, str] = {}
    citations: list[str] = []
    run_warnings: list[str] = []
    step_log: list[dict[str, Any]] = []
    products: dict[str, dict[str, Any]] = {}
    outputs: dict[str, dict[str, Any]] = {}
    compositions: dict[str, Any] = {}
    mesostructures: dict[str, Any] = {}
    porosity_notes: dict[str, dict[str, Any]] = {}

    # 0. target-property electrodes: solve the coating gap and the calender pressure
    if any(getattr(e, "target", None) is not None for e in recipe.electrodes().values()):
        from twinline.chain.targets import solve_targets

        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ValidityWarning)
            recipe, solved = solve_targets(recipe, materials)
        add_warnings(run_warnings, "", caught)
        for rec in solved:
            rec["seconds"] = time.perf_counter() - t0
            step_log.append(rec)
            timings[f"{rec['scope']}.target"] = rec["seconds"]

    # 1. the electrode steps, once per electrode
    electrodes = recipe.electrodes()
    for i, (name, electrode) in enumerate(electrodes.items()):
        report(f"{name} chain", i / max(len(electrodes), 1))
        if electrode.measured is not None:
            # a measured (teardown) electrode bypasses the electrode steps
            from twinline.chain.measured import measured_products

            if samples and samples > 0:
                raise RecipeError(f"{name}.measured: a measured electrode has no machine "
                                  f"settings to sample; run with samples = 0")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ValidityWarning)
                comp = resolve_composition(electrode, materials, POLARITY[name])
                compositions[name] = comp
                products[name] = measured_products(electrode, comp, materials)
            add_warnings(run_warnings, name, caught)
            step_log.append({"scope": name, "step": "measured", "model": "measured",
                             "seconds": 0.0})
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ValidityWarning)
            comp = resolve_composition(electrode, materials, POLARITY[name])
            compositions[name] = comp
            try:
                prods = evaluate_electrode(name, electrode, comp, materials,
                                           timings=timings, log=step_log)
            except ProcessError as err:
                raise ProcessError(explain_failure(recipe, name, str(err))) from None
        add_warnings(run_warnings, name, caught)
        for msg in product_flags(name, prods, electrode_sections(electrode)):
            if msg not in run_warnings:
                run_warnings.append(msg)
        products[name] = prods
    for entry in step_log:
        models[f"{entry['scope']}.{entry['step']}"] = entry["model"]
    for step in steps("electrode"):
        _cite(citations, model_citations(step.name))

    # 2. the 3D structure of the calendered cathode
    if structure and "cathode" in products:
        from twinline.chain.structure import build_structure

        report("3D structure", 0.5)
        t0 = time.perf_counter()
        meso, analysis, caught = build_structure(
            products["cathode"]["calendered"], seed=seed, electrolyte_conductivity=kappa,
            materials=materials, extrapolate=extrapolate_structure)
        add_warnings(run_warnings, "cathode", caught)
        products["cathode"]["structure"] = analysis
        mesostructures["cathode"] = meso
        timings["cathode.structure"] = time.perf_counter() - t0
        _cite(citations, ("Duquesnoy2020",))

    for name, prods in products.items():
        if electrodes[name].measured is not None:
            continue  # no electrode-step outputs: the measured values are the recipe's own
        raw = collect_outputs(prods, electrode_sections(electrodes[name]),
                              structure=prods.get("structure"),
                              electrolyte_conductivity=kappa)
        flagged = False
        for pid, (value, si_unit, source) in raw.items():
            entry = output_entry(pid, value, si_unit)
            if pid in STRUCTURE_IDS:
                entry.update(structure_entry(pid, source, prods.get("structure"), seed))
                if source is None:
                    entry.update(zero_voxel_entry(pid, entry["value"], prods.get("structure")))
                if source is not None:
                    from twinline.structure.closed_forms import FITTED_CITATIONS

                    _cite(citations, FITTED_CITATIONS)
                    if source.startswith("extrapolated") and not flagged:
                        flagged = True
                        run_warnings.append(f"{name}.calendering: structure parameters "
                                            f"{source}")
            outputs[f"{name}.{pid}"] = entry
        porosity_notes[name] = porosity_note(prods)

    # 3. the cell steps and the discharge
    run_cell = None
    if cell:
        report("cell", 0.7)
        t0 = time.perf_counter()
        run_cell = _cell(recipe, products, materials, outputs, citations, run_warnings,
                         mesostructures, step_log, seed=seed, c_rates=c_rates,
                         model=cell_model, models=models)
        timings["cell"] = time.perf_counter() - t0

    # 4. Monte Carlo over the machine tolerances
    sensitivity: list[dict[str, Any]] = []
    if samples and samples > 0:
        from twinline.chain.uncertainty import monte_carlo

        report("Monte Carlo", 0.8)
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ValidityWarning)
            stats, sensitivity = monte_carlo(recipe, materials, compositions,
                                             samples=int(samples), seed=seed,
                                             electrolyte_conductivity=kappa,
                                             progress=lambda f: report("Monte Carlo",
                                                                       0.8 + 0.19 * f))
        add_warnings(run_warnings, "", caught, prefix="Monte Carlo: ")
        for key, st in stats.items():
            entry = outputs.get(key)
            if entry is None:
                continue
            measured = (key.split(".", 1)[1] in STRUCTURE_IDS
                        and not entry.get("estimate"))
            if not measured:  # a measured 3D value is not re-sampled: keep std 0
                entry.update(st)
        timings["monte_carlo"] = time.perf_counter() - t0
        if sensitivity:
            _cite(citations, ("Saltelli2008",))
    report("done", 1.0)
    timings["total"] = time.perf_counter() - t_start
    return Run(
        recipe_name=recipe.name,
        inputs=recipe.model_dump(mode="json", exclude={"source_path"}),
        models=models, outputs=outputs, products=products, steps=step_log,
        warnings=run_warnings, timings=timings, versions=_versions(), citations=citations,
        seed=int(seed), samples=int(samples), sensitivity=sensitivity, cell=run_cell,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        mesostructures=mesostructures, porosity_notes=porosity_notes)


def _cell(recipe: Any, products: dict[str, dict[str, Any]], materials: Any,
          outputs: dict[str, dict[str, Any]], citations: list[str], run_warnings: list[str],
          mesostructures: dict[str, Any], step_log: list[dict[str, Any]], *, seed: int,
          c_rates: tuple[float, ...], model: str, models: dict[str, str]) -> Any:
    """The cell walk (:func:`twinline.chain.cell.run_cell`) and its outputs."""
    from twinline.chain.cell import run_cell
    from twinline.chain.steps import section_of
    from twinline.process.registry import model_citations

    imbibition = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if "cathode" in mesostructures:
            from twinline.chain.structure import imbibition_of

            imbibition = imbibition_of(mesostructures["cathode"],
                                       materials[electrolyte_name(recipe)])
        first = len(step_log)
        cathode_structure = products.get("cathode", {}).get("structure")
        if cathode_structure is None and "cathode" in products:
            # the fitted closed form: PyBaMM gets the tortuosity factors the run reports
            from twinline.chain.structure import estimate_for_cell

            cathode_structure = estimate_for_cell(products["cathode"]["calendered"],
                                                  electrolyte_conductivity(recipe, materials))
        cell_products, perf = run_cell(
            recipe, products, materials, structure=cathode_structure,
            imbibition=imbibition, seed=seed, c_rates=c_rates, model=model, log=step_log)
    add_warnings(run_warnings, "", caught, prefix="cell: ")
    products["cell"] = cell_products
    for entry in step_log[first:]:
        models[f"cell.{entry['step']}"] = entry["model"]
    sections = {s.name: section_of(recipe, s) for s in steps("cell")}
    for pid, (value, std, si_unit) in step_values("cell", cell_products, sections).items():
        outputs[pid] = output_entry(pid, value, si_unit, std)
    for pid, (value, si_unit) in perf.outputs().items():
        outputs[pid] = output_entry(pid, value, si_unit)
    for step in steps("cell"):
        _cite(citations, model_citations(step.name))
    _cite(citations, perf.citations)
    return perf


def explain_failure(recipe: Any, electrode: str, message: str) -> str:
    """A step's :class:`ProcessError` with the recipe file and the settings it follows from.

    The settings named are those the recipe file gives explicitly for the failing step and
    the steps before it (a physically impossible product follows from them).
    """
    where = str(recipe.source_path) if getattr(recipe, "source_path", None) else recipe.name
    failing = message.split(": ", 2)[1] if message.count(": ") >= 2 else ""
    names = [s.name for s in steps("electrode")]
    upto = names[:names.index(failing) + 1] if failing in names else names
    sections = electrode_sections(recipe.electrodes()[electrode])
    from twinline.chain.uncertainty import field_unit_and_range

    given = []
    for step in upto:
        section = sections[step]
        for field_name in sorted(getattr(section, "model_fields_set", ())):
            value = getattr(section, field_name)
            meta = field_unit_and_range(type(section), field_name)
            if meta is not None and isinstance(value, int | float) \
                    and not isinstance(value, bool):
                unit = f" {meta[0]}" if meta[0] else ""
                given.append(f"{electrode}.{step}.{field_name} = {value:.4g}{unit}")
    hint = (f"; it follows from the {electrode}'s settings: {', '.join(given)}" if given
            else "")
    return f"{where}: {message}{hint}"


def product_flags(name: str, prods: dict[str, Any], sections: dict[str, Any]) -> list[str]:
    """Quality flags of the products as messages (not coatable, wet at exit, ...)."""
    from twinline.chain.outputs import scalar

    out = []
    wet, dry = prods["wet_film"], prods["dry"]
    cal, fin = prods["calendered"], prods["finished"]
    if not _all(wet.slurry.coatable):
        out.append(f"{name}.mixing: slurry viscosity {scalar(wet.slurry.viscosity_at_coating):.3g}"
                   f" Pa s at {scalar(wet.slurry.coating_shear_rate):.3g} 1/s is outside the "
                   "coatable window")
    if not _all(wet.in_coating_window):
        out.append(f"{name}.coating: the setting is outside the coating window (wet thickness "
                   f"{scalar(wet.wet_thickness) * 1e6:.4g} um)")
    if not _all(dry.dry_at_exit):
        speed = sections["drying"].web_speed or sections["coating"].speed
        length = sum(scalar(z.length) for z in sections["drying"].zones)
        out.append(f"{name}.drying: the film is not dry at the dryer exit: drying time "
                   f"{scalar(dry.drying_time):.4g} s > residence time "
                   f"{length / scalar(speed):.4g} s; residual solvent "
                   f"{scalar(dry.residual_solvent) * 1e3:.4g} g/m^2")
    if not _all(~_asbool(cal.crack_risk)):
        out.append(f"{name}.calendering: compacted to porosity {scalar(cal.porosity):.3f}, "
                   "beyond the material's limit (crack risk)")
    if not _all(fin.moisture_ok):
        out.append(f"{name}.post_drying: residual moisture "
                   f"{scalar(fin.residual_moisture) * 1e6:.4g} ppm is above the target "
                   f"{scalar(sections['post_drying'].target_moisture) * 1e6:.4g} ppm")
    return out


def _asbool(x: Any) -> Any:
    import numpy as np

    return np.asarray(x, dtype=bool)


def _all(x: Any) -> bool:
    return bool(_asbool(x).all())


def add_warnings(into: list[str], electrode: str, caught: Any, prefix: str = "") -> None:
    """Append new warning messages; under Monte Carlo one per step and parameter."""
    seen = {m.split(" = ")[0] for m in into} if prefix else set(into)
    for w in caught:
        text = str(w.message)
        msg = prefix + (f"{electrode}.{text}" if electrode else text)
        key = msg.split(" = ")[0] if prefix else msg
        if key not in seen:
            seen.add(key)
            into.append(msg)


def _cite(citations: list[str], keys: Any) -> None:
    for key in keys:
        if key not in citations:
            citations.append(key)


@cache
def _package_versions() -> tuple[tuple[str, str], ...]:
    import platform
    from importlib import metadata

    out = [("python", platform.python_version())]
    for pkg in ("twinline", "numpy", "scipy", "pydantic", "pint"):
        try:
            out.append((pkg, metadata.version(pkg)))
        except metadata.PackageNotFoundError:
            out.append((pkg, "unknown"))
    return tuple(out)


def _versions() -> dict[str, str]:
    import sys

    out = dict(_package_versions())
    for mod in ("pybamm", "plotly"):
        if mod in sys.modules:
            out[mod] = getattr(sys.modules[mod], "__version__", "unknown")
    return out
