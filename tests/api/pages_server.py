"""A uvicorn server of the browser pages for the tests: 127.0.0.1, a free port, in a thread.

The pages are served by the server's own app (:func:`twinline.api.app.create_app`), which
mounts :data:`twinline.api.pages.router` and the static files at ``/static``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

from fastapi import FastAPI


def pages_app() -> FastAPI:
    """The server's app (no database): pages, static files, API."""
    from twinline.api.app import create_app

    return create_app()


@contextlib.contextmanager
def serve(app: FastAPI, *, start_timeout: float = 20.0) -> Iterator[str]:
    """Run ``app`` on 127.0.0.1 and a free port; yield its base URL; stop it on exit."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError(f"the test server did not start within {start_timeout} s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
