"""Campaign datasets: a folder of Parquet part files, appended atomically.

A campaign writes its rows in chunks; each chunk becomes one file ``part-<n>.parquet``
written to a temporary name and renamed, so an interrupted campaign never leaves a
half-written part behind and a resumed one finds exactly the points that were finished.
:func:`read_dataset` joins the parts and sorts the rows by ``point_id`` so that the table
does not depend on the order in which workers finished.

The folder also holds ``campaign.json`` (the manifest: parameters, design, seed, base
recipe, model versions) written by :class:`~twinline.learn.campaign.Campaign`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from twinline.atomic import atomic_path, write_atomic
from twinline.spec.errors import MissingExtraError, TwinlineError, require

#: Columns every campaign row carries besides its inputs and outputs.
META_COLUMNS = ("point_id", "seed", "replicates", "status", "recipe_hash", "twinline_version",
                "model_versions")


class DatasetError(TwinlineError, ValueError):
    """A dataset folder is unreadable or inconsistent with the campaign that opens it."""


def stable_hash(obj: Any) -> str:
    """Short SHA-256 hash of a JSON-serialisable object (sorted keys): the identity of a
    recipe or a campaign plan stored with a dataset."""
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class DatasetWarning(UserWarning):
    """A dataset folder held something unusable (a corrupt part) that was set aside."""


def _parquet_errors() -> tuple[type[BaseException], ...]:
    """What reading a damaged Parquet file raises (pyarrow's ArrowInvalid is a ValueError,
    its IO errors are OSError)."""
    import pyarrow

    return (pyarrow.ArrowException, OSError, ValueError)


def _pandas():
    try:
        require("pyarrow", "learn")
        return require("pandas", "learn")
    except MissingExtraError:
        raise
    except (ImportError, AttributeError, OSError) as err:  # pragma: no cover - broken install
        raise MissingExtraError(f"pandas/pyarrow failed to import: {err}") from None


def part_files(folder: str | Path) -> list[Path]:
    """The part files of a dataset folder, in name order (empty when there is none)."""
    folder = Path(folder)
    if not folder.exists():
        return []
    return sorted(p for p in folder.glob("part-*.parquet") if p.is_file())


def write_part(folder: str | Path, rows: list[dict[str, Any]]) -> Path | None:
    """Write ``rows`` as the next part file of ``folder`` (atomically); None if no rows."""
    if not rows:
        return None
    pd = _pandas()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    existing = part_files(folder)
    index = 1 + max((int(p.stem.split("-")[1]) for p in existing), default=-1)
    path = folder / f"part-{index:05d}.parquet"
    frame = pd.DataFrame(rows)
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
    return path


def read_dataset(folder: str | Path, *, ok_only: bool = False):
    """All rows of a dataset folder (or a single ``.parquet``/``.csv`` file) as a DataFrame.

    Rows are sorted by ``point_id``; when a point appears twice (a part re-written after an
    interruption) the first occurrence is kept. ``ok_only`` drops rows whose ``status`` is
    not ``"ok"``.
    """
    pd = _pandas()
    path = Path(folder)
    if path.is_file():
        frame = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    else:
        parts = part_files(path)
        if not parts:
            raise DatasetError(f"{path}: no dataset here (no part-*.parquet files)")
        frames = []
        for p in parts:
            try:
                frames.append(pd.read_parquet(p))
            except _parquet_errors() as err:
                raise DatasetError(f"{p}: corrupt or truncated Parquet part ({_first_line(err)});"
                                   " resume the campaign to recompute its points, or delete "
                                   "it") from None
        frame = pd.concat(frames, ignore_index=True)
    if "point_id" in frame.columns:
        frame = (frame.drop_duplicates("point_id", keep="first")
                 .sort_values("point_id", kind="stable").reset_index(drop=True))
    if ok_only and "status" in frame.columns:
        frame = frame[frame["status"] == "ok"].reset_index(drop=True)
    return frame


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__


def quarantine_corrupt_parts(folder: str | Path) -> list[Path]:
    """Rename every part file of ``folder`` that cannot be read to ``<name>.corrupt``.

    A part is written atomically, so a damaged one comes from outside (a full disk on a file
    system without atomic rename, a copy cut short). Its points are then missing from
    :func:`completed_ids`, and a resumed campaign computes them again. Returns the parts set
    aside (their old paths).
    """
    if not part_files(folder):
        return []
    pd = _pandas()
    bad: list[Path] = []
    for p in part_files(folder):
        try:
            pd.read_parquet(p)  # the whole part: a damaged page of any column counts
        except _parquet_errors():
            p.replace(p.with_name(p.name + ".corrupt"))
            bad.append(p)
    return bad


def completed_ids(folder: str | Path) -> set[int]:
    """The ``point_id`` values already stored in a dataset folder."""
    parts = part_files(folder)
    if not parts:
        return set()
    pd = _pandas()
    ids: set[int] = set()
    for p in parts:
        ids.update(int(i) for i in pd.read_parquet(p, columns=["point_id"])["point_id"])
    return ids


def write_manifest(folder: str | Path, manifest: dict[str, Any]) -> None:
    """Write ``campaign.json`` atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "campaign.json",
                 json.dumps(manifest, indent=2, sort_keys=True, default=str))


def design_ranges(folder: str | Path) -> dict[str, tuple[float, float]]:
    """``name → (low, high)`` of the campaign parameters in ``folder/campaign.json`` (SI),
    empty when the folder has no manifest: the range a surrogate of this data was trained
    over (its points span a little less)."""
    path = Path(folder)
    man = read_manifest(path) if path.is_dir() else None
    return {str(p["name"]): (float(p["low"]), float(p["high"]))
            for p in (man or {}).get("parameters", []) if "name" in p}


def widen_bounds(surrogate: Any, ranges: dict[str, tuple[float, float]]) -> None:
    """Extend ``surrogate.bounds`` (the inputs' span in the data) to the design ranges."""
    for k, (lo, hi) in ranges.items():
        if k in surrogate.bounds:
            a, b = surrogate.bounds[k]
            surrogate.bounds[k] = (min(float(a), lo), max(float(b), hi))


def read_manifest(folder: str | Path) -> dict[str, Any] | None:
    """The manifest of a dataset folder, or None when the folder has none."""
    path = Path(folder) / "campaign.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise DatasetError(f"{path}: unreadable campaign manifest ({err})") from None
