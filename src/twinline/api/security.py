"""The server's security: the bearer token of writes, the loopback rule and body limits.

* **Reads are open; writes need** ``Authorization: Bearer <token>`` (:func:`require_token`):
  no or malformed header → 401 (with ``WWW-Authenticate: Bearer``), a wrong token → 403. The
  token is compared with :func:`hmac.compare_digest` (constant time).
* **The token** of ``twinline serve`` is ``TWINLINE_API_TOKEN`` when set, else the file
  :func:`default_token_file` (``$XDG_CONFIG_HOME/twinline/api-token``, by default
  ``~/.config/twinline/api-token``), created on first start with mode 0600 (readable by the
  owner only) — a token file others can read is refused.
* **Loopback only without a token**: :func:`check_host` refuses a non-loopback ``--host``
  unless a token was given (``TWINLINE_API_TOKEN``) or the token file already exists —
  exposing the server is a decision, not a default.
* **Body limits** (:class:`BodyLimit`, an ASGI middleware): recipes ≤ 1 MiB
  (:data:`RECIPE_BYTES`), ingestion and uploaded images ≤ 50 MiB (:data:`UPLOAD_BYTES`);
  the ``Content-Length`` is checked before any byte is read, a body without one is counted
  as it arrives and refused with 413 as soon as it passes the limit.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from twinline.api.errors import ApiError

#: Largest recipe body [bytes] (1 MiB, the YAML reader's own cap).
RECIPE_BYTES = 1 << 20
#: Largest ingestion or image upload body [bytes] (50 MiB).
UPLOAD_BYTES = 50 << 20
#: Path prefix → body limit [bytes]; any other path gets :data:`RECIPE_BYTES`.
LIMITS: dict[str, int] = {
    "/api/v1/line/ingest": UPLOAD_BYTES,
    "/api/v1/structure/analyse": UPLOAD_BYTES,
}
#: Environment variable holding the token.
TOKEN_ENV = "TWINLINE_API_TOKEN"


def default_token_file() -> Path:
    """``$XDG_CONFIG_HOME/twinline/api-token`` (``~/.config/twinline/api-token``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "twinline" / "api-token"


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(32)


def load_or_create_token(path: str | Path) -> tuple[str, bool]:
    """The token in ``path``; created (mode 0600, parent folders 0700) when missing.

    Returns ``(token, created)``. Raises :class:`ApiError` when the file is readable by
    group or others, empty, or cannot be written.
    """
    path = Path(path).expanduser()
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ApiError(f"token file {path} has mode {mode:04o}: others can read it; "
                           f"allowed: 0600 (chmod 600 {path})")
        token = path.read_text(encoding="utf-8").strip()
        if not token:
            raise ApiError(f"token file {path} is empty; delete it to create a new token")
        return token, False
    token = new_token()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as err:
        raise ApiError(f"token file {path}: cannot be created ({err.strerror})") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    return token, True


def is_loopback(host: str) -> bool:
    """Whether ``host`` (name or address) only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str, *, token_given: bool) -> None:
    """Refuse a non-loopback ``host`` when no token was given (:class:`ApiError`)."""
    if not is_loopback(host) and not token_given:
        raise ApiError(f"--host {host} is not a loopback address and no token is set; "
                       f"set {TOKEN_ENV} (or create the token file first by starting on "
                       "127.0.0.1) before serving to other machines")


def check_token(header: str | None, token: str) -> None:
    """Check an ``Authorization`` header against ``token``: 401 missing/malformed, 403 wrong."""
    if not header:
        raise ApiError("this request writes and needs 'Authorization: Bearer <token>' "
                       "(the token of twinline serve)", status=401)
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise ApiError("the Authorization header must be 'Bearer <token>'", status=401)
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise ApiError("the bearer token is wrong", status=403)


def limit_for(path: str) -> int:
    """Body limit [bytes] of a request path."""
    for prefix, n in LIMITS.items():
        if path.startswith(prefix):
            return n
    return RECIPE_BYTES


def _size(n: int) -> str:
    return f"{n / (1 << 20):.3g} MiB ({n:,} bytes)"


def too_large(path: str, got: int | None, limit: int) -> dict[str, Any]:
    """The JSON body of a 413 answer."""
    got_text = f"of {_size(got)} " if got is not None else ""
    return {"error": f"{path}: request body {got_text}is larger than the limit of "
                     f"{_size(limit)}; allowed: recipes <= 1 MiB, ingestion and images <= 50 MiB"}


class BodyLimit:
    """ASGI middleware: 413 for a request body over :func:`limit_for` its path."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def _send_413(self, send: Any, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(data)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": data})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        path, limit = scope["path"], limit_for(scope["path"])
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                n = limit + 1
            if n > limit:
                await self._send_413(send, too_large(path, n, limit))
                return
            await self.app(scope, receive, send)
            return
        # no Content-Length (chunked): read up to the limit, then replay to the app
        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > limit:
                await self._send_413(send, too_large(path, None, limit))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body, sent = b"".join(chunks), False

        async def replay() -> Any:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

