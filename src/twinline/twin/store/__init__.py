"""The line's database: objects, genealogy, settings and measurements (see :mod:`.store`)."""

from __future__ import annotations

from twinline.twin.store.rows import EdgeRow, ObjectRow, RecordRow, canonical_conditions
from twinline.twin.store.store import LineageEntry, Store, database_url, open_store

__all__ = ["EdgeRow", "LineageEntry", "ObjectRow", "RecordRow", "Store",
           "canonical_conditions", "database_url", "open_store"]
