"""Writes need the bearer token (401 without, 403 wrong); body limits; token file; hosts."""

from __future__ import annotations

import os
import stat

import pytest
from tests.api.conftest import AUTH, YAML

WRITES = [("/api/v1/runs", YAML), ("/api/v1/structure", YAML),
          ("/api/v1/line/ingest", {"Content-Type": "text/csv"})]


@pytest.mark.parametrize(("path", "ctype"), WRITES)
def test_a_write_without_token_is_401_and_with_a_wrong_one_403(client, recipe_yaml, path, ctype):
    r = client.post(path, content=recipe_yaml, headers=ctype)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer <token>" in r.json()["error"]
    r = client.post(path, content=recipe_yaml, headers={**ctype, "Authorization": "Basic x"})
    assert r.status_code == 401
    r = client.post(path, content=recipe_yaml,
                    headers={**ctype, "Authorization": "Bearer wrong-token"})
    assert r.status_code == 403 and r.json()["error"] == "the bearer token is wrong"
    assert client.get("/api/v1/line/stats").json()["objects"] == 0   # nothing written


def test_analyse_upload_needs_the_token_too(client):
    r = client.post("/api/v1/structure/analyse", files={"file": ("x.tif", b"II*\0")})
    assert r.status_code == 401


def test_reads_are_open(client):
    assert client.get("/api/v1/catalogue").status_code == 200


def test_token_compare_is_constant_time():
    import inspect

    from twinline.api import security

    assert "hmac.compare_digest" in inspect.getsource(security.check_token)


def test_a_recipe_over_1_mib_is_413_before_it_is_read(client):
    body = b"#" * ((1 << 20) + 1)
    r = client.post("/api/v1/runs", content=body, headers={**AUTH, **YAML})
    assert r.status_code == 413 and "larger than the limit of 1 MiB" in r.json()["error"]


def test_a_chunked_body_over_the_limit_is_413(client):
    def chunks():
        for _ in range(17):
            yield b"#" * 65536

    r = client.post("/api/v1/runs", content=chunks(), headers={**AUTH, **YAML})
    assert r.status_code == 413


def test_ingestion_may_be_larger_than_a_recipe_but_not_over_50_mib(client):
    from twinline.api.security import UPLOAD_BYTES, limit_for

    assert limit_for("/api/v1/line/ingest") == UPLOAD_BYTES == 50 << 20
    r = client.post("/api/v1/line/ingest", content=b"x",
                    headers={**AUTH, "Content-Type": "text/csv",
                             "Content-Length": str(UPLOAD_BYTES + 1)})
    assert r.status_code == 413


def test_the_token_file_is_created_0600_and_reused(tmp_path):
    from twinline.api.security import load_or_create_token

    path = tmp_path / "cfg" / "twinline" / "api-token"
    token, created = load_or_create_token(path)
    assert created and len(token) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_token(path) == (token, False)


def test_a_token_file_others_can_read_is_refused(tmp_path):
    from twinline.api.errors import ApiError
    from twinline.api.security import load_or_create_token

    path = tmp_path / "api-token"
    path.write_text("abc\n")
    os.chmod(path, 0o644)
    with pytest.raises(ApiError, match=r"mode 0644: others can read it; allowed: 0600"):
        load_or_create_token(path)


@pytest.mark.parametrize(("host", "ok"), [("127.0.0.1", True), ("localhost", True),
                                          ("::1", True), ("0.0.0.0", False),
                                          ("192.168.1.5", False), ("example.org", False)])
def test_a_non_loopback_host_needs_a_token(host, ok):
    from twinline.api.errors import ApiError
    from twinline.api.security import check_host

    check_host(host, token_given=True)
    if ok:
        check_host(host, token_given=False)
    else:
        with pytest.raises(ApiError, match="not a loopback address and no token"):
            check_host(host, token_given=False)


def test_serve_refuses_a_public_host_without_token_on_one_line(tmp_path):
    import subprocess

    from tests.cli.clikit import ENTRY

    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    env.pop("TWINLINE_API_TOKEN", None)
    p = subprocess.run([*ENTRY, "serve", "--host", "0.0.0.0",
                        "--port", "1"], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 2
    assert p.stderr.startswith("error: --host 0.0.0.0 is not a loopback address")
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    assert not (tmp_path / "twinline").exists()   # no token file half-written
