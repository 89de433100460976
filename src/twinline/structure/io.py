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
from pathlib import Path
from typing import Any

import numpy as np

from twinline.atomic import atomic_path
from twinline.spec.errors import StructureError
from twinline.structure.generate import LABELS, Mesostructure

FORMATS = (".tif", ".tiff", ".npy", ".h5", ".hdf5")


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


def _jsonable(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def load(path: str | Path, *, voxel_size: float | None = None) -> Mesostructure:
    """Read an image written by :func:`save` (or any 3D TIFF/NumPy/HDF5 label image).

    ``voxel_size`` [m] overrides the stored one; without either the Mesostructure's voxel
    size is NaN and analysis asks for it.

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

            with tifffile.TiffFile(path) as tf:
                labels = tf.asarray()
                ij = tf.imagej_metadata or {}
                info = ij.get("Info")
                if info:
                    with contextlib.suppress(ValueError):
                        meta = json.loads(info)
                stored = meta.get("voxel_size_m")
                if stored is None and "spacing" in ij:
                    unit = str(ij.get("unit", "um")).replace("\\u00B5", "u").replace("µ", "u")
                    stored = float(ij["spacing"]) * {"um": 1e-6, "micron": 1e-6,
                                                     "nm": 1e-9, "mm": 1e-3}.get(unit, 1e-6)
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
    except Exception as err:   # any reader failure becomes one clear message
        raise StructureError(f"cannot read {path}: {type(err).__name__}: {err}") from None
    labels = np.asarray(labels)
    if labels.ndim != 3:
        raise StructureError(f"{path} holds a {labels.ndim}D image of shape {labels.shape}; a "
                             "3D label image is needed")
    h = voxel_size if voxel_size is not None else stored
    h = float("nan") if h is None else float(h)
    return Mesostructure(labels=labels, voxel_size=h, metadata=meta)
