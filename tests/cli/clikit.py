"""Helpers of the CLI tests: run a verb in process or as a subprocess, check the one-line error."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from twinline.cli import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CATHODE = EXAMPLES / "nmc111_cathode.yaml"
ENTRY = [sys.executable, "-c", "from twinline.cli import main; main()"]
runner = CliRunner()


def invoke(*args: object):
    """Run ``twinline ARGS`` in this process (Typer's CliRunner); never re-raises."""
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(exit_code: int, stdout: str, stderr: str) -> str:
    """Assert exit 2, no traceback, exactly one non-empty stderr line ``error: …``; return it."""
    assert exit_code == 2, (exit_code, stdout[-2000:], stderr[-2000:])
    assert "Traceback" not in stdout + stderr, stderr[-3000:]
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, lines[:5]
    assert lines[0].startswith("error: "), lines[0][:500]
    return lines[0]


def cli_error(*args: object) -> str:
    """Run a verb in process and return its single error line (see :func:`one_line_error`)."""
    res = invoke(*args)
    return one_line_error(res.exit_code, res.stdout, res.stderr)


def run_subprocess(*args: object, timeout: float = 60, max_memory: int | None = None,
                   cwd: Path | None = None) -> tuple[subprocess.CompletedProcess, float]:
    """Run ``twinline ARGS`` as a child process, optionally with an address-space limit.

    Returns the completed process and its wall time [s].
    """
    def limit() -> None:  # runs in the child before exec
        if max_memory is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (max_memory, max_memory))

    env = {**os.environ, "PYBAMM_OPTOUT_TELEMETRY": "true", "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    t0 = time.perf_counter()
    proc = subprocess.run([*ENTRY, *[str(a) for a in args]], capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit, env=env, cwd=cwd)
    return proc, time.perf_counter() - t0


def nothing_written(folder: Path) -> bool:
    """True when ``folder`` is absent or empty."""
    return not folder.exists() or not any(folder.iterdir())
