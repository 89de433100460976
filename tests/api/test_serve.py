"""``twinline serve`` as a real process on 127.0.0.1 and a free port: a GET, an authorised
POST over HTTP (httpx), then SIGTERM — every step bounded in time."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import time

import httpx
import pytest
from tests.api.conftest import EXAMPLES
from tests.cli.clikit import ENTRY


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise AssertionError(f"twinline serve exited {proc.returncode}: "
                                 f"{proc.stderr.read() if proc.stderr else ''}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"twinline serve not up after {timeout} s")


def test_serve_answers_a_get_and_an_authorised_post_then_stops_on_sigterm(tmp_path):
    port = free_port()
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    env.pop("TWINLINE_API_TOKEN", None)
    proc = subprocess.Popen([*ENTRY, "serve", "--db", str(tmp_path / "line.db"), "--port",
                             str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(f"{base}/api/v1/materials", proc)
        token_file = tmp_path / "cfg" / "twinline" / "api-token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        r = httpx.get(f"{base}/api/v1/catalogue", params={"step": "coating"}, timeout=10)
        assert r.status_code == 200 and r.json()
        recipe = (EXAMPLES / "nmc111_cathode.yaml").read_bytes()
        r = httpx.post(f"{base}/api/v1/runs", content=recipe, timeout=60,
                       headers={"Content-Type": "application/yaml",
                                "Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        assert r.json()["run"]["outputs"]["cathode.calendering.porosity"]["value"] > 0
        r = httpx.post(f"{base}/api/v1/runs", content=recipe, timeout=60,
                       headers={"Content-Type": "application/yaml"})
        assert r.status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            raise AssertionError("twinline serve did not stop within 20 s of SIGTERM") from None
    err = proc.stderr.read()
    assert "Traceback" not in err
    assert f"http://127.0.0.1:{port}/" in err and "created, mode 0600" in err


def test_serve_workers_without_a_database_is_refused(tmp_path):
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    env.pop("TWINLINE_API_TOKEN", None)
    proc = subprocess.run([*ENTRY, "serve", "--workers", "2", "--port", "0"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "--workers 2 starts 2 processes" in proc.stderr and "give --db" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow  # ~15 s: two server processes start, a Monte Carlo job runs
def test_serve_two_processes_share_jobs_through_the_database(tmp_path):
    """A job submitted to one process is polled on whichever answers (the database), and
    the parent marked the previous server's interrupted job failed once, before the
    workers started."""
    from twinline.api.jobs import INTERRUPTED, Job, JobQueue
    from twinline.twin.store import Store

    db = tmp_path / "line.db"
    with Store.open(db, create=True) as store:   # a job a killed server left running
        q = JobQueue(workers=1, engine=store.engine)
        q._save(Job(id="f" * 32, kind="run", state="running"), new=True)
        q.close()
    port = free_port()
    token = "workers-token-0123456789"
    env = {**os.environ, "TWINLINE_API_TOKEN": token}
    proc = subprocess.Popen([*ENTRY, "serve", "--db", str(db), "--port", str(port),
                             "--workers", "2"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(f"{base}/api/v1/materials", proc, timeout=90)
        recipe = (EXAMPLES / "nmc111_cathode.yaml").read_bytes()
        r = httpx.post(f"{base}/api/v1/runs", params={"samples": 10_000}, content=recipe,
                       timeout=60, headers={"Content-Type": "application/yaml",
                                            "Authorization": f"Bearer {token}"})
        assert r.status_code == 202, r.text
        job = r.json()["id"]
        states = []
        with httpx.Client(timeout=10) as c:   # new connections: both processes answer
            t0 = time.monotonic()
            while time.monotonic() - t0 < 120:
                a = c.get(f"{base}/api/v1/jobs/{job}", headers={"Connection": "close"})
                assert a.status_code == 200, a.text
                states.append(a.json()["state"])
                if states[-1] in ("done", "failed"):
                    break
                time.sleep(0.1)
            assert states[-1] == "done", states
            old = c.get(f"{base}/api/v1/jobs/{'f' * 32}").json()
        assert old["state"] == "failed" and old["message"] == INTERRUPTED
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            raise AssertionError("twinline serve --workers 2 did not stop on SIGTERM") from None
    err = proc.stderr.read()
    assert "Traceback" not in err
    assert "2 processes" in err and "1 job(s) of the previous server were marked failed" in err
