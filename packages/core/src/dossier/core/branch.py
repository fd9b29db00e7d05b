"""Branch (校区) configuration: the unit of scoping, locale and plugin choice."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from attrs import field, frozen, validators

from dossier.core.enums import Locale
from dossier.core.errors import Problem, ValidationError

BRANCH_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,5}$")


@frozen(kw_only=True)
class Branch:
    """A school of the chain. ``code`` (e.g. ``SH01``) prefixes its student numbers.

    ``plugins`` names the entry points (group ``dossier.plugins``) enabled on
    top of the default rules, in order: a later plugin overrides an earlier one.
    """

    code: str = field(validator=validators.matches_re(BRANCH_CODE))
    name: str = field(validator=validators.min_len(1))
    locale: Locale = Locale.ZH_CN
    time_zone: str = "Asia/Shanghai"
    plugins: tuple[str, ...] = ()
    student_number_format: str = "default"
    retention_years: int = field(default=3, validator=validators.ge(0))
    unconfirmed_change_days: int = field(default=14, validator=validators.ge(1))


_KNOWN = {
    "name",
    "locale",
    "time_zone",
    "plugins",
    "student_number_format",
    "retention_years",
    "unconfirmed_change_days",
}


def load_branches(config: Mapping[str, Mapping[str, Any]]) -> dict[str, Branch]:
    """Build branches from parsed configuration (``[branches.SH01]`` tables in TOML).

    Every problem in every branch is reported at once.
    """
    problems: list[Problem] = []
    branches: dict[str, Branch] = {}
    for code, table in config.items():
        where = f"branches.{code}"
        if not BRANCH_CODE.match(code):
            problems.append(Problem(where, "not_allowed_value", {"allowed": "A-Z0-9, 2–6"}))
            continue
        problems.extend(
            Problem(f"{where}.{key}", "unknown_field") for key in table if key not in _KNOWN
        )
        if not isinstance(table.get("name"), str) or not table["name"]:
            problems.append(Problem(f"{where}.name", "required"))
            continue
        locale = table.get("locale", Locale.ZH_CN.value)
        if locale not in {loc.value for loc in Locale}:
            problems.append(
                Problem(f"{where}.locale", "not_allowed_value", {"allowed": "zh-CN, en"})
            )
            continue
        plugins = table.get("plugins", [])
        if not isinstance(plugins, list | tuple) or not all(isinstance(p, str) for p in plugins):
            problems.append(
                Problem(f"{where}.plugins", "wrong_type", {"expected": "list of names"})
            )
            continue
        try:
            branches[code] = Branch(
                code=code,
                name=table["name"],
                locale=Locale(locale),
                time_zone=str(table.get("time_zone", "Asia/Shanghai")),
                plugins=tuple(plugins),
                student_number_format=str(table.get("student_number_format", "default")),
                retention_years=int(table.get("retention_years", 3)),
                unconfirmed_change_days=int(table.get("unconfirmed_change_days", 14)),
            )
        except (TypeError, ValueError):
            problems.append(Problem(where, "wrong_type", {"expected": "a branch table"}))
    if problems:
        raise ValidationError(problems)
    return branches
