"""The study page and the line dashboard driven by a real browser (Playwright, Debian's
chromium), with a screenshot of each under the test's output folder (``tmp_path``; also
``$TWINLINE_SCREENSHOTS`` when set).

* Study: a reduced calendering study (4 training points, 5 µm voxels) runs as a job with a
  progress bar and ends with the R² table, the equations and the Sobol bar chart; inverse
  design on its surrogate draws the Pareto front.
* Line: ``twinline line simulate`` serves the simulated line on a free loopback port and
  injects a coat-gap step (+10 %) 6 s in, recording what it publishes; the record is fed
  through the twin (``twinline twin replay --db``, the loop's replay path: predict, store,
  learn, SPC) into the server's database while the dashboard is open, and the alarm on the
  wet film appears without a reload. Every process is bounded in time.
"""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from tests.api.conftest import EXAMPLES, TOKEN
from tests.api.test_pages import CHROMIUM, WAIT_MS, browser, page, shoot  # noqa: F401

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing"),
    pytest.mark.timeout(420),
]
pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

PAR = "cathode.coating.wet_film_thickness"
#: Seconds after the simulator's start at which the coat gap steps up.
DEFECT_S = 6.0


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
    page.fill("input[name=voxel_um]", "5")
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


@pytest.mark.slow  # ~60-120 s on 2 cores: the simulated line, then the twin replays it
def test_line_dashboard_shows_an_alarm_when_the_line_gets_a_defect(page, tmp_path):  # noqa: F811
    from tests.api.pages_server import serve

    from twinline.api.app import create_app

    recipe = str(EXAMPLES / "nmc111_cathode.yaml")
    record = tmp_path / "line.csv"
    sim = subprocess.run(
        _twinline(
            "line",
            "simulate",
            "--recipe",
            recipe,
            "--port",
            str(_free_port()),
            "--rate",
            "4Hz",
            "--duration",
            "9s",
            "--roll-every",
            "2s",
            "--defect",
            f"gap-step@{DEFECT_S:g}s",
            "--record",
            str(record),
            "--linger",
            "0.2s",
        ),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert sim.returncode == 0, sim.stderr[-2000:]
    with record.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    start = min(datetime.fromisoformat(r["time"]) for r in rows)
    # the settings of every object and the wet-film gauge: what the chart needs, and a
    # replay short enough for 2 cores
    feed = tmp_path / "feed.csv"
    with feed.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(r for r in rows if r["role"] == "setting" or r["parameter"] == PAR)
    n_wet = sum(r["parameter"] == PAR for r in rows)
    assert n_wet >= 28  # 20 points fix the chart's limits before the step

    db = tmp_path / "line.db"
    app = create_app(db=db, token=TOKEN)
    with serve(app) as url:
        page.goto(f"{url}/line")
        page.wait_for_selector("#line-status:has-text('updated')")
        assert page.inner_text("#alarm-count") == "0"
        replay = subprocess.Popen(
            _twinline("twin", "replay", str(feed), "--recipe", recipe, "--db", str(db), "--quiet"),
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            # the dashboard polls: the line appears, then the alarm on the wet film
            page.wait_for_selector(".step:has-text('coated roll')", timeout=150_000)
            row = page.wait_for_selector(
                "#alarms tr.alarm:has-text('coating.wet_film_thickness')", timeout=200_000
            )
            assert "measurement" in row.inner_text() or "residual" in row.inner_text()
            replay.wait(timeout=200)
        finally:
            _stop(replay)
        assert replay.returncode == 0, replay.stderr.read()[-2000:]
        # the alarm sits at or after the step (beyond 3σ of the phase-I limits), none of
        # rule 1 on the wet film before it
        alarms = page.request.get(f"{url}/api/v1/twin/alarms?parameter={PAR}").json()
        step_time = start + timedelta(seconds=DEFECT_S - 0.5)
        beyond = [
            datetime.fromisoformat(a["time"])
            for a in alarms
            if a["rule"] == "nelson-1" and a["series"] == "measurement"
        ]
        assert beyond and min(beyond) >= step_time
        # the chart of that gauge marks it
        page.select_option("#parameter", PAR)
        page.select_option("#series", "measurement")
        page.wait_for_function(
            "document.querySelector('#chart .main-svg') && "
            "[...document.querySelectorAll('#chart .legendtext')]"
            ".some(t => t.textContent.startsWith('alarms'))"
        )
        assert "µm" in page.inner_text("#chart")
        assert page.locator("#genealogy svg .node").count() >= 2
        # the current recommendation (calibrated twin, from the selected object) is shown:
        # the page asks for it by itself when the active calibration version changes
        page.wait_for_selector("#rec-status .ok, #rec-status .bad", timeout=120_000)
        status = page.inner_text("#rec-status")
        assert ("reachable" in status or "REFUSED" in status) and "calibration" in status
        assert "cathode.calendering" in page.inner_text("#rec-settings")
        assert "cathode.calendering.porosity" in page.inner_text("#rec-targets")
        shoot(page, tmp_path, "line")
        _tablet(page, tmp_path, "line-tablet")
