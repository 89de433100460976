"""The kinds of object along a cell line, in process order, with the step that makes them.

An object is a thing the line gives an id: a material lot, a slurry batch, a coated roll ...
a formed cell. Genealogy edges run parent → child with the quantity the child consumed: a
slurry batch feeds several coated rolls (diverging flow), a cell takes sheets of two electrode
coils (converging flow).
"""

from __future__ import annotations

#: Object kind → the step that produces it ("" for purchased material).
KINDS: dict[str, str] = {
    "material_lot": "",
    "slurry_batch": "mixing",
    "coated_roll": "coating",
    "dried_roll": "drying",
    "calendered_roll": "calendering",
    "slit_coil": "slitting",
    "electrode_sheet": "post_drying",
    "electrode_disc": "post_drying",
    "cell": "assembly",
    "filled_cell": "filling",
    "formed_cell": "formation",
}


def check_kind(kind: str) -> str:
    """``kind`` if known, else a :class:`~twinline.twin.errors.StoreError` with the choices."""
    from twinline.twin.errors import StoreError

    if kind not in KINDS:
        import difflib

        near = difflib.get_close_matches(str(kind), list(KINDS), n=1)
        raise StoreError(f"object kind {kind!r} is unknown; choose from {', '.join(KINDS)}"
                         + (f"; did you mean {near[0]!r}?" if near else ""))
    return kind
