"""Plain rows handed to the store: objects, genealogy edges and records (SI values, UTC times)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

Role = Literal["setting", "measurement"]


def utc(time: datetime) -> datetime:
    """``time`` as an aware UTC datetime (a naive one is taken as UTC)."""
    return time.replace(tzinfo=UTC) if time.tzinfo is None else time.astimezone(UTC)


@dataclass(frozen=True)
class ObjectRow:
    """An object along the line: its id on the line, its kind, when and where it appeared."""

    object_id: str
    kind: str
    created: datetime | None = None
    source: str = ""


@dataclass(frozen=True)
class EdgeRow:
    """Parent → child, with the quantity of the parent the child took (SI; optional)."""

    parent: str
    child: str
    quantity: float | None = None
    quantity_unit: str = ""


@dataclass(frozen=True)
class RecordRow:
    """One setting or measurement of one object.

    ``value`` is in SI (the catalogue's SI unit of ``parameter``); ``text`` holds a
    non-numeric setting (a material name); ``unit`` is the unit the value was given in;
    ``uncertainty`` one standard deviation in SI; ``time`` when it was set or measured;
    ``conditions`` canonical text (``shear_rate=12.5 1/s``) or empty.
    """

    object_id: str
    role: Role
    parameter: str
    time: datetime
    value: float | None = None
    text: str | None = None
    unit: str = ""
    uncertainty: float | None = None
    method: str = ""
    source: str = ""
    conditions: str = ""


def canonical_conditions(conditions: dict[str, str] | str | None) -> str:
    """Conditions as canonical text: ``name=value unit`` pairs sorted by name, ``; ``-joined.

    Examples
    --------
    >>> canonical_conditions({"temperature": "25 degC", "shear_rate": "12.5 1/s"})
    'shear_rate=12.5 1/s; temperature=25 degC'
    """
    if not conditions:
        return ""
    if isinstance(conditions, str):
        pairs = [p.strip() for p in conditions.replace(",", ";").split(";") if p.strip()]
        items = []
        for p in pairs:
            name, _, value = p.partition("=")
            items.append((name.strip(), " ".join(value.split())))
    else:
        items = [(str(k).strip(), " ".join(str(v).split())) for k, v in conditions.items()]
    return "; ".join(f"{k}={v}" for k, v in sorted(items))


def now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)
