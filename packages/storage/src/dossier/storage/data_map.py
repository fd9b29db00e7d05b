"""The data map (数据清单): where Dossier keeps what, and which of it is personal.

Every column of every table, every object-store prefix and every field of
every domain event is classified here, with the personal fields it holds.
The map is code so that tests can hold the code to it
(``tests/reliability/test_data_map.py``): a table or column the map does not
classify — in `dossier.storage.schema` or in a migrated database — fails the
build, as does an entry for something that no longer exists, or an event
field classified as anything that could carry a personal value.
``docs/privacy.md`` is generated from it (``scripts/privacy_doc.py``).

It also says what destruction (资料销毁) does to every table (`AT_DESTRUCTION`):
how a table's rows are found for one student, whether they are kept or
deleted, which columns are erased in place and — for kept rows — on which
ground they are kept. Shredding (`dossier.storage.shredding`) erases exactly
the columns listed here, and the destruction certificate (销毁证明) lists every
kept table and column from here, so the two cannot drift apart.

This module only describes; it imports nothing that does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum

from attrs import frozen


class Kind(StrEnum):
    """What a column, object or event field holds, from a privacy point of view."""

    PERSONAL_SEALED = "personal_sealed"
    BRANCH_SEALED = "branch_sealed"
    KEY_REFERENCE = "key_reference"
    KEY_MATERIAL = "key_material"
    BLIND_INDEX = "blind_index"
    PSEUDONYMOUS_ID = "pseudonymous_id"
    RECORD_ID = "record_id"
    FIELD_NAMES = "field_names"
    FREE_TEXT = "free_text"
    AUDIT = "audit"
    DIGEST = "digest"
    EVENT = "event"
    STORED_ANSWER = "stored_answer"
    BACKUP_SEALED = "backup_sealed"
    OPERATIONAL = "operational"


DESCRIPTIONS: Mapping[Kind, str] = {
    Kind.PERSONAL_SEALED: "personal values, sealed (AES-256-GCM) under the student's own data "
    "key; unreadable everywhere once that key is shredded",
    Kind.BRANCH_SEALED: "files about no student (staff training materials), sealed "
    "(AES-256-GCM) under their branch's training key; no destruction of a student touches "
    "them",
    Kind.KEY_REFERENCE: "the id of the data key a row is sealed under (NULL after shredding)",
    Kind.KEY_MATERIAL: "data keys and the blind-index root, stored only wrapped by the master key",
    Kind.BLIND_INDEX: "keyed HMAC digests of normalised personal values, for duplicate "
    "detection; deleted when the student is destroyed",
    Kind.PSEUDONYMOUS_ID: "refers to a person without naming them: student numbers, actor ids",
    Kind.RECORD_ID: "random ids of records (registrations, requests, runs, jobs…)",
    Kind.FIELD_NAMES: "names of fields (``personal.phone``), rule codes, document digests; "
    "never values",
    Kind.FREE_TEXT: "text a person typed (reasons, comments, notes, feedback, a recipient, a "
    "course name, a receipt number), stored in clear while the student's record lives: the "
    "rules refuse control characters but cannot stop someone writing a name into it; where it "
    "is linked to a student, destruction erases it in place (replaced by ``[erased]``)",
    Kind.AUDIT: "the audit chain: keyed hashes of new values (matchable only with the "
    "student's key) and the chain's own hashes",
    Kind.DIGEST: "one-way hashes of content or of secrets (document contents, confirmation and "
    "activation codes, request fingerprints, password hashes)",
    Kind.EVENT: "a domain event's wire JSON; events carry only what the event map below allows",
    Kind.STORED_ANSWER: "the first answer to a changing request, kept for retries: receipts, "
    "ids, statuses, field names and the free text of the request; never sealed values",
    Kind.BACKUP_SEALED: "copies of rows and document objects, sealed again under the backup "
    "key; personal values inside stay sealed under the students' keys; free text a later "
    "destruction erased is readable only with the backup key, until the backup expires, and "
    "is erased again by the destruction ledger when the backup is restored",
    Kind.OPERATIONAL: "statuses, kinds, enums, dates and times, counts, sizes, versions, "
    "positions, branch codes, configuration",
}

PERSONAL_KINDS = frozenset({Kind.PERSONAL_SEALED, Kind.BLIND_INDEX, Kind.KEY_MATERIAL})
"""Kinds that hold personal values (sealed, digested) or the keys that open them."""

EVENT_KINDS = frozenset({Kind.PSEUDONYMOUS_ID, Kind.RECORD_ID, Kind.FIELD_NAMES, Kind.OPERATIONAL})
"""The only kinds an event field may have: events leave the storage boundary."""


@frozen
class Entry:
    """One column (or object prefix, or event field): its kind, the personal fields it holds."""

    kind: Kind
    holds: tuple[str, ...] = ()
    note: str = ""


def _e(kind: Kind, note: str = "", holds: tuple[str, ...] = ()) -> Entry:
    return Entry(kind, holds, note)


_OP = Entry(Kind.OPERATIONAL)
_ID = Entry(Kind.RECORD_ID)
_WHO = Entry(Kind.PSEUDONYMOUS_ID, note="actor id")
_SN = Entry(Kind.PSEUDONYMOUS_ID, note="student number")
_KEY = Entry(Kind.KEY_REFERENCE)


def _person(prefix: str) -> tuple[str, ...]:
    return tuple(
        f"{prefix}.{name}"
        for name in (
            "name",
            "birth_date",
            "id_document.type",
            "id_document.number",
            "phone",
            "gender",
            "email",
            "address",
            "passport_name",
        )
    )


PERSON_FIELDS: tuple[str, ...] = (
    *_person("person"),
    "needs.target_language",
    "needs.current_level",
    "needs.goals",
    "needs.preferred_schedule",
    "guardian.name",
    "guardian.relation",
    "guardian.phone",
    "guardian.id_document.type",
    "guardian.id_document.number",
)
"""What a registration's or dossier's sealed blob holds (`PersonBlob`)."""

CHANGE_FIELDS: tuple[str, ...] = (
    "changes[].field",
    "changes[].after",
    "changes[].before",
    "reason",
    "dispute_reason",
)
"""What a change request's sealed blob holds (`ChangeBlob`): values before and after."""


TABLES: Mapping[str, Mapping[str, Entry]] = {
    "data_keys": {
        "id": _e(Kind.KEY_REFERENCE, "the key id rows refer to"),
        "purpose": _e(
            Kind.OPERATIONAL,
            "student data key, the blind-index root, or a branch's training-materials key",
        ),
        "wrapped": _e(Kind.KEY_MATERIAL, "AES-256-GCM under the master key; deleted at shredding"),
        "master_key_id": _e(Kind.OPERATIONAL, "HKDF fingerprint of the wrapping master key"),
        "created_at": _OP,
    },
    "registrations": {
        "id": _ID,
        "branch": _OP,
        "channel": _OP,
        "status": _OP,
        "submitted_at": _OP,
        "guardian_consent": _OP,
        "decided_at": _OP,
        "decided_by": _WHO,
        "decision_reason": _e(Kind.FREE_TEXT, "the reviewer's reason"),
        "student_number": _SN,
        "key_id": _KEY,
        "personal_ct": _e(Kind.PERSONAL_SEALED, "applicant, guardian, needs", PERSON_FIELDS),
        "version": _OP,
    },
    "students": {
        "student_number": _SN,
        "branch": _OP,
        "status": _OP,
        "admitted_at": _OP,
        "registration_id": _ID,
        "key_id": _KEY,
        "personal_ct": _e(Kind.PERSONAL_SEALED, "personal details, guardian, needs", PERSON_FIELDS),
        "version": _OP,
    },
    "status_changes": {
        "student_number": _SN,
        "position": _OP,
        "from_status": _OP,
        "to_status": _OP,
        "actor": _WHO,
        "reason": _e(Kind.FREE_TEXT, "why the status changed"),
        "effective_date": _OP,
        "recorded_at": _OP,
    },
    "course_enrolments": {
        "id": _ID,
        "student_number": _SN,
        "position": _OP,
        "course_code": _OP,
        "course_name": _e(Kind.FREE_TEXT, "the course's name as typed"),
        "starts_on": _OP,
        "ends_on": _OP,
        "status": _OP,
        "ended_reason": _e(Kind.FREE_TEXT, "why the course ended"),
    },
    "payments": {
        "id": _ID,
        "student_number": _SN,
        "position": _OP,
        "amount_minor": _OP,
        "currency": _OP,
        "method": _OP,
        "receipt_ref": _e(Kind.FREE_TEXT, "the receipt's number as typed"),
        "paid_at": _OP,
        "recorded_by": _WHO,
    },
    "consents": {
        "id": _ID,
        "student_number": _SN,
        "position": _OP,
        "purpose": _OP,
        "given_by": _e(Kind.OPERATIONAL, "student or guardian (the role, not the person)"),
        "granted_at": _OP,
        "recorded_by": _WHO,
        "withdrawn_at": _OP,
        "withdrawn_by": _WHO,
    },
    "document_refs": {
        "owner_kind": _OP,
        "owner_id": _e(Kind.RECORD_ID, "registration id, student number or change request id"),
        "position": _OP,
        "kind": _OP,
        "sha256": _e(Kind.DIGEST, "SHA-256 of the plaintext document: its object-store address"),
        "size": _OP,
        "media_type": _OP,
    },
    "change_requests": {
        "id": _ID,
        "student_number": _SN,
        "branch": _OP,
        "fields": _e(Kind.FIELD_NAMES, "the requested fields' names"),
        "status": _OP,
        "requested_by": _WHO,
        "requested_at": _OP,
        "dossier_version": _OP,
        "reviewed_by": _WHO,
        "reviewed_at": _OP,
        "review_comment": _e(Kind.FREE_TEXT, "the approver's comment"),
        "approved_fields": _e(Kind.FIELD_NAMES, "the approved fields' names"),
        "applied_at": _OP,
        "answered_at": _OP,
        "key_id": _e(Kind.KEY_REFERENCE, "the student's data key"),
        "personal_ct": _e(Kind.PERSONAL_SEALED, "values before and after, reasons", CHANGE_FIELDS),
        "version": _OP,
    },
    "destruction_requests": {
        "id": _ID,
        "student_number": _SN,
        "branch": _OP,
        "reason": _e(Kind.FREE_TEXT, "why destruction was asked for"),
        "requested_by": _WHO,
        "requested_at": _OP,
        "status": _OP,
        "reviewed_by": _WHO,
        "reviewed_at": _OP,
        "review_reason": _e(Kind.FREE_TEXT, "the approver's reason"),
        "executed_at": _OP,
        "certificate_id": _ID,
        "version": _OP,
    },
    "legal_holds": {
        "id": _ID,
        "student_number": _SN,
        "branch": _OP,
        "reason": _e(Kind.FREE_TEXT, "why the hold was set"),
        "set_by": _WHO,
        "set_at": _OP,
        "lifted_by": _WHO,
        "lifted_at": _OP,
        "lift_reason": _e(Kind.FREE_TEXT, "why it was lifted"),
        "version": _OP,
    },
    "feedback": {
        "id": _ID,
        "branch": _OP,
        "topic": _e(Kind.FREE_TEXT, "the topic as given"),
        "text": _e(Kind.FREE_TEXT, "the feedback as written"),
        "submitted_at": _OP,
        "submitted_by": _e(
            Kind.PSEUDONYMOUS_ID, "actor id (a student's embeds their number); NULL when anonymous"
        ),
        "response": _e(Kind.FREE_TEXT, "the answer"),
        "responded_by": _WHO,
        "responded_at": _OP,
        "version": _OP,
    },
    "tombstones": {
        "student_number": _SN,
        "branch": _OP,
        "destroyed_at": _OP,
        "certificate_id": _ID,
    },
    "blind_indexes": {
        "owner_kind": _OP,
        "owner_id": _e(Kind.RECORD_ID, "registration id or student number"),
        "kind": _e(Kind.OPERATIONAL, "which value the digest is of"),
        "digest": _e(
            Kind.BLIND_INDEX,
            "HMAC-SHA256 under a per-kind sub-key of the index root",
            ("person.id_document", "person.phone", "person.name+birth_date+phone"),
        ),
    },
    "audit_log": {
        "id": _ID,
        "branch": _OP,
        "seq": _OP,
        "at": _OP,
        "actor": _WHO,
        "action": _OP,
        "student_number": _SN,
        "subject": _e(Kind.RECORD_ID, "the record the entry is about"),
        "fields": _e(Kind.FIELD_NAMES, "names of the touched fields"),
        "value_hashes": _e(
            Kind.AUDIT, "HMAC of each new value under a sub-key of the student's data key"
        ),
        "prev_hash": _e(Kind.AUDIT, "the chain"),
        "hash": _e(Kind.AUDIT, "the chain"),
    },
    "audit_heads": {
        "branch": _OP,
        "seq": _OP,
        "hash": _e(Kind.AUDIT, "the chain's last hash"),
    },
    "outbox": {
        "event_id": _ID,
        "seq": _OP,
        "subject": _OP,
        "type": _OP,
        "branch": _OP,
        "payload": _e(Kind.EVENT, "see the event map"),
        "created_at": _OP,
        "sent_at": _OP,
    },
    "student_number_counters": {
        "branch": _OP,
        "year": _OP,
        "last": _OP,
    },
    "idempotency_keys": {
        "actor": _e(Kind.PSEUDONYMOUS_ID, "actor id (a placeholder for anonymous feedback)"),
        "key": _e(Kind.OPERATIONAL, "the caller's random key"),
        "fingerprint": _e(Kind.DIGEST, "SHA-256 of the request"),
        "response": _e(Kind.STORED_ANSWER, "the first answer"),
        "created_at": _OP,
    },
    "notifications": {
        "id": _ID,
        "notice_id": _ID,
        "branch": _OP,
        "student_number": _SN,
        "kind": _OP,
        "channel": _OP,
        "text": _e(
            Kind.FREE_TEXT,
            "the notify hook's text: student number and a {token} placeholder with the default "
            "rules, anything a plugin writes with others",
        ),
        "subject": _e(Kind.RECORD_ID, "the change request the notice is about"),
        "token_hash": _e(Kind.DIGEST, "SHA-256 of the one-time confirmation code"),
        "created_at": _OP,
        "used_at": _OP,
    },
    "disclosures": {
        "id": _ID,
        "student_number": _SN,
        "branch": _OP,
        "recipient": _e(Kind.FREE_TEXT, "the third party the data went to"),
        "purpose": _OP,
        "fields": _e(Kind.FIELD_NAMES, "names of the disclosed fields"),
        "disclosed_at": _OP,
        "disclosed_by": _WHO,
    },
    "review_runs": {
        "id": _ID,
        "branch": _OP,
        "quarter": _OP,
        "started_at": _OP,
        "finished_at": _OP,
        "status": _OP,
        "signed_off_by": _WHO,
        "signed_off_at": _OP,
        "sign_off_note": _e(Kind.FREE_TEXT, "the reviewer's note"),
        "counts": _e(Kind.OPERATIONAL, "findings per rule and severity"),
    },
    "review_findings": {
        "id": _ID,
        "run_id": _ID,
        "student_number": _SN,
        "rule": _OP,
        "severity": _OP,
        "suggested_action": _OP,
        "detail": _e(Kind.FIELD_NAMES, "field paths and thresholds, never values"),
        "status": _OP,
        "resolved_by": _WHO,
        "resolved_at": _OP,
        "note": _e(Kind.FREE_TEXT, "the reviewer's note"),
    },
    "destruction_certificates": {
        "id": _ID,
        "request_id": _ID,
        "student_number": _SN,
        "branch": _OP,
        "approver": _WHO,
        "responsible_person": _e(Kind.PSEUDONYMOUS_ID, "actor id of the executing operator"),
        "executed_at": _OP,
        "method": _OP,
        "destroyed": _e(Kind.FIELD_NAMES, "field names and document digests destroyed"),
        "kept": _e(Kind.FIELD_NAMES, "what was kept and why"),
        "verification": _e(Kind.OPERATIONAL, "the re-read of every store after execution"),
        "created_at": _OP,
    },
    "import_jobs": {
        "id": _ID,
        "branch": _OP,
        "actor": _WHO,
        "source_system": _OP,
        "format": _OP,
        "strict": _OP,
        "content_sha256": _e(Kind.DIGEST, "SHA-256 of the imported file"),
        "state": _OP,
        "rows_total": _OP,
        "rows_done": _OP,
        "valid": _OP,
        "invalid": _OP,
        "imported": _OP,
        "problems_total": _OP,
        "problems": _e(Kind.FIELD_NAMES, "rows, columns and rule codes, never cell values"),
        "created_at": _OP,
        "updated_at": _OP,
    },
    "gateway_accounts": {
        "id": _e(Kind.PSEUDONYMOUS_ID, "the account's actor id"),
        "login": _e(
            Kind.PSEUDONYMOUS_ID,
            "a staff login name (may spell a person's name) or a student number",
        ),
        "password_hash": _e(Kind.DIGEST, "argon2 hash of the password"),
        "roles": _OP,
        "branches": _OP,
        "student_number": _SN,
        "locale": _OP,
        "disabled": _OP,
        "failed_logins": _OP,
        "locked_until": _OP,
        "activation_sha256": _e(Kind.DIGEST, "SHA-256 of the one-time activation code"),
        "activation_expires": _OP,
        "created_at": _OP,
        "updated_at": _OP,
        "session_version": _e(Kind.OPERATIONAL, "moved on sign-out: older sessions end"),
        "activated_at": _OP,
    },
    "gateway_account_events": {
        "id": _ID,
        "account_id": _e(Kind.PSEUDONYMOUS_ID, "the gateway account acted on"),
        "kind": _OP,
        "by_account": _e(Kind.PSEUDONYMOUS_ID, "the gateway account that acted"),
        "reason": _e(Kind.FREE_TEXT, "an admin's reason for resetting a student's account"),
        "at": _OP,
    },
    "read_trail": {
        "id": _ID,
        "branch": _OP,
        "seq": _OP,
        "at": _OP,
        "actor": _WHO,
        "roles": _e(Kind.OPERATIONAL, "the reader's roles"),
        "student_number": _SN,
        "kinds": _e(Kind.FIELD_NAMES, "the field groups read (personal, contact…), never values"),
        "channel": _e(Kind.OPERATIONAL, "web or bus"),
        "request_id": _e(Kind.RECORD_ID, "the request that read"),
        "prev_hash": _e(Kind.AUDIT, "the chain"),
        "hash": _e(Kind.AUDIT, "the chain"),
    },
    "read_trail_heads": {
        "branch": _OP,
        "seq": _OP,
        "hash": _e(Kind.AUDIT, "the read-trail chain's last hash"),
    },
    "read_alerts": {
        "id": _ID,
        "branch": _OP,
        "actor": _e(Kind.PSEUDONYMOUS_ID, "the staff member whose reads crossed a threshold"),
        "rule": _OP,
        "window": _OP,
        "count": _OP,
        "threshold": _OP,
        "raised_at": _OP,
        "notices": _e(
            Kind.OPERATIONAL, "the notices sent to the branch manager: staff id, rule, counts"
        ),
        "acknowledged_by": _WHO,
        "acknowledged_at": _OP,
        "comment": _e(Kind.FREE_TEXT, "the auditor's comment on a staff member's reading"),
    },
    "restore_buckets": {
        "bucket": _e(Kind.OPERATIONAL, "a bucket a restore wrote documents into"),
        "backup_id": _e(Kind.OPERATIONAL, "the last backup restored there"),
        "first_restored_at": _OP,
        "last_restored_at": _OP,
    },
    "confidentiality_policies": {
        "branch": _OP,
        "version": _OP,
        "text_zh": _e(Kind.FREE_TEXT, "the policy's text (Chinese), about no person"),
        "text_en": _e(Kind.FREE_TEXT, "the policy's text (English), about no person"),
        "published_at": _OP,
        "published_by": _e(Kind.PSEUDONYMOUS_ID, "the staff actor id that published it"),
    },
    "policy_acknowledgements": {
        "id": _ID,
        "actor": _e(Kind.PSEUDONYMOUS_ID, "the staff actor id that acknowledged"),
        "branch": _OP,
        "version": _OP,
        "at": _OP,
    },
    "training_sessions": {
        "id": _ID,
        "branch": _OP,
        "topic": _e(Kind.FREE_TEXT, "a training's topic, about no student"),
        "held_on": _OP,
        "trainer": _e(Kind.FREE_TEXT, "the trainer as the manager wrote them (a staff name)"),
        "materials": _e(Kind.FREE_TEXT, "references to the materials (titles, links)"),
        "recorded_by": _e(Kind.PSEUDONYMOUS_ID, "the staff actor id that recorded it"),
        "recorded_at": _OP,
    },
    "training_attendees": {
        "session_id": _ID,
        "attendee": _e(Kind.PSEUDONYMOUS_ID, "a staff actor id that attended"),
    },
    "training_materials": {
        "id": _e(Kind.RECORD_ID, "the material file's id: part of its object key"),
        "session_id": _ID,
        "position": _OP,
        "name": _e(Kind.FREE_TEXT, "the material's file name as uploaded, about no student"),
        "media_type": _OP,
        "size": _OP,
        "sha256": _e(Kind.DIGEST, "SHA-256 of the material's content"),
    },
    "alembic_version": {
        "version_num": _e(Kind.OPERATIONAL, "the migration head (alembic's own table)"),
    },
}
"""Every table (the schema's and alembic's) → every column → what it holds."""


@frozen
class ObjectPrefix:
    """Objects under ``pattern`` in the bucket configured as ``bucket`` (documents, backups)."""

    bucket: str
    pattern: str
    regex: str
    entry: Entry

    def matches(self, bucket: str, key: str) -> bool:
        return bucket == self.bucket and re.fullmatch(self.regex, key) is not None


_SHA = "[0-9a-f]{64}"
_REF = "[A-Za-z0-9][A-Za-z0-9_-]{0,127}"
_BACKUP = "[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}"
_BRANCH = "[A-Za-z0-9][A-Za-z0-9_-]{0,127}"
_MATERIAL = _e(
    Kind.BRANCH_SEALED,
    "staff training materials (PDF, images): AES-256-GCM under the branch's training key "
    "(``data_keys`` purpose ``training``); name, type, size and SHA-256 in "
    "``training_materials``",
)

OBJECTS: tuple[ObjectPrefix, ...] = (
    ObjectPrefix(
        "documents",
        "students/<student number or registration id>/<sha256>",
        f"students/{_REF}/{_SHA}",
        _e(
            Kind.PERSONAL_SEALED,
            "ID scans, forms, receipts, evidence; AES-256-GCM under the student's data key "
            "(a registration's own key before admission, the same key after)",
            ("documents",),
        ),
    ),
    ObjectPrefix(
        "restores",
        "students/<student number or registration id>/<sha256>",
        f"students/{_REF}/{_SHA}",
        _e(
            Kind.PERSONAL_SEALED,
            "documents restored into a bucket other than the documents bucket (a scratch "
            "restore); the bucket is recorded in ``restore_buckets`` and destruction deletes the "
            "student's objects there too",
            ("documents",),
        ),
    ),
    ObjectPrefix(
        "documents",
        "training/<branch>/<training session id>/<document id>",
        f"training/{_BRANCH}/{_REF}/{_REF}",
        _MATERIAL,
    ),
    ObjectPrefix(
        "restores",
        "training/<branch>/<training session id>/<document id>",
        f"training/{_BRANCH}/{_REF}/{_REF}",
        _MATERIAL,
    ),
    ObjectPrefix(
        "backups",
        "backups/<backup id>/part-<n>",
        f"backups/{_BACKUP}/part-[0-9]{{5}}",
        _e(Kind.BACKUP_SEALED, "every table's rows and every document object, zlib, sealed"),
    ),
    ObjectPrefix(
        "backups",
        "backups/<backup id>/manifest.json",
        f"backups/{_BACKUP}/manifest\\.json",
        _e(Kind.OPERATIONAL, "parts with their SHA-256, row counts per table, an HMAC"),
    ),
    ObjectPrefix(
        "backups",
        "ledger/<student number>.json",
        f"ledger/{_REF}\\.json",
        _e(
            Kind.PSEUDONYMOUS_ID,
            "the destruction ledger: student number, branch, time, certificate and "
            "registration ids",
        ),
    ),
)
"""Every kind of object Dossier writes, by bucket and key pattern."""


ERASED = "[erased]"
"""What a free-text value linked to a destroyed student becomes (抹除): the same in every
erased column, so a reader sees that something was there and is gone."""


class Fate(StrEnum):
    """What destruction does to a student's rows of a table (销毁处理)."""

    KEPT = "kept"
    DELETED = "deleted"


@frozen
class StudentRows:
    """How one table's rows belong to a student, and what destruction leaves of them.

    ``linked_by`` says in words how the rows are found (`dossier.storage.shredding` holds
    the query for each table). ``erased``: the columns destruction empties in place, in the
    shredding transaction — free text and ids that embed the student number become
    `ERASED`, sealed blobs, key references and digests NULL. ``ground``: why kept rows are
    kept at all (a law requires it, or the record of the processing); the certificate states
    it for every kept table, with the columns that remain.
    """

    linked_by: str
    fate: Fate
    erased: tuple[str, ...] = ()
    ground: str = ""


ACCOUNTING_GROUND = (
    "会计档案管理办法 (PRC Accounting Archives Management Measures, MOF/SAA Order No. 79): "
    "accounting vouchers are kept for the statutory period; 个人信息保护法 Art. 47 (PIPL): "
    "where a law requires retention, only storage and security measures continue"
)
PROCESSING_RECORD_GROUND = (
    "record of the processing (个人信息处理记录): who did what and when, kept so every change "
    "stays traceable"
)

_BY_NUMBER = "student_number"


def _kept(ground: str, *erased: str, linked_by: str = _BY_NUMBER) -> StudentRows:
    return StudentRows(linked_by, Fate.KEPT, erased, ground)


def _deleted(linked_by: str) -> StudentRows:
    return StudentRows(linked_by, Fate.DELETED)


AT_DESTRUCTION: Mapping[str, StudentRows] = {
    "students": _kept(
        "the dossier's shell: its number and the status `destroyed`, to which the kept rows "
        "below refer",
        "personal_ct",
        "key_id",
    ),
    "registrations": _kept(
        PROCESSING_RECORD_GROUND + " (the registration form was received and decided)",
        "personal_ct",
        "key_id",
        "decision_reason",
        linked_by="student_number, or the dossier's registration_id",
    ),
    "status_changes": _kept(
        PROCESSING_RECORD_GROUND + " (档案分类: the dossier's statuses, who set them, when)",
        "reason",
    ),
    "course_enrolments": _kept(
        ACCOUNTING_GROUND + " (what the payments paid for: the course code and dates)",
        "course_name",
        "ended_reason",
    ),
    "payments": _kept(ACCOUNTING_GROUND, "receipt_ref"),
    "consents": _kept(PROCESSING_RECORD_GROUND + " (the lawful basis of past processing)"),
    "document_refs": _kept(
        PROCESSING_RECORD_GROUND
        + " (which documents were filed: kind, size, SHA-256; the objects themselves are "
        "deleted)",
        linked_by="owner_kind + owner_id: the student, their registrations and change requests",
    ),
    "change_requests": _kept(
        PROCESSING_RECORD_GROUND + " (信息变更: who asked, who decided, which fields, when)",
        "personal_ct",
        "key_id",
        "review_comment",
    ),
    "destruction_requests": _kept(
        PROCESSING_RECORD_GROUND + " (资料销毁: who asked, who approved, when)",
        "reason",
        "review_reason",
    ),
    "legal_holds": _kept(
        PROCESSING_RECORD_GROUND + " (法律保留: when destruction was held back, by whom)",
        "reason",
        "lift_reason",
    ),
    "feedback": _kept(
        PROCESSING_RECORD_GROUND + " (流程反馈, counted per branch in the quarterly report; no "
        "longer linked to the student)",
        "topic",
        "text",
        "submitted_by",
        "response",
        linked_by="submitted_by: an actor id of the student (their web account's, or one "
        "embedding their number)",
    ),
    "tombstones": _kept("proof of destruction; keeps the student number from being reused"),
    "blind_indexes": _deleted("owner_kind + owner_id: the student and their registrations"),
    "audit_log": _kept(
        PROCESSING_RECORD_GROUND + "; the value hashes were keyed by the deleted data key and "
        "can no longer be matched",
    ),
    "read_trail": _kept(
        PROCESSING_RECORD_GROUND + " (查阅记录: who saw the student's unmasked data, which kinds, "
        "when, by which channel; field groups only, never a value)",
    ),
    "outbox": _kept(
        PROCESSING_RECORD_GROUND + " (the events published about the student)",
        linked_by="payload: events naming the student number",
    ),
    "idempotency_keys": _deleted(
        "response naming the student, a registration or a change request of theirs, or actor "
        "an actor id of the student"
    ),
    "notifications": _kept(
        PROCESSING_RECORD_GROUND + " (what the student was told, by which channel, when)",
        "text",
    ),
    "disclosures": _kept(
        PROCESSING_RECORD_GROUND
        + " (个人信息提供记录: which fields went out, for which purpose, when, by whom)",
        "recipient",
    ),
    "review_findings": _kept(
        PROCESSING_RECORD_GROUND + " (定期审核: what the quarterly reviews found)",
        "note",
    ),
    "destruction_certificates": _kept(
        "the certificate itself (销毁证明): field names, counts, key ids, document digests",
    ),
    "data_keys": _deleted("id: the data keys of the student's rows"),
    "gateway_accounts": _kept(
        "the closed web account (disabled, every session ended): its login, the student "
        "number, is never given to anyone else",
        "password_hash",
        "activation_sha256",
    ),
    "gateway_account_events": _kept(
        PROCESSING_RECORD_GROUND + " (what was done to the student's web account, by which "
        "account)",
        "reason",
        linked_by="account_id: the student's web account",
    ),
}
"""Every table that can hold rows of one student → how they are found and what destruction
does to them; ``tests/unit/storage/test_destruction_map.py`` holds the map to it."""

NOT_ABOUT_ONE_STUDENT: Mapping[str, str] = {
    "review_runs": "one branch's quarterly review run: counts, the sign-off and the reviewer's "
    "note on the run as a whole (free text linked to no student, so no destruction finds it)",
    "audit_heads": "the head of each branch's audit chain: a sequence number and a hash",
    "student_number_counters": "the last student number drawn per branch and year",
    "import_jobs": "bulk imports: counts, row and column positions, rule codes; no cell value",
    "restore_buckets": "bucket names and backup ids",
    "read_trail_heads": "the head of each branch's read-trail chain: a sequence number and a hash",
    "read_alerts": "misuse alerts about a staff member's reading: counts per window, no student",
    "confidentiality_policies": "a branch's confidentiality policy for its staff",
    "policy_acknowledgements": "staff acknowledging the confidentiality policy",
    "training_sessions": "training held for staff",
    "training_attendees": "the staff who attended a training",
    "training_materials": "the files handed out at a training for staff",
    "alembic_version": "the migration head",
}
"""The tables no row of which belongs to one student, and why."""


def kept_columns(table: str) -> tuple[str, ...]:
    """The columns of ``table`` whose values a destruction keeps (all but the erased ones)."""
    erased = set(AT_DESTRUCTION[table].erased)
    return tuple(name for name in TABLES[table] if name not in erased)


def classify_object(bucket: str, key: str) -> ObjectPrefix | None:
    """The map's entry for an object ``key`` in the bucket configured as ``bucket``."""
    return next((p for p in OBJECTS if p.matches(bucket, key)), None)


_EVENT_BASE: Mapping[str, Entry] = {
    "branch": _OP,
    "occurred_at": _OP,
    "actor": _WHO,
    "event_id": _ID,
}


def _event(**fields: Entry) -> Mapping[str, Entry]:
    return {**_EVENT_BASE, **fields}


EVENTS: Mapping[str, Mapping[str, Entry]] = {
    "registration.submitted": _event(registration_id=_ID, channel=_OP),
    "registration.decided": _event(registration_id=_ID, status=_OP, student_number=_SN),
    "student.admitted": _event(student_number=_SN, registration_id=_ID),
    "student.status_changed": _event(
        student_number=_SN, from_status=_OP, to_status=_OP, effective_date=_OP
    ),
    "student.record_changed": _event(
        student_number=_SN, fields=_e(Kind.FIELD_NAMES, "the changed parts' names")
    ),
    "change.moved": _event(
        change_id=_ID,
        student_number=_SN,
        status=_OP,
        fields=_e(Kind.FIELD_NAMES, "the requested fields' names"),
    ),
    "destruction.moved": _event(request_id=_ID, student_number=_SN, status=_OP),
    "consent.changed": _event(consent_id=_ID, student_number=_SN, purpose=_OP, active=_OP),
    "hold.changed": _event(hold_id=_ID, student_number=_SN, active=_OP),
    "disclosure.recorded": _event(
        disclosure_id=_ID,
        student_number=_SN,
        purpose=_OP,
        fields=_e(Kind.FIELD_NAMES, "the disclosed fields' names (not the recipient)"),
    ),
    "feedback.changed": _event(feedback_id=_ID, responded=_OP),
    "destruction.verified": _event(request_id=_ID, certificate_id=_ID, student_number=_SN, ok=_OP),
    "review.run_moved": _event(run_id=_ID, quarter=_OP, status=_OP, findings=_OP),
    "review.finding_moved": _event(
        run_id=_ID, finding_id=_ID, student_number=_SN, rule=_OP, status=_OP
    ),
}
"""Every domain event type → every field → what it carries (``EVENT_KINDS`` only)."""


def unclassified_columns(tables: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """Of ``tables`` (name → column names), what the map does not classify."""
    missing: dict[str, set[str]] = {}
    for table, columns in tables.items():
        known = set(TABLES.get(table, {}))
        if columns - known:
            missing[table] = columns - known
    return missing


def stale_columns(tables: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """Of the map, what ``tables`` (name → column names) does not have."""
    stale: dict[str, set[str]] = {}
    for table, columns in TABLES.items():
        extra = set(columns) - tables.get(table, set())
        if extra:
            stale[table] = extra
    return stale
