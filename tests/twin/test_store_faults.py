"""kill -9 while the store creates a new SQLite database (found by
``benchmarks/bench_line_faults.py``'s fault hunt): the migration must be all or nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from twinline.twin.store import Store
from twinline.twin.store.store import _current_revision, head_revision

SRC = Path(__file__).resolve().parents[2] / "src"

# Store.open on a new file, the process dying (os._exit: no cleanup, like SIGKILL) just
# before its N-th CREATE/INSERT statement reaches SQLite.
_DIE_AT = textwrap.dedent("""
    import os, sys
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    n, seen = int(sys.argv[2]), [0]

    @event.listens_for(Engine, "before_cursor_execute")
    def _die(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith(("CREATE", "INSERT")):
            seen[0] += 1
            if seen[0] == n:
                os._exit(9)

    from twinline.twin.store import Store
    Store.open(sys.argv[1]).close()
""")


@pytest.mark.parametrize("die_at", [2, 5])
def test_a_kill_during_the_first_migration_leaves_a_database_that_opens(tmp_path, die_at):
    """Before the fix each CREATE TABLE committed on its own: killed after a few tables, the
    file held tables without a schema version, and every later open said "not a twinline
    database". Now the half-made migration is rolled back and the next open creates it."""
    db = tmp_path / "line.db"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    r = subprocess.run([sys.executable, "-c", _DIE_AT, str(db), str(die_at)], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 9, r.stderr  # it died mid-migration
    with Store.open(db) as store:
        with store.engine.connect() as conn:
            assert _current_revision(conn) == head_revision()
        assert store.stats() == {"objects": 0, "edges": 0, "settings": 0, "measurements": 0}
        assert store.check() == []
