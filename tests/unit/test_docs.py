"""The documentation names every error code and rule the code can produce."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator

from scripts.api_docs import asyncapi_text, endpoints_text
from scripts.errors_doc import rules_table
from tests.support.errors import error_statuses

ERRORS_DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def test_every_error_code_is_documented_with_its_status() -> None:
    text = ERRORS_DOC.read_text(encoding="utf-8")
    for code, status in error_statuses().items():
        assert f"| `{code}` | {status} |" in text, f"docs/errors.md lacks {code} ({status})"


def test_the_rules_table_matches_the_catalogue() -> None:
    """Run ``python scripts/errors_doc.py`` after adding or rewording a rule."""
    assert rules_table() in ERRORS_DOC.read_text(encoding="utf-8")


def test_the_api_documents_match_the_contracts() -> None:
    """Run ``python scripts/api_docs.py`` after adding or changing a contract."""
    docs = ERRORS_DOC.parent
    assert (docs / "asyncapi.json").read_text(encoding="utf-8") == asyncapi_text()
    assert (docs / "endpoints.md").read_text(encoding="utf-8") == endpoints_text()


def test_every_schema_in_the_asyncapi_document_is_a_valid_json_schema() -> None:
    document = json.loads(asyncapi_text())
    messages = document["components"]["messages"]
    assert len(messages) > 2 * 60  # a request and a reply per endpoint, events, error, progress
    for name, message in messages.items():
        Draft202012Validator.check_schema(message["payload"]), name
    for operation in document["operations"].values():
        assert operation["channel"]["$ref"].removeprefix("#/channels/") in document["channels"]
