"""What the values of an image mean: twinline's labels, grey-value mappings, boolean masks.

twinline's label images hold 0 pore, 1 active material (AM), 2 carbon–binder domain (CBD).
Images from other tools use other conventions, translated here:

* **grey-value mappings**, as TauFactor's and ImageJ's segmented stacks store phases (e.g.
  0, 85, 170 or 0/255): ``"pore=0,am=85,cbd=170"`` (CLI ``--labels``). Phases are ``pore``,
  ``am`` (``active_material``), ``cbd`` (``carbon_binder_domain``) and ``solid`` (AM and CBD
  not told apart: counted as AM, so the CBD fraction is 0 and the solid network is AM ∪ CBD
  as usual). A phase may list several values, ``am=85+255``. Every value in the image must be
  mapped, so a wrong mapping cannot pass silently.
* **boolean masks** follow PoreSpy's convention [1]_: ``True`` is pore space, ``False`` solid
  (labelled AM). A 0/1 integer image carries no such meaning (``mask.astype('uint8')`` makes
  pore 1, which twinline's labels read as AM): a file holding only 0 and 1 without twinline's
  label metadata is refused with the two mappings to choose from
  (``pore=1,solid=0`` for PoreSpy/TauFactor masks, ``pore=0,am=1`` for twinline's labels).

References
----------
.. [1] J. T. Gostick et al., "PoreSpy: A Python Toolkit for Quantitative Analysis of Porous Media
       Images", J. Open Source Softw. 4 (2019) 1296. doi:10.21105/joss.01296 ("the phase of
       interest (the pore space) is True").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from twinline.spec.errors import StructureError, quote

#: Phase names accepted in a mapping and the twinline label each becomes.
PHASES: dict[str, int] = {"pore": 0, "am": 1, "active_material": 1, "solid": 1, "cbd": 2,
                          "carbon_binder_domain": 2}

#: The mapping a PoreSpy-convention mask (True/1 = pore) needs when stored as integers.
PORESPY_MAPPING = "pore=1,solid=0"
#: twinline's own labels as a mapping.
TWINLINE_MAPPING = "pore=0,am=1,cbd=2"

_EXAMPLE = "e.g. --labels pore=0,am=85,cbd=170"


def parse_label_mapping(spec: str | Mapping[str, int | Sequence[int]]) -> dict[int, int]:
    """Grey value → twinline label (0 pore, 1 AM, 2 CBD) from ``"pore=0,am=85,cbd=170"``.

    ``spec`` may also be a mapping ``{"pore": 0, "am": [85, 255]}``. Values are integers;
    one value may not name two phases.

    Raises
    ------
    StructureError
        For an unknown phase, a value that is not an integer, a value given twice, or a
        mapping without a pore phase.

    Examples
    --------
    >>> parse_label_mapping("pore=0,am=85,cbd=170")
    {0: 0, 85: 1, 170: 2}
    >>> parse_label_mapping("pore=1,solid=0")
    {1: 0, 0: 1}
    """
    pairs: list[tuple[str, str]] = []
    if isinstance(spec, Mapping):
        for phase, vals in spec.items():
            seq = vals if isinstance(vals, (list, tuple)) else [vals]
            pairs += [(str(phase), str(v)) for v in seq]
    else:
        text = str(spec).strip()
        if not text:
            raise StructureError(f"--labels is empty; give grey value per phase, {_EXAMPLE}")
        for item in re.split(r"[,;]", text):
            item = item.strip()
            if not item:
                continue
            if "=" not in item and ":" not in item:
                raise StructureError(f"--labels item {quote(item)} is not phase=value; "
                                     f"{_EXAMPLE}")
            phase, vals = re.split(r"[=:]", item, maxsplit=1)
            pairs += [(phase, v) for v in vals.split("+")]
    out: dict[int, int] = {}
    for phase, raw in pairs:
        key = phase.strip().lower()
        if key not in PHASES:
            raise StructureError(f"--labels phase {quote(phase.strip())} is unknown; use pore, "
                                 f"am, cbd or solid ({_EXAMPLE})")
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise StructureError(f"--labels {key}={quote(str(raw).strip())}: the grey value must "
                                 f"be an integer ({_EXAMPLE})") from None
        if value in out and out[value] != PHASES[key]:
            raise StructureError(f"--labels gives the grey value {value} to two phases; each "
                                 "value names one phase")
        out[value] = PHASES[key]
    if 0 not in out.values():
        raise StructureError(f"--labels names no pore phase; say which value is pore, "
                             f"{_EXAMPLE}")
    return out


def relabel(image: np.ndarray, mapping: str | Mapping, *, source: str = "the image"
            ) -> np.ndarray:
    """The image as twinline labels (uint8, 0 pore, 1 AM, 2 CBD) through a grey-value mapping.

    Raises
    ------
    StructureError
        If a value of the image is not in the mapping (named with its voxel count), or the
        image is not integer-valued.
    """
    lut_map = parse_label_mapping(mapping) if not (isinstance(mapping, dict) and all(
        isinstance(k, (int, np.integer)) for k in mapping)) else dict(mapping)
    a = np.asarray(image)
    if a.dtype == bool:
        a = a.view(np.uint8)
    if not np.issubdtype(a.dtype, np.integer):
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise StructureError(f"{source} holds non-integer values ({a.dtype}); --labels maps "
                                 "integer grey values")
        a = a.astype(np.int64)
    values, counts = np.unique(a, return_counts=True)
    missing = [(int(v), int(c)) for v, c in zip(values, counts, strict=True)
               if int(v) not in lut_map]
    if missing:
        shown = ", ".join(f"{v} ({c} voxels)" for v, c in missing[:6])
        raise StructureError(
            f"{source} holds grey values that --labels does not map: {shown}; the image's "
            f"values are {values[:8].tolist()}; map each of them, e.g. --labels "
            f"{suggest_mapping(values)}")
    out = np.empty(a.shape, np.uint8)
    for v, lab in lut_map.items():
        out[a == v] = lab
    return out


def from_mask(mask: np.ndarray) -> np.ndarray:
    """Labels of a PoreSpy-convention boolean mask: True → 0 (pore), False → 1 (solid, as AM)."""
    m = np.asarray(mask, dtype=bool)
    return (~m).view(np.uint8)


def suggest_mapping(values: np.ndarray) -> str:
    """A mapping to start from for the image's distinct values (lowest = pore)."""
    vals = [int(v) for v in values[:3]]
    names = ("pore", "am", "cbd") if len(vals) == 3 else ("pore", "solid")
    return ",".join(f"{n}={v}" for n, v in zip(names, vals, strict=False))


def image_labels(image: np.ndarray, *, mapping: str | Mapping | None = None,
                 described: bool = False, source: str = "the image") -> np.ndarray:
    """The twinline labels of an image read from a file, by the rules of the module docstring.

    Parameters
    ----------
    image : ndarray, 3D
        As read from the file.
    mapping : str or mapping, optional
        Grey value per phase (``--labels``); when given it decides.
    described : bool
        The file carries twinline's label metadata (0 pore, 1 AM, 2 CBD).
    source : str
        Name of the file for messages.

    Raises
    ------
    StructureError
        For a 0/1 image without metadata or mapping (ambiguous), or an unmapped value.
    """
    a = np.asarray(image)
    if mapping is not None:
        return relabel(a, mapping, source=source)
    if a.dtype == bool:
        return from_mask(a)
    if described or a.size == 0 or not np.issubdtype(a.dtype, np.number):
        return a
    lo, hi = a.min(), a.max()
    if lo >= 0 and hi <= 1:
        raise StructureError(
            f"{source} holds only the values {sorted({int(lo), int(hi)})} and does not say "
            f"what they mean; give --labels {PORESPY_MAPPING} for a PoreSpy or TauFactor mask "
            f"(1 = pore) or --labels pore=0,am=1 for twinline's labels (0 = pore)")
    return a
