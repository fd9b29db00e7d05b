"""Who calls a use case (调用方), and what the request brings besides its body.

Every use case of every service takes a `Caller` first: the verified actor,
the idempotency key of a changing request, the request id, the locale the
answer's messages are rendered in, and the progress sink of a long job. The
NATS service builds one per request; an embedding application builds its own
(``Caller(actor, key)``) and calls the same use cases in-process.
"""

from __future__ import annotations

from attrs import field, frozen

from dossier.core.enums import Locale
from dossier.core.policy import Actor
from dossier.core.progress import ProgressSink, quiet


@frozen
class Caller:
    """The actor, and the idempotency key of a changing request (None: not retry-safe)."""

    actor: Actor
    idempotency_key: str | None = None
    request_id: str | None = field(default=None, kw_only=True)
    locale: Locale | None = field(default=None, kw_only=True)
    """The locale of rendered messages in the answer; None: the branch's own."""
    progress: ProgressSink = field(default=quiet, kw_only=True, eq=False)
    """Where a long job (backup, review run, import) reports how far it is."""
