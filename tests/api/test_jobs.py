"""Jobs: queued → running → done with progress; failed with a message; a restart marks the
running ones failed; long runs over HTTP become jobs whose result is the run."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from tests.api.conftest import AUTH, YAML, wait_job


def test_a_job_goes_queued_running_done_with_progress(db):
    from twinline.api.jobs import JobQueue
    from twinline.twin.store import Store

    store = Store.open(db)
    q = JobQueue(workers=1, engine=store.engine)
    gate, started = threading.Event(), threading.Event()

    def blocker(progress):
        started.set()
        gate.wait(10)
        return {}

    def work(progress):
        for i in range(1, 5):
            progress(f"step {i}", i / 4)
        return {"answer": 42}

    q.submit("run", blocker)
    assert started.wait(10)
    job = q.submit("run", work, params={"x": 1})
    assert q.get(job.id).state == "queued"            # the one worker is busy
    gate.set()
    for _ in range(200):
        if q.get(job.id).state == "done":
            break
        threading.Event().wait(0.02)
    done = q.get(job.id)
    assert (done.state, done.progress, done.result) == ("done", 1.0, {"answer": 42})
    stored = q._load(job.id)                          # and in the database
    assert (stored.state, stored.result, stored.params) == ("done", {"answer": 42}, {"x": 1})
    q.close(wait=True)
    store.close()


def test_a_failing_job_is_failed_with_the_one_line_message():
    from twinline.api.jobs import JobQueue
    from twinline.spec.errors import ProcessError

    q = JobQueue(workers=1)

    def bad(progress):
        raise ProcessError("cathode.drying: dry film porosity = 1.2 is outside [0, 1]\nmore")

    def bug(progress):
        raise ZeroDivisionError("secret")

    a, b = q.submit("run", bad), q.submit("run", bug)
    q.close(wait=True)
    assert q.get(a.id).state == "failed"
    assert q.get(a.id).message == ("cathode.drying: dry film porosity = 1.2 is outside "
                                   "[0, 1]\\nmore")
    assert q.get(b.id).state == "failed" and "secret" not in q.get(b.id).message
    assert "ZeroDivisionError" in q.get(b.id).message


def test_a_full_queue_is_503():
    from twinline.api.errors import ApiError
    from twinline.api.jobs import JobQueue

    q = JobQueue(workers=1, max_pending=1)
    gate = threading.Event()
    q.submit("run", lambda p: gate.wait(10) and {})
    with pytest.raises(ApiError) as err:
        q.submit("run", lambda p: {})
    assert err.value.status == 503
    gate.set()
    q.close(wait=True)


def test_a_restart_marks_a_running_job_failed(db):
    from fastapi.testclient import TestClient
    from sqlalchemy import insert
    from tests.api.conftest import TOKEN

    from twinline.api.app import create_app
    from twinline.api.jobs import INTERRUPTED

    first = create_app(db=db, token=TOKEN)
    now = datetime.now(UTC)
    from twinline.twin.store.schema import jobs

    with first.state.store.engine.begin() as conn:     # a job the first server was running
        conn.execute(insert(jobs).values(job_id="j-running", kind="run", state="running",
                                         progress=0.4, stage="cathode chain", created=now,
                                         updated=now, params="{}"))
        conn.execute(insert(jobs).values(job_id="j-done", kind="run", state="done",
                                         progress=1.0, created=now, updated=now,
                                         params="{}", result='{"x": 1}'))
    first.state.store.close()                         # the server dies here
    second = create_app(db=db, token=TOKEN)
    assert second.state.interrupted == 1
    with TestClient(second) as c:
        j = c.get("/api/v1/jobs/j-running").json()
        assert (j["state"], j["message"]) == ("failed", INTERRUPTED)
        assert c.get("/api/v1/jobs/j-done").json()["state"] == "done"
        r = c.get("/api/v1/runs/j-running")
        assert r.status_code == 409 and "failed: the server stopped" in r.json()["error"]
    from twinline.twin.store import Store

    with Store.open(db) as store:
        assert store.check() == []


def test_a_long_monte_carlo_run_is_a_job_and_its_result_the_run(client, recipe_yaml):
    r = client.post("/api/v1/runs?samples=10000&seed=3", content=recipe_yaml,
                    headers={**AUTH, **YAML})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["state"] in ("queued", "running") and r.headers["location"] == job["url"]
    seen = wait_job(client, job["id"])
    progress = [s["progress"] for s in seen]
    assert progress == sorted(progress) and seen[-1]["state"] == "done"
    assert seen[-1]["progress"] == 1.0 and seen[-1]["result_url"] == f"/api/v1/runs/{job['id']}"
    run = client.get(seen[-1]["result_url"]).json()["run"]
    assert run["samples"] == 10000 and run["seed"] == 3
    out = run["outputs"]["cathode.calendering.porosity"]
    assert out["std"] > 0 and "p95" in out


def test_a_cell_run_of_a_cathode_only_recipe_fails_as_a_job(client, recipe_yaml):
    r = client.post("/api/v1/runs?cell=true", content=recipe_yaml, headers={**AUTH, **YAML})
    assert r.status_code == 202
    last = wait_job(client, r.json()["id"])[-1]
    assert last["state"] == "failed" and last["message"] and "\n" not in last["message"]
    r = client.get(f"/api/v1/runs/{last['id']}")
    assert r.status_code == 409


def test_a_finished_run_survives_a_restart_in_the_database(db, recipe_yaml):
    from fastapi.testclient import TestClient
    from tests.api.conftest import TOKEN

    from twinline.api.app import create_app

    with TestClient(create_app(db=db, token=TOKEN)) as c:
        out = c.post("/api/v1/runs", content=recipe_yaml, headers={**AUTH, **YAML}).json()
    with TestClient(create_app(db=db, token=TOKEN)) as c:
        again = c.get(out["url"]).json()
        assert again["run"]["outputs"] == out["run"]["outputs"]
        assert c.get(out["report_url"]).status_code == 200


def _small_tiff(tmp_path):
    from twinline.structure.generate import generate_electrode
    from twinline.structure.io import save

    m = generate_electrode(porosity=0.35, am_mass_fraction=0.95, thickness=12e-6,
                           voxel_size=1e-6, box_xy=12e-6, seed=1)
    return save(tmp_path / "small.tif", m).read_bytes()


def test_structure_job_gives_analysis_and_tiff(client, recipe_yaml, tmp_path):
    r = client.post("/api/v1/structure?voxel=2 um&box=16 um&seed=1", content=recipe_yaml,
                    headers={**AUTH, **YAML})
    assert r.status_code == 202, r.text
    last = wait_job(client, r.json()["id"], timeout=120)[-1]
    assert last["state"] == "done", last["message"]
    res = last["result"]
    assert 0 < res["analysis"]["porosity"] < 1 and res["voxel_size_m"] == pytest.approx(2e-6)
    tif = client.get(res["tiff_url"])
    assert tif.status_code == 200 and tif.headers["content-type"] == "image/tiff"
    assert tif.content[:4] in (b"II*\x00", b"MM\x00*")
    # the same image uploaded is analysed to the same porosity
    up = client.post("/api/v1/structure/analyse", files={"file": ("s.tif", tif.content)},
                     headers=AUTH)
    assert up.status_code == 202, up.text
    again = wait_job(client, up.json()["id"], timeout=120)[-1]
    assert again["result"]["analysis"]["porosity"] == pytest.approx(res["analysis"]["porosity"])


@pytest.mark.parametrize(("query", "needle"), [
    ("voxel=0.5", "voxel = '0.5' has no unit"), ("box=-3 um", "box = '-3 um' must be a finite"),
    ("voxel=3 kg", "voxel"), ("electrode=anode", "electrode = 'anode' is not in the recipe"),
    ("voxel=0.01 um", "too large"),
])
def test_bad_structure_options_are_422(client, recipe_yaml, query, needle):
    r = client.post(f"/api/v1/structure?{query}", content=recipe_yaml, headers={**AUTH, **YAML})
    assert r.status_code == 422 and needle in r.json()["error"], r.text


def test_a_bad_upload_is_4xx(client):
    r = client.post("/api/v1/structure/analyse", files={"file": ("s.png", b"x")}, headers=AUTH)
    assert r.status_code == 422 and "not a TIFF" in r.json()["error"]
    r = client.post("/api/v1/structure/analyse", files={"file": ("s.tif", b"garbage")},
                    headers=AUTH)
    assert r.status_code == 422 and "s.tif" in r.json()["error"]
