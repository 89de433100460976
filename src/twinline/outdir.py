"""Output folders and files: checked before any work, locked while in use, written as a unit.

Three tools for every verb that writes (``twinline run``, ``campaign``, ``study``, ``design``,
``structure generate``, ``cell export-bpx`` ...):

:func:`check_writable_output`
    Called first, before anything is computed: ``--out`` naming a file where a folder is
    expected (or a folder where a file is expected), a read-only folder, or a missing parent
    that cannot be created raises :class:`OutputError` with one line naming the path and why.
    Writability is probed by creating (and removing) a file, so it is right for root too,
    for whom permission bits do not stop writes but a read-only mount does.
:func:`folder_lock`
    A context manager that holds ``<folder>/.twinline.lock`` while a verb writes into the
    folder. A second writer fails at once with the folder and the pid holding it; a lock left
    by a process that died (``kill -9``, power loss) is taken over.
:func:`commit_files`
    Publishes a set of files (``run.json`` and ``report.html``) so that a reader sees all of
    them from one run, or the previous set, never a mix (see its docstring for the exact
    guarantee).

This module imports only :mod:`twinline.spec.errors` and the standard library, so every layer
may use it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal

from twinline.spec.errors import TwinlineError

__all__ = ["LOCK_NAME", "STATE_DIR", "OutputError", "check_writable_output", "commit_files",
           "folder_lock", "output_folder",
           "staging_dir"]

#: Lock file inside a folder in use.
LOCK_NAME = ".twinline.lock"
#: Hidden folder that holds the published run sets (``runs/<id>/``) and ``current``.
STATE_DIR = ".twinline"


class OutputError(TwinlineError, OSError):
    """An output path cannot be written (wrong kind, read-only, locked by another process)."""

    def __str__(self) -> str:  # OSError would format (errno, strerror)
        return str(self.args[0]) if self.args else ""


# -- checks ------------------------------------------------------------------------------------
def _probe_writable(folder: Path) -> str | None:
    """None if a file can be created in ``folder``, else the reason."""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".twinline-probe-")
    except OSError as err:
        return err.strerror or type(err).__name__
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)
    return None


def check_writable_output(path: str | Path, kind: Literal["folder", "file"] = "folder") -> Path:
    """Check that ``path`` can be written as a ``kind`` before any work is done.

    Parameters
    ----------
    path : path
        The ``--out`` of a verb.
    kind : {"folder", "file"}
        What the verb writes there.

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`. Nothing is created.

    Raises
    ------
    OutputError
        If ``path`` exists as the other kind, if the folder (or, for a missing path, its
        nearest existing parent) is not a writable folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> check_writable_output(d / "new" / "out") == d / "new" / "out"
    True
    >>> (d / "f").write_text("x") and None
    >>> try:
    ...     check_writable_output(d / "f", "folder")
    ... except OutputError as err:
    ...     print(str(err).replace(str(d), "D"))
    --out D/f is a file; expected a folder (give a folder path)
    """
    if kind not in ("folder", "file"):
        raise ValueError(f"kind = {kind!r}: choose 'folder' or 'file'")
    p = Path(path)
    if p.exists() or p.is_symlink():
        if kind == "folder" and not p.is_dir():
            raise OutputError(f"--out {p} is a file; expected a folder (give a folder path)")
        if kind == "file" and p.is_dir():
            raise OutputError(f"--out {p} is a folder; expected a file name (e.g. {p / 'out'})")
        folder = p if kind == "folder" else (p.parent if str(p.parent) else Path("."))
        why = _probe_writable(folder)
        if why:
            raise OutputError(f"--out {p}: folder {folder} is not writable ({why})")
        return p
    # missing: the nearest existing ancestor must be a writable folder (we create the rest)
    anc = p.parent if str(p.parent) else Path(".")
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    if not anc.is_dir():
        raise OutputError(f"--out {p}: cannot create it, {anc} is a file, not a folder")
    why = _probe_writable(anc)
    if why:
        raise OutputError(f"--out {p}: cannot create it, {anc} is not writable ({why})")
    return p


# -- lock --------------------------------------------------------------------------------------
def _proc_start(pid: int) -> str:
    """Start time of ``pid`` in clock ticks since boot (Linux), '' where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]  # field 22; comm may contain spaces


def _alive(owner: Mapping[str, object]) -> bool:
    """Whether the process named by a lock's content may still be running."""
    if owner.get("host") not in (None, socket.gethostname()):
        return True  # another machine: we cannot tell, so we do not steal it
    try:
        pid = int(owner["pid"])  # type: ignore[call-overload]
    except (KeyError, TypeError, ValueError):
        return False  # unreadable lock: its writer died before finishing it
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    start = owner.get("start")
    return not (start and _proc_start(pid) and _proc_start(pid) != start)  # pid reused?


def _read_owner(lock: Path) -> dict[str, object] | None:
    try:
        return json.loads(lock.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def folder_lock(folder: str | Path, *, verb: str = "twinline") -> Iterator[Path]:
    """Hold ``folder/.twinline.lock`` for the duration of the block.

    The lock file holds the owner's pid, host, process start time and verb as JSON. It is
    published with a hard link from a complete temporary file, which fails if the lock exists
    (as ``O_CREAT | O_EXCL`` does, but a reader never sees it empty). A lock whose pid is dead
    (on this host; with the same start time, so a reused pid is not mistaken for the owner)
    is taken over; a live one raises :class:`OutputError` at once. The folder is created if
    needed, and removed again on an exception if the block left it empty. The lock is released
    on exit and on exceptions.

    Raises
    ------
    OutputError
        ``folder`` is in use by a live process (the message names the folder and pid).
    """
    folder = Path(folder)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_NAME
    me = {"pid": os.getpid(), "host": socket.gethostname(), "start": _proc_start(os.getpid()),
          "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "verb": verb}
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".twinline.lock.")
    with os.fdopen(fd, "w") as fh:
        json.dump(me, fh)
    try:
        for _ in range(20):
            try:
                os.link(tmp, lock)
                break
            except FileExistsError:
                pass
            owner = _read_owner(lock)
            if owner is None:
                continue  # released between our two calls: try again
            if _alive(owner):
                raise OutputError(
                    f"--out {folder} is in use by another twinline process (pid "
                    f"{owner.get('pid')}, {owner.get('verb', '?')}, since "
                    f"{owner.get('since', '?')}, lock {lock}); wait for it or use another "
                    "folder") from None
            _take_over(lock, owner)
        else:  # pragma: no cover - twenty lost races
            raise OutputError(f"--out {folder}: could not take the lock {lock}")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    try:
        yield folder
    except BaseException:
        _release(lock, me)
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty
        raise
    _release(lock, me)


def _take_over(lock: Path, stale: Mapping[str, object]) -> None:
    """Remove a stale lock, unless another process replaced it meanwhile."""
    aside = lock.with_name(f"{LOCK_NAME}.stale.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    try:
        os.rename(lock, aside)
    except FileNotFoundError:
        return
    moved = _read_owner(aside)
    if moved != stale and moved and _alive(moved):
        # a live owner took it over between our read and our rename: give it back
        with contextlib.suppress(OSError):
            os.link(aside, lock)
    with contextlib.suppress(OSError):
        os.unlink(aside)


def _release(lock: Path, me: Mapping[str, object]) -> None:
    if _read_owner(lock) == dict(me):
        with contextlib.suppress(OSError):
            os.unlink(lock)


@contextlib.contextmanager
def output_folder(folder: str | Path, *, verb: str = "twinline") -> Iterator[Path]:
    """:func:`check_writable_output` then :func:`folder_lock`: what a verb that writes a
    folder puts around its whole body (``with handle_errors(), output_folder(out): ...``)."""
    check_writable_output(folder, "folder")
    with folder_lock(folder, verb=verb) as f:
        yield f


# -- a set of files written as a unit ----------------------------------------------------------
def commit_files(folder: str | Path, files: Mapping[str, bytes | str | Path],
                 names: tuple[str, ...] | None = None) -> str:
    """Publish ``files`` (``name → content``) in ``folder`` as one unit; return the set's id.

    A content is text (UTF-8), bytes, or a :class:`~pathlib.Path` to a finished file on the
    same file system (from :func:`staging_dir`), which is moved, not copied.

    Every name in ``names`` (default: the keys of ``files``) becomes a relative symbolic link
    ``folder/<name> → .twinline/current/<name>``, and ``.twinline/current`` is a symbolic link
    to ``.twinline/runs/<id>/``, a folder written completely (and fsynced) before it is
    published. Publishing the set is one ``rename(2)`` of ``current``, which is atomic.

    Guarantee (POSIX file systems with symbolic links): at every instant, and whatever moment a
    process is killed at, each name resolves to the file of the same published set: either all
    names of the new set or all of the previous one. A name in ``names`` but not in ``files``
    (``report.html`` of a ``--no-report`` run) then resolves to nothing, so an old report is
    never shown beside a new ``run.json``. Converting a folder written by older versions (plain
    files) first moves its files into a set of their own, so the same holds during the
    conversion. A kill leaves at most an unpublished ``runs/<id>`` folder, removed by the next
    commit. Requires the caller to hold :func:`folder_lock`. Where symbolic links are not
    available the files are renamed into place one by one (no all-or-nothing guarantee).
    """
    folder = Path(folder)
    names = tuple(files) if names is None else names
    state = folder / STATE_DIR
    runs = state / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    set_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    stage = runs / f".{set_id}.partial"
    stage.mkdir()
    try:
        for name, data in files.items():
            if isinstance(data, Path):
                os.replace(data, stage / name)
                with open(stage / name, "rb") as fh:
                    os.fsync(fh.fileno())
                continue
            payload = data.encode("utf-8") if isinstance(data, str) else data
            with open(stage / name, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
        os.rename(stage, runs / set_id)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    if not _symlinks_work(state):
        for name in names:  # pragma: no cover - exotic file systems only
            if name in files:
                os.replace(runs / set_id / name, folder / name)
        shutil.rmtree(runs / set_id, ignore_errors=True)
        return set_id
    current = state / "current"
    _adopt_plain_files(folder, runs, current, names)
    _point(current, Path("runs") / set_id)           # publish: the one atomic step
    for name in names:                               # usually already in place
        link = folder / name
        if not (link.is_symlink() and os.readlink(link) == str(Path(STATE_DIR) / "current"
                                                                / name)):
            _point(link, Path(STATE_DIR) / "current" / name)
    _collect(runs, keep=set_id)
    return set_id


@contextlib.contextmanager
def staging_dir(folder: str | Path) -> Iterator[Path]:
    """A private scratch folder inside ``folder/.twinline/`` for files to commit; removed
    (with whatever the block did not commit) when the block ends."""
    runs = Path(folder) / STATE_DIR / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=runs, prefix=".stage-", suffix=".partial"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        for d in (runs, runs.parent):  # nothing committed: leave no empty state folders
            with contextlib.suppress(OSError):
                d.rmdir()


def _symlinks_work(state: Path) -> bool:
    probe = state / f".probe-{uuid.uuid4().hex[:8]}"
    try:
        os.symlink("x", probe)
    except (OSError, NotImplementedError):
        return False
    os.unlink(probe)
    return True


def _point(link: Path, target: Path) -> None:
    """Make ``link`` a symbolic link to ``target`` atomically (replacing what is there)."""
    tmp = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}.lnk")
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _adopt_plain_files(folder: Path, runs: Path, current: Path, names: tuple[str, ...]) -> None:
    """Turn plain files of an older layout into a published set, keeping what they show."""
    plain = [n for n in names if (folder / n).exists() and not (folder / n).is_symlink()]
    if not plain:
        return
    old_id = "adopted-" + uuid.uuid4().hex[:8]
    stage = runs / f".{old_id}.partial"
    stage.mkdir()
    for n in names:  # the set as a reader sees it now
        src = folder / n
        if src.exists():
            os.link(src.resolve(), stage / n)
    os.rename(stage, runs / old_id)
    _point(current, Path("runs") / old_id)            # same content as now
    for n in names:
        _point(folder / n, Path(STATE_DIR) / "current" / n)  # same content as now


def _collect(runs: Path, keep: str) -> None:
    """Remove every set but ``keep`` (and partial sets left by killed writers)."""
    for p in runs.iterdir():
        if p.name != keep:
            shutil.rmtree(p, ignore_errors=True)
