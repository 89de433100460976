"""The database fixtures themselves: each URL opens, holds a table, and is a test's own."""

import re

import pytest
import sqlalchemy as sa

_seen: dict[str, set[str]] = {}


def _roundtrip(url: str) -> list[tuple[int, str]]:
    engine = sa.create_engine(url)
    try:
        meta = sa.MetaData()
        t = sa.Table(
            "probe", meta,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.String(40), nullable=False),
        )
        meta.create_all(engine)
        with engine.begin() as c:
            c.execute(t.insert(), [{"id": 1, "name": "slurry-1"}, {"id": 2, "name": "roll-7"}])
        with engine.connect() as c:
            return [tuple(r) for r in c.execute(sa.select(t.c.id, t.c.name).order_by(t.c.id))]
    finally:
        engine.dispose()


def test_store_url_roundtrip(store_url):
    assert _roundtrip(store_url) == [(1, "slurry-1"), (2, "roll-7")]


@pytest.mark.parametrize("attempt", [1, 2])
def test_store_url_is_fresh_per_test(store_url, attempt):
    """Both attempts insert the same primary keys: a shared database would fail the second."""
    backend = store_url.split(":", 1)[0].split("+", 1)[0]
    assert store_url not in _seen.setdefault(backend, set())
    _seen[backend].add(store_url)
    engine = sa.create_engine(store_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
    assert _roundtrip(store_url) == [(1, "slurry-1"), (2, "roll-7")]


@pytest.mark.postgresql
def test_postgres_url_is_postgresql_15_or_newer(postgres_url):
    assert postgres_url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as c:
            version = c.execute(sa.text("SELECT version()")).scalar_one()
            assert c.execute(sa.text("SELECT current_database()")).scalar_one() == "twinline_test"
            listen = c.execute(sa.text("SHOW listen_addresses")).scalar_one()
    finally:
        engine.dispose()
    m = re.match(r"PostgreSQL (\d+)", version)
    assert m, version
    assert int(m.group(1)) >= 15, version
    assert listen == "127.0.0.1"
