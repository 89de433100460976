"""Fixtures of the twin tests (SQLite only until the PostgreSQL cluster fixture lands)."""

import pytest


@pytest.fixture(params=["sqlite"])
def store_url(request, tmp_path):
    return f"sqlite:///{tmp_path}/twinline.db"
