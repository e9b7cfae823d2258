"""What every scoring module shares: outcomes, and marking strings for translation.

Translatable English strings are wrapped in :func:`gettext_noop` so Django's ``makemessages``
extracts them without these modules importing Django; the display layer translates later with
``gettext(part.template) % part.params``.
"""

from __future__ import annotations

from enum import StrEnum


def gettext_noop(message: str) -> str:
    """Return ``message`` unchanged; mark it for translation extraction (as Django's does)."""
    return message


#: Reason parameters whose values are themselves marked for translation (a BILAG-2004 system, a
#: SLEDAI-2K descriptor): the display layer translates them too. Other values (numbers, dates,
#: visit codes, drug names) are shown as they are.
TRANSLATED_PARAMS = frozenset({"system", "descriptor"})


class Outcome(StrEnum):
    """Name the outcome of an SRI-X comparison (spec section 4)."""

    RESPONDER = gettext_noop("responder")
    NON_RESPONDER = gettext_noop("non-responder")
    NOT_EVALUABLE = gettext_noop("not evaluable")
