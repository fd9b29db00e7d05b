"""The branch edge's envelope: sealed to headquarters, signed by the branch, refused when touched.

No NATS, no database: the box, the envelope, the desk's checks and the inbox's
application are plain functions over bytes.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dossier.core.branch import Branch
from dossier.core.commands import SubmitRegistration
from dossier.core.enums import Channel
from dossier.core.errors import AccessDenied, Conflict, Problem, ValidationError
from dossier.core.policy import Actor, Role
from dossier.host.config import load_config
from dossier.intake import sealing
from dossier.intake.edge import BranchDesk, load_edge_settings, receipt
from dossier.intake.edge import main as edge_main
from dossier.intake.edge_inbox import EdgeInbox, _permanent, load_inbox_settings
from dossier.intake.envelope import (
    EnvelopeRefused,
    _signed_part,
    fingerprint,
    message_id,
    open_envelope,
    read_header,
)
from dossier.messaging import tokens
from dossier.storage.errors import StorageError
from dossier.storage.idempotency import IdempotencyKeyReused
from tests.support.builders import AT, PERSONAL_MARKERS, guardian, needs, personal

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "edge"
HQ = sealing.private_key_from(sealing.generate_private_key())
OTHER_HQ = sealing.private_key_from(sealing.generate_private_key())
EDGE = tokens.private_key_from(tokens.generate_private_key())
OTHER_EDGE = tokens.private_key_from(tokens.generate_private_key())
SH01 = Branch(code="SH01", name="上海一校")
DESK = Actor(id="desk-1", roles=frozenset({Role.FRONT_DESK}), branches=frozenset({"SH01"}))
KEY = "key-0000000001"


def form(**overrides: Any) -> SubmitRegistration:
    values: dict[str, Any] = {
        "branch": "SH01",
        "channel": Channel.FRONT_DESK,
        "applicant": personal(),
        "needs": needs(),
        "guardian": guardian(),
        "guardian_consent": True,
    }
    values.update(overrides)
    return SubmitRegistration(**values)


def desk(**overrides: Any) -> BranchDesk:
    values: dict[str, Any] = {
        "branch": SH01,
        "domain": "sh01",
        "recipient": HQ.public_key(),
        "signer": EDGE,
        "clock": lambda: AT,
    }
    values.update(overrides)
    return BranchDesk(**values)


def ring(*keys: Any) -> sealing.KeyRing:
    return sealing.KeyRing(keys or (HQ,))


SIGNERS = {"SH01": EDGE.public_key()}


# -- the sealed box --------------------------------------------------------------------------


def vars_of(box: sealing.Sealed) -> dict[str, str]:
    return {"kid": box.kid, "epk": box.epk, "nonce": box.nonce, "ciphertext": box.ciphertext}


@settings(max_examples=50, deadline=None)
@given(plaintext=st.binary(max_size=2048), associated=st.binary(max_size=256))
def test_a_box_opens_with_the_recipients_key_and_the_same_associated_data(
    plaintext: bytes, associated: bytes
) -> None:
    box = sealing.seal(HQ.public_key(), plaintext, associated)
    assert ring().open(box, associated) == plaintext
    assert box.kid == sealing.key_id(HQ.public_key())


@settings(max_examples=75, deadline=None)
@given(
    plaintext=st.binary(min_size=1, max_size=512),
    part=st.sampled_from(["epk", "nonce", "ciphertext"]),
    position=st.integers(min_value=0),
    flip=st.integers(min_value=1, max_value=255),
)
def test_any_altered_byte_of_a_box_is_refused(
    plaintext: bytes, part: str, position: int, flip: int
) -> None:
    box = sealing.seal(HQ.public_key(), plaintext, b"header")
    raw = bytearray(base64.b64decode(getattr(box, part)))
    raw[position % len(raw)] ^= flip
    altered = sealing.Sealed(**{**vars_of(box), part: base64.b64encode(bytes(raw)).decode()})
    with pytest.raises(sealing.SealRefused):
        ring().open(altered, b"header")


@settings(max_examples=50, deadline=None)
@given(associated=st.binary(max_size=64), other=st.binary(max_size=64))
def test_other_associated_data_is_refused(associated: bytes, other: bytes) -> None:
    box = sealing.seal(HQ.public_key(), b"form", associated)
    if other == associated:
        assert ring().open(box, other) == b"form"
    else:
        with pytest.raises(sealing.SealRefused, match="does_not_open"):
            ring().open(box, other)


def test_a_box_for_another_key_is_refused_even_under_the_right_key_id() -> None:
    box = sealing.seal(OTHER_HQ.public_key(), b"form", b"")
    with pytest.raises(sealing.SealRefused, match="unknown_key"):
        ring().open(box, b"")
    posing = sealing.Sealed(**{**vars_of(box), "kid": sealing.key_id(HQ.public_key())})
    with pytest.raises(sealing.SealRefused, match="does_not_open"):
        ring().open(posing, b"")


def test_a_key_ring_opens_boxes_of_every_key_it_holds_during_a_rotation() -> None:
    both = ring(HQ, OTHER_HQ)
    for key in (HQ, OTHER_HQ):
        assert both.open(sealing.seal(key.public_key(), b"form", b""), b"") == b"form"
    assert both.key_ids == {sealing.key_id(HQ.public_key()), sealing.key_id(OTHER_HQ.public_key())}


# -- the envelope ------------------------------------------------------------------------------


def test_an_envelope_carries_the_form_sealed_and_nothing_personal_in_the_clear() -> None:
    command = form()
    accepted = desk().accept(DESK, KEY, command)
    for marker in PERSONAL_MARKERS:
        assert marker.encode() not in accepted.payload
        assert orjson.dumps(marker)[1:-1] not in accepted.payload  # nor JSON-escaped
    header, opened = open_envelope(accepted.payload, SIGNERS, ring())
    assert opened == command
    assert header == accepted.header
    assert header.actor.actor() == DESK
    assert header.idempotency_key == KEY
    assert header.submitted_at == AT
    assert read_header(accepted.payload) == header


HEADER_CHANGES: dict[str, Any] = {
    "registration_id": "00000000-0000-4000-8000-000000000000",
    "branch": "HK01",
    "edge": "hk01",
    "idempotency_key": "key-0000000002",
    "submitted_at": "2030-01-01T00:00:00+00:00",
    "fingerprint": "0" * 64,
    "actor": {"id": "admin-1", "roles": ["admin"], "branches": ["*"], "student_number": None},
}


@pytest.mark.parametrize("name", sorted(HEADER_CHANGES))
def test_an_altered_header_is_refused(name: str) -> None:
    data = orjson.loads(desk().accept(DESK, KEY, form()).payload)
    data["header"][name] = HEADER_CHANGES[name]
    signers = {**SIGNERS, "HK01": EDGE.public_key()}
    with pytest.raises(EnvelopeRefused, match="bad_signature"):
        open_envelope(orjson.dumps(data), signers, ring())


@pytest.mark.parametrize("name", sorted(HEADER_CHANGES))
def test_a_header_altered_and_signed_again_still_does_not_open(name: str) -> None:
    """Even someone holding the branch's signing key cannot move a sealed form under
    another header: the header is the box's associated data."""
    data = orjson.loads(desk().accept(DESK, KEY, form()).payload)
    data["header"][name] = HEADER_CHANGES[name]
    signature = EDGE.sign(_signed_part(data["header"], data["sealed"]))
    data["signature"] = base64.b64encode(signature).decode()
    signers = {**SIGNERS, "HK01": EDGE.public_key()}
    with pytest.raises(EnvelopeRefused, match="does_not_open"):
        open_envelope(orjson.dumps(data), signers, ring())


@settings(max_examples=60, deadline=None)
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_any_altered_byte_of_an_envelope_is_refused(position: int, flip: int) -> None:
    payload = bytearray(desk().accept(DESK, KEY, form()).payload)
    payload[position % len(payload)] ^= flip
    with pytest.raises(EnvelopeRefused):
        open_envelope(bytes(payload), SIGNERS, ring())


def test_envelopes_of_another_signer_or_recipient_or_branch_are_refused() -> None:
    forged = desk(signer=OTHER_EDGE).accept(DESK, KEY, form()).payload
    with pytest.raises(EnvelopeRefused, match="bad_signature"):
        open_envelope(forged, SIGNERS, ring())
    elsewhere = desk(recipient=OTHER_HQ.public_key()).accept(DESK, KEY, form()).payload
    with pytest.raises(EnvelopeRefused, match="unknown_key"):
        open_envelope(elsewhere, SIGNERS, ring())
    with pytest.raises(EnvelopeRefused, match="unknown_branch"):
        open_envelope(desk().accept(DESK, KEY, form()).payload, {}, ring())
    with pytest.raises(EnvelopeRefused, match="malformed"):
        open_envelope(b"not json", SIGNERS, ring())
    with pytest.raises(EnvelopeRefused, match="malformed"):
        open_envelope(b'{"header": {}, "sealed": {}, "signature": ""}', SIGNERS, ring())


def test_message_ids_are_scoped_to_the_actor_and_fingerprints_to_the_form() -> None:
    assert message_id("desk-1", KEY) == message_id("desk-1", KEY)
    assert message_id("desk-1", KEY) != message_id("desk-2", KEY)
    assert message_id("desk-1", KEY) != message_id("desk-1", "key-0000000002")
    msg = message_id("desk-1", KEY)
    assert fingerprint(msg, form()) == fingerprint(msg, form())
    assert fingerprint(msg, form()) != fingerprint(msg, form(guardian_consent=False))
    assert fingerprint(msg, form()) != fingerprint(message_id("desk-2", KEY), form())


# -- the branch's checks ---------------------------------------------------------------------


def test_the_desk_refuses_what_headquarters_would_refuse() -> None:
    with pytest.raises(ValidationError) as invalid:
        desk().accept(DESK, KEY, form(applicant=personal(phone="12345")))
    assert [p.field for p in invalid.value.problems()] == ["applicant.phone"]
    with pytest.raises(ValidationError) as wrong_branch:
        desk().accept(DESK, KEY, form(branch="HK01"))
    assert [(p.field, p.rule) for p in wrong_branch.value.problems()] == [
        ("branch", "not_allowed_value")
    ]
    with pytest.raises(ValidationError):
        desk().accept(DESK, KEY, form(channel=Channel.IMPORT))
    elsewhere = Actor(id="desk-9", roles=frozenset({Role.FRONT_DESK}), branches=frozenset({"HK01"}))
    with pytest.raises(AccessDenied):
        desk().accept(elsewhere, KEY, form())
    reviewer = Actor(id="rev-1", roles=frozenset({Role.REVIEWER}), branches=frozenset({"SH01"}))
    with pytest.raises(AccessDenied):
        desk().accept(reviewer, KEY, form())


def test_the_receipt_names_the_id_headquarters_will_record() -> None:
    accepted = desk().accept(DESK, KEY, form())
    answer = receipt(accepted.header)
    assert answer.registration_id == accepted.header.registration_id
    assert answer.status.value == "submitted"
    assert answer.delivery == "queued"
    assert desk().accept(DESK, KEY, form()).header.registration_id != answer.registration_id


# -- headquarters' side ------------------------------------------------------------------------


class RecordingIntake:
    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.error = error

    def submit_registration(self, caller: Any, command: Any, **given: Any) -> Any:
        self.calls.append((caller, command, given))
        if self.error is not None:
            raise self.error
        return "receipt"


def inbox(intake: RecordingIntake) -> EdgeInbox:
    return EdgeInbox(intake, ring(), SIGNERS, clock=lambda: AT)


def test_headquarters_applies_under_the_verified_actor_key_id_and_time() -> None:
    accepted = desk().accept(DESK, KEY, form())
    intake = RecordingIntake()
    assert inbox(intake).apply("dossier.edge.SH01.registration", accepted.payload) == "receipt"
    ((caller, command, given),) = intake.calls
    assert caller.actor == DESK
    assert caller.idempotency_key == KEY
    assert command == form()
    assert given == {"registration_id": accepted.header.registration_id, "submitted_at": AT}


def test_a_branch_clock_far_ahead_is_clamped_and_a_foreign_subject_refused() -> None:
    ahead = desk(clock=lambda: AT + timedelta(days=3)).accept(DESK, KEY, form())
    intake = RecordingIntake()
    inbox(intake).apply("dossier.edge.SH01.registration", ahead.payload)
    assert intake.calls[0][2]["submitted_at"] == AT + timedelta(minutes=5)
    with pytest.raises(EnvelopeRefused, match="subject_mismatch"):
        inbox(intake).apply("dossier.edge.HK01.registration", ahead.payload)


def test_refusals_are_parked_and_database_faults_retried() -> None:
    assert _permanent(EnvelopeRefused("bad_signature"))
    assert _permanent(ValidationError([Problem("applicant.phone", "phone_format")]))
    assert _permanent(AccessDenied("registration.submit", "branch_out_of_scope"))
    assert _permanent(IdempotencyKeyReused())
    assert not _permanent(Conflict("registration", "r-1", 1, 2))
    assert not _permanent(StorageError())
    assert not _permanent(OSError("connection refused"))


# -- configuration ---------------------------------------------------------------------------


def test_the_example_branch_configuration_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOSSIER_TOKEN_PUBLIC_KEY", tokens.public_key_text(EDGE))
    config = load_config(DEPLOY / "branch.toml")
    settings = load_edge_settings(DEPLOY / "branch.toml", {})
    assert config.branch(settings.branch) is not None
    assert settings.domain == "sh01"
    assert settings.signing_key_file == DEPLOY / "keys" / "edge-signing.key"
    overridden = load_edge_settings(
        DEPLOY / "branch.toml", {"DOSSIER_EDGE_HQ_PUBLIC_KEY": "from-the-environment"}
    )
    assert overridden.hq_public_key == "from-the-environment"


def test_missing_edge_settings_are_named(tmp_path: Path) -> None:
    path = tmp_path / "dossier.toml"
    path.write_text('[edge]\nbranch = "SH01"\n\n[edge.branches.SH01]\ndomain = "sh01"\n')
    with pytest.raises(ValidationError) as branch_side:
        load_edge_settings(path, {})
    assert {p.field for p in branch_side.value.problems()} == {
        "edge.domain",
        "edge.hq_public_key",
        "edge.signing_key_file",
    }
    with pytest.raises(ValidationError) as hq_side:
        load_inbox_settings(path, {})
    assert {p.field for p in hq_side.value.problems()} == {
        "edge.inbox_key_files",
        "edge.branches.SH01.signing_public_key",
    }
    path.write_text(
        '[edge]\ninbox_key_files = ["keys/inbox.key"]\n\n'
        '[edge.branches.SH01]\ndomain = "sh01"\nsigning_public_key = "k"\n'
    )
    settings = load_inbox_settings(path, {})
    assert settings.key_files == (tmp_path / "keys" / "inbox.key",)
    assert settings.branches["SH01"].domain == "sh01"


def test_new_keys_are_written_for_their_owner_only_and_their_public_half_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edge_main(["--new-inbox-key", str(tmp_path / "keys" / "inbox.key")])
    inbox_key = sealing.private_key_from((tmp_path / "keys" / "inbox.key").read_text())
    assert capsys.readouterr().out.strip() == sealing.public_key_text(inbox_key)
    assert (tmp_path / "keys" / "inbox.key").stat().st_mode & 0o777 == 0o600
    edge_main(["--new-signing-key", str(tmp_path / "signing.key")])
    signing_key = tokens.private_key_from((tmp_path / "signing.key").read_text().strip())
    assert capsys.readouterr().out.strip() == tokens.public_key_text(signing_key)
    with pytest.raises(FileExistsError):
        edge_main(["--new-signing-key", str(tmp_path / "signing.key")])
