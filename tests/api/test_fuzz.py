"""Property-based fuzzing of the whole OpenAPI document (schemathesis, in process).

Every operation of ``create_app()``'s ``/openapi.json`` gets generated requests (valid and
invalid parameters and bodies, with the bearer token so that writes get past the door); each
answer must not be a server error and must match the document (status code, content type,
body schema). The quick variant runs a few examples per operation; the slow one more.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.api.conftest import AUTH, TOKEN  # noqa: E402

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
#: Seconds one fuzzed request may take: generating a 3D electrode compiles the numba kernels
#: on a fresh machine (tens of seconds on 2 loaded cores), far beyond the client's default 10 s.
TIMEOUT = 600


def _app():
    import tempfile
    from pathlib import Path

    from twinline.api.app import create_app

    folder = Path(tempfile.mkdtemp(prefix="twinline-fuzz-"))
    # small queue: fuzzed long runs are refused (503, documented) instead of piling up
    return create_app(db=folder / "fuzz.db", token=TOKEN, workers=1, max_pending=2)


APP = _app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def _stop_jobs():
    yield
    APP.state.jobs.close()


@schema.parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True)
def test_fuzz_no_5xx_and_schema_conformance(case):
    case.call_and_validate(headers=AUTH, checks=CHECKS, timeout=TIMEOUT)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True)
def test_fuzz_long(case):
    case.call_and_validate(headers=AUTH, checks=CHECKS, timeout=TIMEOUT)
