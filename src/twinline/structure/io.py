"""Reading and writing labelled 3D images with their voxel size and label meanings.

Formats (chosen by the file extension):

* ``.tif``/``.tiff``: multi-page ImageJ TIFF (uint8, one page per layer of axis 0), the format
  TauFactor, PoreSpy and ImageJ read. The voxel size goes into the ImageJ ``spacing`` and the
  x/y resolution tags (in µm); twinline's metadata (labels, voxel size in m, generator
  record) into the ImageJ ``Info`` text as JSON.
* ``.npy``: the label array; metadata in a JSON sidecar ``<file>.json``.
* ``.h5``/``.hdf5``: HDF5 (needs ``twinline[io]``), chunked and compressed, for large volumes;
  dataset ``labels`` with attributes ``voxel_size_m``, ``labels`` and ``metadata`` (JSON).

Every write goes to a temporary file first and is renamed, so nothing half-written remains.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import struct
from pathlib import Path
from tokenize import TokenError
from typing import Any

import numpy as np

from twinline.atomic import atomic_path
from twinline.spec.errors import StructureError, elide, quote
from twinline.structure.generate import LABELS, Mesostructure

FORMATS = (".tif", ".tiff", ".npy", ".h5", ".hdf5")

# What the readers raise on a damaged or foreign file (measured by corrupting TIFF and .npy
# files at random: tifffile's TiffFileError is a ValueError; it also raises RuntimeError,
# KeyError, IndexError, TypeError, AssertionError and struct.error; np.load a TokenError on a
# broken header; h5py OSError and KeyError).
_READ_ERRORS: tuple[type[Exception], ...] = (
    OSError, EOFError, ValueError, RuntimeError, KeyError, IndexError, TypeError,
    AssertionError, struct.error, TokenError)

# ImageJ ``unit`` texts twinline understands [m per unit]; another unit is an error, not µm
_LENGTH_UNITS = {"um": 1e-6, "micron": 1e-6, "microns": 1e-6, "micrometer": 1e-6,
                 "micrometre": 1e-6, "nm": 1e-9, "nanometer": 1e-9, "nanometre": 1e-9,
                 "mm": 1e-3, "millimeter": 1e-3, "millimetre": 1e-3, "cm": 1e-2,
                 "m": 1.0, "meter": 1.0, "metre": 1.0}
# "pixel" is what ImageJ writes for an uncalibrated image: no voxel size stored
_NO_UNIT = ("pixel", "pixels", "px", "")
# photometric interpretations of colour images (not label images)
_COLOUR = ("RGB", "YCBCR", "SEPARATED", "CIELAB", "ICCLAB", "ITULAB", "LOGLUV", "CFA")


def _fmt(path: Path) -> str:
    ext = path.suffix.lower()
    if ext not in FORMATS:
        raise StructureError(f"unknown image format {ext!r} for {path}; use one of "
                             f"{', '.join(FORMATS)}")
    return ext


def _meta(structure: Mesostructure) -> dict[str, Any]:
    meta = dict(structure.metadata)
    meta["voxel_size_m"] = float(structure.voxel_size)
    meta["labels"] = {str(k): v for k, v in LABELS.items()}
    meta["axis0"] = "through thickness, current collector below index 0"
    return meta


def save(path: str | Path, structure: Mesostructure | np.ndarray, *,
         voxel_size: float | None = None) -> Path:
    """Write a structure (or a bare label array with ``voxel_size`` [m]) to ``path``.

    Raises
    ------
    StructureError
        For an unknown extension or a missing voxel size.
    """
    path = Path(path)
    ext = _fmt(path)
    if not isinstance(structure, Mesostructure):
        if voxel_size is None:
            raise StructureError("voxel_size [m] is needed to save a bare label array")
        structure = Mesostructure(labels=np.asarray(structure, np.uint8),
                                  voxel_size=float(voxel_size))
    labels = np.ascontiguousarray(structure.labels, dtype=np.uint8)
    meta = _meta(structure)
    text = json.dumps(meta, default=_jsonable)
    if ext in (".tif", ".tiff"):
        import tifffile

        um = structure.voxel_size * 1e6
        with atomic_path(path, ext) as tmp:
            tifffile.imwrite(tmp, labels, imagej=True, resolution=(1.0 / um, 1.0 / um),
                             metadata={"spacing": um, "unit": "um", "axes": "ZYX",
                                       "Info": text})
    elif ext == ".npy":
        with atomic_path(path, ".npy") as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, labels)
        side = path.with_name(path.name + ".json")
        with atomic_path(side, ".json") as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
    else:
        from twinline.spec.errors import require

        h5py = require("h5py", "io")
        with atomic_path(path, ext) as tmp:
            with h5py.File(tmp, "w") as f:
                chunks = tuple(min(64, n) for n in labels.shape)
                ds = f.create_dataset("labels", data=labels, chunks=chunks, compression="gzip",
                                      compression_opts=4)
                ds.attrs["voxel_size_m"] = float(structure.voxel_size)
                ds.attrs["labels"] = json.dumps(meta["labels"])
                ds.attrs["metadata"] = text
    return path


def _refuse_colour(tf: Any, path: Path) -> None:
    """Refuse a colour (RGB, CMYK, ...) TIFF: its last axis holds channels, not a 3rd dimension."""
    page = tf.pages[0]
    photometric = getattr(page.photometric, "name", str(page.photometric))
    samples = int(getattr(page, "samplesperpixel", 1) or 1)
    axes = tf.series[0].axes if tf.series else ""
    if photometric in _COLOUR or samples > 1 or "S" in axes:
        raise StructureError(
            f"{path} is a colour image (photometric {photometric}, {samples} samples per "
            f"pixel, shape {tuple(page.shape)}), not a label image; save the labels as a "
            "greyscale (one sample per pixel) stack with 0 pore, 1 AM, 2 CBD")


def _imagej_spacing(ij: dict[str, Any], path: Path) -> float | None:
    """The voxel size [m] from ImageJ ``spacing`` and ``unit``; None if uncalibrated."""
    unit_text = str(ij.get("unit", "um"))
    unit = unit_text.replace("\\u00B5", "u").replace("µ", "u").replace("μ", "u").strip()
    if unit.lower() in _NO_UNIT:
        return None
    scale = _LENGTH_UNITS.get(unit, _LENGTH_UNITS.get(unit.lower()))
    if scale is None:
        raise StructureError(
            f"{path} stores its voxel size in the unit {quote(unit_text)}, which twinline does "
            f"not know (known: {', '.join(sorted(set(_LENGTH_UNITS)))}); give --voxel, e.g. "
            "--voxel 0.5um")
    try:
        return float(ij["spacing"]) * scale
    except (TypeError, ValueError):
        raise StructureError(f"{path} stores the voxel spacing {quote(ij['spacing'])}, which is "
                             "not a number; give --voxel, e.g. --voxel 0.5um") from None


def _jsonable(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def load(path: str | Path, *, voxel_size: float | None = None,
         mapping: str | dict | None = None) -> Mesostructure:
    """Read an image written by :func:`save` (or any 3D TIFF/NumPy/HDF5 label image).

    ``voxel_size`` [m] overrides the stored one; without either the Mesostructure's voxel
    size is NaN and analysis asks for it. ``mapping`` gives the grey value of each phase
    (``"pore=0,am=85,cbd=170"``, :func:`twinline.structure.labels.parse_label_mapping`); a
    boolean image is a PoreSpy mask (True = pore); a 0/1 image without twinline's label
    metadata and without a mapping is refused as ambiguous (:mod:`twinline.structure.labels`).

    Raises
    ------
    StructureError
        If the file is missing, unreadable, or not a 3D image.
    """
    path = Path(path)
    ext = _fmt(path)
    if not path.exists():
        raise StructureError(f"no such image file: {path}")
    meta: dict[str, Any] = {}
    stored = None
    try:
        if ext in (".tif", ".tiff"):
            import tifffile

            # tifffile logs what it repairs on stderr: keep the CLI's output to one line
            log = logging.getLogger("tifffile")
            level = log.level
            log.setLevel(logging.CRITICAL)
            try:
                with tifffile.TiffFile(path) as tf:
                    _refuse_colour(tf, path)
                    labels = tf.asarray()
                    ij = tf.imagej_metadata or {}
            finally:
                log.setLevel(level)
            info = ij.get("Info")
            if info:
                with contextlib.suppress(ValueError):
                    meta = json.loads(info)
            if not isinstance(meta, dict):
                meta = {}
            stored = meta.get("voxel_size_m")
            if stored is None and "spacing" in ij and voxel_size is None:
                stored = _imagej_spacing(ij, path)
        elif ext == ".npy":
            labels = np.load(path, allow_pickle=False)
            side = path.with_name(path.name + ".json")
            if side.exists():
                meta = json.loads(side.read_text(encoding="utf-8"))
                stored = meta.get("voxel_size_m")
        else:
            from twinline.spec.errors import require

            h5py = require("h5py", "io")
            with h5py.File(path, "r") as f:
                ds = f["labels"]
                labels = ds[()]
                stored = float(ds.attrs.get("voxel_size_m", np.nan))
                with contextlib.suppress(ValueError, TypeError, KeyError):
                    meta = json.loads(ds.attrs["metadata"])
    except StructureError:
        raise
    except _READ_ERRORS as err:   # a damaged or foreign file becomes one clear message
        raise StructureError(f"cannot read {path}: {type(err).__name__}: "
                             f"{elide(str(err))}") from None
    labels = np.asarray(labels)
    if labels.ndim != 3:
        raise StructureError(f"{path} holds a {labels.ndim}D image of shape {labels.shape}; a "
                             "3D label image is needed")
    from twinline.structure.labels import image_labels

    described = isinstance(meta.get("labels"), dict)
    labels = image_labels(labels, mapping=mapping, described=described, source=str(path))
    if mapping is not None:
        meta = {**meta, "labels_from": mapping if isinstance(mapping, str) else str(mapping)}
    h = voxel_size if voxel_size is not None else stored
    try:
        h = float("nan") if h is None else float(h)
    except (TypeError, ValueError):
        raise StructureError(f"{path} stores the voxel size {quote(h)}, which is not a "
                             "number; give --voxel, e.g. --voxel 0.5um") from None
    if voxel_size is None and stored is not None and not (math.isfinite(h) and h > 0):
        raise StructureError(f"{path} stores the voxel size {h:g} m, which is not a positive "
                             "number; give --voxel, e.g. --voxel 0.5um")
    return Mesostructure(labels=labels, voxel_size=h, metadata=meta)
