"""Destruction (资料销毁): execute approved requests, issue and keep the certificates (销毁证明).

The approvals service approves a request and emits ``destruction.moved``
(status ``approved``) on ``dossier.events.<branch>.destruction.moved``;
`Destruction.on_event` — the handler of a durable JetStream consumer — and
`Destruction.execute` (an operator, in-process or over NATS) carry it out:

1. in ONE transaction: core's ``destroy_student`` and ``execute_destruction``
   applied (both refuse while a legal hold is active), the stored answers to
   retried requests that name the student (or that the student was sent)
   deleted, `uow.shred` (data key deleted, personal blobs and blind indexes
   blanked, free text linked to the student erased, their web account closed,
   tombstone written) and the certificate row written, each change with its
   audit entry and event; the certificate lists every kept table and column
   from the data map;
2. every version of every document of the student and of its registration(s)
   deleted from the object store (they are stored under both owners) — in the
   documents bucket and in every bucket a restore wrote documents into
   (`dossier.retention.restores`);
3. the destruction ledger entry written beside the backups
   (`dossier.retention.ledger`), so no restore brings the student back;
4. every store re-read (`dossier.retention.inventory.verify`) and the result
   recorded on the certificate (``destruction.verified``).

Idempotent and restartable: executing an executed request returns its
certificate, first finishing steps 2–4 if an earlier attempt stopped before
its verification passed; `sweep` does that for every such certificate and
executes approved requests whose legal hold was lifted since.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime

import attrs
from nats.aio.msg import Msg
from sqlalchemy.exc import DBAPIError

from dossier.core import wire
from dossier.core.branch import Branch
from dossier.core.caller import Caller
from dossier.core.contracts.retention import (
    Certificate,
    CertificatePage,
    ExecuteDestruction,
    GetCertificate,
    ListCertificates,
    Verification,
)
from dossier.core.enums import DestructionStatus
from dossier.core.errors import Conflict, DossierError, NotFound, Problem, ValidationError
from dossier.core.events import DestructionRequestMoved, DestructionVerified
from dossier.core.lifecycle import Context
from dossier.core.lifecycles import destroy_student, execute_destruction
from dossier.core.plugins import PluginHost
from dossier.core.policy import Actor, Operation, Role, Subject
from dossier.messaging.events import Poison, Transient
from dossier.retention import inventory, ledger, restores
from dossier.retention.certificates import KIND, METHOD, CertificateStore, kept_records
from dossier.storage.audit import AuditSpec
from dossier.storage.db import Database
from dossier.storage.documents import DocumentStore
from dossier.storage.objects import BucketNotFound, ObjectStore, ObjectStoreError
from dossier.storage.shredding import owners_of
from dossier.storage.uow import UnitOfWork
from dossier.storage.usecases import UseCases, hide_unless, page_limit, utc_now

log = logging.getLogger("dossier.retention")

SERVICE_ACTOR = Actor(id="dossier-retention", roles={Role.OPERATOR}, branches={"*"})
"""The responsible person of executions started by an event or the sweep, unless configured."""

REQUEST_KIND = "destruction_request"


def _delete_copies(objects: ObjectStore, bucket: str, owners: tuple[str, ...]) -> int:
    """Every version of the owners' documents in a bucket a restore wrote into (a scratch
    restore's copy); 0 when the operator has removed that bucket since."""
    store = DocumentStore(objects, bucket)
    try:
        return sum(store.delete_student(owner) for owner in owners)
    except BucketNotFound:
        return 0


class Destruction(UseCases):
    def __init__(
        self,
        db: Database,
        branches: Mapping[str, Branch],
        objects: ObjectStore,
        *,
        documents_bucket: str,
        backups_bucket: str,
        responsible: Actor = SERVICE_ACTOR,
        plugins: PluginHost | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        documents = DocumentStore(objects, documents_bucket)
        super().__init__(db, branches, documents, plugins, clock)
        self.objects = objects
        self.documents_bucket = documents_bucket
        self.backups_bucket = backups_bucket
        self.responsible = responsible

    # -- executing -------------------------------------------------------------------------

    def execute(self, request_id: str, responsible: Actor) -> Certificate:
        """Carry out an approved request; the certificate (the existing one, when executed).

        Refused while a legal hold is active (``transition_refused``, reason
        ``legal_hold``) and for a request that is not approved
        (``illegal_transition``); requests of branches outside the caller's
        scope are not found.
        """
        certificate = self._logged(
            Certificate, lambda uow: self._shred(uow, request_id, responsible)
        )
        if certificate.verification is not None and certificate.verification.ok:
            return certificate
        return self._finish(certificate, responsible)

    def execute_command(self, caller: Caller, command: ExecuteDestruction) -> Certificate:
        """`execute` for a NATS request (``destruction.execute``); the caller is responsible."""
        return self.execute(command.request_id, caller.actor)

    def _shred(self, uow: UnitOfWork, request_id: str, responsible: Actor) -> Certificate:
        request = uow.destruction_requests.get(request_id)
        number = request.student_number
        hide_unless(
            responsible,
            Operation.DESTRUCTION_EXECUTE,
            request.branch,
            REQUEST_KIND,
            request_id,
            Subject(student_number=number),
        )
        certificates = CertificateStore(uow.connection)
        if request.status is DestructionStatus.EXECUTED:
            existing = certificates.for_request(request.id)
            if existing is None:
                raise NotFound(KIND, request.certificate_id or request.id)
            return existing
        holds = uow.legal_holds.for_student(number)
        now = self.clock()
        certificate_id = str(uuid.uuid4())
        ctx = Context(actor=responsible.id, reason="destruction request executed", at=now)
        executed = execute_destruction(request, holds, ctx, certificate_id)
        dossier = uow.students.get(number)
        destroyed_dossier = destroy_student(dossier, request, holds, ctx)
        destroyed = inventory.take(uow, dossier)
        prefixes = (number, *destroyed.registrations)
        stored = inventory.stored_digests(self.objects, self.documents_bucket, prefixes)
        digests = tuple(sorted({*destroyed.documents, *stored}))
        destroyed = attrs.evolve(destroyed, documents=digests)
        uow.apply(destroyed_dossier, AuditSpec(action="student.destroyed", subject=request.id))
        uow.apply(executed, AuditSpec(action="destruction.executed", subject=certificate_id))
        rows = owners_of(uow.connection, number)  # before shredding erases some links
        answers = inventory.forget_answers(uow.connection, rows)
        uow.shred(number, certificate_id=certificate_id, actor=responsible.id, at=now)
        uow.audit.record(
            AuditSpec(action="certificate.issued", subject=certificate_id),
            branch=request.branch,
            actor=responsible.id,
            student_number=number,
            at=now,
        )
        certificate = Certificate(
            id=certificate_id,
            request_id=request.id,
            student_number=number,
            branch=request.branch,
            approver=request.reviewed_by or "",
            responsible_person=responsible.id,
            executed_at=now,
            method=METHOD,
            destroyed=attrs.evolve(destroyed, idempotency_answers=answers),
            kept=kept_records(inventory.kept_counts(uow, rows)),
            created_at=now,
        )
        certificates.add(certificate)
        log.info(
            "destruction executed",
            extra={"request": request.id, "student_number": number, "certificate": certificate_id},
        )
        return certificate

    def _finish(self, certificate: Certificate, responsible: Actor) -> Certificate:
        """Steps 2–4: documents, ledger, verification (again, after an interrupted attempt)."""
        owners = (certificate.student_number, *certificate.destroyed.registrations)
        elsewhere = self._reading(lambda uow: restores.buckets(uow.connection))
        deleted = sum(self.documents.delete_student(owner) for owner in owners)
        for bucket in elsewhere:
            deleted += _delete_copies(self.objects, bucket, owners)
        if certificate.verification is not None:
            deleted += certificate.verification.object_versions_deleted
        ledger.record(
            self.objects,
            self.backups_bucket,
            ledger.LedgerEntry(
                student_number=certificate.student_number,
                branch=certificate.branch,
                destroyed_at=certificate.executed_at,
                certificate_id=certificate.id,
                registration_ids=certificate.destroyed.registrations,
            ),
        )

        def work(uow: UnitOfWork) -> Verification:
            verification = inventory.verify(
                uow,
                self.objects,
                self.documents_bucket,
                certificate.student_number,
                certificate.destroyed,
                versions_deleted=deleted,
                at=self.clock(),
                restore_buckets=elsewhere,
            )
            CertificateStore(uow.connection).record_verification(certificate.id, verification)
            uow.audit.record(
                AuditSpec(action="certificate.verified", subject=certificate.id),
                branch=certificate.branch,
                actor=responsible.id,
                student_number=certificate.student_number,
                at=verification.checked_at,
            )
            uow.outbox.add(
                [
                    DestructionVerified(
                        branch=certificate.branch,
                        occurred_at=verification.checked_at,
                        actor=responsible.id,
                        request_id=certificate.request_id,
                        certificate_id=certificate.id,
                        student_number=certificate.student_number,
                        ok=verification.ok,
                    )
                ]
            )
            return verification

        verification = self._logged(Verification, work)
        if not verification.ok:
            failed = [c.name for c in verification.checks if not c.ok]
            log.error(
                "destruction verification failed",
                extra={"certificate": certificate.id, "checks": failed},
            )
        return attrs.evolve(certificate, verification=verification)

    def sweep(self, responsible: Actor | None = None) -> list[Certificate]:
        """Finish interrupted executions; execute approved requests no hold blocks any more."""
        actor = responsible or self.responsible

        def work(uow: UnitOfWork) -> tuple[list[str], list[str]]:
            unfinished = [c.request_id for c in CertificateStore(uow.connection).unverified()]
            ready = [
                r.id
                for r in uow.destruction_requests.find(status=DestructionStatus.APPROVED)
                if r.branch in self.branches
                and not uow.legal_holds.for_student(r.student_number, active_only=True)
            ]
            return unfinished, ready

        unfinished, ready = self._reading(work)
        done = []
        for request_id in (*unfinished, *ready):
            try:
                done.append(self.execute(request_id, actor))
            except DossierError as error:
                log.warning(
                    "destruction not executed",
                    extra={"request": request_id, "code": error.code},
                )
        return done

    # -- the event consumer ----------------------------------------------------------------

    async def on_event(self, msg: Msg) -> None:
        """Handler for a durable consumer on ``dossier.events.*.destruction.moved``.

        Only ``approved`` is acted on; executing again is harmless (idempotent).
        A database or object store failure, or a failed verification, raises
        `Transient` (retried later); an unreadable event, or one of a branch this
        service is not configured for, raises `Poison` (parked for an operator);
        a request that cannot be executed — held, no longer approved — is logged
        and acknowledged.
        """
        try:
            event = wire.loads(msg.data, DestructionRequestMoved)
        except ValidationError:
            raise Poison("not a destruction.moved event") from None
        if event.status is not DestructionStatus.APPROVED:
            return
        if event.branch not in self.branches:
            raise Poison("destruction of a branch not configured here")
        try:
            certificate = await asyncio.to_thread(self.execute, event.request_id, self.responsible)
        except (DBAPIError, ObjectStoreError, Conflict) as error:
            raise Transient(type(error).__name__) from error
        except DossierError as error:
            log.warning(
                "destruction not executed",
                extra={
                    "event_id": event.request_id,
                    "student_number": event.student_number,
                    "error": error.code,
                },
            )
            return
        if certificate.verification is None or not certificate.verification.ok:
            raise Transient("verification_failed")

    # -- reading (auditors) ----------------------------------------------------------------

    def get_certificate(self, caller: Caller, query: GetCertificate) -> Certificate:
        def work(uow: UnitOfWork) -> Certificate:
            certificate = CertificateStore(uow.connection).get(query.certificate_id)
            hide_unless(
                caller.actor, Operation.CERTIFICATE_READ, certificate.branch, KIND, certificate.id
            )
            return certificate

        return self._reading(work)

    def list_certificates(self, caller: Caller, query: ListCertificates) -> CertificatePage:
        """The executed destructions of a branch, newest first, with their certificates."""
        branch = self._branch(query.branch)
        self._require(caller.actor, Operation.CERTIFICATE_READ, branch.code)
        page_limit(query.limit)

        def work(uow: UnitOfWork) -> CertificatePage:
            store = CertificateStore(uow.connection)
            if query.after is not None and store.get(query.after).branch != branch.code:
                raise ValidationError([Problem("after", "invalid_value")])
            found = store.of_branch(branch.code, after=query.after, limit=query.limit + 1)
            page = tuple(found[: query.limit])
            more = len(found) > query.limit
            return CertificatePage(items=page, next_after=page[-1].id if more else None)

        return self._reading(work)
