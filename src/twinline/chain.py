"""The process chain: recipe → every intermediate product, with warnings, timing and a Run.

:func:`run_chain` resolves the materials (the recipe's ``materials_files``, relative to the
recipe file, over the built-in library), builds each electrode's
:class:`~twinline.process.products.Composition`, then runs

    mixing → coating → drying → calendering → slitting → post-drying

for the cathode and the anode, each step with the model the recipe names
(:func:`twinline.process.registry.get_model`). It records every product, the outputs keyed
by catalogue id (``cathode.calendering.porosity``: ``{value, unit, std}``, in the
catalogue's display unit), the validity warnings of the step models, the time per step,
the package versions, the model choices and their citations (BibTeX keys of
``twinline/references.bib``). Optional hooks: ``structure=True`` generates and analyses a 3D
mesostructure of the calendered cathode (:mod:`twinline.structure`), whose tortuosity
factors, surfaces and coverages replace the closed-form estimates; ``cell=True`` hands the
products to :func:`twinline.cell.simulate_cell`. ``samples > 0`` propagates the machine
tolerances by Monte Carlo (:mod:`twinline.uncertainty`) through the electrode steps; the
cell outputs and a measured 3D structure are evaluated once (their ``std`` is the cell
model's own or 0).

Without a 3D structure, the structure parameters of the calendered electrode are closed-form
estimates, marked ``"source": "estimate"`` in the outputs:

* pore tortuosity factor, Bruggeman (1935): :math:`\\tau = \\varepsilon^{-1/2}`, so that
  :math:`D_{eff}/D = \\varepsilon^{3/2}`; solid phase likewise with :math:`1-\\varepsilon`;
* effective ionic conductivity :math:`\\sigma_{eff} = \\sigma_0\\,\\varepsilon/\\tau` (with the
  cell's electrolyte conductivity, LP30 by default);
* active surface of spheres, :math:`a = 3\\,\\varepsilon_{AM}/r` [m² m⁻³];
* current-collector coverage by each phase = its volume fraction (Delesse's principle for
  an isotropic random medium: area fraction on a plane = volume fraction);
* roll gap = foil + calendered thickness / (1 + spring-back).
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from twinline.atomic import write_atomic
from twinline.spec.errors import ProcessError, TwinlineError

#: Electrode name → polarity.
POLARITY = {"cathode": "positive", "anode": "negative"}
#: The electrode steps in order, with the product key each one produces.
STEPS: tuple[tuple[str, str], ...] = (
    ("mixing", "slurry"), ("coating", "wet_film"), ("drying", "dry"),
    ("calendering", "calendered"), ("slitting", "slit"), ("post_drying", "finished"))
#: Default electrolyte for the conductivity estimate when the recipe has no cell section.
DEFAULT_ELECTROLYTE = "LP30"


# ---------------------------------------------------------------------------- the Run record
@dataclass
class Run:
    """One evaluation of the chain for one recipe (plain data: pickles, JSON round trip).

    Attributes
    ----------
    recipe_name : str
    inputs : dict
        The recipe as JSON-able data (quantities in SI, with units).
    models : dict
        ``"cathode.mixing"`` → model name.
    outputs : dict
        Catalogue id with electrode prefix → ``{"value", "unit", "std", ...}``; Monte Carlo
        adds ``mean``, ``p5``, ``p50``, ``p95``.
    products : dict
        ``"cathode"`` → ``{"slurry", "wet_film", "dry", "calendered", "slit", "finished"}``
        (+ ``"structure"`` with ``structure=True``).
    warnings : list of str
        Validity warnings (step, parameter, value, range), in order, without repeats.
    timings : dict
        Seconds per step (``"cathode.drying"``), ``"monte_carlo"``, ``"total"``.
    versions, citations, seed, samples, sensitivity, cell, created
    """

    recipe_name: str
    inputs: dict[str, Any]
    models: dict[str, str]
    outputs: dict[str, dict[str, Any]]
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    citations: list[str] = field(default_factory=list)
    seed: int = 0
    samples: int = 0
    sensitivity: list[dict[str, Any]] = field(default_factory=list)
    cell: Any = None
    created: str = ""
    #: 3D images (``electrode → Mesostructure``) of a ``structure=True`` run; kept in memory
    #: and in pickles for figures, not written to JSON (the analysis is, in ``products``).
    mesostructures: dict[str, Any] = field(default_factory=dict, repr=False)

    # -- serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (products and the cell as nested dicts of SI floats)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "mesostructures":
                continue
            if f.name == "products":
                value = {e: {k: _to_plain(p) for k, p in prods.items()}
                         for e, prods in value.items()}
            else:
                value = _to_plain(value)
            out[f.name] = value
        return out

    def to_json(self, indent: int | None = 2) -> str:
        """The run as JSON text (NaN written as ``null``)."""
        return json.dumps(_nan_to_none(self.to_dict()), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Run:
        """Inverse of :meth:`to_dict`: products are rebuilt as product dataclasses."""
        kwargs = {f.name: data[f.name] for f in fields(cls)
                  if f.name in data and f.name != "mesostructures"}
        kwargs["products"] = {e: {k: _product_from_dict(k, v) for k, v in prods.items()}
                              for e, prods in data.get("products", {}).items()}
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> Run:
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> None:
        """Write ``run.json`` atomically."""
        write_atomic(path, self.to_json())

    # -- convenience ------------------------------------------------------------------
    def value(self, key: str) -> float:
        """The value of an output (``"cathode.calendering.porosity"``) in its unit."""
        return self.outputs[key]["value"]

    def table(self) -> list[dict[str, Any]]:
        """Outputs as rows ``{id, value, unit, std}`` sorted by id."""
        return [{"id": k, **v} for k, v in sorted(self.outputs.items())]


def load_run(path: str | Path) -> Run:
    """Read a ``run.json`` written by :meth:`Run.save`."""
    p = Path(path)
    try:
        return Run.from_json(p.read_text("utf-8"))
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise TwinlineError(f"{p}: not a twinline run.json ({err})") from None


def _to_plain(value: Any) -> Any:
    import dataclasses

    if hasattr(value, "to_dict"):
        return _to_plain(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _to_plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value


def _product_from_dict(key: str, data: Any) -> Any:
    """Rebuild a product dataclass (recursively) from its dict; unknown keys stay dicts."""
    from twinline.process import products as P
    from twinline.process.slitting import SlitElectrode

    classes = {"slurry": P.Slurry, "wet_film": P.WetFilm, "dry": P.DryElectrode,
               "calendered": P.CalenderedElectrode, "slit": SlitElectrode,
               "finished": P.FinishedElectrode}
    cls = classes.get(key)
    if cls is None or not isinstance(data, dict):
        return data
    return _rebuild(cls, data)


def _rebuild(cls: type, data: dict[str, Any]) -> Any:
    from twinline.process import products as P

    nested = {"composition": P.Composition, "slurry": P.Slurry,
              "electrode": P.CalenderedElectrode}
    names = {f.name for f in fields(cls)}
    kwargs = {}
    for k, v in data.items():
        if k not in names:
            continue
        if k in nested and isinstance(v, dict):
            v = _rebuild(nested[k], v)
        elif isinstance(v, list):
            v = tuple(v)
        elif v is None and k not in ("warnings",):
            v = float("nan")
        kwargs[k] = v
    return cls(**kwargs)


# ---------------------------------------------------------------------------- outputs
#: (catalogue id, SI unit, getter(products, sections) -> SI value). ``sections`` are the
#: recipe sections as evaluated (arrays under Monte Carlo).
Getter = Callable[[dict[str, Any], dict[str, Any]], Any]


def _drying_temperature(s: dict[str, Any]) -> Any:
    zones = s["drying"].zones
    lengths = [np.asarray(z.length, float) for z in zones]
    return sum(np.asarray(z.temperature, float) * L for z, L in zip(zones, lengths,
                                                                       strict=True)) / sum(lengths)


def _line_speed(s: dict[str, Any]) -> Any:
    ws = s["drying"].web_speed
    return s["coating"].speed if ws is None else ws


OUTPUTS: tuple[tuple[str, str, Getter], ...] = (
    ("mixing.solid_content", "", lambda p, s: p["slurry"].solid_mass_fraction),
    ("mixing.density", "kg/m^3", lambda p, s: p["slurry"].density),
    ("mixing.viscosity", "Pa*s", lambda p, s: p["wet_film"].slurry.viscosity_at_coating),
    ("mixing.solid_volume_fraction", "", lambda p, s: p["slurry"].solid_volume_fraction),
    ("coating.speed", "m/s", lambda p, s: s["coating"].speed),
    ("coating.gap", "m", lambda p, s: s["coating"].gap),
    ("coating.wet_film_thickness", "m", lambda p, s: p["wet_film"].wet_thickness),
    ("coating.loading", "kg/m^2", lambda p, s: p["wet_film"].areal_loading),
    ("coating.am_loading", "kg/m^2", lambda p, s: p["wet_film"].am_loading),
    ("coating.areal_capacity", "C/m^2", lambda p, s: p["wet_film"].areal_capacity),
    ("drying.line_speed", "m/s", lambda p, s: _line_speed(s)),
    ("drying.temperature", "K", lambda p, s: _drying_temperature(s)),
    ("drying.coating_thickness", "m", lambda p, s: p["dry"].thickness),
    ("drying.porosity", "", lambda p, s: p["dry"].porosity),
    ("drying.weight", "kg/m^2", lambda p, s: p["dry"].areal_loading),
    ("drying.energy_consumption", "J/m^2", lambda p, s: p["dry"].energy_per_area),
    ("drying.drying_time", "s", lambda p, s: p["dry"].drying_time),
    ("drying.binder_migration_number", "", lambda p, s: p["dry"].binder_migration),
    ("drying.residual_solvent", "kg/m^2", lambda p, s: p["dry"].residual_solvent),
    ("calendering.gap", "m", lambda p, s: _roll_gap(p["calendered"])),
    ("calendering.pressure", "Pa", lambda p, s: p["calendered"].pressure),
    ("calendering.line_load", "N/m", lambda p, s: p["calendered"].line_load),
    ("calendering.speed", "m/s", lambda p, s: s["calendering"].speed),
    ("calendering.temperature", "K", lambda p, s: s["calendering"].roll_temperature),
    ("calendering.thickness", "m", lambda p, s: p["calendered"].thickness),
    ("calendering.porosity", "", lambda p, s: p["calendered"].porosity),
    ("calendering.springback", "", lambda p, s: p["calendered"].springback),
    ("calendering.crack_risk", "", lambda p, s: np.asarray(p["calendered"].crack_risk, float)),
    ("slitting.slitting_speed", "m/s", lambda p, s: s["slitting"].speed),
    ("slitting.edge_defect_risk", "", lambda p, s: p["slit"].edge_defect_risk),
    ("post_drying.temperature", "K", lambda p, s: s["post_drying"].temperature),
    ("post_drying.time", "s", lambda p, s: s["post_drying"].time),
    ("post_drying.residual_moisture", "", lambda p, s: p["finished"].residual_moisture),
)

#: Structure parameters of the calendered coating: (id, SI unit, estimate key,
#: :class:`~twinline.structure.analyse.StructureAnalysis` field).
STRUCTURE_OUTPUTS: tuple[tuple[str, str, str, str], ...] = (
    ("calendering.cross_plane_tortuosity_factors", "", "tortuosity_factor_pore",
     "tortuosity_factor_pore"),
    ("calendering.solid_tortuosity_factor", "", "tortuosity_factor_solid",
     "tortuosity_factor_solid"),
    ("calendering.effective_ionic_conductivity", "S/m", "effective_ionic_conductivity",
     "sigma_eff_S_per_m"),
    ("calendering.active_surface", "1/m", "active_surface", "am_pore_area_per_m"),
    ("calendering.cc_coverage_am", "", "cc_coverage_am", "cc_coverage_am"),
    ("calendering.cc_coverage_cbd", "", "cc_coverage_cbd", "cc_coverage_cbd"),
)


_STRUCTURE_IDS = frozenset(row[0] for row in STRUCTURE_OUTPUTS)


def _roll_gap(cal) -> Any:
    """Roll gap [m] = foil + coating thickness under load (before spring-back)."""
    return (np.asarray(cal.foil_thickness, float)
            + np.asarray(cal.thickness, float) / (1.0 + np.asarray(cal.springback, float)))


def structure_estimates(cal, electrolyte_conductivity: float) -> dict[str, Any]:
    """Closed-form structure parameters of a calendered coating (module docstring).

    Returns SI values keyed like :data:`STRUCTURE_OUTPUTS`' analysis fields.
    """
    eps = np.asarray(cal.porosity, dtype=float)
    tau_pore = eps ** -0.5
    return {
        "tortuosity_factor_pore": tau_pore,
        "tortuosity_factor_solid": (1.0 - eps) ** -0.5,
        "effective_ionic_conductivity": electrolyte_conductivity * eps / tau_pore,
        "active_surface": 3.0 * np.asarray(cal.am_volume_fraction, float)
        / np.asarray(cal.particle_radius, float),
        "cc_coverage_am": np.asarray(cal.am_volume_fraction, float),
        "cc_coverage_cbd": np.asarray(cal.cbd_volume_fraction, float),
    }


@cache
def display_unit(pid: str, si_unit: str) -> tuple[str, float, float]:
    """Display unit of catalogue id ``pid`` and the linear map ``y = a·x_SI + b`` to it.

    The catalogue's unit is used when it converts from ``si_unit``; otherwise the SI unit.
    """
    from twinline.spec.units import to_unit

    unit = si_unit
    try:
        from twinline.spec.catalogue import catalogue

        cat_unit = _catalogue_unit(catalogue().get(pid))
        if cat_unit is not None:
            to_unit(1.0, si_unit, cat_unit)  # raises when not convertible
            unit = cat_unit
    except TwinlineError:
        raise
    except Exception:  # a catalogue unit we cannot convert: keep SI
        unit = si_unit
    if unit == si_unit:
        return unit, 1.0, 0.0
    b = to_unit(0.0, si_unit, unit)
    a = to_unit(1.0, si_unit, unit) - b
    return unit, a, b


def _catalogue_unit(param: Any) -> str | None:
    for attr in ("si_display_unit", "display_unit", "unit"):
        u = getattr(param, attr, None)
        if isinstance(u, str):
            return u
    return None


def collect_outputs(products: dict[str, Any], sections: dict[str, Any], *,
                    structure: Any = None, electrolyte_conductivity: float = 1.119
                    ) -> dict[str, tuple[Any, str, bool]]:
    """SI outputs of one electrode: ``id → (value, si_unit, estimated)`` (arrays allowed)."""
    out: dict[str, tuple[Any, str, bool]] = {}
    for pid, unit, get in OUTPUTS:
        value = get(products, sections)
        if value is None:
            continue
        out[pid] = (value, unit, False)
    est = structure_estimates(products["calendered"], electrolyte_conductivity)
    for pid, unit, name, field_name in STRUCTURE_OUTPUTS:
        measured = getattr(structure, field_name, None) if structure is not None else None
        if measured is not None and np.all(np.isfinite(np.asarray(measured, float))):
            out[pid] = (np.asarray(measured, float), unit, False)
        else:
            out[pid] = (est[name], unit, True)
    return out


# ---------------------------------------------------------------------------- the electrode chain
def evaluate_electrode(name: str, electrode, composition, materials, *,
                       sections: dict[str, Any] | None = None,
                       timings: dict[str, float] | None = None) -> dict[str, Any]:
    """Run the six electrode steps; returns ``{product key: product}``.

    ``sections`` overrides the recipe sections (Monte Carlo passes sections holding arrays,
    built with ``Section.model_construct``). A :class:`ProcessError` is re-raised with the
    electrode name in front.
    """
    from twinline.process.registry import get_model

    sec = sections if sections is not None else {s: getattr(electrode, s) for s, _ in STEPS}
    products: dict[str, Any] = {}
    prev: Any = composition
    for step, key in STEPS:
        t0 = time.perf_counter()
        fn = get_model(step, sec[step].model)
        try:
            if step == "post_drying":
                prev = fn(sec[step], prev, materials, binder=composition.binder)
            else:
                prev = fn(sec[step], prev, materials)
        except ProcessError as err:
            raise ProcessError(f"{name}: {err}") from None
        products[key] = prev
        if timings is not None:
            timings[f"{name}.{step}"] = timings.get(f"{name}.{step}", 0.0) + (
                time.perf_counter() - t0)
    return products


def electrode_sections(electrode) -> dict[str, Any]:
    """The recipe sections of one electrode keyed by step."""
    return {s: getattr(electrode, s) for s, _ in STEPS}


def resolve_materials(recipe, materials=None):
    """The material library of a recipe: its ``materials_files`` over the built-in one."""
    from twinline.materials import builtin_library, load_library

    if materials is not None:
        return materials
    files = [recipe.base_dir / f for f in recipe.materials_files]
    return load_library(*files) if files else builtin_library()


def _electrolyte_conductivity(recipe, materials) -> float:
    name = recipe.cell.electrolyte if recipe.cell is not None else DEFAULT_ELECTROLYTE
    try:
        return float(materials[name].get("conductivity"))
    except TwinlineError:
        return 1.119


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


def _format_warning(electrode: str, message: str) -> str:
    return f"{electrode}.{message}" if electrode else message


def to_display(pid: str, value: Any, si_unit: str) -> tuple[Any, str]:
    """Convert an SI value (or array) to the catalogue's display unit of ``pid``."""
    unit, a, b = display_unit(pid, si_unit)
    return np.asarray(value, dtype=float) * a + b, unit


def _scalar(x: Any) -> float:
    a = np.asarray(x, dtype=float)
    return float(a) if a.size == 1 else float(np.mean(a))


# ---------------------------------------------------------------------------- run_chain
def run_chain(recipe, *, materials=None, structure: bool = False, cell: bool = False,
              seed: int = 0, samples: int = 0,
              progress: Callable[[str, float], None] | None = None) -> Run:
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
        Simulate the cell (:func:`twinline.cell.simulate_cell`, PyBaMM; needs both
        electrodes and a ``cell`` section).
    seed : int
        Seed of every random step (3D generation, Monte Carlo).
    samples : int
        Monte Carlo samples of the machine tolerances (0: deterministic only).
    progress : callable, optional
        ``progress(stage, fraction_done)``; the CLI wires it to a Rich progress bar.

    Returns
    -------
    Run

    Raises
    ------
    RecipeError, MaterialError
        Unknown material or model name, inconsistent recipe.
    ProcessError
        A step produced a physically impossible product (the message names electrode and
        step).
    """
    from datetime import UTC, datetime

    from twinline.process.composition import resolve_composition
    from twinline.process.registry import model_citations
    from twinline.spec.errors import ValidityWarning

    t_start = time.perf_counter()
    report = progress or (lambda stage, frac: None)
    if int(samples) < 0:
        from twinline.spec.errors import RecipeError

        raise RecipeError(f"samples = {samples} must be >= 0")
    materials = resolve_materials(recipe, materials)
    kappa = _electrolyte_conductivity(recipe, materials)
    timings: dict[str, float] = {}
    models: dict[str, str] = {}
    citations: list[str] = []
    run_warnings: list[str] = []
    all_products: dict[str, dict[str, Any]] = {}
    outputs: dict[str, dict[str, Any]] = {}
    compositions: dict[str, Any] = {}
    mesostructures: dict[str, Any] = {}

    electrodes = recipe.electrodes()
    for i, (name, electrode) in enumerate(electrodes.items()):
        report(f"{name} chain", i / max(len(electrodes), 1))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ValidityWarning)
            comp = resolve_composition(electrode, materials, POLARITY[name])
            compositions[name] = comp
            prods = evaluate_electrode(name, electrode, comp, materials, timings=timings)
        _add_warnings(run_warnings, name, caught)
        for msg in product_flags(name, prods, electrode_sections(electrode)):
            if msg not in run_warnings:
                run_warnings.append(msg)
        all_products[name] = prods
        for step, _ in STEPS:
            model = getattr(electrode, step).model
            models[f"{name}.{step}"] = model
            for key in model_citations(step):
                if key not in citations:
                    citations.append(key)

    if structure and "cathode" in all_products:
        report("3D structure", 0.5)
        t0 = time.perf_counter()
        meso, analysis = _structure_hook(
            all_products["cathode"]["calendered"], seed=seed, kappa=kappa,
            materials=materials, warn_into=run_warnings)
        all_products["cathode"]["structure"] = analysis
        mesostructures["cathode"] = meso
        timings["cathode.structure"] = time.perf_counter() - t0
        for key in ("Duquesnoy2020",):
            if key not in citations:
                citations.append(key)

    for name, prods in all_products.items():
        sec = electrode_sections(electrodes[name])
        raw = collect_outputs(prods, sec, structure=prods.get("structure"),
                              electrolyte_conductivity=kappa)
        for pid, (value, si_unit, estimated) in raw.items():
            disp, unit = to_display(pid, value, si_unit)
            entry: dict[str, Any] = {"value": _scalar(disp), "unit": unit, "std": 0.0}
            if estimated:
                entry["source"] = "estimate"
                for key in ("Bruggeman1935", "Delesse1847"):
                    if key not in citations:
                        citations.append(key)
            outputs[f"{name}.{pid}"] = entry

    run_cell = None
    if cell:
        report("cell", 0.7)
        t0 = time.perf_counter()
        run_cell = _cell_hook(recipe, all_products, materials, outputs, citations,
                              run_warnings, seed=seed)
        timings["cell"] = time.perf_counter() - t0

    sensitivity: list[dict[str, Any]] = []
    if samples and samples > 0:
        from twinline.uncertainty import monte_carlo

        report("Monte Carlo", 0.8)
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ValidityWarning)
            stats, sensitivity = monte_carlo(recipe, materials, compositions,
                                             samples=int(samples), seed=seed,
                                             electrolyte_conductivity=kappa,
                                             progress=lambda f: report("Monte Carlo",
                                                                       0.8 + 0.19 * f))
        _add_warnings(run_warnings, "", caught, prefix="Monte Carlo: ")
        for key, st in stats.items():
            entry = outputs.get(key)
            if entry is None:
                continue
            measured = (key.split(".", 1)[1] in _STRUCTURE_IDS
                        and entry.get("source") != "estimate")
            if not measured:  # a measured 3D value is not re-sampled: keep std 0
                entry.update(st)
        timings["monte_carlo"] = time.perf_counter() - t0
        if sensitivity and "Saltelli2008" not in citations:
            citations.append("Saltelli2008")
    report("done", 1.0)
    timings["total"] = time.perf_counter() - t_start
    return Run(
        recipe_name=recipe.name,
        inputs=recipe.model_dump(mode="json", exclude={"source_path"}),
        models=models, outputs=outputs, products=all_products, warnings=run_warnings,
        timings=timings, versions=_versions(), citations=citations, seed=int(seed),
        samples=int(samples), sensitivity=sensitivity, cell=run_cell,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        mesostructures=mesostructures)


def product_flags(name: str, prods: dict[str, Any], sections: dict[str, Any]) -> list[str]:
    """Quality flags of the products as messages (not coatable, wet at exit, ...)."""
    out = []
    wet, dry = prods["wet_film"], prods["dry"]
    cal, fin = prods["calendered"], prods["finished"]
    if not np.all(wet.slurry.coatable):
        out.append(f"{name}.mixing: slurry viscosity {_scalar(wet.slurry.viscosity_at_coating):.3g}"
                   f" Pa s at {_scalar(wet.slurry.coating_shear_rate):.3g} 1/s is outside the "
                   "coatable window")
    if not np.all(wet.in_coating_window):
        out.append(f"{name}.coating: the setting is outside the coating window (wet thickness "
                   f"{_scalar(wet.wet_thickness) * 1e6:.4g} um)")
    if not np.all(dry.dry_at_exit):
        speed = sections["drying"].web_speed or sections["coating"].speed
        length = sum(float(np.mean(z.length)) for z in sections["drying"].zones)
        out.append(f"{name}.drying: the film is not dry at the dryer exit: drying time "
                   f"{_scalar(dry.drying_time):.4g} s > residence time "
                   f"{length / _scalar(speed):.4g} s; residual solvent "
                   f"{_scalar(dry.residual_solvent) * 1e3:.4g} g/m^2")
    if np.any(cal.crack_risk):
        out.append(f"{name}.calendering: compacted to porosity {_scalar(cal.porosity):.3f}, "
                   "beyond the material's limit (crack risk)")
    if not np.all(fin.moisture_ok):
        out.append(f"{name}.post_drying: residual moisture "
                   f"{_scalar(fin.residual_moisture) * 1e6:.4g} ppm is above the target "
                   f"{_scalar(sections['post_drying'].target_moisture) * 1e6:.4g} ppm")
    return out


def _add_warnings(into: list[str], electrode: str, caught, prefix: str = "") -> None:
    """Append new warning messages; under Monte Carlo one per step and parameter."""
    seen = {m.split(" = ")[0] for m in into} if prefix else set(into)
    for w in caught:
        msg = prefix + _format_warning(electrode, str(w.message))
        key = msg.split(" = ")[0] if prefix else msg
        if key not in seen:
            seen.add(key)
            into.append(msg)


def _structure_hook(cal, *, seed: int, kappa: float, materials, warn_into: list[str]):
    """3D mesostructure of the calendered cathode + its analysis (lazy import).

    Voxel edge max(d50/8, thickness/160), lateral box max(8·d50, 30 µm): about 0.3 M
    voxels for a typical cathode, a few seconds on 2 cores.
    """
    from twinline.structure.analyse import analyse
    from twinline.structure.generate import from_calendered

    d50 = 2.0 * float(np.mean(cal.particle_radius))
    thickness = float(np.mean(cal.thickness))
    voxel = max(d50 / 8.0, thickness / 160.0)
    box = max(8.0 * d50, 30e-6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        meso = from_calendered(cal, voxel_size=voxel, box_xy=box, seed=seed,
                               materials=materials)
        result = analyse(meso, voxel_size=meso.voxel_size, electrolyte_conductivity=kappa)
    _add_warnings(warn_into, "cathode", caught, prefix="")
    return meso, result


def _cell_hook(recipe, products, materials, outputs, citations, run_warnings, *,
               seed: int = 0):
    """Cell performance from the products (lazy import of :mod:`twinline.cell`)."""
    from twinline.spec.errors import CellError

    try:
        from twinline.cell import simulate_cell
    except ImportError:
        raise CellError("cell=True needs twinline.cell.simulate_cell, which this installation "
                        "does not provide") from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        perf = simulate_cell(recipe, products, materials, seed=seed,
                             structure=products.get("cathode", {}).get("structure"))
    _add_warnings(run_warnings, "", caught, prefix="cell: ")
    cell_outputs = getattr(perf, "outputs", None)
    if callable(cell_outputs):
        cell_outputs = cell_outputs()
    if isinstance(cell_outputs, dict):
        for pid, entry in cell_outputs.items():
            if isinstance(entry, dict) and "value" in entry:
                outputs[pid] = {"value": entry["value"], "unit": entry.get("unit", ""),
                                "std": entry.get("std", 0.0)}
    for key in getattr(perf, "citations", ()) or ():
        if key not in citations:
            citations.append(key)
    return perf
