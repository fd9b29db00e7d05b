"""The project's own shape: what core may import; every hook documented and tested."""

from __future__ import annotations

import ast
import inspect
import sys
from pathlib import Path

import pytest

from dossier.core import hookspecs

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "packages" / "core" / "src" / "dossier" / "core"
TESTS = ROOT / "tests"

ALLOWED_THIRD_PARTY = {"attrs", "cattrs", "pluggy", "phonenumbers", "email_validator"}
"""phonenumbers (libphonenumber's metadata) and email_validator (syntax and IDNA only: core
calls it with ``check_deliverability=False``, so its DNS module is never imported) do no I/O."""
IO_MODULES = {
    "asyncio",
    "http",
    "logging",
    "shutil",
    "socket",
    "sqlite3",
    "ssl",
    "subprocess",
    "tempfile",
    "threading",
    "urllib",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def _core_modules() -> list[Path]:
    modules = sorted(CORE.rglob("*.py"))
    assert len(modules) > 10, "the core package was not found where the test expects it"
    return modules


@pytest.mark.parametrize("module", _core_modules(), ids=lambda p: str(p.relative_to(CORE)))
def test_core_imports_only_stdlib_attrs_cattrs_pluggy(module: Path) -> None:
    offending = set()
    for name in _imports(module):
        top = name.split(".")[0]
        if name == "dossier.core" or name.startswith("dossier.core."):
            continue
        if top in ALLOWED_THIRD_PARTY:
            continue
        if top in sys.stdlib_module_names and top not in IO_MODULES:
            continue
        offending.add(name)
    assert not offending, f"{module.name} imports {sorted(offending)}: core is pure domain code"


def _hook_specs() -> list[tuple[str, object]]:
    return [
        (name, member)
        for name, member in inspect.getmembers(hookspecs.DossierSpecs, inspect.isfunction)
        if name.startswith("dossier_")
    ]


def test_there_are_hook_specs() -> None:
    assert len(_hook_specs()) >= 8


@pytest.mark.parametrize(("name", "spec"), _hook_specs(), ids=lambda v: str(v)[:40])
def test_every_hook_spec_is_documented(name: str, spec: object) -> None:
    doc = inspect.getdoc(spec) or ""
    assert len(doc.split()) >= 8, f"hook {name} needs a docstring saying what it returns"
    assert "return" in doc.lower(), f"hook {name}'s docstring must say what it returns"


def _test_sources() -> str:
    return "\n".join(
        path.read_text(encoding="utf-8")
        for path in TESTS.rglob("test_*.py")
        if path.resolve() != Path(__file__).resolve()
    )


@pytest.mark.parametrize(("name", "spec"), _hook_specs(), ids=lambda v: str(v)[:40])
def test_every_hook_spec_is_exercised_by_a_test(name: str, spec: object) -> None:
    """A hook is tested when a test implements it or calls its typed wrapper method."""
    wrappers = {
        "dossier_check_field": "check_field",
        "dossier_validate_registration": "validate_registration",
        "dossier_validate_change": "validate_change",
        "dossier_student_number_format": "student_number_format",
        "dossier_required_documents": "required_documents",
        "dossier_review_dossier": ".review(",
        "dossier_mask_value": ".mask(",
        "dossier_notify_student": ".notify(",
        "dossier_notify_staff": ".notify_staff(",
        "dossier_messages": ".catalogue",
    }
    assert name in wrappers, f"hook {name} has no typed wrapper method listed here"
    sources = _test_sources()
    assert name in sources or wrappers[name] in sources, f"no test exercises hook {name}"
