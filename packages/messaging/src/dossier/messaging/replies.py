"""Replies on the wire: a success body, or a structured error — never a traceback.

Every `DossierError` maps to a stable ``code`` and an HTTP-like status (sent in
the nats.micro ``Nats-Service-Error-Code`` header, so generic NATS tools see
it too). The body of an error is::

    {"error": {"code": "validation_failed", "message": "…", "request_id": "…",
               "problems": [{"field": "applicant.phone", "rule": "phone_format",
                             "message": "…"}]}}

Messages are rendered in the branch's locale and never contain submitted values.
Anything that is not a `DossierError` becomes ``internal_error`` with the request
id; the details go to the service log only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dossier.core.enums import Locale
from dossier.core.errors import DossierError
from dossier.core.messages import DEFAULT_CATALOGUE, Catalogue

STATUS_BY_CODE: Mapping[str, int] = {
    "validation_failed": 400,
    "idempotency_key_invalid": 400,
    "token_missing": 401,
    "token_invalid": 401,
    "token_expired": 401,
    "access_denied": 403,
    "not_found": 404,
    "illegal_transition": 409,
    "transition_refused": 409,
    "conflict": 409,
    "destroyed": 410,
    "payload_too_large": 413,
    "idempotency_key_reused": 422,
    "internal_error": 500,
    "storage_error": 500,
    "key_unavailable": 500,
    "integrity_failure": 500,
    "integrity_error": 500,
    "object_store_error": 502,
    "invalid_object_key": 400,
    "probable_duplicates": 409,
    "backup_refused": 409,
    "stale_change": 409,
    "consent_required": 403,
    "unavailable": 503,
}
"""Every error code a service may answer with. docs/errors.md documents each one."""

ERROR_HEADER = "Nats-Service-Error"
ERROR_CODE_HEADER = "Nats-Service-Error-Code"


class WireError(DossierError):
    """An error the messaging layer raises itself (size, idempotency key, internal)."""

    def __init__(self, code: str, params: Mapping[str, str | int] | None = None) -> None:
        self.code = code
        self.rule = code
        super().__init__(params)


def status_of(code: str) -> int:
    return STATUS_BY_CODE.get(code, 500)


def error_body(
    error: DossierError,
    locale: Locale,
    request_id: str,
    catalogue: Catalogue = DEFAULT_CATALOGUE,
) -> dict[str, Any]:
    return {
        "error": {
            "code": error.code,
            "message": error.message(locale, catalogue),
            "request_id": request_id,
            "problems": [
                {
                    "field": problem.field,
                    "rule": problem.rule,
                    "message": problem.message(locale, catalogue),
                }
                for problem in error.problems()
            ],
        }
    }


def internal_error(request_id: str) -> WireError:
    return WireError("internal_error", {"request_id": request_id})
