"""Precomputed answers of the immutable read endpoints (catalogue, schema, materials).

The catalogue, the recipe schema and the built-in material library do not change while a
server runs: they are data files of the installed package. Their answers are therefore
rendered once — by the same :class:`~fastapi.responses.JSONResponse` the uncached path
uses, so the bytes are identical — and kept as :class:`Cached` (body, media type, ETag) in a
bounded LRU map (:class:`AnswerCache`) keyed by the request's normalised parameters.

* **ETag** (RFC 9110 §8.8.3): a strong tag, the BLAKE2b digest (16 bytes, hex) of the package
  version and the body. A new twinline version or a changed body gives a new tag, so a
  client's cached copy is invalidated by an upgrade even where the bytes would be equal.
* **Conditional GET** (RFC 9110 §13.1.2): ``If-None-Match`` naming the current tag (or
  ``*``) gets ``304 Not Modified`` with the tag and no body.
* **Cache-Control**: ``public, max-age=`` :data:`MAX_AGE` ``, must-revalidate``: a client
  or proxy may reuse an answer for :data:`MAX_AGE` seconds, then revalidates with its tag.

Serving a cached answer costs a dictionary lookup and a header comparison instead of
filtering the catalogue and encoding JSON per request (``benchmarks/README.md`` "Server").
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

#: Seconds a client may reuse an answer before revalidating it (ETag).
MAX_AGE = 300
#: ``Cache-Control`` of a cached answer.
CACHE_CONTROL = f"public, max-age={MAX_AGE}, must-revalidate"
#: The OpenAPI entry of the conditional answer (documented on each cached route).
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "not modified: If-None-Match named the current ETag (no body)"}
}


def package_version() -> str:
    """The installed twinline version (part of every ETag)."""
    from twinline import __version__

    return __version__


def etag_of(body: bytes, version: str | None = None) -> str:
    """Strong ETag of ``body`` under ``version`` (default: the installed one):
    ``"<32 hex digits>"``, BLAKE2b-128 of ``version NUL body``."""
    h = hashlib.blake2b(digest_size=16)
    h.update((package_version() if version is None else version).encode())
    h.update(b"\0")
    h.update(body)
    return f'"{h.hexdigest()}"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weak comparison, RFC 9110
    §13.1.2: ``W/`` prefixes are ignored; ``*`` matches any)."""
    if not if_none_match:
        return False
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


@dataclass(frozen=True)
class Cached:
    """One rendered answer: body bytes, media type, ETag and extra headers."""

    body: bytes
    media_type: str
    etag: str
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, content: Any) -> Cached:
        """The answer ``JSONResponse(content)`` would send (the same bytes)."""
        body = bytes(JSONResponse(content).body)
        return cls(body, "application/json", etag_of(body))

    @classmethod
    def raw(cls, body: bytes, media_type: str, **headers: str) -> Cached:
        """A non-JSON answer (CSV, JSON-LD) with its own headers."""
        extra = tuple((k.replace("_", "-"), v) for k, v in headers.items())
        return cls(body, media_type, etag_of(body), extra)

    def respond(self, request: Request) -> Response:
        """200 with the body, or 304 when the request's ``If-None-Match`` names the tag."""
        headers = {"ETag": self.etag, "Cache-Control": CACHE_CONTROL, **dict(self.headers)}
        if matches(request.headers.get("if-none-match"), self.etag):
            return Response(status_code=304, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


class AnswerCache:
    """A bounded, thread-safe LRU map: key → :class:`Cached` (``size`` entries at most).

    The key is the request's normalised parameters; unbounded ones (free-text search) can
    only push out old entries, never grow the map.
    """

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Cached] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], Cached]) -> Cached:
        """The entry of ``key``, made by ``make()`` on a miss (an exception caches
        nothing)."""
        hit = self.peek(key)
        return hit if hit is not None else self._put(key, make())

    async def aget(self, key: Hashable, make: Callable[[], Cached]) -> Cached:
        """:meth:`get` for an ``async`` endpoint: a miss is made in the thread pool, so that
        the first request (which loads the catalogue or the material library, seconds)
        does not stall the event loop; a hit is answered on the loop at once."""
        hit = self.peek(key)
        if hit is not None:
            return hit
        from starlette.concurrency import run_in_threadpool

        return self._put(key, await run_in_threadpool(make))

    def peek(self, key: Hashable) -> Cached | None:
        """The entry of ``key`` (now the most recent), or ``None``."""
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def _put(self, key: Hashable, made: Cached) -> Cached:
        with self._lock:
            self._items[key] = made
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return made

    def clear(self) -> None:
        """Forget every entry (tests; a changed data file)."""
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
