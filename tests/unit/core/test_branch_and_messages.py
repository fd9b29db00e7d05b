"""Branch configuration, and the message catalogue every problem is rendered through."""

from __future__ import annotations

import ast
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dossier.core
from dossier.core.branch import Branch, load_branches
from dossier.core.enums import Locale
from dossier.core.errors import (
    AccessDenied,
    Conflict,
    Destroyed,
    DossierError,
    GuardRefused,
    IllegalTransition,
    NotFound,
    Problem,
    ValidationError,
)
from dossier.core.messages import DEFAULT_CATALOGUE, Catalogue
from dossier.core.plugins import PluginHost

CORE_SOURCE = Path(dossier.core.__file__).parent
RULES_SOURCE = CORE_SOURCE / "rules"


def _problems(config: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as raised:
        load_branches(config)
    return [(p.field, p.rule) for p in raised.value.problems()]


# -- branches ------------------------------------------------------------------------------


def test_load_branches_builds_every_branch_with_defaults() -> None:
    loaded = load_branches(
        {
            "SH01": {"name": "上海人民广场校区"},
            "HK2": {
                "name": "Hong Kong Central",
                "locale": "en",
                "time_zone": "Asia/Hong_Kong",
                "plugins": ["hongkong"],
                "student_number_format": "hk",
                "retention_years": 7,
                "unconfirmed_change_days": 30,
            },
        }
    )
    assert loaded["SH01"] == Branch(code="SH01", name="上海人民广场校区")
    assert loaded["SH01"].locale is Locale.ZH_CN
    assert loaded["SH01"].time_zone == "Asia/Shanghai"
    assert loaded["SH01"].retention_years == 3
    assert loaded["HK2"] == Branch(
        code="HK2",
        name="Hong Kong Central",
        locale=Locale.EN,
        time_zone="Asia/Hong_Kong",
        plugins=("hongkong",),
        student_number_format="hk",
        retention_years=7,
        unconfirmed_change_days=30,
    )


def test_no_branches_is_an_empty_chain() -> None:
    assert load_branches({}) == {}


@pytest.mark.parametrize(
    ("code", "table", "expected"),
    [
        pytest.param(
            "SH01", {"name": "x", "colour": "red"}, [("colour", "unknown_field")], id="key"
        ),
        pytest.param("sh01", {"name": "x"}, [("", "not_allowed_value")], id="lower-code"),
        pytest.param("S", {"name": "x"}, [("", "not_allowed_value")], id="short-code"),
        pytest.param("SHANGHAI1", {"name": "x"}, [("", "not_allowed_value")], id="long-code"),
        pytest.param("1SH", {"name": "x"}, [("", "not_allowed_value")], id="digit-first"),
        pytest.param("SH01", {}, [("name", "required")], id="no-name"),
        pytest.param("SH01", {"name": ""}, [("name", "required")], id="empty-name"),
        pytest.param("SH01", {"name": 7}, [("name", "required")], id="number-name"),
        pytest.param(
            "SH01", {"name": "x", "locale": "fr"}, [("locale", "not_allowed_value")], id="locale"
        ),
        pytest.param(
            "SH01", {"name": "x", "plugins": "hongkong"}, [("plugins", "wrong_type")], id="plugins"
        ),
        pytest.param(
            "SH01",
            {"name": "x", "plugins": ["a", 1]},
            [("plugins", "wrong_type")],
            id="plugin-item",
        ),
    ],
)
def test_each_branch_problem_names_its_field(
    code: str, table: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    where = f"branches.{code}"
    assert _problems({code: table}) == [
        (f"{where}.{field}" if field else where, rule) for field, rule in expected
    ]


def test_every_problem_of_every_branch_is_reported_at_once() -> None:
    problems = _problems(
        {
            "SH01": {"name": "fine"},
            "sh02": {"name": "bad code"},
            "BJ01": {"name": "", "colour": "red"},
            "GZ01": {"name": "g", "locale": "fr"},
            "HK01": {"name": "h", "plugins": "hongkong"},
        }
    )
    assert sorted(problems) == sorted(
        [
            ("branches.sh02", "not_allowed_value"),
            ("branches.BJ01.colour", "unknown_field"),
            ("branches.BJ01.name", "required"),
            ("branches.GZ01.locale", "not_allowed_value"),
            ("branches.HK01.plugins", "wrong_type"),
        ]
    )


def test_every_problem_of_one_branch_is_reported_at_once() -> None:
    problems = _problems({"SH01": {"colour": "red", "locale": "fr", "plugins": "x"}})
    assert sorted(problems) == sorted(
        [
            ("branches.SH01.colour", "unknown_field"),
            ("branches.SH01.name", "required"),
            ("branches.SH01.locale", "not_allowed_value"),
            ("branches.SH01.plugins", "wrong_type"),
        ]
    )


@pytest.mark.parametrize("value", [True, "7", 3.9, -1])
def test_a_bad_retention_period_is_reported_on_its_field(value: object) -> None:
    (problem,) = _problems({"SH01": {"name": "x", "retention_years": value}})
    assert problem[0] == "branches.SH01.retention_years"
    if value != -1:
        assert problem[1] == "wrong_type"


def test_branch_problems_render_without_placeholders() -> None:
    with pytest.raises(ValidationError) as raised:
        load_branches({"sh": {}, "GZ01": {"name": "g", "locale": "fr", "plugins": 3}})
    for problem in raised.value.problems():
        for locale in Locale:
            message = problem.message(locale)
            assert problem.field in message
            assert "{" not in message


# -- the catalogue -------------------------------------------------------------------------


def test_every_rule_has_both_languages() -> None:
    assert DEFAULT_CATALOGUE.missing_translations() == []
    assert _full_catalogue().missing_translations() == []


def test_missing_translations_are_found() -> None:
    partial = DEFAULT_CATALOGUE.merged({"half_done": {Locale.EN: "only English"}})
    assert partial.missing_translations() == [("half_done", Locale.ZH_CN)]


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("locale", list(Locale))
def test_rendering_without_params_never_raises_and_keeps_placeholders(locale: Locale) -> None:
    catalogue = _full_catalogue()
    for rule, by_locale in catalogue.templates.items():
        rendered = catalogue.render(rule, locale, "applicant.phone", {})
        for name in _placeholders(by_locale[locale]) - {"field"}:
            assert "{" + name + "}" in rendered, (rule, name)
        if "field" in _placeholders(by_locale[locale]):
            assert catalogue.label("applicant.phone", locale).lower() in rendered.lower()
            assert "applicant.phone" not in rendered


@pytest.mark.parametrize("locale", list(Locale))
def test_rendering_fills_the_params(locale: Locale) -> None:
    catalogue = _full_catalogue()
    for rule, by_locale in catalogue.templates.items():
        params = {name: f"<{name}>" for name in _placeholders(by_locale[locale]) - {"field"}}
        rendered = catalogue.render(rule, locale, "f", params)
        assert "{" not in rendered, rule
        for value in params.values():
            assert value in rendered


def test_an_unknown_rule_renders_as_field_and_code() -> None:
    assert DEFAULT_CATALOGUE.render("no_such_rule", Locale.EN, "x.y", {}) == "x.y: no_such_rule"
    assert DEFAULT_CATALOGUE.render("no_such_rule", Locale.ZH_CN, "", {}) == "no_such_rule"


def test_a_missing_locale_falls_back_to_english() -> None:
    catalogue = Catalogue({"r": {Locale.EN: "{field} in English"}})
    assert catalogue.render("r", Locale.ZH_CN, "f", {}) == "f in English"


def test_merged_overrides_and_adds_without_touching_the_original() -> None:
    extra = {"required": {Locale.EN: "needed", Locale.ZH_CN: "必需"}}
    merged = DEFAULT_CATALOGUE.merged({**extra, "new": extra["required"]})
    assert merged.render("required", Locale.EN, "f", {}) == "needed"
    assert merged.render("new", Locale.ZH_CN, "f", {}) == "必需"
    assert DEFAULT_CATALOGUE.render("required", Locale.EN, "f", {}) == "f is required."


def test_problem_message_in_both_languages() -> None:
    problem = Problem("applicant.name", "too_long", {"max": 50})
    assert problem.message(Locale.EN) == "Name must be at most 50 characters."
    assert problem.message(Locale.ZH_CN) == "姓名最多50个字符。"


@pytest.mark.parametrize(
    ("field", "zh", "en"),
    [
        ("applicant.birth_date", "出生日期", "date of birth"),
        ("applicant.phone", "手机号码", "mobile phone"),
        ("amount_minor", "金额", "amount"),
        ("attachments[0].content", "附件 1", "attachment 1"),
        ("attachments[2].media_type", "附件 3 的文件类型", "file type of attachment 3"),
        ("changes[1].after", "第 2 项变更的新值", "new value of change 2"),
        ("personal.phone", "手机号码", "mobile phone"),
        ("guardian.phone", "监护人电话", "guardian's phone"),
    ],
)
def test_field_paths_render_as_the_forms_labels(field: str, zh: str, en: str) -> None:
    assert DEFAULT_CATALOGUE.label(field, Locale.ZH_CN) == zh
    assert DEFAULT_CATALOGUE.label(field, Locale.EN) == en
    assert Problem(field, "required").message(Locale.ZH_CN) == f"{zh}为必填项。"
    assert Problem(field, "required").message(Locale.EN) == f"{en[0].upper()}{en[1:]} is required."


def test_a_path_without_a_label_renders_as_itself() -> None:
    assert DEFAULT_CATALOGUE.label("branches.SH01.name", Locale.EN) == "branches.SH01.name"
    assert Problem("keys.x", "required").message(Locale.EN) == "keys.x is required."


@pytest.mark.parametrize(
    ("problem", "zh", "en"),
    [
        (
            Problem("attachments[0].content", "too_large", {"max": 524288}),
            "附件 1超过0.5 MB的上限。",
            "Attachment 1 is larger than 0.5 MB.",
        ),
        (
            Problem("amount_minor", "wrong_type", {"expected": "amount"}),
            "金额应为金额（如 6800.00）。",
            "Amount must be an amount such as 6800.00.",
        ),
        (
            Problem("applicant.birth_date", "wrong_type", {"expected": "date"}),
            "出生日期应为日期（如 2008-05-17）。",
            "Date of birth must be a date such as 2008-05-17.",
        ),
        (
            Problem("documents", "document_required", {"kind": "id_proof"}),
            "此阶段需要提交证件复印件。",
            "A copy of the ID document is required at this stage.",
        ),
        (
            Problem("applicant.gender", "not_allowed_value", {"allowed": "female, male"}),
            "性别只能是：女, 男。",
            "Gender must be one of: female, male.",
        ),
    ],
)
def test_codes_types_and_sizes_render_in_words(problem: Problem, zh: str, en: str) -> None:
    assert problem.message(Locale.ZH_CN) == zh
    assert problem.message(Locale.EN) == en


def test_validation_error_needs_a_problem() -> None:
    with pytest.raises(ValueError, match="at least one problem"):
        ValidationError([])


def test_validation_error_keeps_every_problem_and_counts_them() -> None:
    problems = [Problem("a", "required"), Problem("b", "unknown_field")]
    error = ValidationError(iter(problems))
    assert error.problems() == tuple(problems)
    assert error.code == "validation_failed"
    assert str(error) == "The request has 2 problem(s)."
    assert error.message(Locale.ZH_CN) == "请求中有2处问题。"


@pytest.mark.parametrize(
    "error",
    [
        IllegalTransition("student", "enrolled", "destroy", ["suspend", "complete"]),
        IllegalTransition("student", "destroyed", "resume", []),
        GuardRefused("change request", "approve", "four_eyes"),
        AccessDenied("dossier.read", "branch_out_of_scope"),
        NotFound("student", "SH01-26-000123-C"),
        Conflict("student", "SH01-26-000123-C", 3, 4),
        Destroyed("SH01-26-000123-C", "2026-03-02"),
        DossierError(),
    ],
    ids=lambda error: type(error).__name__,
)
def test_every_error_renders_fully_in_both_languages(error: DossierError) -> None:
    for locale in Locale:
        message = error.message(locale)
        assert message
        assert "{" not in message
    assert error.code != "dossier_error" or type(error) is DossierError


# -- every rule code in the source has a template -------------------------------------------

RULE_POSITIONS = {
    # call name: (positional index, keyword) of the rule / reason argument
    "Problem": (1, "rule"),
    "Invalid": (0, "rule"),
    "GuardRefused": (2, "reason"),
    "AccessDenied": (1, "reason"),
    "Verdict": (2, "reason"),
    "ReviewFinding": (None, "rule"),
    "found": (0, "rule"),
}
REASON_FUNCTIONS = {"four_eyes", "_role_allows"}
"""Guards and policy helpers whose returned strings are reason codes."""


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _strings(node: ast.expr | None) -> Iterator[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _strings(node.body)
        yield from _strings(node.orelse)


def _rule_codes(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    codes: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) in RULE_POSITIONS:
            index, keyword = RULE_POSITIONS[_name(node.func) or ""]
            if index is not None and len(node.args) > index:
                codes.update(_strings(node.args[index]))
            for kw in node.keywords:
                if kw.arg == keyword:
                    codes.update(_strings(kw.value))
        elif isinstance(node, ast.FunctionDef) and node.name in REASON_FUNCTIONS:
            for inner in ast.walk(node):
                if isinstance(inner, ast.Return):
                    codes.update(_strings(inner.value))
        elif isinstance(node, ast.Assign) and any(
            _name(target) == "_PRECEDENCE" for target in node.targets
        ):
            assert isinstance(node.value, ast.Tuple)
            for element in node.value.elts:
                codes.update(_strings(element))
        elif isinstance(node, ast.ClassDef):
            for statement in node.body:
                if isinstance(statement, ast.Assign) and any(
                    _name(target) == "rule" for target in statement.targets
                ):
                    codes.update(_strings(statement.value))
    return codes


def _full_catalogue() -> Catalogue:
    """The catalogue a branch sees with every shipped plugin enabled."""
    host = PluginHost()
    plugins = tuple(name for name in host.available if name != "default")
    return host.rules_for(Branch(code="ALL1", name="all plugins", plugins=plugins)).catalogue


def test_the_scanner_finds_the_rules_it_should() -> None:
    core = set().union(*(_rule_codes(p) for p in CORE_SOURCE.glob("*.py")))
    assert {
        "student_number_check",
        "unknown_field",
        "four_eyes",
        "legal_hold",
        "not_destroyable_status",
        "self_approval",
        "not_own_record",
        "branch_out_of_scope",
        "role_not_permitted",
        "illegal_transition",
        "transition_refused",
    } <= core


def test_every_rule_code_of_core_has_a_core_template() -> None:
    core = set().union(*(_rule_codes(p) for p in CORE_SOURCE.glob("*.py")))
    assert sorted(core - set(DEFAULT_CATALOGUE.templates)) == []


def test_access_denied_has_a_template() -> None:
    assert AccessDenied.rule in DEFAULT_CATALOGUE.templates
    assert DEFAULT_CATALOGUE.missing_translations() == []


def test_every_rule_code_of_the_shipped_rules_has_a_template() -> None:
    rules = set().union(*(_rule_codes(p) for p in RULES_SOURCE.glob("*.py")))
    assert sorted(rules - set(_full_catalogue().templates)) == []
