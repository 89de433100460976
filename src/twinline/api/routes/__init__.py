"""The REST API's endpoint groups, one module each, mounted under ``/api/v1``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from twinline.api.security import TOKEN_ENV, check_token

_bearer = HTTPBearer(auto_error=False, description="the token of twinline serve "
                     f"({TOKEN_ENV} or its token file)")


def _write(request: Request,
           _credentials: Annotated[HTTPAuthorizationCredentials | None,
                                   Depends(_bearer)] = None) -> None:
    check_token(request.headers.get("authorization"), request.app.state.token)


#: Dependencies of a write endpoint (bearer token; documented as a security scheme).
WRITE: list[Any] = [Depends(_write)]
