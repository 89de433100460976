"""Importing the learn modules stays light (heavy packages load inside functions)."""

import subprocess
import sys


def test_learn_modules_import_no_heavy_packages():
    code = ("import sys, twinline.learn.campaign, twinline.learn.surrogate, "
            "twinline.learn.inverse, twinline.learn.study, twinline.learn.sensitivity, "
            "twinline.learn.symbolic, twinline.cli.learn; "
            "print(sorted(m for m in ('pybamm', 'torch', 'plotly', 'dask', 'distributed', "
            "'sklearn', 'optuna', 'SALib', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
