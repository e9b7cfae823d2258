"""The error summary of the entry forms (templates/trialsite/includes/error_summary.html) lists
each field's error as "<label>: <message>", a link to the field's input."""

import re
from datetime import date

import pytest
from django import forms
from django.template.loader import render_to_string

from trialsite import services, versions
from trialsite.forms import AssessmentForm, OpenedVersionMixin
from trialsite.models import EntryStatus, Visit

LINK = re.compile(r'<a [^>]*href="#([^"]+)"[^>]*>([^<]*)</a>')
ANSWER_NEEDED = "Answer this, or mark it not done, before marking the visit complete."


def summary_links(form: forms.BaseForm) -> list[tuple[str, str]]:
    html = render_to_string("trialsite/includes/error_summary.html", {"form": form})
    return LINK.findall(html)


class SampleForm(OpenedVersionMixin, forms.Form):
    """A form like the safety and medication forms: a radio group, a text input."""

    grade = forms.ChoiceField(
        label="Grade", choices=[("1", "1"), ("2", "2")], widget=forms.RadioSelect
    )
    term = forms.CharField(label="Term")


def test_each_field_error_is_a_link_to_its_input_after_the_forms_own_errors():
    form = SampleForm({})
    assert not form.is_valid()
    form.add_error(None, "Refused as a whole.")
    html = render_to_string("trialsite/includes/error_summary.html", {"form": form})
    assert 'id="error-summary"' in html
    assert 'role="alert"' in html
    assert "2 fields need attention" in html
    assert html.index("Refused as a whole.") < html.index("<ul")
    # A radio group's link goes to its first radio.
    assert summary_links(form) == [
        ("id_grade_0", "Grade: This field is required."),
        ("id_term", "Term: This field is required."),
    ]
    assert 'src="/static/trialsite/error_summary.js" defer' in html


def test_a_form_without_errors_has_no_summary():
    form = SampleForm({"grade": "1", "term": "Rash"})
    assert form.is_valid()
    assert render_to_string("trialsite/includes/error_summary.html", {"form": form}).strip() == ""


@pytest.mark.django_db
def test_the_visit_entry_summary_has_one_link_per_field_error_labelled_by_descriptor(
    participant_a, study
):
    visit = services.visit_create(
        participant=participant_a,
        visit_definition=study.baseline_visit,
        visit_date=date(2026, 2, 2),
        author=None,
        reason="test",
    )
    visit = Visit.objects.get(pk=visit.pk)
    data = {
        "pga": "3.5",
        "lookback_days": "10",
        "entry_status": EntryStatus.COMPLETE,
        "opened_version": versions.current_version(versions.visit_entry_sources(visit.pk)),
    }
    form = AssessmentForm(data, visit=visit, initial=AssessmentForm.initial_for(visit))
    assert not form.is_valid()
    links = summary_links(form)
    # The PGA out of range, the 24 descriptors and the 9 BILAG systems unanswered: 34.
    assert len(links) == 34
    assert len(links) == sum(
        len(messages) for name, messages in form.errors.items() if name != "__all__"
    )
    assert links[0] == (
        "id_pga",
        "Physician Global Assessment (PGA): PGA is between 0.00 and 3.00.",
    )
    assert links[1] == ("id_sledai_seizure_0", f"Seizure: {ANSWER_NEEDED}")
    assert ("id_sledai_low_complement_0", f"Low complement: {ANSWER_NEEDED}") in links
    assert links[-1] == ("id_bilag_haematological", f"Haematological: {ANSWER_NEEDED}")
