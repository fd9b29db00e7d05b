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
from dossier.core.errors import DossierError, declare_code
from dossier.core.messages import DEFAULT_CATALOGUE, Catalogue

ERROR_HEADER = "Nats-Service-Error"
ERROR_CODE_HEADER = "Nats-Service-Error-Code"


WIRE_CODES: Mapping[str, int] = {
    "payload_too_large": 413,
    "idempotency_key_invalid": 400,
    "internal_error": 500,
    "unavailable": 503,
}
"""The codes of the errors the messaging layer raises itself, with their statuses."""

for _code, _status in WIRE_CODES.items():
    declare_code(_code, _status)


class WireError(DossierError):
    """An error the messaging layer raises itself (size, idempotency key, internal)."""

    def __init__(self, code: str, params: Mapping[str, str | int] | None = None) -> None:
        self.code = code
        self.rule = code
        self.status = WIRE_CODES[code]
        super().__init__(params)


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
