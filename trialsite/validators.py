"""The input rules every write path applies: dates, study days, digits and control characters.

Each rule is written once here. Model fields carry the date, study-day and text rules, so
``full_clean()`` (which every service calls), model forms and the admin apply them; the number
and date form fields (trialsite.formfields), the import parsers and the services' reason check
call these functions.
"""

import unicodedata
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

#: No trial date (enrolment, infusion, visits...) lies before this day.
EARLIEST_DATE = date(1900, 1, 1)

#: Study days of the visit schedule: about ten years before infusion to a hundred years after.
#: Far wider than any protocol, and small enough that infusion date + study day stays within the
#: dates Python can hold (years 1 to 9999) for every allowed infusion date, so the window
#: arithmetic of the schedule screens cannot overflow.
STUDY_DAY_MIN = -3650
STUDY_DAY_MAX = 36500

ASCII_DIGITS = frozenset("0123456789")
#: Control characters a multi-line text (a textarea) may hold: line breaks and tabs.
MULTILINE_CONTROL_CHARACTERS = frozenset("\n\r\t")


def validate_trial_date(value: date) -> None:
    """Refuse a date before 1900-01-01 or after today (the site's local date)."""
    if value < EARLIEST_DATE:
        raise ValidationError(
            _("This date is before %(earliest)s."),
            code="date_too_early",
            params={"earliest": EARLIEST_DATE.isoformat()},
        )
    if value > timezone.localdate():
        raise ValidationError(_("This date is in the future."), code="date_in_future")


study_day_validators = [
    MinValueValidator(
        STUDY_DAY_MIN,
        message=_("A study day is at least %(limit_value)s (about ten years before infusion)."),
    ),
    MaxValueValidator(
        STUDY_DAY_MAX,
        message=_("A study day is at most %(limit_value)s (about a hundred years after infusion)."),
    ),
]


def _study_day_range_message() -> str:
    return gettext("Study days of the schedule are from %(min)s to %(max)s.") % {
        "min": STUDY_DAY_MIN,
        "max": STUDY_DAY_MAX,
    }


#: The message of the database constraint on study days, translated when it is shown.
study_day_range_message = lazy(_study_day_range_message, str)()


def non_ascii_digit(text: str) -> str | None:
    """Return the first character of the text that is a digit or number other than 0-9."""
    return next(
        (
            character
            for character in text
            if character.isnumeric() and character not in ASCII_DIGITS
        ),
        None,
    )


def validate_ascii_digits(text: str) -> None:
    """Refuse a number or date written with digits other than 0-9 (Arabic-Indic, fullwidth...).

    Python's ``int()``, ``Decimal()`` and ``strptime()``, and so Django's number and date fields,
    accept any Unicode decimal digit: U+0663 ARABIC-INDIC DIGIT THREE would be read as 3.
    """
    character = non_ascii_digit(text)
    if character is not None:
        raise ValidationError(
            _('Use only the digits 0-9 (not "%(character)s", %(code)s).'),
            code="non_ascii_digit",
            params={"character": character, "code": code_point(character)},
        )


def code_point(character: str) -> str:
    """Return the character's code point as written in Unicode charts, e.g. U+0009."""
    return f"U+{ord(character):04X}"


def _refuse_control_characters(text: str, allowed: frozenset[str]) -> None:
    for character in text:
        if unicodedata.category(character) == "Cc" and character not in allowed:
            raise ValidationError(
                _("Remove the control character (%(code)s) from this text."),
                code="control_character",
                params={"code": code_point(character)},
            )


def validate_single_line_text(text: str) -> None:
    """Refuse any control character (Unicode category Cc: NUL, tab, line breaks...)."""
    _refuse_control_characters(text, frozenset())


def validate_multiline_text(text: str) -> None:
    """Refuse control characters other than line breaks (\\n, \\r) and tabs."""
    _refuse_control_characters(text, MULTILINE_CONTROL_CHARACTERS)
