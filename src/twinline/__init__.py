"""twinline: an open digital twin of lithium-ion battery cell manufacturing.

A *recipe* (materials and machine settings) goes through a chain of step models
(mixing → coating → drying → calendering → [3D structure] → slitting/post-drying →
assembly → filling → formation → electrochemistry); every intermediate product comes
out with its structure parameters, their uncertainty and the energy it took.

Importing ``twinline`` is cheap: heavy packages (PyBaMM, Plotly, Dask, torch) are only
imported by the functions that need them.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("twinline")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
