"""Drive many registrations through intake concurrently, retrying like a real client would."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence
from datetime import date
from typing import Any

from dossier.core.attachments import Attachment
from dossier.core.commands import ReviewRegistration, SubmitRegistration
from dossier.core.enums import Channel, Decision, DocumentKind, IdDocumentType
from dossier.core.records import IdDocument, LearningNeeds, PersonalDetails
from dossier.messaging.client import DossierClient, Unavailable
from tests.support.nats import sign_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def registration(n: int, branch: str = "SH01") -> SubmitRegistration:
    """Registration number ``n``: unique passport and phone, so no two look like duplicates."""
    return SubmitRegistration(
        branch=branch,
        channel=Channel.FRONT_DESK,
        applicant=PersonalDetails(
            name="李四",
            birth_date=date(1995, 5, 17),
            id_document=IdDocument(type=IdDocumentType.PASSPORT, number=f"E{20_000_000 + n}"),
            phone=f"+86137{n:08d}",
        ),
        needs=LearningNeeds(target_language="ja"),
        attachments=(
            Attachment(
                kind=DocumentKind.ID_PROOF,
                media_type="image/png",
                content=base64.b64encode(PNG).decode(),
            ),
        ),
    )


async def _admit(desk: DossierClient, officer: DossierClient, n: int, run_id: str) -> str:
    """Submit and accept registration ``n``; every retry reuses the same idempotency keys."""
    while True:
        try:
            receipt = await desk.send(registration(n), idempotency_key=f"{run_id}-submit-{n:06d}")
            outcome = await officer.send(
                ReviewRegistration(
                    registration_id=receipt.registration_id,
                    decision=Decision.APPROVE,
                    reason="load",
                ),
                idempotency_key=f"{run_id}-review-{n:06d}",
            )
            return str(outcome.student_number)
        except Unavailable:
            await asyncio.sleep(0.2)


async def admit_many(
    nats_url: str,
    desk_token: str,
    officer_token: str,
    numbers: Sequence[int],
    *,
    in_flight: int = 64,
    run_id: str = "load",
    timeout: float = 5.0,
) -> list[str]:
    """Admit every registration in ``numbers``; the student numbers, in order."""
    nc = await sign_in(nats_url)
    desk = DossierClient(nc, desk_token, timeout=timeout, attempts=6)
    officer = DossierClient(nc, officer_token, timeout=timeout, attempts=6)
    slots = asyncio.Semaphore(in_flight)

    async def one(n: int) -> str:
        async with slots:
            return await _admit(desk, officer, n, run_id)

    try:
        results: list[Any] = await asyncio.gather(*(one(n) for n in numbers))
    finally:
        await nc.close()
    return [str(r) for r in results]
