"""twinline.structure: 3D electrode images — generate, analyse, transport, imbibition, I/O.

Importing the package points numba's on-disk cache at the user's cache folder before any
kernel module imports numba (:func:`configure_numba_cache`), so compiled kernels never land in
the installed package's source tree.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def numba_cache_dir() -> Path:
    """Where twinline's numba kernels are cached.

    ``NUMBA_CACHE_DIR`` when the user set it; otherwise ``<user cache>/twinline/numba``: the
    platform's user cache folder from ``platformdirs`` when installed (Linux
    ``$XDG_CACHE_HOME`` or ``~/.cache``, macOS ``~/Library/Caches``, Windows
    ``%LOCALAPPDATA%``), else ``$XDG_CACHE_HOME`` or ``~/.cache``.
    """
    given = os.environ.get("NUMBA_CACHE_DIR", "").strip()
    if given:
        return Path(given)
    try:
        from platformdirs import user_cache_dir
    except ImportError:  # pragma: no cover - platformdirs comes with most environments
        base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
        return Path(base) / "twinline" / "numba"
    return Path(user_cache_dir("twinline", appauthor=False)) / "numba"


def configure_numba_cache() -> Path:
    """Set ``NUMBA_CACHE_DIR`` to :func:`numba_cache_dir` (numba reads it when imported; if
    numba is already imported, its ``config.CACHE_DIR`` is set too). Returns the folder."""
    folder = numba_cache_dir()
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    numba = sys.modules.get("numba")
    if numba is not None:
        numba.config.CACHE_DIR = str(folder)
    return folder


configure_numba_cache()
