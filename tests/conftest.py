"""Test-suite wide settings: no PyBaMM telemetry, no network."""

import os

os.environ.setdefault("PYBAMM_OPTOUT_TELEMETRY", "true")
