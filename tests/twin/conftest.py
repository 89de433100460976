"""Database fixtures for the twin's store tests: SQLite files and a throw-away PostgreSQL cluster.

``store_url`` gives each test a fresh, empty database URL, once for SQLite and once for PostgreSQL,
so the store's tests are the same functions run against both::

    def test_something(store_url):
        engine = sqlalchemy.create_engine(store_url)
        ...

``postgres_url`` (session scope) starts one PostgreSQL cluster for the whole session: ``initdb``
into a temporary folder as an unprivileged user (``initdb`` refuses root), trust authentication,
listening on 127.0.0.1 at a free port only, its unix socket in the temporary folder; it is stopped
and deleted when the session ends. The per-test databases (``CREATE DATABASE t_<uuid>``) are
created in it and dropped after each test.

Where the server binaries are found: ``$TWINLINE_PG_BINDIR``, else the newest
``/usr/lib/postgresql/*/bin`` (Debian, Ubuntu), else ``initdb`` on ``PATH``. Without them the
PostgreSQL tests are skipped with the reason, unless ``TWINLINE_TEST_POSTGRES=1`` (set by
``.ci/run``): then they fail, so CI never passes without having tested PostgreSQL.
``-m "not postgresql"`` deselects them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_USER = "postgres"  # the cluster's superuser (the database role, whatever the OS user)
TEST_DB = "twinline_test"
START_TIMEOUT_S = 30
_RUN_AS_CANDIDATES = ("postgres", "twinline-pg")  # OS users to run the server as, when root


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql: needs the throw-away PostgreSQL cluster")


def _required() -> bool:
    return os.environ.get("TWINLINE_TEST_POSTGRES", "").strip() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> None:
    """Skip the test, or fail it where PostgreSQL is required (CI)."""
    if _required():
        pytest.fail(
            f"PostgreSQL is required (TWINLINE_TEST_POSTGRES=1) but {reason}", pytrace=False
        )
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


def find_pg_bindir() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, or None."""
    explicit = os.environ.get("TWINLINE_PG_BINDIR")
    if explicit:
        return Path(explicit) if (Path(explicit) / "initdb").exists() else None
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_user() -> pwd.struct_passwd | None:
    """The unprivileged OS user to run the server as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in _RUN_AS_CANDIDATES:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    # Root without a `postgres` user (server binaries not from the Debian package): make one.
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
         _RUN_AS_CANDIDATES[-1]],
        check=True, capture_output=True,
    )
    return pwd.getpwnam(_RUN_AS_CANDIDATES[-1])


@dataclass
class Cluster:
    bindir: Path
    root: Path  # temporary folder: data/, the socket and the log
    port: int
    user: pwd.struct_passwd | None
    start_seconds: float = float("nan")

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def admin_conninfo(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={PG_USER} dbname={dbname}"

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{dbname}"

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        kwargs: dict = {}
        if self.user is not None:  # root: drop to the unprivileged user in the child (no shell)
            kwargs = dict(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
            env.update(HOME=str(self.root), USER=self.user.pw_name, LOGNAME=self.user.pw_name)
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.root, env=env, capture_output=True, text=True, timeout=timeout,
            check=False, **kwargs,
        )

    def _check(self, proc: subprocess.CompletedProcess[str], what: str) -> None:
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            said = proc.stderr.strip() or proc.stdout.strip()
            raise RuntimeError(
                f"{what} failed (exit {proc.returncode}): {said}"
                + (f"\nserver log:\n{log}" if log else "")
            )

    def init(self) -> None:
        self.data.mkdir(mode=0o700)
        if self.user is not None:
            for p in (self.root, self.data):
                os.chown(p, self.user.pw_uid, self.user.pw_gid)
        proc = self.run(
            "initdb", "-D", str(self.data), "-U", PG_USER, "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )
        self._check(proc, "initdb")
        # A test server: local TCP only, the socket beside the data, durability off for speed
        # (the server is never crashed in the tests; what is tested is the store, not the disk).
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# twinline test cluster\n"
                "listen_addresses = '127.0.0.1'\n"
                f"port = {self.port}\n"
                f"unix_socket_directories = '{self.root}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 50\nshared_buffers = 32MB\n"
            )

    def start(self) -> None:
        t0 = time.perf_counter()
        proc = self.run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(START_TIMEOUT_S),
            "start", timeout=START_TIMEOUT_S + 10,
        )
        self._check(proc, "pg_ctl start")
        self.start_seconds = time.perf_counter() - t0

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(Exception):
                self.run(
                    "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=30
                )

    def execute(self, sql: str, dbname: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.admin_conninfo(dbname), autocommit=True, connect_timeout=10) as c:
            c.execute(sql)


def _start_cluster(bindir: Path) -> tuple[Cluster, float]:
    """Init and start a cluster; retry once on a port taken between picking and binding."""
    t0 = time.perf_counter()
    user = _server_user()
    last: Exception | None = None
    for _ in range(3):
        # Not pytest's tmp_path: /tmp/pytest-of-root is 0700 root, the server user cannot enter it.
        root = Path(tempfile.mkdtemp(prefix="twinline-pg-"))
        cluster = Cluster(bindir=bindir, root=root, port=free_port(), user=user)
        try:
            cluster.init()
            cluster.start()
            cluster.execute(f"CREATE DATABASE {TEST_DB}")
            return cluster, time.perf_counter() - t0
        except Exception as exc:
            last = exc
            cluster.stop()
            shutil.rmtree(root, ignore_errors=True)
    raise RuntimeError(f"could not start a PostgreSQL cluster: {last}")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """The session's throw-away PostgreSQL cluster (skips or fails when none can be started)."""
    bindir = find_pg_bindir()
    if bindir is None:
        where = os.environ.get("TWINLINE_PG_BINDIR")
        _unavailable(
            f"no initdb in TWINLINE_PG_BINDIR={where}" if where else
            "no PostgreSQL server binaries (no /usr/lib/postgresql/*/bin/initdb, no initdb on "
            "PATH); install the Debian package `postgresql` or set TWINLINE_PG_BINDIR"
        )
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install -e '.[twin]')")
    try:
        cluster, seconds = _start_cluster(bindir)
    except Exception as exc:
        _unavailable(str(exc))
    print(f"\nPostgreSQL test cluster {bindir} on 127.0.0.1:{cluster.port}: "
          f"initdb + start + createdb {seconds:.2f} s (pg_ctl start {cluster.start_seconds:.2f} s)")
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: Cluster) -> str:
    """``postgresql+psycopg://postgres@127.0.0.1:PORT/twinline_test``, shared by the session."""
    return postgres_cluster.url(TEST_DB)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL for this test: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/twinline.db"
        return
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    name = f"t_{uuid.uuid4().hex}"
    cluster.execute(f"CREATE DATABASE {name}")
    try:
        yield cluster.url(name)
    finally:
        # FORCE: a test that leaked a connection (an engine not disposed) must not block the drop.
        cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
