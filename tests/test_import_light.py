"""Importing the low layers of twinline must not pull in heavy optional packages."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("pybamm", "torch", "plotly", "dask", "fastapi", "distributed", "optuna", "sklearn",
         "numba", "porespy", "taufactor")


@pytest.mark.parametrize("module", ["twinline", "twinline.spec", "twinline.materials",
                                    "twinline.process.products", "twinline.spec.catalogue",
                                    "twinline.spec.recipe", "twinline.spec.export",
                                    "twinline.materials.check"])
def test_import_is_light(module):
    code = (f"import sys, {module}\n"
            f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
            "print(','.join(heavy))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "", f"{module} imports {out.stdout.strip()}"


def test_catalogue_and_library_load_without_heavy_packages():
    # Parsing units builds the pint registry; pint itself imports dask when it is installed
    # (pint.compat), so dask is not checked here - only at import time above.
    heavy = tuple(m for m in HEAVY if m not in ("dask", "distributed"))
    code = ("import sys\n"
            "from twinline.spec.catalogue import catalogue\n"
            "from twinline.materials import builtin_library\n"
            "assert len(catalogue()) >= 113 and len(builtin_library()) >= 19\n"
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == ""
