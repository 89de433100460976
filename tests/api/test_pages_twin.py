"""The study page and the line dashboard driven by a real browser (Playwright, Debian's
chromium), with a screenshot of each under the test's output folder (``tmp_path``; also
``$TWINLINE_SCREENSHOTS`` when set).

* Study: a reduced calendering study (4 training points, 5 µm voxels) runs as a job with a
  progress bar and ends with the R² table, the equations and the Sobol bar chart; inverse
  design on its surrogate draws the Pareto front.
* Line, the live path: ``twinline line simulate`` serves the simulated line over OPC UA on
  a free loopback port (a coated roll a second) and steps the coat gap up (+10 %) after
  the alarm policy's phase I; ``twinline twin run --from opc.tcp://… --map …`` ingests it
  live into the server's database (predict, store, learn, the policy: CUSUM on residual
  z-scores, one alarm per event) while the dashboard is open. The page shows no alarm
  while the line runs without the defect, then the event alarm on a coater gauge after
  the step, without a reload, with its chart brought up and the event marked on it.
  Every process is bounded in time (--duration) and stopped by its PID.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.api.conftest import EXAMPLES, TOKEN
from tests.api.test_pages import CHROMIUM, WAIT_MS, browser, page, shoot  # noqa: F401

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
    pytest.mark.timeout(420),
]
pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

#: The coater's gauges that follow the coat gap (wet film, loading, capacity).
GAP_GAUGES = {
    "cathode.coating.wet_film_thickness",
    "cathode.coating.am_loading",
    "cathode.coating.areal_capacity",
}
#: Seconds after the simulator's start at which the coat gap steps up (after ~23 rolls).
DEFECT_S = 24.0


def _tablet(pg, tmp_path: Path, name: str) -> None:
    """At a tablet's width (820 px) the page has no horizontal scroll; screenshot it."""
    pg.set_viewport_size({"width": 820, "height": 1180})
    pg.wait_for_timeout(800)  # Plotly's responsive relayout
    assert pg.evaluate("document.documentElement.scrollWidth") <= 820
    shoot(pg, tmp_path, name)


@pytest.fixture(scope="module")
def study_url():
    from tests.api.pages_server import pages_app, serve

    with serve(pages_app()) as url:
        yield url


@pytest.mark.slow  # ~40-90 s on 2 cores: 8 structures, two surrogates, Sobol, NSGA-II
def test_study_runs_a_reduced_study_and_shows_r2_sobol_and_pareto(page, study_url, tmp_path):  # noqa: F811
    page.goto(f"{study_url}/study")
    page.fill("input[name=points]", "4")
    page.fill("input[name=voxel_um]", "1")
    page.click("#study-button")
    # the progress bar moves while the job runs
    page.wait_for_function(
        "Number(document.getElementById('progress').getAttribute('aria-valuenow')) > 0",
        timeout=240_000,
    )
    page.wait_for_selector("#r2 td", timeout=240_000)
    assert page.get_attribute("#progress", "aria-valuenow") == "100"
    assert "done" in page.inner_text("#study-status")
    header = page.locator("#r2 th").all_inner_texts()
    # (no test R² column: cross-validation needs more points than a reduced study has)
    assert header == ["surrogate", "output", "validation R² [-]", "validation MAPE [%]"]
    rows = page.locator("#r2 tr").count() - 1
    assert rows >= 2 * 4  # two surrogates, at least four outputs learned
    r2 = [t for t in page.locator("#r2 tr td:nth-child(3)").all_inner_texts() if t != "–"]
    assert r2 and all(float(t) <= 1.0 for t in r2)  # validation R² is at most 1
    assert page.locator("#equations code").count() >= 4
    assert "porosity" in page.inner_text("#equations")
    page.wait_for_function("document.querySelectorAll('#sobol .main-svg').length > 0")
    assert page.locator("#sobol .bars .point").count() > 0
    shoot(page, tmp_path, "study")

    # inverse design against the form's targets (porosity 0.35 ± 0.02, max σ, max surface)
    page.fill("#trials", "128")
    page.click("#design-button")
    page.wait_for_selector("#front td", timeout=120_000)
    assert "Pareto front" in page.inner_text("#design-status")
    head = page.locator("#front th").all_inner_texts()
    assert "pressure [MPa]" in head and "porosity [-]" in head
    col = head.index("porosity [-]")
    for text in page.locator(f"#front tr td:nth-child({col + 1})").all_inner_texts():
        assert abs(float(text) - 0.35) <= 0.02 + 1e-9  # every front point meets the band
    page.wait_for_function("document.querySelectorAll('#pareto .main-svg').length > 0")
    page.wait_for_timeout(800)  # Plotly's responsive relayout of the figures above settles
    shoot(page, tmp_path, "study-design")
    _tablet(page, tmp_path, "study-tablet")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _twinline(*args: str) -> list[str]:
    return [sys.executable, "-c", "from twinline.cli import main; main()", *args]


def _env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
        "PYBAMM_OPTOUT_TELEMETRY": "true",
    }


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _rolls(status: str) -> int:
    """Objects the dashboard's status line counts ("updated … · N objects · …")."""
    m = re.search(r"(\d+) objects", status)
    return int(m.group(1)) if m else 0


@pytest.mark.slow  # ~60-80 s on 2 cores: the simulated line in real time, the live twin on it
def test_line_dashboard_shows_an_alarm_when_the_line_gets_a_defect(page, tmp_path):  # noqa: F811
    from tests.api.pages_server import serve

    from twinline.api.app import create_app

    recipe = str(EXAMPLES / "nmc111_cathode.yaml")
    record, tags, db = tmp_path / "line.csv", tmp_path / "tags.yaml", tmp_path / "line.db"
    port = _free_port()
    app = create_app(db=db, token=TOKEN)
    procs: list[subprocess.Popen] = []
    try:
        with serve(app) as url:
            page.goto(f"{url}/line")
            page.wait_for_selector("#line-status:has-text('updated')")
            assert page.inner_text("#alarm-count") == "0"
            # one coated roll a second, one sample per tag and roll; the gap steps up after
            # DEFECT_S, past the policy's phase I (20 objects per series)
            sim = subprocess.Popen(
                _twinline(
                    "line", "simulate", "--recipe", recipe, "--port", str(port),
                    "--rate", "1Hz", "--roll-every", "1s", "--seed", "3",
                    "--duration", f"{DEFECT_S + 5:g}s", "--defect", f"gap-step@{DEFECT_S:g}s",
                    "--record", str(record), "--write-map", str(tags), "--linger", "3s",
                ),
                env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            procs.append(sim)
            deadline = time.monotonic() + 60
            while not (tags.exists() and record.exists() and record.stat().st_size > 200):
                assert sim.poll() is None and time.monotonic() < deadline, sim.stderr.read()
                time.sleep(0.1)
            with record.open(newline="", encoding="utf-8") as f:
                start = datetime.fromisoformat(next(csv.DictReader(f))["time"])
            defect_at = start + timedelta(seconds=DEFECT_S)
            run = subprocess.Popen(
                _twinline(
                    "twin", "run", "--from", f"opc.tcp://127.0.0.1:{port}", "--map", str(tags),
                    "--db", str(db), "--recipe", recipe, "--duration", f"{DEFECT_S + 20:g}s",
                    "--json",
                ),
                env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            procs.append(run)
            # poll the page: no alarm while the line runs without the defect (the policy
            # learns its baseline), then the event alarm on the coater's gauges after it
            quiet, seen = [], None
            deadline = time.monotonic() + DEFECT_S + 60
            while time.monotonic() < deadline and run.poll() is None:
                now = datetime.now(UTC)
                if page.inner_text("#alarm-count") != "0":
                    seen = now
                    break
                quiet.append((now, _rolls(page.inner_text("#line-status"))))
                page.wait_for_timeout(500)
            assert seen is not None, f"no alarm shown; twin run: {run.poll()}"
            assert seen >= defect_at, f"an alarm {defect_at - seen} before the defect"
            # the page showed the line running with no alarm until shortly before the step
            running = [t for t, n in quiet if n >= 40]
            assert running and max(running) >= defect_at - timedelta(seconds=5), quiet[-3:]
            row = page.wait_for_selector("#alarms tr.alarm:has-text('event')")
            assert "coating." in row.inner_text()
            # the policy's message under it names the parameter and the rule
            msg = page.inner_text("#alarms tr.alarm-msg")
            assert msg.startswith("event 1: cathode.coating.") and "sigma" in msg
            alarms = page.request.get(f"{url}/api/v1/twin/alarms").json()
            assert [a["series"] for a in alarms] == ["event"]
            (alarm,) = alarms
            assert alarm["parameter"] in GAP_GAUGES and alarm["parameter"] in msg
            assert datetime.fromisoformat(alarm["time"]) >= defect_at - timedelta(seconds=0.5)
            # the control chart brought up by the alarm: its parameter's residual z-scores,
            # the event marked at its point
            assert page.input_value("#parameter") == alarm["parameter"]
            assert page.input_value("#series") == "residual"
            page.wait_for_function(
                "[...document.querySelectorAll('#chart .legendtext')]"
                ".some(t => t.textContent.startsWith('alarms (1)'))"
            )
            assert "z-score" in page.inner_text("#chart")
            assert page.locator("#genealogy svg .node").count() >= 2
            shoot(page, tmp_path, "line")
            _tablet(page, tmp_path, "line-tablet")
            out, err = run.communicate(timeout=DEFECT_S + 40)
            assert run.returncode == 0, err[-2000:]
            stats = json.loads(out)
            assert stats["alarms"] == 1 and stats["ingest"]["rejected"] == 0
    finally:
        for proc in procs:  # by PID, each bounded by its --duration too
            _stop(proc)
