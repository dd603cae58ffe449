"""Who may change data: the write routes need ``Authorization: Bearer <token>``.

The token is the setting ``api_token`` (environment ``SAFETYGAP_API_TOKEN``).
Without it configured the write routes are disabled (403, saying how to enable
them): never open by default. A missing or wrong token answers 401 with
``WWW-Authenticate: Bearer``. Tokens are compared in constant time. Read routes
never depend on this.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from safetygap.api.models import ErrorResponse

AUTH_RESPONSES = {
    401: {"description": "no bearer token, or a wrong one", "model": ErrorResponse},
    403: {"description": "write routes are disabled (no SAFETYGAP_API_TOKEN configured)",
          "model": ErrorResponse},
}


def require_token(request: Request) -> None:
    """Dependency of every write route (see module docstring)."""
    expected = request.app.state.settings.api_token
    if not expected:
        raise HTTPException(403, "write routes are disabled: set SAFETYGAP_API_TOKEN on the "
                                 "server to enable uploads and re-runs")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise HTTPException(401, "this route needs a bearer token: "
                                 "'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise HTTPException(401, "wrong bearer token",
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


Authorized = Annotated[None, Depends(require_token)]
