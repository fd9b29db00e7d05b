"""Page texts by audience, merged by `dossier.gateway.i18n`.

Field labels and the names of the services' vocabularies (ID document types, document
kinds) are not written here: they come from the one message catalogue of
`dossier.core.messages`, so a form's label and the message about that field say the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dossier.core.enums import Locale
from dossier.core.messages import DEFAULT_CATALOGUE


def _heading(text: str) -> str:
    return text[:1].upper() + text[1:]


def field_labels(prefix: str, paths: Iterable[str]) -> dict[str, Mapping[Locale, str]]:
    """``<prefix><path>`` → the catalogue's label of ``path`` (capitalised, as a heading)."""
    return {
        f"{prefix}{path}": {
            locale: _heading(DEFAULT_CATALOGUE.label(path, locale)) for locale in Locale
        }
        for path in paths
    }


def term_labels(prefix: str, values: Iterable[str]) -> dict[str, Mapping[Locale, str]]:
    """``<prefix><value>`` → the catalogue's term for ``value`` (an ID type, a document kind)."""
    return {
        f"{prefix}{value}": {
            locale: str(DEFAULT_CATALOGUE.term(value, locale)) for locale in Locale
        }
        for value in values
    }
