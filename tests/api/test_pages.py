"""The browser pages driven by a real browser (Playwright's sync API, Debian's chromium).

A uvicorn server on 127.0.0.1 and a free port serves the pages; chromium fills the
calculator form and runs it, filters the catalogue explorer and moves the slice slider of
the 3D viewer. Each test saves a screenshot of its page under the test's output folder
(``tmp_path``; also under ``$TWINLINE_SCREENSHOTS`` when set). Skipped, with the reason,
when ``/usr/bin/chromium`` or Playwright is missing (``.ci/run`` installs chromium).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="/usr/bin/chromium is missing (Debian package chromium; .ci/run "
                              "installs it)"),
    pytest.mark.timeout(300),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

#: Longest wait for anything on a page [ms].
WAIT_MS = 60_000


@pytest.fixture(scope="module")
def base_url():
    from tests.api.pages_server import pages_app, serve

    with serve(pages_app()) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def shoot(pg, tmp_path: Path, name: str) -> Path:
    """Full-page screenshot ``name.png`` in ``tmp_path`` (and ``$TWINLINE_SCREENSHOTS``)."""
    out = tmp_path / f"{name}.png"
    pg.evaluate("window.scrollTo(0, 0)")  # sticky toolbars at their place
    pg.screenshot(path=str(out), full_page=True)
    extra = os.environ.get("TWINLINE_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(out, Path(extra) / out.name)
    assert out.stat().st_size > 1000
    return out


@pytest.mark.slow  # ~8 s: the chain runs and Plotly draws four figures
def test_calculator_runs_the_form_and_shows_results_with_units(page, base_url, tmp_path):
    page.goto(f"{base_url}/calculator")
    gap = page.locator("input[name='cathode.coating.gap']")
    assert gap.input_value() == "300" and gap.get_attribute("data-unit") == "um"
    assert gap.get_attribute("max") == "2000"  # (0, 2 mm] from the schema, in µm
    gap.fill("280")
    page.click("#run")
    page.wait_for_selector("text=Key results")
    loading = page.locator("#results tr", has_text="cathode.coating.loading")
    cells = loading.locator("td").all_inner_texts()
    assert cells[2] == "mg/cm²" and float(cells[1]) > 0
    # every key output has a unit column; the 4 step figures are drawn by Plotly
    units = page.locator("#results > table tbody tr td:last-child").all_inner_texts()
    assert len(units) >= 6 and all(u.strip() for u in units)
    page.wait_for_function("document.querySelectorAll('#results .fig .main-svg').length >= 4")
    shoot(page, tmp_path, "calculator")

    # a value the model refuses comes back as one line naming the setting
    page.fill("input[name='cathode.formulation.active_material.material']", "Unobtainium")
    page.click("#run")
    err = page.wait_for_selector("#results .error")
    text = err.inner_text()
    assert text.startswith("error: ") and "Unobtainium" in text and "\n" not in text


def test_calculator_browser_keeps_values_in_range(page, base_url):
    page.goto(f"{base_url}/calculator")
    page.fill("input[name='cathode.coating.gap']", "2500")  # over 2 mm
    page.click("#run")
    assert page.locator("input[name='cathode.coating.gap']:invalid").count() == 1
    assert page.locator("#results .error, #results table").count() == 0


def test_explorer_filters_change_the_row_count(page, base_url, tmp_path):
    from twinline.spec.catalogue import catalogue

    params = list(catalogue().values())
    page.goto(f"{base_url}/explorer")
    visible = "#catalogue tbody tr:not([hidden])"
    assert page.locator(visible).count() == len(params)
    page.select_option("#step", "coating")
    n_coating = sum(p.step == "coating" for p in params)
    assert page.locator(visible).count() == n_coating
    assert page.inner_text("#count") == f"{n_coating} of {len(params)} parameters"
    page.select_option("#category", "MP")
    n_mp = sum(p.step == "coating" and p.category == "MP" for p in params)
    assert page.locator(visible).count() == n_mp < n_coating
    page.select_option("#online", "online")
    n_online = sum(p.step == "coating" and p.category == "MP" and p.online is True
                   for p in params)
    assert page.locator(visible).count() == n_online
    page.select_option("#step", "")
    page.select_option("#category", "")
    page.select_option("#online", "")
    page.fill("#q", "porosity")
    n_text = page.locator(visible).count()
    assert 0 < n_text < len(params)
    page.fill("#q", "")
    page.select_option("#step", "calendering")
    shoot(page, tmp_path, "explorer")


@pytest.mark.slow  # ~13 s: generation, analysis and the 3D figure
def test_viewer_slider_changes_the_slice(page, base_url, tmp_path):
    page.goto(f"{base_url}/viewer")
    page.fill("input[name='voxel_um']", "1.25")
    page.fill("input[name='box_um']", "25")
    page.click("#gen-button")
    page.wait_for_selector("#view:not([hidden])")
    page.wait_for_function("document.getElementById('slice').complete && "
                           "document.getElementById('slice').naturalWidth > 0")
    first = page.get_attribute("#slice", "src")
    png1 = page.request.get(f"{base_url}{first}").body()
    page.locator("#index").fill("3")
    page.wait_for_function(f"document.getElementById('slice').getAttribute('src') != '{first}'")
    second = page.get_attribute("#slice", "src")
    assert "index=3" in second
    png2 = page.request.get(f"{base_url}{second}").body()
    assert png1[:8] == png2[:8] == b"\x89PNG\r\n\x1a\n" and png1 != png2
    assert "µm" in page.inner_text("#index-out")
    rows = page.locator("#analysis tr").count()
    assert rows >= 10  # header + the analysis rows with units
    page.wait_for_function("document.querySelectorAll('#volume .main-svg').length > 0")
    page.locator("#index").fill("12")
    page.wait_for_function("document.getElementById('slice').complete")
    shoot(page, tmp_path, "viewer")
