"""Form fields typed with digits (numbers, dates) that take the digits 0-9 only.

Django's number and date fields read any Unicode decimal digit (U+0663 ARABIC-INDIC DIGIT THREE or
U+FF13 FULLWIDTH DIGIT THREE as 3) because Python's ``int()``, ``Decimal()`` and ``strptime()``
do; these refuse them with trialsite.validators' message. Model forms get them through
``formfield_for_model_field`` (``Meta.formfield_callback``), the admin through
``DIGIT_FIELD_OVERRIDES`` (``formfield_overrides``).
"""

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from responses.scoring.pga import PGA_MAX, PGA_MIN, validate_pga
from trialsite.validators import validate_ascii_digits


class AsciiDigitsMixin(forms.Field):
    """Refuse typed text holding a digit other than 0-9 before it is read as a value.

    A mixin for form fields, listed before the Django field it refines (the MRO is unchanged:
    forms.Field is already a base of every field it is mixed into).
    """

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            validate_ascii_digits(value)
        return super().to_python(value)


class DecimalField(AsciiDigitsMixin, forms.DecimalField):
    """A decimal number written with the digits 0-9."""


class PgaField(DecimalField):
    """A PGA from 0.00 to 3.00 with at most two decimal places."""

    widget = forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": "3"})

    def clean(self, value: Any) -> Decimal | None:
        pga = super().clean(value)
        if pga is None:
            return None
        if not PGA_MIN <= pga <= PGA_MAX:
            raise forms.ValidationError(_("PGA is between 0.00 and 3.00."))
        try:
            return validate_pga(pga)
        except ValueError:
            raise forms.ValidationError(
                _("PGA has at most two decimal places, for example 1.25.")
            ) from None


class IntegerField(AsciiDigitsMixin, forms.IntegerField):
    """A whole number written with the digits 0-9."""


#: A date as the site writes and reads it: YYYY-MM-DD (the date inputs say so too).
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
ISO_DATE_MESSAGE = _("Enter the date as YYYY-MM-DD, e.g. 2026-03-14.")


class DateField(AsciiDigitsMixin, forms.DateField):
    """A date written with the digits 0-9 as YYYY-MM-DD, and nothing else: not 2026-3-4, not
    14/03/2026 (the formats' DATE_INPUT_FORMATS read %Y-%m-%d only, but strptime takes a month
    or day of one digit)."""

    default_error_messages = {"invalid": ISO_DATE_MESSAGE}

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip() not in self.empty_values:
            validate_ascii_digits(value)
            if not ISO_DATE.fullmatch(value.strip()):
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


#: ModelAdmin.formfield_overrides for the admin and every inline. Like the admin, look a model
#: field up by its class's MRO: IntegerField covers PositiveSmallIntegerField and the like;
#: DateTimeField, a DateField, keeps its own form field.
DIGIT_FIELD_OVERRIDES: dict[type[models.Field], dict[str, Any]] = {
    models.DecimalField: {"form_class": DecimalField},
    models.IntegerField: {"form_class": IntegerField},
    # The admin's own default for BigIntegerField (its widget) comes first in the MRO.
    models.BigIntegerField: {"form_class": IntegerField},
    models.DateTimeField: {},
    models.DateField: {"form_class": DateField},
}


def formfield_for_model_field(db_field: models.Field, **kwargs: Any) -> forms.Field | None:
    """Return a model field's form field, its numbers and dates limited to the digits 0-9.

    Use it as a model form's ``Meta.formfield_callback``. Fields with choices keep their choice
    field: only the listed values are accepted there.
    """
    if db_field.choices is None:
        for model_field_class in type(db_field).__mro__:
            if model_field_class in DIGIT_FIELD_OVERRIDES:
                return db_field.formfield(**{**DIGIT_FIELD_OVERRIDES[model_field_class], **kwargs})
    return db_field.formfield(**kwargs)
