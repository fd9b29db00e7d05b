"""Hostile documents through NATS: bytes that are not their declared type, or not their declared
hash, are refused with the field and the rule, and nothing is filed."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import Any

from dossier.core.commands import ReviewRegistration
from dossier.core.contracts.intake import AddDocument, GetDossier
from dossier.core.enums import Decision, DocumentKind
from dossier.core.policy import Role
from dossier.messaging.client import DossierClient, RemoteError
from tests.support.load import registration
from tests.support.nats import sign_in
from tests.support.stack import Stack

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PROGRAM = b"MZ\x90\x00" + bytes(range(256)) * 4


async def _scenario(stack: Stack) -> list[Any]:
    nc = await sign_in(stack.url_for("staff"))
    try:
        officer = DossierClient(nc, stack.token("officer-d", Role.ENROLMENT_OFFICER), timeout=30)
        receipt = await officer.send(registration(7001))
        admitted = await officer.send(
            ReviewRegistration(
                registration_id=receipt.registration_id, decision=Decision.APPROVE, reason="ok"
            )
        )
        number = admitted.student_number

        def document(data: bytes, media_type: str, sha256: str | None) -> AddDocument:
            return AddDocument(
                student_number=number,
                kind=DocumentKind.ID_PROOF,
                media_type=media_type,
                content=base64.b64encode(data).decode(),
                sha256=sha256,
            )

        outcomes: list[Any] = []
        for attempt in (
            document(PROGRAM, "image/png", None),  # a program declared as a picture
            document(PNG, "image/png", hashlib.sha256(PROGRAM).hexdigest()),  # swapped
            document(PNG[:-1], "image/png", hashlib.sha256(PNG).hexdigest()),  # truncated
        ):
            try:
                await officer.send(attempt)
                outcomes.append("accepted")
            except RemoteError as refused:
                outcomes.append((refused.code, [(p.field, p.rule) for p in refused.problems]))
        before = await officer.send(GetDossier(student_number=number))
        filed = await officer.send(document(PNG, "image/png", hashlib.sha256(PNG).hexdigest()))
        after = await officer.send(GetDossier(student_number=number))
        outcomes += [len(before.documents), filed.sha256, len(after.documents)]
        return outcomes
    finally:
        await nc.close()


def test_documents_whose_bytes_are_not_their_declared_type_or_hash_are_refused(
    services: Stack,
) -> None:
    wrong_type, swapped, truncated, docs_before, filed, docs_after = asyncio.run(
        _scenario(services)
    )
    assert wrong_type == ("validation_failed", [("content", "content_type_mismatch")])
    assert swapped == ("validation_failed", [("sha256", "hash_mismatch")])
    assert truncated == ("validation_failed", [("sha256", "hash_mismatch")])
    assert filed == hashlib.sha256(PNG).hexdigest()
    assert docs_after == docs_before + 1, "only the sound document was filed"
