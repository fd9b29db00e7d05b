"""保密承诺与培训: the branch's confidentiality policy, staff acknowledging it, staff training.

- **Publish** (branch manager, admin): a new version of the branch's policy in
  zh-CN and English; every member of staff must acknowledge it again.
- **Current** (every staff role): the current policy and where the caller stands.
- **Acknowledge** (every staff role): the caller has read the current version;
  an older version cannot be acknowledged.
- **Record training** (branch manager, admin): topic, date, trainer, attendees
  (actor ids), the material files and references to other materials. Each file is
  checked as every attachment is (`dossier.core.attachments.decode_attachment`: accepted
  type, bytes of that type, size) and sealed in the document store under the branch's
  training key (`dossier.storage.keys.training_key_id`), at ``training/<branch>/<session
  id>/<document id>``; backups copy them with every other object.
- **Status** (branch manager, auditor, admin): every member of staff with their
  last acknowledgement and training, and who is due.
- **Material** (branch manager, auditor, admin): one material file, decrypted.

Each change writes an audit entry in its transaction (``confidentiality.published``,
``confidentiality.acknowledged``, ``training.recorded``), naming fields, never texts.
The gateway reads the same tables when it mints a staff token (`dossier.storage.
confidentiality.due_branches`): a member of staff who is due works with masked data only.
"""

from __future__ import annotations

import base64
import uuid

from dossier.core.attachments import Attachment, decode_attachment
from dossier.core.caller import Caller
from dossier.core.contracts.confidentiality import (
    AcknowledgementReceipt,
    AcknowledgePolicy,
    CurrentPolicy,
    GetTrainingMaterial,
    MaterialContent,
    MaterialRef,
    PolicyStanding,
    PolicyView,
    PublishPolicy,
    RecordTraining,
    StaffStanding,
    TrainingReport,
    TrainingStatus,
    TrainingView,
)
from dossier.core.enums import DocumentKind
from dossier.core.errors import NotFound, Problem, ValidationError
from dossier.core.policy import Operation
from dossier.storage import confidentiality as store
from dossier.storage.audit import AuditSpec
from dossier.storage.errors import KeyUnavailable
from dossier.storage.keys import TRAINING, training_key_id
from dossier.storage.objects import ObjectNotFound
from dossier.storage.uow import UnitOfWork
from dossier.storage.usecases import UseCases

POLICY_MAX = 20_000
TOPIC_MAX = 200
NAME_MAX = 128
MATERIALS_MAX = 20
FILES_MAX = 20
FILE_NAME_MAX = 200
REFERENCE_MAX = 500
ATTENDEES_MAX = 500


def _policy_view(policy: store.Policy) -> PolicyView:
    return PolicyView(
        branch=policy.branch,
        version=policy.version,
        text_zh=policy.text_zh,
        text_en=policy.text_en,
        published_at=policy.published_at,
        published_by=policy.published_by,
    )


def _material_ref(material: store.Material) -> MaterialRef:
    return MaterialRef(
        document_id=material.id,
        name=material.name,
        media_type=material.media_type,
        size=material.size,
        sha256=material.sha256,
    )


def _training_view(training: store.Training) -> TrainingView:
    return TrainingView(
        training_id=training.id,
        branch=training.branch,
        topic=training.topic,
        held_on=training.held_on,
        trainer=training.trainer,
        attendees=training.attendees,
        materials=training.materials,
        recorded_by=training.recorded_by,
        recorded_at=training.recorded_at,
        files=tuple(_material_ref(f) for f in training.files),
    )


def _too_long(path: str, value: str, maximum: int) -> list[Problem]:
    return [Problem(path, "too_long", {"max": maximum})] if len(value) > maximum else []


class ConfidentialityHandlers(UseCases):
    def publish_policy(self, caller: Caller, command: PublishPolicy) -> PolicyView:
        """发布保密承诺: the next version of the branch's policy."""
        branch = self._branch(command.branch)
        self._require(caller.actor, Operation.CONFIDENTIALITY_PUBLISH, branch.code)
        texts = self._texts(branch.code, {"text_zh": command.text_zh, "text_en": command.text_en})
        problems = [
            *_too_long("text_zh", texts["text_zh"], POLICY_MAX),
            *_too_long("text_en", texts["text_en"], POLICY_MAX),
        ]
        if problems:
            raise ValidationError(problems)

        def work(uow: UnitOfWork) -> PolicyView:
            policy = store.publish(
                uow.connection,
                branch.code,
                texts["text_zh"],
                texts["text_en"],
                at=self.clock(),
                by=caller.actor.id,
            )
            uow.audit.record(
                AuditSpec(action="confidentiality.published", fields=("text_zh", "text_en")),
                branch=branch.code,
                actor=caller.actor.id,
                subject=f"policy:{policy.version}",
                at=policy.published_at,
            )
            return _policy_view(policy)

        return self._changing(caller, command, PolicyView, work)

    def current_policy(self, caller: Caller, query: CurrentPolicy) -> PolicyStanding:
        branch = self._branch(query.branch)
        self._require(caller.actor, Operation.CONFIDENTIALITY_READ, branch.code)

        def work(uow: UnitOfWork) -> PolicyStanding:
            policy = store.current_policy(uow.connection, branch.code)
            last = store.last_acknowledgement(uow.connection, caller.actor.id, branch.code)
            return PolicyStanding(
                branch=branch.code,
                renewal_days=branch.policy_renewal_days,
                policy=None if policy is None else _policy_view(policy),
                acknowledged_version=None if last is None else last.version,
                acknowledged_at=None if last is None else last.at,
                due=store.is_due(policy, last, self.clock(), branch.policy_renewal_days),
            )

        return self._reading(work)

    def acknowledge_policy(
        self, caller: Caller, command: AcknowledgePolicy
    ) -> AcknowledgementReceipt:
        """确认保密承诺: only the current version can be acknowledged."""
        branch = self._branch(command.branch)
        self._require(caller.actor, Operation.CONFIDENTIALITY_ACKNOWLEDGE, branch.code)

        def work(uow: UnitOfWork) -> AcknowledgementReceipt:
            policy = store.current_policy(uow.connection, branch.code)
            if policy is None:
                raise NotFound("policy", branch.code)
            if command.version != policy.version:
                allowed = {"allowed": str(policy.version)}
                raise ValidationError([Problem("version", "not_allowed_value", allowed)])
            at = self.clock()
            store.acknowledge(uow.connection, caller.actor.id, branch.code, policy.version, at)
            uow.audit.record(
                AuditSpec(action="confidentiality.acknowledged", fields=("version",)),
                branch=branch.code,
                actor=caller.actor.id,
                subject=f"policy:{policy.version}",
                at=at,
            )
            return AcknowledgementReceipt(
                branch=branch.code, version=policy.version, actor=caller.actor.id, at=at
            )

        return self._changing(caller, command, AcknowledgementReceipt, work)

    def record_training(self, caller: Caller, command: RecordTraining) -> TrainingView:
        """记录保密培训."""
        branch = self._branch(command.branch)
        self._require(caller.actor, Operation.TRAINING_RECORD, branch.code)
        materials = {f"materials[{i}]": m for i, m in enumerate(command.materials)}
        names = {f"files[{i}].name": f.name.strip() for i, f in enumerate(command.files)}
        attendees = [a.strip() for a in command.attendees if a.strip()]
        problems = [
            p
            for i, a in enumerate(command.attendees)
            for p in _too_long(f"attendees[{i}]", a, NAME_MAX)
        ]
        if not attendees:
            problems.append(Problem("attendees", "required"))
        if len(command.attendees) > ATTENDEES_MAX:
            problems.append(Problem("attendees", "too_many", {"max": ATTENDEES_MAX}))
        if len(command.materials) > MATERIALS_MAX:
            problems.append(Problem("materials", "too_many", {"max": MATERIALS_MAX}))
        if len(command.files) > FILES_MAX:
            problems.append(Problem("files", "too_many", {"max": FILES_MAX}))
        files: list[tuple[str, str, bytes]] = []  # (name path, media type, bytes)
        for index, file in enumerate(command.files):
            attachment = Attachment(
                kind=DocumentKind.OTHER,
                media_type=file.media_type,
                content=file.content,
                sha256=file.sha256,
            )
            data, wrong = decode_attachment(attachment, f"files[{index}]")
            problems.extend(wrong)
            files.append((f"files[{index}].name", file.media_type, data))
        required = {"topic": command.topic, "trainer": command.trainer}
        try:
            texts = self._texts(branch.code, required, {**materials, **names})
        except ValidationError as error:
            raise ValidationError([*error.problems(), *problems]) from None
        problems.extend(_too_long("topic", texts["topic"], TOPIC_MAX))
        problems.extend(_too_long("trainer", texts["trainer"], NAME_MAX))
        for path in materials:
            problems.extend(_too_long(path, texts[path], REFERENCE_MAX))
        for path in names:
            if not texts[path]:
                problems.append(Problem(path, "required"))
            problems.extend(_too_long(path, texts[path], FILE_NAME_MAX))
        if problems:
            raise ValidationError(problems)

        def work(uow: UnitOfWork) -> TrainingView:
            at = self.clock()
            training_id = str(uuid.uuid4())
            stored: list[store.Material] = []
            keys = uow.session.keys
            key = keys.get_or_create(training_key_id(branch.code), TRAINING) if files else b""
            for name_path, media_type, data in files:
                document_id = str(uuid.uuid4())
                document = self.documents.put_material(
                    branch.code, training_id, document_id, key, data, media_type
                )
                stored.append(
                    store.Material(
                        id=document_id,
                        name=texts[name_path],
                        media_type=media_type,
                        size=document.size,
                        sha256=document.sha256,
                    )
                )
            training = store.record_training(
                uow.connection,
                branch=branch.code,
                topic=texts["topic"],
                held_on=command.held_on,
                trainer=texts["trainer"],
                materials=[texts[k] for k in materials if texts[k]],
                attendees=attendees,
                by=caller.actor.id,
                at=at,
                training_id=training_id,
                files=stored,
            )
            uow.audit.record(
                AuditSpec(
                    action="training.recorded",
                    fields=("topic", "held_on", "trainer", "attendees", "materials", "files"),
                ),
                branch=branch.code,
                actor=caller.actor.id,
                subject=f"training:{training.id}",
                at=at,
            )
            return _training_view(training)

        return self._changing(caller, command, TrainingView, work)

    def training_status(self, caller: Caller, query: TrainingStatus) -> TrainingReport:
        """Every member of the branch's staff (its gateway accounts, and anyone who has
        acknowledged or attended there): acknowledgement, last training, due or not."""
        branch = self._branch(query.branch)
        self._require(caller.actor, Operation.TRAINING_STATUS, branch.code)
        renewal = branch.policy_renewal_days

        def work(uow: UnitOfWork) -> TrainingReport:
            conn = uow.connection
            policy = store.current_policy(conn, branch.code)
            acks = store.last_acknowledgements(conn, branch.code)
            trained = store.last_trainings(conn, branch.code)
            roles = {m.actor: m.roles for m in store.staff_of(conn, branch.code)}
            now = self.clock()
            today = self._today(branch.code)
            staff = []
            for actor in sorted({*roles, *acks, *trained}):
                last, trained_on = acks.get(actor), trained.get(actor)
                staff.append(
                    StaffStanding(
                        actor=actor,
                        roles=roles.get(actor, ()),
                        acknowledged_version=None if last is None else last.version,
                        acknowledged_at=None if last is None else last.at,
                        last_training=trained_on,
                        due=store.is_due(policy, last, now, renewal),
                        training_due=trained_on is None or (today - trained_on).days >= renewal,
                    )
                )
            return TrainingReport(
                branch=branch.code,
                renewal_days=renewal,
                current_version=None if policy is None else policy.version,
                staff=tuple(staff),
                sessions=tuple(_training_view(t) for t in store.trainings(conn, branch.code)),
            )

        return self._reading(work)

    def training_material(self, caller: Caller, query: GetTrainingMaterial) -> MaterialContent:
        """One material file of a training session of the branch, decrypted; not found for
        another branch's session, or a file that is not there."""
        branch = self._branch(query.branch)
        self._require(caller.actor, Operation.TRAINING_STATUS, branch.code)

        def work(uow: UnitOfWork) -> tuple[store.Material, bytes]:
            found = store.material(
                uow.connection, branch.code, query.training_id, query.document_id
            )
            if found is None:
                raise NotFound("material", query.document_id)
            try:
                return found, uow.session.keys.get(training_key_id(branch.code))
            except KeyUnavailable:
                raise NotFound("material", query.document_id) from None

        found, key = self._reading(work)
        try:
            data = self.documents.get_material(
                branch.code, query.training_id, found.id, key, found.sha256
            )
        except ObjectNotFound:
            raise NotFound("material", query.document_id) from None
        return MaterialContent(ref=_material_ref(found), content=base64.b64encode(data).decode())
