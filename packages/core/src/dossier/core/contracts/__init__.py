"""Every endpoint of Dossier's bus, declared once (`Contract`), and the catalogue of them all.

``dossier.core.contracts.intake``, ``.approvals`` (with ``.confidentiality``, also
answered by approvals) and ``.retention`` hold each service's requests, views and
contract table; `CATALOGUE` joins them. A new
endpoint is a request type, a view, one line in its service's table, and a
handler: the service's endpoint list, the client's routing, the JSON Schemas,
the AsyncAPI document, the access matrix and the docs' tables follow from it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from dossier.core.contracts import approvals, confidentiality, intake, read_trail, retention
from dossier.core.contracts.base import Contract


class Catalogue:
    """All contracts, by verb and by request type; a verb belongs to exactly one service."""

    def __init__(self, contracts: tuple[Contract, ...]) -> None:
        self.contracts = contracts
        self.by_verb: Mapping[str, Contract] = {c.verb: c for c in contracts}
        self.by_request: Mapping[type, Contract] = {c.request: c for c in contracts}
        if len(self.by_verb) != len(contracts) or len(self.by_request) != len(contracts):
            raise ValueError("a verb or a request type is declared twice")

    def __iter__(self) -> Iterator[Contract]:
        return iter(self.contracts)

    def __len__(self) -> int:
        return len(self.contracts)

    def of(self, request: object) -> Contract:
        """The contract of a request (an instance or its type)."""
        kind = request if isinstance(request, type) else type(request)
        return self.by_request[kind]

    def verb(self, verb: str) -> Contract:
        return self.by_verb[verb]

    def service(self, name: str) -> tuple[Contract, ...]:
        return tuple(c for c in self.contracts if c.service == name)

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.service for c in self.contracts))


CATALOGUE = Catalogue(
    (
        *intake.CONTRACTS,
        *approvals.CONTRACTS,
        *confidentiality.CONTRACTS,
        *read_trail.CONTRACTS,
        *retention.CONTRACTS,
    )
)
"""Every endpoint Dossier's services answer."""

__all__ = ["CATALOGUE", "Catalogue", "Contract"]
