"""Branch (校区) configuration: the unit of scoping, locale and plugin choice."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import phonenumbers
from attrs import field, frozen, validators

from dossier.core.enums import Locale
from dossier.core.errors import Problem, ValidationError

BRANCH_CODE = re.compile(r"[A-Z][A-Z0-9]{1,5}")
TIME_ZONE = re.compile(r"[A-Za-z]+(/[A-Za-z0-9_+-]+){0,2}|UTC")
PHONE_REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)
"""The regions libphonenumber knows (ISO 3166 alpha-2 codes: ``CN``, ``HK``, ``MO``, ``TW``…)."""


@frozen(kw_only=True)
class Branch:
    """A school of the chain. ``code`` (e.g. ``SH01``) prefixes its student numbers.

    ``plugins`` names the entry points (group ``dossier.plugins``) enabled on
    top of the default rules, in order: a later plugin overrides an earlier one.
    ``phone_region`` (ISO 3166 alpha-2, ``CN`` by default, ``HK`` for a Hong Kong
    branch) is the country of a phone number written without a country code,
    and the country of the example number the forms show.
    """

    code: str = field(validator=validators.matches_re(BRANCH_CODE, func=re.fullmatch))
    name: str = field(validator=validators.min_len(1))
    locale: Locale = Locale.ZH_CN
    time_zone: str = "Asia/Shanghai"
    plugins: tuple[str, ...] = ()
    student_number_format: str = "default"
    retention_years: int = field(default=3, validator=validators.ge(0))
    unconfirmed_change_days: int = field(default=14, validator=validators.ge(1))
    phone_region: str = field(default="CN", validator=validators.in_(PHONE_REGIONS))
    policy_renewal_days: int = field(default=365, validator=validators.ge(1))
    """How long a staff member's acknowledgement of the confidentiality policy holds (保密承诺)."""
    reads_per_hour: int = field(default=30, validator=validators.ge(1))
    """Misuse alert: distinct students' records one staff member may see unmasked in an hour."""
    reads_per_day: int = field(default=150, validator=validators.ge(1))
    """… and in a day (the branch's calendar day)."""
    opens_at_hour: int = field(default=8, validator=validators.ge(0))
    closes_at_hour: int = field(default=21, validator=validators.ge(0))
    """Opening hours (branch time, ``opens ≤ hour < closes``): an unmasked read outside them
    raises a misuse alert."""
    exports_per_hour: int = field(default=1, validator=validators.ge(0))
    """Misuse alert: more exports than this by one staff member in an hour (bulk export)."""


_DEFAULTS: Mapping[str, Any] = {
    "locale": Locale.ZH_CN.value,
    "time_zone": "Asia/Shanghai",
    "plugins": [],
    "student_number_format": "default",
    "retention_years": 3,
    "unconfirmed_change_days": 14,
    "phone_region": "CN",
    "policy_renewal_days": 365,
    "reads_per_hour": 30,
    "reads_per_day": 150,
    "opens_at_hour": 8,
    "closes_at_hour": 21,
    "exports_per_hour": 1,
}
_WHOLE_NUMBERS = {
    "retention_years": 0,
    "unconfirmed_change_days": 1,
    "policy_renewal_days": 1,
    "reads_per_hour": 1,
    "reads_per_day": 1,
    "opens_at_hour": 0,
    "closes_at_hour": 0,
    "exports_per_hour": 0,
}


def _problems_of(where: str, table: Mapping[str, Any]) -> list[Problem]:
    problems = [
        Problem(f"{where}.{key}", "unknown_field")
        for key in table
        if key != "name" and key not in _DEFAULTS
    ]
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem(f"{where}.name", "required"))
    if table.get("locale", Locale.ZH_CN.value) not in {loc.value for loc in Locale}:
        problems.append(Problem(f"{where}.locale", "not_allowed_value", {"allowed": "zh-CN, en"}))
    time_zone = table.get("time_zone", _DEFAULTS["time_zone"])
    if not isinstance(time_zone, str) or not TIME_ZONE.fullmatch(time_zone):
        problems.append(Problem(f"{where}.time_zone", "wrong_type", {"expected": "Area/City"}))
    plugins = table.get("plugins", [])
    if not isinstance(plugins, list | tuple) or not all(isinstance(p, str) for p in plugins):
        expected = {"expected": "a list of plugin names"}
        problems.append(Problem(f"{where}.plugins", "wrong_type", expected))
    if not isinstance(table.get("student_number_format", "default"), str):
        problems.append(
            Problem(f"{where}.student_number_format", "wrong_type", {"expected": "text"})
        )
    if table.get("phone_region", "CN") not in PHONE_REGIONS:
        expected = {"expected": "an ISO 3166 country code such as CN or HK"}
        problems.append(Problem(f"{where}.phone_region", "wrong_type", expected))
    for key, minimum in _WHOLE_NUMBERS.items():
        value = table.get(key, _DEFAULTS[key])
        if type(value) is not int or value < minimum:
            expected = {"expected": f"a whole number ≥ {minimum}"}
            problems.append(Problem(f"{where}.{key}", "wrong_type", expected))
    return problems


def load_branches(config: Mapping[str, Any]) -> dict[str, Branch]:
    """Build branches from parsed configuration (``[branches.SH01]`` tables in TOML).

    Every problem of every branch is reported at once, each naming its field.
    """
    problems: list[Problem] = []
    branches: dict[str, Branch] = {}
    for code, table in config.items():
        where = f"branches.{code}"
        if not BRANCH_CODE.fullmatch(code):
            problems.append(Problem(where, "not_allowed_value", {"allowed": "A-Z0-9, 2–6"}))
            continue
        if not isinstance(table, Mapping):
            problems.append(Problem(where, "wrong_type", {"expected": "a table"}))
            continue
        found = _problems_of(where, table)
        problems.extend(found)
        if found:
            continue
        values = {**_DEFAULTS, **table}
        branches[code] = Branch(
            code=code,
            name=values["name"],
            locale=Locale(values["locale"]),
            time_zone=values["time_zone"],
            plugins=tuple(values["plugins"]),
            student_number_format=values["student_number_format"],
            retention_years=values["retention_years"],
            unconfirmed_change_days=values["unconfirmed_change_days"],
            phone_region=values["phone_region"],
            policy_renewal_days=values["policy_renewal_days"],
            reads_per_hour=values["reads_per_hour"],
            reads_per_day=values["reads_per_day"],
            opens_at_hour=values["opens_at_hour"],
            closes_at_hour=values["closes_at_hour"],
            exports_per_hour=values["exports_per_hour"],
        )
    if problems:
        raise ValidationError(problems)
    return branches
