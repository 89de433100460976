"""Errors of the api layer: one type, :class:`ApiError`, carrying its HTTP status.

Every :class:`~twinline.spec.errors.TwinlineError` that reaches the app becomes a 4xx JSON
body ``{"error": "<the CLI's one-line message>"}`` (:mod:`twinline.api.app`); an
:class:`ApiError` says which status itself (401 no token, 403 wrong token, 404 unknown id,
409 not finished, 413 too large, 503 queue full).
"""

from __future__ import annotations

from twinline.spec.errors import TwinlineError


class ApiError(TwinlineError):
    """A request the server refuses; ``status`` is the HTTP status code (4xx/503)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
