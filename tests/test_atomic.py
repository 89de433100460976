"""All-or-nothing writes: no half-written file, ordinary permissions."""

from __future__ import annotations

import os
import stat

import pytest

from twinline.atomic import atomic_path, write_atomic


def test_write_atomic_text_and_bytes(tmp_path):
    target = tmp_path / "sub" / "run.json"
    write_atomic(target, "{}")
    assert target.read_text() == "{}"
    write_atomic(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in target.parent.iterdir()) == ["run.json"]


def test_failure_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target, ".html") as tmp:
        with open(tmp, "w") as fh:
            fh.write("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_permissions_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644
