"""The house rules, checked on the source (DESIGN §2): imports point inward, endpoints are
declared once, and the use-case base exists once.

- messaging imports neither storage nor SQLAlchemy (nor the host that joins them);
- storage imports neither messaging nor NATS;
- a service never imports another service (the gateway included);
- no verb of `dossier.core.contracts.CATALOGUE` is written as a string literal outside the
  contracts (and the policy, whose operations share some names): callers send request types;
- exactly one module defines the use-case base (`hide_unless`, the idempotent wrapper).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from dossier.core.contracts import CATALOGUE

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ROOT / "packages"
SERVICES = ("intake", "approvals", "retention", "gateway")
SOURCES = sorted(
    [*PACKAGES.glob("*/src/dossier/**/*.py"), *(ROOT / "services").glob("*/src/dossier/**/*.py")]
)
USE_CASE_BASE = PACKAGES / "storage" / "src" / "dossier" / "storage" / "usecases.py"
VERB_HOMES = (
    PACKAGES / "core" / "src" / "dossier" / "core" / "contracts",
    PACKAGES / "core" / "src" / "dossier" / "core" / "commands.py",
    PACKAGES / "core" / "src" / "dossier" / "core" / "policy.py",
)


def _package_of(path: Path) -> str:
    """``messaging``, ``storage``, ``intake`` … from a source path."""
    parts = path.relative_to(ROOT).parts
    return parts[parts.index("dossier") + 1]


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _sources(package: str) -> list[Path]:
    found = [path for path in SOURCES if _package_of(path) == package]
    assert found, f"no sources of dossier.{package} where the test looks"
    return found


def _offending(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path.relative_to(ROOT)}: {name}"
        for path in _sources(package)
        for name in _imports(path)
        if any(name == f or name.startswith(f"{f}.") for f in forbidden)
    )


def test_messaging_knows_nothing_of_storage() -> None:
    assert _offending("messaging", ("dossier.storage", "dossier.host", "sqlalchemy")) == []


def test_storage_knows_nothing_of_messaging() -> None:
    assert _offending("storage", ("dossier.messaging", "dossier.host", "nats")) == []


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service: str) -> None:
    others = tuple(f"dossier.{other}" for other in SERVICES if other != service)
    assert _offending(service, others) == []


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the string constants that are docstrings (of modules, classes, functions,
    and the attribute docstrings that follow an assignment)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for statement in body:
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                found.add(id(statement.value))
    return found


def _audit_actions(tree: ast.AST) -> set[int]:
    """The ids of ``action="…"`` arguments: audit actions (``hold.set``) may share a verb's
    name, and they are stored in the chain, so they keep theirs."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.keyword) and node.arg == "action"
    }


def _verb_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree) | _audit_actions(tree)
    verbs = CATALOGUE.by_verb
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and id(node) not in skip and node.value in verbs
    ]


def test_no_verb_literal_outside_the_contracts() -> None:
    """Callers name a request type (`client.send(GetDossier(...))`), never a verb string."""
    found = [
        literal
        for path in SOURCES
        if not any(path == home or home in path.parents for home in VERB_HOMES)
        for literal in _verb_literals(path)
    ]
    assert found == []


def test_the_verb_check_sees_a_literal() -> None:
    """The check above is not vacuous: the contracts themselves hold every verb."""
    contracts = VERB_HOMES[0] / "intake.py"
    assert any("registration.submit" in line for line in _verb_literals(contracts)) or any(
        "registration.submit" in line for line in _verb_literals(VERB_HOMES[1])
    )


def _defines(path: Path, names: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name in names
    }


def test_the_use_case_base_exists_once() -> None:
    """`hide_unless` and the idempotent wrapper are written in storage's `usecases` only."""
    marks = {"hide_unless", "_changing", "changing", "_transact", "Caller"}
    assert _defines(USE_CASE_BASE, marks), "the use-case base is not where the test looks"
    copies = sorted(
        f"{path.relative_to(ROOT)}: {', '.join(sorted(found))}"
        for path in SOURCES
        if path != USE_CASE_BASE and (found := _defines(path, marks - {"Caller"}))
    )
    assert copies == []


def test_the_import_check_sees_imports() -> None:
    """The import checks are not vacuous: messaging does import core, and the gateway the host."""
    assert _offending("messaging", ("dossier.core",))
    assert _offending("gateway", ("dossier.host",))
