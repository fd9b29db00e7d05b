"""Confidentiality undertaking and staff training (保密承诺与培训), answered by approvals.

Each branch keeps a versioned confidentiality policy (zh-CN and English). A staff
member acknowledges the current version of each branch they work for; until they
have (and again when a new version is published, or when their acknowledgement
is older than the branch's ``policy_renewal_days``) the gateway mints their tokens
limited to masked data (the ``lim`` claim, `dossier.core.policy.Actor.masked_only`).
Training sessions are recorded with their attendees and their materials — files
(PDF, images) checked like every attachment (`dossier.core.attachments`) and kept
sealed in the document store, and text references; the status lists every
member of staff with their acknowledgement and last training, and who is due.
A branch with no published policy requires no acknowledgement.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from attrs import frozen

from dossier.core.commands import Command
from dossier.core.contracts.base import ATTACHMENT_MAX_BYTES, Contract, Declare
from dossier.core.policy import Operation

# -- requests ----------------------------------------------------------------------------


@frozen(kw_only=True)
class PublishPolicy(Command):
    """发布保密承诺: a new version of the branch's confidentiality policy, in both languages."""

    type: ClassVar[str] = "confidentiality.publish"
    branch: str
    text_zh: str
    text_en: str


@frozen(kw_only=True)
class CurrentPolicy:
    """The branch's current policy, and where the caller stands with it."""

    type: ClassVar[str] = "confidentiality.current"
    branch: str


@frozen(kw_only=True)
class AcknowledgePolicy(Command):
    """确认保密承诺: the caller has read version ``version`` of the branch's policy."""

    type: ClassVar[str] = "confidentiality.acknowledge"
    branch: str
    version: int


@frozen(kw_only=True)
class TrainingFile:
    """A training material as uploaded (培训材料文件): its file name, declared media type and
    base64 content, checked like every attachment (accepted type, bytes of that type, size)."""

    name: str
    media_type: str
    content: str
    sha256: str | None = None
    """Optional: the hex SHA-256 of the decoded content, as the sender computed it."""


@frozen(kw_only=True)
class RecordTraining(Command):
    """记录保密培训: a training session held for the branch's staff, and who attended
    (their actor ids, ``web:<login>`` for gateway accounts); ``files``: the materials handed
    out, ``materials``: references to others (titles, links)."""

    type: ClassVar[str] = "training.record"
    branch: str
    topic: str
    held_on: date
    trainer: str
    attendees: tuple[str, ...]
    materials: tuple[str, ...] = ()
    files: tuple[TrainingFile, ...] = ()


@frozen(kw_only=True)
class TrainingStatus:
    """Every member of the branch's staff: acknowledgement, last training, whether due;
    and the training sessions recorded."""

    type: ClassVar[str] = "training.status"
    branch: str


@frozen(kw_only=True)
class GetTrainingMaterial:
    """One material file of a training session of the branch, decrypted."""

    type: ClassVar[str] = "training.material"
    branch: str
    training_id: str
    document_id: str


# -- views -------------------------------------------------------------------------------


@frozen(kw_only=True)
class PolicyView:
    branch: str
    version: int
    text_zh: str
    text_en: str
    published_at: datetime
    published_by: str


@frozen(kw_only=True)
class PolicyStanding:
    """The current policy (None: none published) and the caller's acknowledgement of it."""

    branch: str
    renewal_days: int
    policy: PolicyView | None = None
    acknowledged_version: int | None = None
    acknowledged_at: datetime | None = None
    due: bool = False


@frozen(kw_only=True)
class AcknowledgementReceipt:
    branch: str
    version: int
    actor: str
    at: datetime


@frozen(kw_only=True)
class MaterialRef:
    """A material file of a training session: its id (for `GetTrainingMaterial`), file name,
    media type, size in bytes and the SHA-256 of its content."""

    document_id: str
    name: str
    media_type: str
    size: int
    sha256: str


@frozen(kw_only=True)
class MaterialContent:
    ref: MaterialRef
    content: str
    """base64"""


@frozen(kw_only=True)
class TrainingView:
    training_id: str
    branch: str
    topic: str
    held_on: date
    trainer: str
    attendees: tuple[str, ...]
    materials: tuple[str, ...]
    recorded_by: str
    recorded_at: datetime
    files: tuple[MaterialRef, ...] = ()


@frozen(kw_only=True)
class StaffStanding:
    """One member of staff: ``due`` when the current policy is not acknowledged by them, or
    their acknowledgement is older than the branch's renewal period; ``training_due`` when
    they attended no training within that period."""

    actor: str
    roles: tuple[str, ...]
    acknowledged_version: int | None = None
    acknowledged_at: datetime | None = None
    last_training: date | None = None
    due: bool = False
    training_due: bool = True


@frozen(kw_only=True)
class TrainingReport:
    branch: str
    renewal_days: int
    current_version: int | None
    staff: tuple[StaffStanding, ...]
    sessions: tuple[TrainingView, ...]


# -- the endpoints -------------------------------------------------------------------------

_O = Operation
_ = Declare("approvals")

CONTRACTS: tuple[Contract, ...] = (
    _(PublishPolicy, _O.CONFIDENTIALITY_PUBLISH, PolicyView, changes=True),
    _(CurrentPolicy, _O.CONFIDENTIALITY_READ, PolicyStanding, changes=False),
    _(AcknowledgePolicy, _O.CONFIDENTIALITY_ACKNOWLEDGE, AcknowledgementReceipt, changes=True),
    _(
        RecordTraining,
        _O.TRAINING_RECORD,
        TrainingView,
        changes=True,
        max_bytes=ATTACHMENT_MAX_BYTES,
    ),
    _(TrainingStatus, _O.TRAINING_STATUS, TrainingReport, changes=False),
    _(GetTrainingMaterial, _O.TRAINING_STATUS, MaterialContent, changes=False),
)
