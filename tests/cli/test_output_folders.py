"""Output folders (issue 13, items 3 and 4): checked before any work, locked while in use,
``run.json`` and ``report.html`` published as one unit."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twinline.cli import app
from twinline.outdir import (
    LOCK_NAME,
    OutputError,
    check_writable_output,
    commit_files,
    folder_lock,
)

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "nmc111_cathode.yaml"
CLI = [sys.executable, "-c", "from twinline.cli import main; main()"]
runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def one_error_line(res) -> str:
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert res.exit_code == 2, res.output
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    assert "Traceback" not in res.output
    return lines[0]


def unwritable_folder(tmp_path: Path) -> Path:
    """An existing folder this process cannot create files in."""
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    probe = d / "probe"
    try:
        probe.write_text("x")
    except PermissionError:
        return d
    probe.unlink()  # root (CAP_DAC_OVERRIDE) ignores the mode bits: use a read-only file system
    if Path("/sys").is_dir():
        try:
            (Path("/sys") / "twinline-probe").write_text("x")
        except OSError:
            return Path("/sys")
    pytest.skip("running as root with no read-only folder available (chmod does not bind "
                "root, and /sys is writable here)")


# -- item 4: wrong or unwritable --out, checked first --------------------------------------
# A recipe that does not exist: if the error is about --out, --out was checked first.
MISSING = "no-such-recipe.yaml"

FOLDER_VERBS = [
    ("run", MISSING),
    ("campaign", MISSING, "-p", "cathode.coating.gap=200um:300um"),
    ("study", "calendering-nmc111"),
]
FILE_VERBS = [
    ("structure", "generate", "--porosity", "0.3", "--am-mass-fraction", "0.9",
     "--thickness", "20um"),
    ("cell", "export-bpx", MISSING),
    ("cell", "simulate", MISSING),
    ("spec", "export", "--format", "csv"),
    ("calibrate", "slurry", MISSING),
    ("design", MISSING, "--surrogate", "no.joblib"),
    ("surrogate", "fit", MISSING, "--inputs", "a", "--outputs", "b"),
    ("structure", "analyse", MISSING),
]


@pytest.mark.parametrize("args", FOLDER_VERBS, ids=lambda a: a[0])
def test_out_naming_a_file_where_a_folder_is_expected(tmp_path, args):
    f = tmp_path / "taken"
    f.write_text("precious")
    t0 = time.perf_counter()
    line = one_error_line(invoke(*args, "--out", f))
    assert time.perf_counter() - t0 < 2.0
    assert str(f) in line and "is a file" in line and "expected a folder" in line
    assert f.read_text() == "precious" and sorted(os.listdir(tmp_path)) == ["taken"]


@pytest.mark.parametrize("args", FILE_VERBS, ids=lambda a: "-".join(a[:2]))
def test_out_naming_a_folder_where_a_file_is_expected(tmp_path, args):
    line = one_error_line(invoke(*args, "--out", tmp_path))
    assert str(tmp_path) in line and "is a folder" in line
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("args", [FOLDER_VERBS[0], FOLDER_VERBS[1], FILE_VERBS[0]],
                         ids=["run", "campaign", "structure-generate"])
def test_read_only_folder_is_refused_before_any_work(tmp_path, args):
    ro = unwritable_folder(tmp_path)
    before = sorted(os.listdir(ro))
    target = ro / ("electrode.tif" if args[0] == "structure" else "out")
    line = one_error_line(invoke(*args, "--out", target))
    assert str(target) in line and "not writable" in line
    assert sorted(os.listdir(ro)) == before


def test_missing_parent_under_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    line = one_error_line(invoke("run", MISSING, "--out", tmp_path / "f" / "sub" / "out"))
    assert "cannot create it" in line and str(tmp_path / "f") in line


def test_check_creates_nothing(tmp_path):
    assert check_writable_output(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert check_writable_output(tmp_path / "a" / "x.json", "file") == tmp_path / "a" / "x.json"
    assert os.listdir(tmp_path) == []


def test_failed_run_leaves_no_folder_behind(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("gap: 300 um", "gap: 300 kg"))
    one_error_line(invoke("run", bad, "--out", tmp_path / "o"))
    assert not (tmp_path / "o").exists()


# -- item 3: the lock ----------------------------------------------------------------------
def test_lock_is_exclusive_released_and_named(tmp_path):
    with folder_lock(tmp_path, verb="test"):
        owner = json.loads((tmp_path / LOCK_NAME).read_text())
        assert owner["pid"] == os.getpid()
        with pytest.raises(OutputError, match=rf"{re.escape(str(tmp_path))}.*pid {os.getpid()}"):
            with folder_lock(tmp_path):
                pass
    assert not (tmp_path / LOCK_NAME).exists()
    with pytest.raises(RuntimeError), folder_lock(tmp_path):
        raise RuntimeError("boom")
    assert not (tmp_path / LOCK_NAME).exists()


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    dead = _dead_pid()
    (out / LOCK_NAME).write_text(json.dumps({"pid": dead, "host": os.uname().nodename}))
    res = invoke("run", EXAMPLE, "--out", out, "--no-report")
    assert res.exit_code == 0, res.output
    assert (out / "run.json").is_file() and not (out / LOCK_NAME).exists()


def test_second_writer_exits_2_naming_folder_and_pid(tmp_path):
    out = tmp_path / "shared"
    first = subprocess.Popen([*CLI, "run", str(EXAMPLE), "--out", str(out), "--samples",
                              "1000000", "--no-report"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (out / LOCK_NAME).exists():
            assert first.poll() is None, "first run ended before taking the lock"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        t0 = time.perf_counter()
        second = subprocess.run([*CLI, "run", str(EXAMPLE), "--out", str(out)],
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 2, second.stderr
        lines = [ln for ln in (second.stdout + second.stderr).splitlines() if ln.strip()]
        assert len(lines) == 1 and "Traceback" not in second.stderr
        assert str(out) in lines[0] and f"pid {first.pid}" in lines[0]
        assert time.perf_counter() - t0 < 15  # at once: interpreter start-up only
        if first.poll() is None:
            assert not (out / "report.html").exists()  # the second wrote nothing
    finally:
        first.kill()
        first.wait()


def test_second_campaign_on_one_folder_is_refused(tmp_path):
    out = tmp_path / "camp"
    with folder_lock(out, verb="campaign"):
        line = one_error_line(invoke("campaign", EXAMPLE, "-p",
                                     "cathode.coating.gap=200um:300um", "--points", "2",
                                     "--out", out))
    assert str(out) in line and f"pid {os.getpid()}" in line
    assert sorted(os.listdir(out)) == []


# -- item 3: a run folder is written as a unit ----------------------------------------------
def _pair(out: Path) -> tuple[str | None, str | None]:
    run = out / "run.json"
    rep = out / "report.html"
    try:
        created = json.loads(run.read_text())["created"] if run.exists() else None
    except (OSError, ValueError) as err:
        pytest.fail(f"unreadable run.json: {err}")
    html = rep.read_text() if rep.exists() else None
    return created, html


def test_commit_replaces_the_pair_and_converts_an_old_folder(tmp_path):
    (tmp_path / "run.json").write_text("old run")
    (tmp_path / "report.html").write_text("old report")
    commit_files(tmp_path, {"run.json": "new run", "report.html": "new report"})
    assert (tmp_path / "run.json").read_text() == "new run"
    assert (tmp_path / "report.html").read_text() == "new report"
    commit_files(tmp_path, {"run.json": "run 3"}, names=("run.json", "report.html"))
    assert (tmp_path / "run.json").read_text() == "run 3"
    assert not (tmp_path / "report.html").exists()   # no stale report beside a new run
    runs = tmp_path / ".twinline" / "runs"
    assert len(list(runs.iterdir())) == 1             # older sets collected


@pytest.mark.slow
def test_kill_9_at_random_moments_never_leaves_half_a_pair(tmp_path):
    out = tmp_path / "o"
    rng = random.Random(13)
    kills = completed = 0
    t_end = time.monotonic() + 240
    for i in range(30):
        assert time.monotonic() < t_end, f"took too long ({i} rounds)"
        proc = subprocess.Popen([*CLI, "run", str(EXAMPLE), "--out", str(out), "--seed",
                                 str(i), "--samples", "20"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.5, 3.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        _, err = proc.communicate()
        assert proc.returncode in (0, -signal.SIGKILL), err.decode()
        completed += proc.returncode == 0
        created, html = _pair(out)
        assert (created is None) == (html is None), f"round {i}: only one of the two files"
        if created is not None:
            assert f"created {created}" in html, f"round {i}: run.json and report.html differ"
            assert (os.path.realpath(out / "run.json").rsplit("/", 1)[0]
                    == os.path.realpath(out / "report.html").rsplit("/", 1)[0])
    assert kills >= 5 and completed >= 1, (kills, completed)
