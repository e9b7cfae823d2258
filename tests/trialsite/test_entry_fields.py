"""The visit entry form's fields drawn in Python (trialsite/templatetags/entry_fields.py): the
markup crispy-forms' as_crispy_field draws, labels, errors and help text tied to the widget."""

from django import forms
from django.template import Context, Template
from django.test.html import parse_html

from trialsite.templatetags.entry_fields import (
    bootstrap_field,
    descriptor_answers,
    not_done_reason,
)


class LabsForm(forms.Form):
    platelets = forms.DecimalField(
        label="Platelets <count>", help_text="x10^9/L", required=False, min_value=0
    )
    lookback_days = forms.TypedChoiceField(
        label="Look-back window", choices=[(10, "10 days"), (30, "30 days")], coerce=int
    )
    reason = forms.CharField(label="Reason not done", max_length=20, required=False)


def test_a_number_field_has_its_label_and_help_text_tied_to_the_input() -> None:
    html = parse_html(bootstrap_field(LabsForm()["platelets"]))

    assert html == parse_html(
        '<div id="div_id_platelets" class="mb-3">'
        '<label for="id_platelets" class="form-label">Platelets &lt;count&gt;</label>'
        '<input type="number" name="platelets" min="0" step="any" class="form-control"'
        ' aria-describedby="id_platelets_helptext" id="id_platelets">'
        '<div id="id_platelets_helptext" class="form-text">x10^9/L</div></div>'
    )


def test_an_invalid_field_is_marked_and_its_errors_are_read_with_it() -> None:
    form = LabsForm({"platelets": "-1 <x>", "lookback_days": ""})
    form.full_clean()

    platelets = parse_html(bootstrap_field(form["platelets"]))
    required = parse_html(bootstrap_field(form["lookback_days"]))

    assert platelets == parse_html(
        '<div id="div_id_platelets" class="mb-3">'
        '<label for="id_platelets" class="form-label">Platelets &lt;count&gt;</label>'
        '<input type="number" name="platelets" value="-1 &lt;x&gt;" min="0" step="any"'
        ' class="form-control is-invalid" aria-invalid="true"'
        ' aria-describedby="id_platelets_helptext id_platelets_error" id="id_platelets">'
        '<div id="id_platelets_error" class="invalid-feedback">'
        '<p id="error_1_id_platelets"><strong>Enter a number.</strong></p></div>'
        '<div id="id_platelets_helptext" class="form-text">x10^9/L</div></div>'
    )
    assert required == parse_html(
        '<div id="div_id_lookback_days" class="mb-3">'
        '<label for="id_lookback_days" class="form-label requiredField">Look-back window'
        '<span class="asteriskField">*</span></label>'
        '<select name="lookback_days" class="form-select is-invalid" aria-invalid="true"'
        ' aria-describedby="id_lookback_days_error" id="id_lookback_days">'
        '<option value="10">10 days</option><option value="30">30 days</option></select>'
        '<div id="id_lookback_days_error" class="invalid-feedback">'
        '<p id="error_1_id_lookback_days"><strong>This field is required.</strong></p></div>'
        "</div>"
    )


def test_the_markup_is_crispy_forms_own_but_for_its_widget_type_class() -> None:
    form = LabsForm({"platelets": "x", "lookback_days": ""})
    form.full_clean()
    crispy = Template("{% load crispy_forms_tags %}{{ field|as_crispy_field }}")

    for name in form.fields:
        ours = bootstrap_field(form[name])  # first: crispy-forms adds its classes to the widget
        drawn = crispy.render(Context({"field": form[name]}))
        for widget_type in ("numberinput ", "select ", "textinput "):
            drawn = drawn.replace(f'class="{widget_type}', 'class="')

        assert parse_html(ours) == parse_html(drawn), name


def test_a_reason_not_done_is_hidden_until_its_answer_is_marked_not_done() -> None:
    reason = LabsForm()["reason"]

    hidden = parse_html(not_done_reason(reason, "sledai_seizure", False))
    shown = parse_html(not_done_reason(reason, "sledai_seizure", True))

    expected = (
        '<div class="mt-1" data-not-done-for="sledai_seizure"{}>'
        '<label class="form-label small mb-0" for="id_reason">Reason not done</label>'
        '<input type="text" name="reason" maxlength="20" class="form-control form-control-sm"'
        ' id="id_reason"></div>'
    )
    assert hidden == parse_html(expected.format(" hidden"))
    assert shown == parse_html(expected.format(""))


def test_a_reason_with_an_error_shows_whatever_its_answer() -> None:
    form = LabsForm({"reason": "x" * 21, "lookback_days": "10"})
    form.full_clean()

    html = parse_html(not_done_reason(form["reason"], "pga", False))

    assert html == parse_html(
        '<div class="mt-1" data-not-done-for="pga">'
        '<label class="form-label small mb-0" for="id_reason">Reason not done</label>'
        f'<input type="text" name="reason" value="{"x" * 21}" maxlength="20"'
        ' class="form-control form-control-sm is-invalid" aria-invalid="true"'
        ' aria-describedby="id_reason_error" id="id_reason">'
        '<div id="id_reason_error" class="invalid-feedback"><p id="error_1_id_reason"><strong>'
        "Ensure this value has at most 20 characters (it has 21).</strong></p></div></div>"
    )


class DescriptorForm(forms.Form):
    sledai_seizure = forms.ChoiceField(
        choices=[("0", "absent"), ("1", "present <new>"), ("ND", "not done")],
        widget=forms.RadioSelect(attrs={"data-weight": 8}),
    )


def test_a_descriptors_answers_are_radio_buttons_with_its_weight_and_the_answer_checked() -> None:
    html = parse_html(descriptor_answers(DescriptorForm({"sledai_seizure": "1"})["sledai_seizure"]))

    assert html == parse_html(
        '<div class="form-check form-check-inline">'
        '<input class="form-check-input" type="radio" name="sledai_seizure"'
        ' id="id_sledai_seizure_0" value="0" data-weight="8">'
        '<label class="form-check-label" for="id_sledai_seizure_0">absent</label></div>'
        '<div class="form-check form-check-inline">'
        '<input class="form-check-input" type="radio" name="sledai_seizure"'
        ' id="id_sledai_seizure_1" value="1" data-weight="8" checked>'
        '<label class="form-check-label" for="id_sledai_seizure_1">present &lt;new&gt;</label>'
        "</div>"
        '<div class="form-check form-check-inline">'
        '<input class="form-check-input" type="radio" name="sledai_seizure"'
        ' id="id_sledai_seizure_2" value="ND" data-weight="8">'
        '<label class="form-check-label" for="id_sledai_seizure_2">not done</label></div>'
    )
