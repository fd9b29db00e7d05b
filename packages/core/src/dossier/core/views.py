"""What a role may see of a person: masked views shared by every service.

`Masker` applies the branch's ``dossier_mask_value`` hook (through
`BranchRules.mask`) for the most privileged role the caller holds, so the
front desk sees ``138****8000`` where an enrolment officer sees the number.
"""

from __future__ import annotations

from attrs import frozen

from dossier.core.changes import CHANGEABLE
from dossier.core.hookspecs import FieldKind
from dossier.core.plugins import BranchRules
from dossier.core.policy import Actor, Role
from dossier.core.records import Guardian, PersonalDetails
from dossier.core.rules.default import default_mask


@frozen(kw_only=True)
class PersonView:
    """Personal details as the caller's role may see them (masked where the role requires)."""

    name: str
    gender: str
    birth_date: str
    id_document_type: str
    id_number: str
    phone: str
    email: str | None = None
    address: str | None = None
    passport_name: str | None = None


@frozen(kw_only=True)
class GuardianView:
    name: str
    relation: str
    phone: str


_ROLE_ORDER = (
    Role.ADMIN,
    Role.ENROLMENT_OFFICER,
    Role.APPROVER,
    Role.STUDENT,
    Role.FRONT_DESK,
    Role.REVIEWER,
    Role.OPERATOR,
    Role.AUDITOR,
)


def viewing_role(actor: Actor) -> Role:
    """The role whose masking applies: the most privileged one the actor holds."""
    return next(role for role in _ROLE_ORDER if role in actor.roles)


def student_only(actor: Actor) -> bool:
    """A student acting for themself, with no staff role besides."""
    return actor.roles == frozenset({Role.STUDENT})


FIELD_GROUPS: dict[FieldKind, str] = {
    FieldKind.PERSON_NAME: "personal",
    FieldKind.BIRTH_DATE: "personal",
    FieldKind.PASSPORT_NAME: "personal",
    FieldKind.PHONE: "contact",
    FieldKind.EMAIL: "contact",
    FieldKind.ADDRESS: "contact",
    FieldKind.GUARDIAN_PHONE: "contact",
    FieldKind.ID_DOCUMENT: "id_document",
}
"""The field group the read trail (查阅记录) names for each kind of personal field."""


POLICY_NOT_ACKNOWLEDGED = "policy_not_acknowledged"
"""Why an actor limited to masked data is (a view's ``masked_because``)."""

MASKED_VIEWING_ROLE = Role.FRONT_DESK
"""The role whose masking an actor limited to masked data sees (`Actor.masked_only`)."""


class Masker:
    """Masks for the caller's most privileged role; an actor limited to masked data (a staff
    member who has not acknowledged the confidentiality policy) sees what the front desk sees,
    and a value the branch's hook would still show in clear is masked by the default mask."""

    def __init__(self, rules: BranchRules, actor: Actor) -> None:
        self.rules = rules
        self.masked_only = actor.masked_only
        self.role = MASKED_VIEWING_ROLE if actor.masked_only else viewing_role(actor)
        self.revealed: set[FieldKind] = set()
        """The kinds of personal field shown unmasked so far (what the read trail records)."""

    @property
    def masked_because(self) -> str | None:
        return POLICY_NOT_ACKNOWLEDGED if self.masked_only else None

    def __call__(self, kind: FieldKind, value: str | None) -> str:
        if value is None:
            return ""
        shown = self.rules.mask(kind, value, self.role)
        if self.masked_only and shown == value and value:
            return default_mask(kind, value)
        if value and shown == value and kind in FIELD_GROUPS:
            self.revealed.add(kind)
        return shown

    def revealed_groups(self) -> tuple[str, ...]:
        """The field groups (`FIELD_GROUPS`) of the fields shown unmasked so far."""
        return tuple(sorted({FIELD_GROUPS[kind] for kind in self.revealed}))

    def change_value(self, path: str, value: str | None) -> str | None:
        """A change request's text value (``personal.id_document`` is ``<type>:<number>``)."""
        if value is None:
            return None
        kind = CHANGEABLE.get(path, FieldKind.FREE_TEXT)
        if kind is FieldKind.ID_DOCUMENT:
            document_type, _, number = value.partition(":")
            return f"{document_type}:{self(kind, number)}"
        return self(kind, value)

    def person(self, person: PersonalDetails) -> PersonView:
        return PersonView(
            name=self(FieldKind.PERSON_NAME, person.name),
            gender=person.gender.value,
            birth_date=self(FieldKind.BIRTH_DATE, person.birth_date.isoformat()),
            id_document_type=person.id_document.type.value,
            id_number=self(FieldKind.ID_DOCUMENT, person.id_document.number),
            phone=self(FieldKind.PHONE, person.phone),
            email=None if person.email is None else self(FieldKind.EMAIL, person.email),
            address=None if person.address is None else self(FieldKind.ADDRESS, person.address),
            passport_name=None
            if person.passport_name is None
            else self(FieldKind.PASSPORT_NAME, person.passport_name),
        )

    def guardian(self, guardian: Guardian | None) -> GuardianView | None:
        if guardian is None:
            return None
        return GuardianView(
            name=self(FieldKind.PERSON_NAME, guardian.name),
            relation=guardian.relation,
            phone=self(FieldKind.GUARDIAN_PHONE, guardian.phone),
        )
