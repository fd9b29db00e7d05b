"""`Contract` — one endpoint of the bus, declared once (端点契约).

A contract names the request type (its ``type`` class variable is the verb),
the service that answers it, the policy operation that guards it, whether it
changes data, and the view it answers with. Everything else is derived from
the contracts and never typed again: each service's endpoint list and
subjects, the client's routing, the gateway's "changing" flag, the access
matrix of the reliability suite, the JSON Schemas in ``$SRV.INFO``, the
AsyncAPI document and the endpoint tables in ``docs/``.
"""

from __future__ import annotations

from typing import Any

from attrs import frozen

from dossier.core.policy import Operation

DEFAULT_MAX_BYTES = 64 * 1024
"""The largest request body an endpoint takes, unless its contract says otherwise."""

ATTACHMENT_MAX_BYTES = 900 * 1024
"""Requests that carry attachments (forms, evidence, documents, imports): NATS's default
message limit is 1 MiB."""


@frozen(kw_only=True)
class Contract:
    """One endpoint: ``request`` (its ``type`` is the verb) answered by ``service``."""

    request: type
    service: str
    operation: Operation
    """The policy operation that guards it (`dossier.core.policy.GRANTS`)."""
    changes: bool
    """Changes data: needs an idempotency key, answered at most once per key."""
    result: type
    max_bytes: int = DEFAULT_MAX_BYTES
    progress: bool = False
    """A long job: publishes ``dossier.progress.<service>.<kind>.<job id>`` while it runs."""

    @property
    def verb(self) -> str:
        verb: str = getattr(self.request, "type")  # noqa: B009 - a ClassVar every request declares
        return verb

    @property
    def subject(self) -> str:
        return f"dossier.{self.service}.{self.verb}"

    @property
    def name(self) -> str:
        """The nats.micro endpoint name (dots are not allowed there)."""
        return self.verb.replace(".", "-")

    @property
    def summary(self) -> str:
        """The first line of the request type's docstring (the docs and schemas show it)."""
        doc: Any = self.request.__doc__ or ""
        first = str(doc).strip().split("\n\n", 1)[0]
        return " ".join(first.split())


class Declare:
    """Declares one service's contracts: ``_ = Declare("intake")``, then one line each."""

    def __init__(self, service: str) -> None:
        self.service = service

    def __call__(
        self,
        request: type,
        operation: Operation,
        result: type,
        *,
        changes: bool,
        max_bytes: int = DEFAULT_MAX_BYTES,
        progress: bool = False,
    ) -> Contract:
        return Contract(
            request=request,
            service=self.service,
            operation=operation,
            changes=changes,
            result=result,
            max_bytes=max_bytes,
            progress=progress,
        )
