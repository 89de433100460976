"""Errors of the factory layer (one line, for people)."""

from __future__ import annotations

from twinline.spec.errors import TwinlineError


class FactoryError(TwinlineError):
    """A plant description or a factory calculation that cannot be evaluated."""
