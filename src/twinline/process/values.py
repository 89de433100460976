"""Array-or-scalar helpers shared by the step models.

Every step model broadcasts: it takes floats or NumPy arrays (Monte Carlo samples) and hands
on a product whose fields are plain Python values for a scalar run (JSON-friendly) and arrays
for a vectorised one. These two functions make that conversion in one place.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["as_flag", "as_output"]


def as_output(x: Any) -> float | np.ndarray:
    """A 0-d value as a Python ``float``; an array stays a float array.

    >>> as_output(np.float64(2.5)), as_output([1, 2])
    (2.5, array([1., 2.]))
    """
    a = np.asarray(x, dtype=float)
    return float(a) if a.ndim == 0 else a


def as_flag(x: Any) -> bool | np.ndarray:
    """A 0-d truth value as a Python ``bool``; an array stays a bool array.

    >>> as_flag(np.bool_(True)), as_flag([0, 1])
    (True, array([False,  True]))
    """
    a = np.asarray(x, dtype=bool)
    return bool(a) if a.ndim == 0 else a
