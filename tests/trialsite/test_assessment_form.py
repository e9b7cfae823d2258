"""The visit entry form asks for a reason for change only when a saved value changes (REDCap's
rule): filling a blank for the first time, in an in-progress visit or any other, needs none."""

from datetime import date
from decimal import Decimal

import pytest

from responses.scoring.sledai import SLEDAI_FIELDS
from tests.factories import UserFactory, record_visit
from trialsite import services, versions
from trialsite.forms import INITIAL_ENTRY_REASON, AssessmentForm
from trialsite.models import EntryStatus, Visit

REASON_NEEDED = "Give the reason for changing what was saved: "


def reloaded(visit: Visit) -> Visit:
    return Visit.objects.select_related("sledai", "pga", "bilag", "labs").get(pk=visit.pk)


def baseline(participant) -> Visit:
    return Visit.objects.get(participant=participant, visit_definition__code="BL")


def posted(visit: Visit, **changes: str | None) -> dict[str, str]:
    """Return what the entry page posts for the visit as stored, with ``changes`` (None: the
    input is left empty, as a cleared field or an unchecked box is not sent)."""
    data: dict[str, str] = {}
    for name, value in AssessmentForm.initial_for(visit).items():
        if value is True:
            data[name] = "on"
        elif value is not None:
            data[name] = str(value)
    data["opened_version"] = versions.current_version(versions.visit_entry_sources(visit.pk))
    data["entry_status"] = EntryStatus.IN_PROGRESS
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def entry_form(visit: Visit, **changes: str | None) -> AssessmentForm:
    visit = reloaded(visit)
    return AssessmentForm(
        posted(visit, **changes), visit=visit, initial=AssessmentForm.initial_for(visit)
    )


@pytest.fixture
def in_progress(participant_a) -> Visit:
    """A baseline saved in progress: arthritis present, fever not done, the other descriptors,
    the PGA, the BILAG grades and the labs blank."""
    record_visit(
        participant_a,
        "BL",
        date(2026, 2, 2),
        pga=None,
        sledai={"arthritis": True, "fever": None},
        bilag={},
        not_done={"sledai_fever": "Thermometer broken"},
        complete=False,
    )
    return baseline(participant_a)


@pytest.fixture
def complete(participant_a) -> Visit:
    """A complete baseline: PGA 0.00 (a saved value like any other), nothing present, all E,
    platelets 0 (stored, though odd)."""
    record_visit(
        participant_a, "BL", date(2026, 2, 2), pga="0.00", labs={"platelets": Decimal("0")}
    )
    return baseline(participant_a)


def test_a_visit_without_saved_answers_asks_no_reason(participant_a, study):
    visit = services.visit_create(
        participant=participant_a,
        visit_definition=study.baseline_visit,
        visit_date=date(2026, 2, 2),
        author=None,
        reason="test",
    )
    form = AssessmentForm(visit=reloaded(visit))
    assert form.saved == {}
    assert "change_reason" not in form.fields


def test_the_reason_is_shown_but_optional_once_answers_are_saved(in_progress):
    field = AssessmentForm(visit=reloaded(in_progress)).fields["change_reason"]
    assert field.required is False
    assert "only needed when you change a saved value" in str(field.help_text)


def test_filling_the_blanks_of_an_in_progress_visit_needs_no_reason(in_progress):
    blanks = {
        f"sledai_{field}": "0" for field in SLEDAI_FIELDS if field not in ("arthritis", "fever")
    }
    grades = {f"bilag_{system}": "E" for system in ("renal", "musculoskeletal", "constitutional")}
    form = entry_form(in_progress, pga="1.50", lab_platelets="150", **blanks, **grades)
    assert form.is_valid(), form.errors
    assert form.change_reason() == str(INITIAL_ENTRY_REASON) == "Initial entry"


def test_saving_the_same_values_again_needs_no_reason(in_progress):
    # The PGA typed with one decimal is the same number as stored; nothing changes.
    form = entry_form(in_progress)
    assert form.is_valid(), form.errors


def test_changing_a_saved_answer_needs_a_reason_naming_it(in_progress):
    form = entry_form(in_progress, sledai_arthritis="0", pga="1.00")
    assert not form.is_valid()
    assert form.errors["change_reason"] == [REASON_NEEDED + "Arthritis."]
    assert list(form.errors) == ["change_reason"]

    form = entry_form(in_progress, sledai_arthritis="0", change_reason="Joints normal on exam")
    assert form.is_valid(), form.errors
    assert form.change_reason() == "Joints normal on exam"


def test_removing_a_saved_answer_needs_a_reason(in_progress):
    form = entry_form(in_progress, sledai_arthritis=None)
    assert form.errors["change_reason"] == [REASON_NEEDED + "Arthritis."]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        # Not done -> absent: the mark goes (the reason is still sent, unchanged).
        ({"sledai_fever": "0"}, "Fever"),
        # The reason not done rewritten.
        ({"sledai_fever_not_done_reason": "No thermometer"}, "Reason not done: Fever"),
    ],
)
def test_changing_a_not_done_mark_or_its_reason_needs_a_reason(in_progress, changes, named):
    form = entry_form(in_progress, **changes)
    assert form.errors["change_reason"] == [REASON_NEEDED + named + "."]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"pga": "0.50"}, "Physician Global Assessment (PGA)"),
        ({"pga": None}, "Physician Global Assessment (PGA)"),
        ({"bilag_renal": "D"}, "Renal"),
        ({"lab_platelets": "150"}, "Platelets"),
        ({"lookback_days": "30"}, "SLEDAI-2K look-back window"),
    ],
)
def test_changing_a_saved_zero_grade_lab_or_lookback_needs_a_reason(complete, changes, named):
    form = entry_form(complete, **changes)
    assert not form.is_valid()
    assert str(form.errors["change_reason"][0]).startswith(REASON_NEEDED)
    assert named in str(form.errors["change_reason"][0])


def test_a_first_lab_value_on_a_complete_visit_needs_no_reason(complete):
    form = entry_form(complete, lab_wbc="5.2", entry_status=EntryStatus.COMPLETE)
    assert form.is_valid(), form.errors
    assert form.change_reason() == "Initial entry"


def test_taking_a_complete_entry_back_to_in_progress_needs_a_reason(complete):
    # The visit would leave the endpoints: a change of what was saved, though no answer moves.
    form = entry_form(complete, entry_status=EntryStatus.IN_PROGRESS)
    assert not form.is_valid()
    assert str(form.errors["change_reason"][0]) == REASON_NEEDED + "data entry."


def test_a_first_lab_value_on_a_verified_visit_needs_a_reason(complete):
    # Any change voids the monitor's verification: the audit trail must say why.
    services.visit_verify(visit=complete, author=UserFactory(role="Monitor"))
    form = entry_form(complete, lab_wbc="5.2", entry_status=EntryStatus.COMPLETE)
    assert not form.is_valid()
    assert "source verification" in str(form.errors["change_reason"][0])
    form = entry_form(complete, entry_status=EntryStatus.COMPLETE)
    assert form.is_valid(), form.errors  # saving it unchanged changes nothing


def test_the_fields_come_in_page_order(complete):
    names = list(AssessmentForm(visit=reloaded(complete)).fields)
    assert names[:3] == ["pga", "pga_not_done", "pga_not_done_reason"]
    assert names.index("lab_platelets") < names.index("lookback_days")
    assert names.index("lookback_days") < names.index("sledai_seizure")
    assert names.index("sledai_seizure") + 1 == names.index("sledai_seizure_not_done_reason")
    assert names.index("sledai_fever") < names.index("bilag_constitutional")
    assert names[-2:] == ["change_reason", "opened_version"]
