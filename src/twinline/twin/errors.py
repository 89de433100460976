"""Errors of the twin layer (one line, for people; the CLI prints them and exits 2)."""

from __future__ import annotations

from twinline.spec.errors import TwinlineError


class TwinError(TwinlineError):
    """Base error of :mod:`twinline.twin`."""


class StoreError(TwinError):
    """The database cannot be opened, is not migrated, or refuses a write (e.g. a cycle)."""


class IngestError(TwinError):
    """A file or a line feed holds data that cannot be stored (unit, parameter, value ...)."""
