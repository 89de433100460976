"""Long runs say what they are doing (issue 13, item 7): a progress bar on stderr when it is a
terminal, none with --quiet or in a pipe."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "nmc111_cathode.yaml"
CLI = [sys.executable, "-c", "from twinline.cli import main; main()"]


def run_with_stderr_on_a_terminal(args: list[str]) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal; return (exit code, what it drew)."""
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=120), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_run_draws_a_bar_on_a_terminal_and_none_with_quiet(tmp_path):
    args = ["run", str(EXAMPLE), "--samples", "400000", "--no-report"]
    code, drawn = run_with_stderr_on_a_terminal([*args, "--out", str(tmp_path / "a")])
    assert code == 0 and "Monte Carlo" in drawn and "━" in drawn
    code, drawn = run_with_stderr_on_a_terminal([*args, "--quiet", "--out",
                                                 str(tmp_path / "b")])
    assert code == 0 and drawn.strip() == ""


def test_no_bar_when_stderr_is_not_a_terminal(tmp_path):
    res = subprocess.run([*CLI, "run", str(EXAMPLE), "--samples", "400000", "--no-report",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""  # no bar, no escape codes (stdout holds the results table)


@pytest.mark.parametrize("verb", [["run"], ["campaign"], ["study"], ["design"],
                                  ["structure", "generate"], ["structure", "analyse"],
                                  ["cell", "simulate"]])
def test_long_verbs_offer_quiet(verb):
    from typer.testing import CliRunner

    from twinline.cli import app

    text = CliRunner().invoke(app, [*verb, "--help"]).output
    assert "--quiet" in text
