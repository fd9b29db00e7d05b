"""The gateway's JSON API and its OpenAPI description (``GET /openapi.json``).

The same session and CSRF rules as the pages: a JSON call from the browser
carries the session cookie and the CSRF token in ``X-CSRF-Token``. The online
registration is also open as JSON, for a school's own website: a body over the
gateway's size limit answers 413, JSON that is not JSON or nests too deep 400, and
one client address may send so many registrations in a while (429 after).
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.schemas import SchemaGenerator

from dossier.core import wire
from dossier.core.commands import SubmitRegistration
from dossier.gateway.limits import JsonRefused, client_address, error_json, json_body, say
from dossier.gateway.public import applicant_actor, registration_allowed
from dossier.gateway.web import SESSION_CSRF, CsrfRefused, gateway, locale_of, send_form
from dossier.messaging.client import RemoteError

SCHEMAS = SchemaGenerator(
    {
        "openapi": "3.0.0",
        "info": {"title": "Dossier gateway", "version": "0.1.0"},
    }
)


def _error(error: RemoteError) -> JSONResponse:
    return JSONResponse(
        {
            "error": {
                "code": error.code,
                "message": error.message,
                "request_id": error.request_id,
                "problems": [
                    {"field": p.field, "rule": p.rule, "message": p.message} for p in error.problems
                ],
            }
        },
        status_code=error.status,
    )


async def health(_request: Request) -> Response:
    """
    responses:
      200:
        description: The gateway runs and holds a NATS connection.
      503:
        description: No NATS connection.
    """
    nc = gateway(_request).nc
    ok = nc is not None and nc.is_connected
    return JSONResponse({"ok": ok}, status_code=200 if ok else 503)


async def submit_registration(request: Request) -> Response:
    """
    summary: Submit an online registration (《学员报名表》)
    description: >
      The body is the intake service's `registration.submit` command with
      `channel` = `online`; an `Idempotency-Key` header makes a retry safe.
    responses:
      201:
        description: The registration's receipt (its id is the reference).
      400:
        description: Validation failed (every problem names its field and rule), or the body
          is not JSON or nests too deep.
      413:
        description: The body is larger than the gateway or the service takes.
      429:
        description: Too many registrations from the client's address; see Retry-After.
    """
    locale = locale_of(request)
    if not registration_allowed(request):
        limited = error_json(429, "rate_limited", say("limits.too_many", locale))
        limited.headers["retry-after"] = str(
            gateway(request).registrations.retry_after(client_address(request))
        )
        return limited
    try:
        body = await json_body(request, gateway(request).settings.max_json_depth)
    except JsonRefused as refused:
        return error_json(400, "invalid_json", say(refused.key, locale))
    if not isinstance(body, dict) or not isinstance(body.get("branch"), str):
        return JSONResponse(
            {
                "error": {
                    "code": "validation_failed",
                    "problems": [{"field": "branch", "rule": "required"}],
                }
            },
            status_code=400,
        )
    actor = applicant_actor(body["branch"])
    key = request.headers.get("idempotency-key")
    try:
        receipt = await send_form(request, actor, SubmitRegistration, body, key)
    except RemoteError as refused:
        return _error(refused)
    return Response(wire.dumps(receipt), status_code=201, media_type="application/json")


def check_csrf_header(request: Request) -> None:
    sent = request.headers.get("x-csrf-token", "")
    expected = request.session.get(SESSION_CSRF)
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused


async def openapi(request: Request) -> Response:
    return JSONResponse(SCHEMAS.get_schema(routes=request.app.routes))


routes = [
    Route("/api/v1/health", health, methods=["GET"]),
    Route("/api/v1/registrations", submit_registration, methods=["POST"]),
]
