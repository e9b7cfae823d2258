"""The forms of monitor queries: raise, answer (with an optional correction), close, re-open.

They validate what is typed; trialsite.queries does the rest.
"""

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from trialsite.formfields import DateField, PgaField, formfield_for_model_field
from trialsite.forms import DateInput
from trialsite.i18n import StrOrPromise
from trialsite.models import (
    BILAG_GRADE_CHOICES,
    QUERY_FIELD_LABELS,
    DataQuery,
    LabResult,
    QueryStatus,
)
from trialsite.queries import CorrectedValue, field_kind
from trialsite.validators import (
    validate_multiline_text,
    validate_single_line_text,
    validate_trial_date,
)

#: The longest message a form takes (the model's text is unbounded).
MESSAGE_MAX_LENGTH = 4000


def message_field(label: Any, *, required: bool = True, help_text: Any = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        validators=[validate_multiline_text],
        help_text=help_text,
    )


class RaiseQueryForm(forms.Form):
    """A monitor's question on a visit or one of its fields, or on a record or one of its
    fields (``choices``: trialsite.records.RecordKind.field_choices)."""

    field = forms.ChoiceField(label=_("About"), required=False)
    text = message_field(_("Question"))

    def __init__(
        self,
        *args: Any,
        choices: list[tuple[str, StrOrPromise]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["field"])
        field.choices = choices if choices is not None else list(QUERY_FIELD_LABELS.items())


class AnswerQueryForm(forms.Form):
    """The site's answer, with the corrected value and the reason for the change when the
    value was wrong (a query on the whole visit, or a user who may not correct data, takes an
    answer only)."""

    text = message_field(_("Answer"))

    def __init__(self, *args: Any, query: DataQuery, can_correct: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.query = query
        # A record's value is corrected on its own page (queries.RECORD_CORRECTED_ON_ITS_PAGE).
        on_visit = query.visit_id is not None
        value_field = corrected_value_field(query.field) if can_correct and on_visit else None
        if value_field is not None:
            value_field.label = _("Corrected value")
            value_field.required = False
            value_field.help_text = _(
                "Only if the stored value was wrong: it is changed when you send the answer."
            )
            self.fields["new_value"] = value_field
            self.fields["change_reason"] = forms.CharField(
                label=_("Reason for change"),
                required=False,
                validators=[validate_single_line_text],
                help_text=_("Recorded in the audit trail with your name and the time."),
            )

    @property
    def corrects(self) -> bool:
        """Say whether the form can correct the queried value (not for the whole visit)."""
        return "new_value" in self.fields

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        value = cleaned.get("new_value")
        reason = cleaned.get("change_reason") or ""
        if value is not None and not reason.strip():
            self.add_error("change_reason", _("Give the reason for the change."))
        if value is None and reason.strip() and "new_value" not in self.errors:
            self.add_error(
                "new_value", _("Give the corrected value, or clear the reason for the change.")
            )
        return cleaned

    def new_value(self) -> CorrectedValue | None:
        return self.cleaned_data.get("new_value")

    def change_reason(self) -> str:
        return self.cleaned_data.get("change_reason") or ""


def corrected_value_field(field: str) -> forms.Field | None:
    """Return the form field that takes a corrected value of a queried field (None for the whole
    visit)."""
    kind = field_kind(field)
    if kind == "visit":
        return None
    if kind == "date":
        return DateField(widget=DateInput(), validators=[validate_trial_date])
    if kind == "pga":
        return PgaField()
    if kind == "sledai":
        return forms.TypedChoiceField(
            choices=[("", _("no correction")), ("1", _("present")), ("0", _("absent"))],
            coerce=lambda value: value == "1",
            empty_value=None,
        )
    if kind == "bilag":
        return forms.TypedChoiceField(
            choices=[("", _("no correction")), *BILAG_GRADE_CHOICES], empty_value=None
        )
    # A lab value: LabResult's decimal field, its form field a DecimalField.
    model_field = cast(models.Field, LabResult._meta.get_field(field))
    lab = cast(forms.Field, formfield_for_model_field(model_field, min_value=Decimal("0")))
    lab.widget.attrs.update({"min": "0", "step": "any"})
    return lab


class CloseQueryForm(forms.Form):
    """Close a query: optional once answered, a reason when it was never answered."""

    def __init__(self, *args: Any, query: DataQuery, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unanswered = query.status == QueryStatus.OPEN
        self.fields["text"] = message_field(
            _("Message"),
            required=unanswered,
            help_text=(
                _("Say why the query is closed without an answer (raised in error).")
                if unanswered
                else _("Optional.")
            ),
        )


class ReopenQueryForm(forms.Form):
    """Re-open an answered query: what the site should look at again."""

    text = message_field(_("Message to the site"))
