"""``twinline serve``: the FastAPI app (:func:`twinline.api.app.create_app`) under uvicorn."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the main app."""
    app.command("serve")(serve)


def serve(
    db: str | None = typer.Option(None, "--db", help="the line's database (SQLite file or "
                                  "SQLAlchemy URL), created when missing; keeps jobs and "
                                  "runs; without it the line endpoints answer 404"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (a "
                             "non-loopback one needs TWINLINE_API_TOKEN or a token file)"),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port (0: any free)"),
    workers: int = typer.Option(2, "--job-workers", min=1, max=64,
                                help="jobs run at once (threads)"),
    token_file: str | None = typer.Option(None, "--token-file", help="the token's file "
                                          "(default ~/.config/twinline/api-token, created "
                                          "0600 on first start); TWINLINE_API_TOKEN wins"),
    processes: int = typer.Option(1, "--workers", min=0, max=64, help="server processes "
                                  "(uvicorn workers; 0: one per CPU core). More than one "
                                  "needs --db: each process keeps its jobs in memory and "
                                  "finds the others' jobs and runs through the database"),
) -> None:
    """Serve the REST API (/api/v1, docs at /docs) and the browser pages.

    Reads are open; writes need 'Authorization: Bearer <token>'. The token is
    TWINLINE_API_TOKEN when set, else the token file, created on first start.

    One process (the default) serves about 3 000 catalogue reads or 100 recipe runs per
    second of CPU; --workers N uses N cores (with --db, which the processes share).

    Example: twinline serve --db line.db --port 8000
    """
    import os
    from pathlib import Path

    from twinline.cli.common import err_console, handle_errors

    with handle_errors():
        from twinline.api.security import (
            TOKEN_ENV,
            check_host,
            default_token_file,
            load_or_create_token,
        )

        path = Path(token_file).expanduser() if token_file else default_token_file()
        env = os.environ.get(TOKEN_ENV, "").strip()
        check_host(host, token_given=bool(env) or path.is_file())
        if env:
            token, where = env, f"${TOKEN_ENV}"
        else:
            token, created = load_or_create_token(path)
            where = f"{path} ({'created' if created else 'read'}, mode 0600)"
        n = processes or os.cpu_count() or 1
        if n > 1 and db is None:
            from twinline.api.errors import ApiError

            raise ApiError(f"--workers {processes} starts {n} processes, which find each "
                           "other's jobs through the database only; give --db (e.g. --db "
                           "line.db) or use --workers 1")
        import uvicorn

        if n > 1:
            _serve_processes(n, db=db, host=host, port=port, token=token, job_workers=workers,
                             where=where)
            return

        from twinline.api.app import create_app

        api = create_app(db=db, token=token, workers=workers)
        if api.state.interrupted:
            err_console.print(f"warning: {api.state.interrupted} job(s) of the previous "
                              "server were marked failed", highlight=False)
        err_console.print(f"twinline serve: http://{host}:{port}/ (docs /docs); write token "
                          f"in {where}", highlight=False, soft_wrap=True)
        uvicorn.run(api, host=host, port=port, log_level="warning", access_log=False)


def _serve_processes(n: int, *, db: str, host: str, port: int, token: str, job_workers: int,
                     where: str) -> None:
    """``uvicorn`` with ``n`` worker processes, each building the app from the environment
    (:func:`twinline.api.app.app_from_env`); interrupted jobs are marked failed here, once,
    before they start."""
    import os

    import uvicorn

    from twinline.api.jobs import recover_store
    from twinline.api.security import TOKEN_ENV
    from twinline.cli.common import err_console

    interrupted = recover_store(db)
    if interrupted:
        err_console.print(f"warning: {interrupted} job(s) of the previous server were marked "
                          "failed", highlight=False)
    os.environ.update({TOKEN_ENV: token, "TWINLINE_API_DB": db, "TWINLINE_API_RECOVER": "0",
                       "TWINLINE_API_JOB_WORKERS": str(job_workers)})
    err_console.print(f"twinline serve: http://{host}:{port}/ (docs /docs), {n} processes; "
                      f"write token in {where}", highlight=False, soft_wrap=True)
    uvicorn.run("twinline.api.app:app_from_env", factory=True, workers=n, host=host,
                port=port, log_level="warning", access_log=False)
