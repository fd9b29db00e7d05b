"""The closed vocabularies of the domain."""

from __future__ import annotations

from enum import StrEnum


class Locale(StrEnum):
    ZH_CN = "zh-CN"
    EN = "en"


class Channel(StrEnum):
    """How a registration (报名) arrived."""

    ONLINE = "online"
    FRONT_DESK = "front_desk"
    IMPORT = "import"


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNDISCLOSED = "undisclosed"


class IdDocumentType(StrEnum):
    PRC_RESIDENT_ID = "prc_resident_id"
    PASSPORT = "passport"
    HKID = "hkid"
    HK_MACAO_PERMIT = "hk_macao_permit"
    HOME_RETURN_PERMIT = "home_return_permit"
    """港澳居民来往内地通行证 (回乡证)."""
    TAIWAN_PERMIT = "taiwan_permit"
    """台湾居民来往大陆通行证 (台胞证)."""
    OTHER = "other"


class RegistrationStatus(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class StudentStatus(StrEnum):
    """档案分类: 在读 enrolled, 休学 suspended, 已结课 completed, 退学 withdrawn, 已销毁 destroyed."""  # noqa: E501

    ENROLLED = "enrolled"
    SUSPENDED = "suspended"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    DESTROYED = "destroyed"


class ChangeStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    APPLIED = "applied"
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class DestructionStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    EXECUTED = "executed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class DocumentKind(StrEnum):
    REGISTRATION_FORM = "registration_form"
    ID_PROOF = "id_proof"
    PAYMENT_RECEIPT = "payment_receipt"
    CHANGE_EVIDENCE = "change_evidence"
    DESTRUCTION_FORM = "destruction_form"
    OTHER = "other"


class PaymentMethod(StrEnum):
    CASH = "cash"
    CARD = "card"
    BANK_TRANSFER = "bank_transfer"
    WECHAT_PAY = "wechat_pay"
    ALIPAY = "alipay"
    OTHER = "other"


class EnrolmentStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class ConsentPurpose(StrEnum):
    PROCESSING = "processing"
    MARKETING = "marketing"
    EXAM_BOARD = "exam_board"
    PHOTOS = "photos"
    THIRD_PARTY = "third_party"


class ConsentGiver(StrEnum):
    STUDENT = "student"
    GUARDIAN = "guardian"


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class ReviewRunStatus(StrEnum):
    """A quarterly review run (定期审核): 进行中 running → 已完成 completed → 已签署 signed_off."""

    RUNNING = "running"
    COMPLETED = "completed"
    SIGNED_OFF = "signed_off"


class FindingStatus(StrEnum):
    """A review finding on the work list: 待处理 open, 已处理 resolved, 已豁免 waived."""

    OPEN = "open"
    RESOLVED = "resolved"
    WAIVED = "waived"


class DocumentStage(StrEnum):
    """When the required-documents hook is asked."""

    REGISTRATION = "registration"
    ADMISSION = "admission"
    CHANGE = "change"
    DESTRUCTION = "destruction"
