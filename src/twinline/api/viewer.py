"""The 3D structure viewer's server side: generate or load an electrode image, keep a few
in memory, cut slices as PNG, and build a downsampled 3D figure of the phases.

The page (:mod:`twinline.api.pages`) asks for a structure once (generated with
:func:`twinline.structure.generate.generate_electrode` or read from an uploaded TIFF with
:func:`twinline.structure.io.load`), analyses it (:func:`twinline.structure.analyse.analyse`)
and then fetches slices by index as the slider moves. Images live in a small in-process
cache (:class:`StructureCache`, at most :data:`CACHE_SIZE` images, oldest dropped first).

Colours follow the run report (:mod:`twinline.report.structure_figures`): pore green,
active material red, CBD blue.
"""

from __future__ import annotations

import struct
import threading
import uuid
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from twinline.spec.errors import StructureError

#: Images kept in memory at once.
CACHE_SIZE = 8
#: Largest image the viewer generates or accepts [voxels] (analysis takes seconds per M).
MAX_VOXELS = 2_000_000
#: Phase colours (RGB) by label: pore, active material, CBD.
PHASE_RGB = np.array([[0x4c, 0xaf, 0x50], [0xd3, 0x2f, 0x2f], [0x15, 0x65, 0xc0]], np.uint8)
PHASE_NAMES = ("pore", "active material", "CBD")
#: Axis names of a slice: the axis held fixed (0 through the thickness, 1 y, 2 x).
AXES = {"z": 0, "y": 1, "x": 2}


@dataclass
class ViewedStructure:
    """One image in the viewer: the Mesostructure, its analysis and where it came from."""

    id: str
    structure: Any
    analysis: Any
    origin: str


class StructureCache:
    """A thread-safe, bounded ``id → ViewedStructure`` map (least recently used dropped)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._items: OrderedDict[str, ViewedStructure] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size

    def add(self, structure: Any, analysis: Any, origin: str) -> ViewedStructure:
        item = ViewedStructure(uuid.uuid4().hex[:16], structure, analysis, origin)
        with self._lock:
            self._items[item.id] = item
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return item

    def get(self, key: str) -> ViewedStructure | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def __len__(self) -> int:
        return len(self._items)


def check_size(shape: tuple[int, ...]) -> None:
    """Refuse an image over :data:`MAX_VOXELS` with a message naming its shape."""
    n = int(np.prod(shape))
    if n > MAX_VOXELS:
        raise StructureError(
            f"structure of {shape[0]}×{shape[1]}×{shape[2]} = {n} voxels is too large for the "
            f"viewer: at most {MAX_VOXELS} voxels (use a coarser voxel size or a smaller box)")


def generate(*, porosity: float, am_mass_fraction: float, thickness: float, voxel_size: float,
             box_xy: float, seed: int) -> Any:
    """A generated NMC-like electrode image (SI inputs: [-], [-], [m], [m], [m]).

    Densities are NMC111's (4700 kg/m³) and a PVDF/carbon CBD's (1800 kg/m³); the particle
    sizes the generator's NMC111 default (d10/d50/d90 = 2.4/4.0/8.6 µm).
    Raises :class:`StructureError` for a grid over :data:`MAX_VOXELS` or bad inputs.
    """
    from twinline.structure.generate import generate_electrode

    for name, v in (("thickness", thickness), ("voxel size", voxel_size), ("box", box_xy)):
        if not (np.isfinite(v) and v > 0):
            raise StructureError(f"{name} = {v} m: must be a positive length")
    n0 = round(thickness / voxel_size)
    n1 = round(box_xy / voxel_size)
    check_size((n0, n1, n1))
    return generate_electrode(porosity=porosity, am_mass_fraction=am_mass_fraction,
                              thickness=thickness, voxel_size=voxel_size, box_xy=box_xy,
                              seed=seed, am_density=4700.0, cbd_density=1800.0)


def slice_labels(labels: np.ndarray, axis: str, index: int) -> np.ndarray:
    """The 2D label slice at ``index`` across ``axis`` (``z`` in-plane, ``y``/``x``
    through-plane with the current collector at the bottom row)."""
    if axis not in AXES:
        raise StructureError(f"slice axis {axis!r}: choose z, y or x")
    ax = AXES[axis]
    n = labels.shape[ax]
    if not 0 <= index < n:
        raise StructureError(f"slice index {index} along {axis}: allowed 0 to {n - 1}")
    cut = np.take(labels, index, axis=ax)
    return cut if ax == 0 else cut[::-1]  # through-plane: CC (index 0) at the bottom


def png(rgb: np.ndarray) -> bytes:
    """Encode an ``(h, w, 3)`` uint8 image as PNG (zlib, no imaging library needed)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[i].tobytes() for i in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def slice_png(labels: np.ndarray, axis: str, index: int, *, min_size: int = 320) -> bytes:
    """A slice coloured by phase as PNG, scaled up (nearest voxel) to at least
    ``min_size`` pixels on its longer side."""
    cut = slice_labels(labels, axis, index)
    rgb = PHASE_RGB[np.clip(cut, 0, 2)]
    k = max(1, int(np.ceil(min_size / max(cut.shape))))
    return png(np.repeat(np.repeat(rgb, k, axis=0), k, axis=1))


def volume_figure(structure: Any, *, max_edge: int = 40) -> dict[str, Any]:
    """Plotly figure (as JSON-able dict) of the solid phases on a grid of at most
    ``max_edge`` voxels per edge: an isosurface of the active material and one of the CBD,
    axes in µm (z from the current collector)."""
    import json

    import plotly.graph_objects as go

    labels = np.asarray(structure.labels)
    step = max(1, int(np.ceil(max(labels.shape) / max_edge)))
    sub = labels[::step, ::step, ::step]
    um = float(structure.voxel_size) * 1e6 * step
    z, y, x = np.meshgrid(*(np.arange(n) * um for n in sub.shape), indexing="ij")
    fig = go.Figure()
    for label, colour, name in ((1, "#d32f2f", "active material"), (2, "#1565c0", "CBD")):
        fig.add_trace(go.Isosurface(
            x=x.ravel(), y=y.ravel(), z=z.ravel(), value=(sub == label).astype(float).ravel(),
            isomin=0.5, isomax=1.0, surface_count=1, caps=dict(x_show=False, y_show=False,
                                                                z_show=False),
            colorscale=[[0, colour], [1, colour]], showscale=False, name=name,
            showlegend=True, opacity=1.0 if label == 1 else 0.6))
    fig.update_layout(
        template="plotly_white", height=440, margin=dict(l=0, r=0, t=30, b=10),
        title=f"solid phases (every {step}. voxel)" if step > 1 else "solid phases",
        legend=dict(x=0.01, y=0.99),
        scene=dict(xaxis_title="x [µm]", yaxis_title="y [µm]", zaxis_title="z from CC [µm]",
                   aspectmode="data", camera=dict(eye=dict(x=1.7, y=1.7, z=1.0))))
    return json.loads(fig.to_json())


#: Analysis rows shown beside the viewer: (label, StructureAnalysis field, factor, unit).
ANALYSIS_ROWS: tuple[tuple[str, str, float, str], ...] = (
    ("porosity (image)", "porosity", 100.0, "%"),
    ("active material", "am_fraction", 100.0, "%"),
    ("CBD", "cbd_fraction", 100.0, "%"),
    ("tortuosity factor ε·D₀/D_eff, pore", "tortuosity_factor_pore", 1.0, "-"),
    ("tortuosity factor ε·D₀/D_eff, solid", "tortuosity_factor_solid", 1.0, "-"),
    ("effective ionic conductivity", "sigma_eff_S_per_m", 1.0, "S/m"),
    ("Bruggeman exponent", "bruggeman_exponent", 1.0, "-"),
    ("specific surface area", "specific_surface_area_per_m", 1e-6, "1/µm"),
    ("AM–pore surface", "am_pore_area_per_m", 1e-6, "1/µm"),
    ("percolating pore fraction", "percolating_fraction_pore", 100.0, "%"),
    ("CC coverage by AM", "cc_coverage_am", 100.0, "%"),
    ("pore diameter d50", "pore_diameter_d50_m", 1e6, "µm"),
)


def analysis_rows(analysis: Any) -> list[dict[str, Any]]:
    """The analysis as rows ``{label, value, unit}`` (value None when not finite)."""
    rows = []
    for label, name, factor, unit in ANALYSIS_ROWS:
        v = getattr(analysis, name, None)
        ok = isinstance(v, int | float) and np.isfinite(v)
        rows.append({"label": label, "value": float(f"{v * factor:.4g}") if ok else None,
                     "unit": unit})
    return rows


def describe(item: ViewedStructure) -> dict[str, Any]:
    """What the page needs about one image: id, shape, voxel size [µm], analysis, 3D figure."""
    s = item.structure
    return {"id": item.id, "origin": item.origin, "shape": list(s.shape),
            "voxel_size_um": float(f"{s.voxel_size * 1e6:.4g}"),
            "size_um": [float(f"{v * 1e6:.4g}") for v in s.size],
            "phases": {k: float(f"{v * 100:.4g}") for k, v in s.phase_fractions().items()},
            "analysis": analysis_rows(item.analysis), "figure": volume_figure(s)}
