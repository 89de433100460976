"""Fixtures of the API tests: an app on a fresh SQLite store, its client and token."""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
YAML = {"Content-Type": "application/yaml"}


@pytest.fixture
def recipe_yaml() -> str:
    return (EXAMPLES / "nmc111_cathode.yaml").read_text(encoding="utf-8")


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "line.db"


@pytest.fixture
def app(db):
    from twinline.api.app import create_app

    return create_app(db=db, token=TOKEN, workers=2)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def wait_job(client, job_id: str, *, timeout: float = 60.0) -> list[dict]:
    """Poll a job until done/failed; the list of answers seen (bounded by ``timeout``)."""
    import time

    seen, t0 = [], time.monotonic()
    while time.monotonic() - t0 < timeout:
        r = client.get(f"/api/v1/jobs/{job_id}")
        assert r.status_code == 200, r.text
        seen.append(r.json())
        if seen[-1]["state"] in ("done", "failed"):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} not finished after {timeout} s: {seen[-1]}")
