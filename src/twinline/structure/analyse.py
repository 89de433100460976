r"""Analysis of a labelled electrode image: the structure parameters a line cannot measure.

Input: a :class:`~twinline.structure.generate.Mesostructure` or a label array (0 pore, 1 AM,
2 CBD; axis 0 through the thickness, CC below index 0) with its voxel size [m].

Quantities (transport along ``axis``, 0 = through the thickness by default, or along each of
several axes; the rest is direction-free or, for the CC coverage, at the face of axis 0):

* phase fractions; ``porosity`` = pore voxel fraction (plus :math:`\varepsilon_n \phi_{CBD}` when a
  CBD nanoporosity is given);
* tortuosity factors :math:`\tau_f` of the pore phase (CBD dense by default, or porous with
  relative diffusivity :math:`\varepsilon_n^{\beta}`, β = 1.5) and of the solid network AM ∪ CBD,
  :math:`\tau_f = \varepsilon D_0/D_{eff}` (:mod:`.transport`) — TauFactor's ``tau`` and
  PoreSpy's ``tortuosity`` — and their square roots ``tortuosity_*`` :math:`= \sqrt{\tau_f}`
  (a geometric tortuosity only under Epstein's model :math:`\tau_f = \tau^2`; not what
  TauFactor or PoreSpy call tortuosity). :data:`DEFINITIONS` states each output key, and
  ``to_dict`` carries it as a ``definitions`` block;
* effective ionic conductivity by MacMullin,
  :math:`\sigma_{eff} = \sigma_{bulk}\,\varepsilon/\tau_f`;
* CC coverage by AM and by CBD: share of the voxels of the first layer (index 0) [-];
* active surface: share of the AM surface (AM voxel faces towards a non-AM voxel) that faces
  pore [-], and the AM–pore interface area per volume [m⁻¹];
* specific surface area: solid–pore interface area per box volume [m⁻¹], face count × 2/3 (the
  mean overestimate of an isotropic surface by voxel faces is 3/2, Cauchy–Crofton);
* percolating fraction of each phase: share of its voxels in 6-connected clusters touching
  both faces [-];
* pore-size distribution by local thickness (diameter of the largest ball inside the pore
  that covers the voxel, Hildebrand & Rüegsegger 1997), painted from the ridge of the
  Euclidean distance map;
* the Bruggeman exponent fitted to the pore result, :math:`D_{eff}/D_0 = \varepsilon^{\alpha}`,
  i.e. :math:`\alpha = \ln(\varepsilon/\tau_f)/\ln\varepsilon`.
* optionally (``extrapolate=True``), each transport number at zero voxel size and the raw
  value's discretisation error: Richardson extrapolation from the image and its 2×2×2 split
  (:mod:`.extrapolation`). The raw values stay the primary numbers (TauFactor's scheme).

References
----------
.. [1] M. Duquesnoy et al., J. Power Sources 480 (2020) 229103. doi:10.1016/j.jpowsour.2020.229103
.. [2] T. Hildebrand, P. Rüegsegger, J. Microsc. 185 (1997) 67-75.
       doi:10.1046/j.1365-2818.1997.1340694.x
.. [3] B. Tjaden, S. J. Cooper, D. J. L. Brett, D. Kramer, P. R. Shearing, Curr. Opin. Chem.
       Eng. 12 (2016) 44-51. doi:10.1016/j.coche.2016.02.006 (tortuosity definitions)
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from twinline.spec.errors import StructureError

CITATIONS: tuple[str, ...] = ("Duquesnoy2020", "Hildebrand1997", "Cooper2016")

#: Keys of the JSON that ``twinline structure analyse --json`` prints (issue 4; issue 17
#: added the transport axis, the values along each axis, the solver's criteria and the
#: definitions).
JSON_KEYS: tuple[str, ...] = (
    "porosity", "tortuosity_factor_pore", "tortuosity_factor_solid", "tortuosity_pore",
    "tortuosity_solid", "sigma_eff_S_per_m", "cc_coverage_am", "cc_coverage_cbd",
    "active_surface_fraction", "specific_surface_area_per_m", "percolating_fraction_pore",
    "bruggeman_exponent", "axis", "directions", "solver", "definitions")

_TF = ("tortuosity factor ε·D₀/D_eff of the {phase} along `axis` [-] (ε its volume fraction of "
       "the box, D_eff/D₀ from the steady-state diffusion solve); TauFactor's `tau`, PoreSpy's "
       "`tortuosity`; ε/τ_f = D_eff/D₀, 1/(D_eff/D₀) = MacMullin number")
_SQ = ("√(tortuosity_factor_{key}) [-]: a geometric tortuosity only under Epstein's model "
       "tortuosity factor = tortuosity²; NOT TauFactor's `tau` or PoreSpy's `tortuosity`")

#: What each number of the analysis means (printed with ``--json`` as ``definitions``).
DEFINITIONS: dict[str, str] = {
    "porosity": "pore voxel fraction of the box, plus ε_n·φ_CBD when a CBD nanoporosity is "
                "given [-]",
    "tortuosity_factor_pore": _TF.format(phase="pore phase (CBD dense unless a CBD "
                                               "nanoporosity is given)"),
    "tortuosity_factor_solid": _TF.format(phase="solid network AM ∪ CBD"),
    "tortuosity_pore": _SQ.format(key="pore"),
    "tortuosity_solid": _SQ.format(key="solid"),
    "sigma_eff_S_per_m": "effective ionic conductivity σ_bulk·ε/τ_f (MacMullin) along `axis` "
                         "[S/m]",
    "bruggeman_exponent": "α in D_eff/D₀ = ε^α fitted to the pore result, "
                          "ln(ε/τ_f)/ln ε [-]",
    "cc_coverage_am": "share of the first voxel layer of axis 0 (at the current collector) "
                      "that is AM [-]",
    "cc_coverage_cbd": "share of the first voxel layer of axis 0 that is CBD [-]",
    "active_surface_fraction": "share of the AM surface (voxel faces to non-AM) that faces "
                               "pore [-]",
    "specific_surface_area_per_m": "solid–pore interface area per box volume, voxel face count "
                                   "× 2/3 (Cauchy–Crofton) [1/m]",
    "percolating_fraction_pore": "share of the pore voxels in 6-connected clusters touching "
                                 "both faces normal to `axis` [-]",
    "axis": "direction of the transport values at the top level (0 = through the thickness, "
            "the CC below index 0; 1 and 2 in-plane)",
    "directions": "the transport values along each axis analysed (`--axis all`: 0, 1, 2)",
    "solver": "per phase, two checks reported apart: residual_below_tolerance = relative "
              "residual ||b−Au||/||b|| <= tolerance (the linear solve), flux_uniform = flux "
              "spread (max−min)/mean of the flux through the planes normal to the axis <= "
              "flux_spread_threshold (the physics: the same current through every plane); "
              "converged = both; the tortuosity factor is then within about the spread",
}


@dataclass(frozen=True)
class StructureAnalysis:
    """Structure parameters of one image (SI units; fractions in 0–1).

    ``tortuosity_factor_*`` are tortuosity factors ε·D₀/D_eff along ``axis`` (TauFactor's
    ``tau``, PoreSpy's ``tortuosity``; ``inf`` when the phase does not percolate),
    ``tortuosity_*`` their square roots (see :data:`DEFINITIONS`); ``sigma_eff_S_per_m``
    [S m⁻¹]; ``directions`` the transport values along each analysed axis (keys "0", "1",
    "2"); ``solver`` the criteria and figures of the solves along ``axis``;
    ``specific_surface_area_per_m`` and ``am_pore_area_per_m`` [m⁻¹];
    ``pore_diameter_*_m`` [m] (volume-weighted percentiles of the local thickness);
    ``extrapolation`` (with ``extrapolate=True``) each transport number's refined (h/2),
    extrapolated (h → 0) value and discretisation error (:mod:`.extrapolation`), else empty.
    """

    porosity: float
    tortuosity_factor_pore: float
    tortuosity_factor_solid: float
    tortuosity_pore: float
    tortuosity_solid: float
    sigma_eff_S_per_m: float
    cc_coverage_am: float
    cc_coverage_cbd: float
    active_surface_fraction: float
    specific_surface_area_per_m: float
    percolating_fraction_pore: float
    bruggeman_exponent: float
    am_fraction: float = float("nan")
    cbd_fraction: float = float("nan")
    am_pore_area_per_m: float = float("nan")
    percolating_fraction_am: float = float("nan")
    percolating_fraction_cbd: float = float("nan")
    percolating_fraction_solid: float = float("nan")
    pore_diameter_d10_m: float = float("nan")
    pore_diameter_d50_m: float = float("nan")
    pore_diameter_d90_m: float = float("nan")
    pore_size_histogram: dict[str, list[float]] = field(default_factory=dict)
    electrolyte_conductivity_S_per_m: float = float("nan")
    cbd_nanoporosity: float | None = None
    voxel_size_m: float = float("nan")
    shape: tuple[int, int, int] = (0, 0, 0)
    solver: dict[str, Any] = field(default_factory=dict)
    wall_s: float = float("nan")
    axis: int = 0
    directions: dict[str, dict[str, Any]] = field(default_factory=dict)
    extrapolation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, *, json_safe: bool = True) -> dict[str, Any]:
        """Plain dict with a ``definitions`` block (:data:`DEFINITIONS`, plus the
        ``extrapolation.*`` definitions when extrapolated); with ``json_safe`` an infinite or
        NaN value becomes ``None``. Without extrapolation the ``extrapolation`` key is left
        out."""
        d = asdict(self)
        d["shape"] = list(self.shape)
        d["definitions"] = dict(DEFINITIONS)
        if self.extrapolation:
            from twinline.structure.extrapolation import DEFINITIONS as EXTRAPOLATION

            d["definitions"].update(EXTRAPOLATION)
        else:
            del d["extrapolation"]
        if json_safe:
            d = _json_safe(d)
        return d


def _json_safe(v):
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def check_labels(labels) -> np.ndarray:
    """Return ``labels`` as a uint8 array after checking it is a 3D 0/1/2 label image.

    A boolean mask follows PoreSpy's convention: True is pore (label 0), False solid
    (label 1, AM; no CBD).

    Raises
    ------
    StructureError
        If it is not 3D, not integer-valued, or has labels outside {0, 1, 2}.
    """
    a = np.asarray(labels)
    if a.ndim != 3:
        raise StructureError(f"expected a 3D label image, got {a.ndim} dimension(s), shape "
                             f"{a.shape}")
    if a.size == 0:
        raise StructureError(f"the label image is empty (shape {a.shape})")
    if a.dtype == bool:   # PoreSpy's convention: True is pore space (twinline.structure.labels)
        from twinline.structure.labels import from_mask

        return from_mask(a)
    if not np.issubdtype(a.dtype, np.integer):
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise StructureError(f"not a label image: values must be the integers 0 (pore), 1 "
                                 f"(AM), 2 (CBD); got {a.dtype} values such as "
                                 f"{np.unique(a)[:5].tolist()}")
    lo, hi = a.min(), a.max()
    if lo < 0 or hi > 2:
        vals = np.unique(a)
        from twinline.structure.labels import suggest_mapping

        raise StructureError(f"not a label image: labels must be 0 (pore), 1 (AM), 2 (CBD); got "
                             f"{vals.size} distinct values in [{lo}, {hi}] (e.g. "
                             f"{vals[:6].tolist()}); map grey values to phases with --labels, "
                             f"e.g. --labels {suggest_mapping(vals)}")
    return a.astype(np.uint8, copy=False)


def _face_counts(labels: np.ndarray) -> dict[tuple[int, int], int]:
    """Number of internal voxel faces between each pair of labels (a <= b)."""
    out: dict[tuple[int, int], int] = {}
    for ax in range(3):
        a = np.moveaxis(labels, ax, 0)
        lo, hi = a[:-1], a[1:]
        code = (np.minimum(lo, hi) * 3 + np.maximum(lo, hi)).ravel()
        cnt = np.bincount(code, minlength=9)
        for x in range(3):
            for y in range(x, 3):
                out[(x, y)] = out.get((x, y), 0) + int(cnt[x * 3 + y])
    return out


def local_thickness(mask: np.ndarray) -> np.ndarray:
    """Local thickness (diameter, voxel units) of a phase; 0 outside it.

    Balls centred on the ridge of the Euclidean distance map (voxels not smaller than any
    6-neighbour), radius = distance to the nearest other voxel; every phase voxel takes the
    largest diameter of the balls that cover it (Hildebrand & Rüegsegger 1997).
    """
    from scipy import ndimage

    from twinline.structure import _anakernels as K

    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return np.zeros(m.shape, np.float32)
    dt = ndimage.distance_transform_edt(m).astype(np.float32)
    ridge = np.ones(m.shape, bool)
    for ax in range(3):
        for s in (1, -1):
            ridge &= dt >= np.roll(dt, s, axis=ax)
    ridge &= m
    idx = np.flatnonzero(ridge)
    vals = dt.ravel()[idx]
    order = np.argsort(vals, kind="stable")
    lt = np.where(m, 2.0 * dt, 0.0).astype(np.float32)
    K.paint_balls(lt, m, idx[order], vals[order])
    return lt


#: Electrolyte whose library ``conductivity`` is σ_bulk when none is given (the recipe's
#: default electrolyte, ``cell.electrolyte``).
DEFAULT_ELECTROLYTE = "LP30"


def bulk_conductivity(electrolyte: str | None = None, materials=None) -> float:
    """σ_bulk [S m⁻¹] of ``electrolyte`` (default :data:`DEFAULT_ELECTROLYTE`) from
    ``materials`` (default: the built-in library), e.g. 1.119 S/m for LP30 at 25 °C.

    Raises :class:`~twinline.spec.errors.MaterialError` if the library has no such
    electrolyte.
    """
    from twinline.materials import builtin_library

    lib = materials if materials is not None else builtin_library()
    name = electrolyte or DEFAULT_ELECTROLYTE
    return float(lib.require(name, "electrolyte", parameter="electrolyte")["conductivity"])


def analyse(structure_or_labels, *, voxel_size: float | None = None,
            electrolyte_conductivity: float | None = None,
            cbd_nanoporosity: float | None = None,
            cbd_bruggeman: float = 1.5, pore_sizes: bool = True, tol: float = 1e-4,
            materials=None, electrolyte: str | None = None,
            axis: int | str | Sequence[int] = 0, extrapolate: bool = False,
            max_refined_voxels: int | None = None) -> StructureAnalysis:
    """Analyse a labelled electrode image; see the module docstring for the definitions.

    Parameters
    ----------
    structure_or_labels : Mesostructure or ndarray
        The image (0 pore, 1 AM, 2 CBD; axis 0 through the thickness, CC at index 0).
    voxel_size : float, optional
        Voxel edge [m]; taken from the Mesostructure when omitted. Must be in (0, 100 µm].
    electrolyte_conductivity : float, optional
        σ_bulk [S m⁻¹]; default: :func:`bulk_conductivity` of ``electrolyte`` (LP30 when
        none is named: 1.119 S/m at 25 °C, as in Duquesnoy et al. 2020).
    cbd_nanoporosity : float, optional
        None: CBD is dense for ionic transport. A value in (0, 1): CBD conducts with
        relative diffusivity ε_n^β (β = ``cbd_bruggeman``), and its nanopores count in the porosity.
    pore_sizes : bool
        Compute the local-thickness pore-size distribution.
    tol : float
        Relative residual of the transport solves; 1e-4 gives the tortuosity factors to about
        0.1 % (TauFactor's default criterion is looser), 1e-6 to about 1e-5.
    materials, electrolyte : MaterialLibrary and name, optional
        When both are given, σ_bulk is the electrolyte's ``conductivity`` from the library
        (over ``electrolyte_conductivity``).
    axis : int, "all" or sequence of int
        Direction(s) of the transport solves: 0 through the thickness (default), 1 and 2
        in-plane, ``"all"`` = (0, 1, 2). The top-level transport values are along the first;
        ``directions`` holds every one.
    extrapolate : bool
        Also solve the image split 2×2×2 (voxel h/2, the same geometry) along every analysed
        axis and report, beside each raw transport number, the refined value, the value
        extrapolated to zero voxel size (Richardson on each phase's conductance,
        D₀ = D(h/2) + (D(h/2) − D(h))/(2^p − 1), p measured: pore 1.06, solid 1.11) and the
        raw value's discretisation error raw/extrapolated − 1 (:mod:`.extrapolation`). Takes
        3-5× the time of a plain analysis (measured 3-4.4× at 0.2-0.8 M voxels; towards 9×
        for large images) and about 54 bytes per split voxel. The raw values stay the primary,
        TauFactor-compatible numbers.
    max_refined_voxels : int, optional
        Largest split image (voxels) ``extrapolate`` solves; default
        :data:`twinline.structure.extrapolation.MAX_REFINED_VOXELS` (64 million, about 4 GB).

    Returns
    -------
    StructureAnalysis

    Raises
    ------
    StructureError
        If the image is not a 0/1/2 label image, the voxel size is missing or implausible,
        the pore or AM phase is empty, or ``extrapolate`` would split it beyond
        ``max_refined_voxels``.
    """
    from twinline.structure.transport import percolating_mask, solve_conductivity

    t0 = time.perf_counter()
    labels = getattr(structure_or_labels, "labels", structure_or_labels)
    if voxel_size is None:
        voxel_size = getattr(structure_or_labels, "voxel_size", None)
    if voxel_size is None:
        raise StructureError("voxel_size is required for a bare label array (in metres, e.g. "
                             "5e-7 for 0.5 µm)")
    h = float(voxel_size)
    if not math.isfinite(h) or h <= 0 or h > 1e-4:
        raise StructureError(f"voxel_size = {h:g} m is outside (0, 1e-4] m; give it in metres "
                             "(0.5 µm = 5e-7 m)")
    if (materials is not None and electrolyte is not None) or electrolyte_conductivity is None:
        electrolyte_conductivity = bulk_conductivity(electrolyte, materials)
    if not electrolyte_conductivity > 0:
        raise StructureError(f"electrolyte_conductivity = {electrolyte_conductivity:g} S/m "
                             "must be > 0")
    if cbd_nanoporosity is not None and not 0.0 <= cbd_nanoporosity < 1.0:
        raise StructureError(f"cbd_nanoporosity = {cbd_nanoporosity:g} [-] is outside [0, 1)")
    lab = check_labels(labels)
    n = lab.size
    counts = np.bincount(lab.ravel(), minlength=3)
    f_pore, f_am, f_cbd = (float(c) / n for c in counts[:3])
    if counts[0] == 0:
        raise StructureError("the pore phase (label 0) is empty: no ionic transport to analyse")
    if counts[1] == 0:
        raise StructureError("the active-material phase (label 1) is empty: not an electrode "
                             "image (labels must be 0 pore, 1 AM, 2 CBD)")
    axes = parse_axes(axis)
    if extrapolate:   # refuse before any solve
        from twinline.structure.extrapolation import check_size

        check_size(lab.shape, max_refined_voxels)
    directions: dict[str, dict[str, Any]] = {}
    pore_mask = (lab == 0).view(np.uint8)
    solid_mask = (lab != 0).view(np.uint8)
    cond = None
    if cbd_nanoporosity:   # CBD porous: relative diffusivity ε_n^β
        cond = np.zeros(lab.shape, np.float32)
        cond[lab == 0] = 1.0
        cond[lab == 2] = cbd_nanoporosity ** cbd_bruggeman
        eps = f_pore + cbd_nanoporosity * f_cbd
    else:
        eps = f_pore
    results = {}
    for ax in axes:
        pore_res = solve_conductivity(pore_mask if cond is None else cond, axis=ax, tol=tol)
        solid_res = solve_conductivity(solid_mask, axis=ax, tol=tol)
        results[ax] = (pore_res, solid_res)
        directions[str(ax)] = _direction(pore_res, solid_res, eps, electrolyte_conductivity,
                                         lab, ax, counts[0] if cond is not None else None)
    extrapolation: dict[str, Any] = {}
    if extrapolate:
        from twinline.structure.extrapolation import extrapolate_transport

        extrapolation = extrapolate_transport(
            pore_mask if cond is None else cond, solid_mask,
            {str(ax): r for ax, r in results.items()}, eps=eps,
            sigma_bulk=float(electrolyte_conductivity), voxel_size=h, tol=tol,
            solver_record=_solver_record)
    del cond, pore_mask
    pore_res, solid_res = results[axes[0]]
    main = directions[str(axes[0])]
    tau_p = main["tortuosity_factor_pore"]
    sigma = main["sigma_eff_S_per_m"]
    brug = main["bruggeman_exponent"]
    # CC coverage
    first = lab[0]
    cc_am = float(np.mean(first == 1))
    cc_cbd = float(np.mean(first == 2))
    # surfaces
    faces = _face_counts(lab)
    am_pore = faces[(0, 1)]
    am_exposed = faces[(0, 1)] + faces[(1, 2)]
    active = am_pore / am_exposed if am_exposed else float("nan")
    vol = n * h ** 3
    ssa = (faces[(0, 1)] + faces[(0, 2)]) * h * h * (2.0 / 3.0) / vol
    am_pore_area = am_pore * h * h * (2.0 / 3.0) / vol
    # percolation
    perc = {}
    for name, mask in (("am", lab == 1), ("cbd", lab == 2)):
        c = int(mask.sum())
        perc[name] = float(percolating_mask(mask, axes[0]).sum()) / c if c else 0.0
    perc["solid"] = main["percolating_fraction_solid"]
    perc_pore = main["percolating_fraction_pore"]
    # pore sizes
    psd_hist: dict[str, list[float]] = {}
    d10 = d50 = d90 = float("nan")
    if pore_sizes:
        lt = local_thickness(lab == 0)
        v = lt[lab == 0].astype(np.float64) * h
        d10, d50, d90 = (float(x) for x in np.percentile(v, [10, 50, 90]))
        edges = np.linspace(0.0, float(v.max()) + h, 21)
        hist, _ = np.histogram(v, bins=edges)
        psd_hist = {"diameter_edges_m": edges.tolist(),
                    "volume_fraction": (hist / v.size).tolist()}
    solver = main["solver"]
    return StructureAnalysis(
        porosity=eps, tortuosity_factor_pore=float(tau_p),
        tortuosity_factor_solid=float(solid_res.tau),
        tortuosity_pore=float(math.sqrt(tau_p)), tortuosity_solid=float(math.sqrt(solid_res.tau)),
        sigma_eff_S_per_m=float(sigma), cc_coverage_am=cc_am, cc_coverage_cbd=cc_cbd,
        active_surface_fraction=float(active), specific_surface_area_per_m=float(ssa),
        percolating_fraction_pore=float(perc_pore), bruggeman_exponent=float(brug),
        am_fraction=f_am, cbd_fraction=f_cbd, am_pore_area_per_m=float(am_pore_area),
        percolating_fraction_am=perc["am"], percolating_fraction_cbd=perc["cbd"],
        percolating_fraction_solid=perc["solid"], pore_diameter_d10_m=d10,
        pore_diameter_d50_m=d50, pore_diameter_d90_m=d90, pore_size_histogram=psd_hist,
        electrolyte_conductivity_S_per_m=float(electrolyte_conductivity),
        cbd_nanoporosity=cbd_nanoporosity, voxel_size_m=h,
        shape=tuple(int(s) for s in lab.shape), solver=solver,
        wall_s=time.perf_counter() - t0, axis=axes[0], directions=directions,
        extrapolation=extrapolation)


def parse_axes(axis: int | str | Sequence[int]) -> tuple[int, ...]:
    """Axes of ``0``, ``"1"``, ``"all"`` or ``(0, 2)`` as a tuple of distinct ints in 0–2.

    Raises
    ------
    StructureError
        For anything else, naming the value and what is allowed.
    """
    if isinstance(axis, str):
        text = axis.strip().lower()
        if text == "all":
            return (0, 1, 2)
        parts = [p for p in text.replace(" ", "").split(",") if p]
    elif isinstance(axis, (int, np.integer)):
        parts = [axis]
    else:
        parts = list(axis)
    out: list[int] = []
    for p in parts:
        try:
            v = int(p)
        except (TypeError, ValueError):
            v = -1
        if v not in (0, 1, 2) or str(p).strip() not in ("0", "1", "2"):
            raise StructureError(f"axis = {axis!r} is not allowed; give 0 (through the "
                                 "thickness), 1, 2 (in-plane) or all")
        if v not in out:
            out.append(v)
    if not out:
        raise StructureError(f"axis = {axis!r} names no axis; give 0, 1, 2 or all")
    return tuple(out)


def _solver_record(res) -> dict[str, Any]:
    """The solve's figures and what ``converged`` means, for the JSON."""
    return {"iterations": res.iterations, "residual": res.residual,
            "tolerance": res.tolerance,
            "residual_below_tolerance": bool(res.residual <= res.tolerance),
            "flux_spread": res.flux_spread,
            "flux_spread_threshold": res.flux_spread_threshold,
            "flux_uniform": bool(res.flux_spread <= res.flux_spread_threshold),
            "converged": res.converged, "criterion": res.criterion,
            "wall_s": res.wall_s, "percolates": res.percolates}


def _direction(pore_res, solid_res, eps: float, sigma_bulk: float, lab: np.ndarray, axis: int,
               n_pore: int | None) -> dict[str, Any]:
    """Transport values along one axis (pore with CBD as set, solid AM ∪ CBD)."""
    from twinline.structure.transport import percolating_mask

    d_rel = pore_res.d_eff_rel
    tau_p = eps / d_rel if d_rel > 0 else float("inf")
    brug = math.log(d_rel) / math.log(eps) if 0 < d_rel and 0 < eps < 1 else float("nan")
    perc_pore = (pore_res.percolating_fraction if n_pore is None else
                 float(percolating_mask(lab == 0, axis).sum()) / n_pore)
    return {"tortuosity_factor_pore": float(tau_p),
            "tortuosity_factor_solid": float(solid_res.tau),
            "tortuosity_pore": float(math.sqrt(tau_p)),
            "tortuosity_solid": float(math.sqrt(solid_res.tau)),
            "sigma_eff_S_per_m": float(sigma_bulk * d_rel),
            "bruggeman_exponent": float(brug),
            "percolating_fraction_pore": float(perc_pore),
            "percolating_fraction_solid": float(solid_res.percolating_fraction),
            "solver": {"pore": _solver_record(pore_res), "solid": _solver_record(solid_res)}}
