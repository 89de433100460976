"""Helpers shared by the line benchmarks (bench_opcua.py, bench_line_faults.py)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def instant(text: str) -> datetime:
    """A time as an aware UTC datetime, whatever its text form (``T`` or space, ``Z``, with or
    without zero microseconds or an offset): record files and the store compare as instants."""
    t = datetime.fromisoformat(text.strip().replace(" ", "T").replace("Z", "+00:00"))
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
