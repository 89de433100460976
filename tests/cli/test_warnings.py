"""Warnings as messages (issue 13, item 8): ``warning: <message>``, one line, no file:line."""

from __future__ import annotations

import warnings

import pytest

from cli.clikit import EXAMPLES, invoke, run_subprocess
from twinline.cli.common import install_warning_printer
from twinline.spec.errors import ConvergenceWarning, ValidityWarning, warn_validity


@pytest.mark.slow
def test_validity_warning_of_a_verb_is_one_readable_line(tmp_path):
    # anode gap 260 um instead of 190 um: n/p 1.42, above the model's usual 1.05-1.3
    text = (EXAMPLES / "nmc622_graphite_pouch.yaml").read_text("utf-8")
    assert text.count("gap: 190 um") == 1
    recipe = tmp_path / "high_np.yaml"
    recipe.write_text(text.replace("gap: 190 um", "gap: 260 um"), "utf-8")
    out = tmp_path / "cell.bpx.json"
    proc, _ = run_subprocess("cell", "export-bpx", recipe, "--out", out, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    # every line a readable warning (the thicker anode also leaves the dryer wet)
    assert lines and all(ln.startswith("warning: ") for ln in lines), lines
    assert ("warning: cell: assembly: n_p_ratio = 1.416 is outside the model's validity "
            "range [1.05, 1.3]") in lines, lines
    assert "ValidityWarning" not in proc.stderr and ".py:" not in proc.stderr
    assert out.exists()


def test_printer_formats_twinline_warnings_and_leaves_others(capsys):
    passed_on = []
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda *args, **kw: passed_on.append(args[:2])
        restore = install_warning_printer()
        try:
            warn_validity("filling", "electrolyte_factor", 7.0, "", 1.0, 5.0)
            warnings.warn("solver stopped\nafter 10 iterations", ConvergenceWarning,
                          stacklevel=1)
            warnings.warn("a library's own notice", DeprecationWarning, stacklevel=1)
        finally:
            restore()
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2, err
    assert err[0] == ("warning: filling: electrolyte_factor = 7 is outside the model's "
                      "validity range [1, 5]")
    assert err[1] == "warning: solver stopped\\nafter 10 iterations"
    # not twinline's: handed on to the printer that was installed before
    assert [(str(m), c) for m, c in passed_on] == [("a library's own notice",
                                                     DeprecationWarning)]


def test_printer_is_undone_after_each_verb():
    before = warnings.showwarning
    res = invoke("spec", "list", "--step", "mixing")
    assert res.exit_code == 0, res.output
    assert warnings.showwarning is before


def test_validity_warning_class_is_a_user_warning():
    assert issubclass(ValidityWarning, UserWarning)
