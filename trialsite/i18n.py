"""The type of user-facing text: a string, or a lazy translation shown in the reader's language;
and the text the site itself writes into the record."""

from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.utils import translation
from django.utils.functional import Promise

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise
else:
    StrOrPromise = str | Promise

__all__ = ["StrOrPromise", "recorded_text"]

#: The language of what the site writes into the record itself (audit reasons, the steps of a
#: query): one language for every reader, whatever language the author used the site in.
RECORD_LANGUAGE = "en"


def recorded_text(text: StrOrPromise, params: Mapping[str, object] | None = None) -> str:
    """Return text the site writes into the record (a reason of the audit trail), in
    RECORD_LANGUAGE: the params are rendered in it too (a field's label, "not recorded")."""
    with translation.override(RECORD_LANGUAGE):
        rendered = {name: str(value) for name, value in (params or {}).items()}
        return str(text) % rendered if params else str(text)
