"""The input rules (trialsite.validators) on every write path: services, web forms, admin, imports.

Dates lie from 1900-01-01 to today; study days of the schedule from -3650 to 36500; numbers and
dates are written with the digits 0-9; text holds no control character, except that multi-line text
(withdrawal reason, change reasons typed in a textarea) may hold line breaks and tabs. Each table
has its boundary rows on both sides.
"""

import csv
import io
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django import forms
from django.apps import apps
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalChanges

from tests.factories import ParticipantFactory, record_visit
from tests.pages import page_forms_data
from trialsite import selectors, services
from trialsite.formfields import AsciiDigitsMixin
from trialsite.forms import AssessmentForm, LabValuesForm, ParticipantForm, VisitForm
from trialsite.imports import (
    PARTICIPANT_COLUMNS,
    VISIT_COLUMNS,
    ImportReport,
    import_participants,
    import_visits,
)
from trialsite.models import Participant, Site, Study, Visit, VisitDefinition
from trialsite.validators import (
    EARLIEST_DATE,
    STUDY_DAY_MAX,
    STUDY_DAY_MIN,
    validate_multiline_text,
    validate_single_line_text,
    validate_trial_date,
)

TOO_EARLY = "This date is before 1900-01-01."
IN_FUTURE = "This date is in the future."
NOT_ASCII_DIGITS = "Use only the digits 0-9"
DJANGO_NUL = "Null characters are not allowed."


def control_character(code: str) -> str:
    """Return the message refusing a control character, e.g. control_character("U+0000")."""
    return f"Remove the control character ({code}) from this text."


def day(name: str) -> date:
    """Return the date a table row names: an ISO date, "today" or "tomorrow" (local date)."""
    today = timezone.localdate()
    if name == "today":
        return today
    if name == "tomorrow":
        return today + timedelta(days=1)
    return date.fromisoformat(name)


# --------------------------------------------------------------------------------------------
# Shared fixtures and helpers for the four paths
# --------------------------------------------------------------------------------------------


@pytest.fixture
def coordinator_client(client: Client, coordinator_a) -> Client:
    client.force_login(coordinator_a)
    return client


@pytest.fixture
def enrolled_1900(study, site_a) -> Participant:
    """A participant of site S01 enrolled on the earliest date, not infused."""
    return ParticipantFactory(
        study=study,
        site=site_a,
        participant_id="S01-1900",
        enrollment_date=EARLIEST_DATE,
        infusion_date=None,
    )


@pytest.fixture
def unscheduled(study) -> VisitDefinition:
    return VisitDefinition.objects.get(study=study, code="UNS")


@pytest.fixture
def baseline_visit(participant_a) -> Visit:
    """S01-001's baseline visit (enrolled 2026-01-05), with a PGA and no other assessment."""
    return record_visit(
        participant_a, "BL", date(2026, 2, 2), pga="1.00", sledai={}, bilag={}, complete=False
    )


def trial_models() -> list[type[models.Model]]:
    """Return the trial's models, without the history copies django-simple-history writes."""
    return [
        model
        for model in apps.get_app_config("trialsite").get_models()
        if not issubclass(model, HistoricalChanges)
    ]


def field_of(name: str) -> models.Field:
    """Return the model field named "Model.field"."""
    model_name, field_name = name.split(".")
    return apps.get_model("trialsite", model_name)._meta.get_field(field_name)


def form_data(client: Client, url: str) -> dict[str, object]:
    """Return what the page's form posts unchanged, hidden fields (such as versions) included."""
    form = client.get(url).context["form"]
    return {bound.html_name: bound.value() for bound in form if bound.value() is not None}


def form_errors(response: HttpResponse) -> dict[str, list[str]]:
    """Return the errors of a web form page, or of an admin page with its inline forms."""
    if response.context is None:
        return {}
    if "adminform" not in response.context:
        return dict(response.context["form"].errors)
    errors = dict(response.context["adminform"].form.errors)
    for inline in response.context["inline_admin_formsets"]:
        for form in inline.formset.forms:
            errors.update(
                {form.add_prefix(name): list(found) for name, found in form.errors.items()}
            )
    return errors


def assert_page_outcome(response: HttpResponse, field: str, refusal: str | None) -> None:
    """An accepted value saves (a redirect); a refused one is named on its field."""
    errors = form_errors(response)
    if refusal is None:
        assert response.status_code == 302, errors
        return
    assert response.status_code == 200
    assert any(refusal in message for message in errors.get(field, [])), errors


def assert_refused(save: Callable[[], object], field: str, refusal: str) -> None:
    """The service refuses the value with the message on its field."""
    with pytest.raises(ValidationError) as refused:
        save()
    messages = refused.value.message_dict.get(field, [])
    assert any(refusal in message for message in messages), refused.value.message_dict


def csv_text(columns: tuple[str, ...], *rows: dict[str, str]) -> str:
    """Return a CSV file: the header, then each row's cells in the header's order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([row.get(column, "") for column in columns] for row in rows)
    return out.getvalue()


def participant_row(**cells: str) -> dict[str, str]:
    return {
        "participant_id": "C-001",
        "site": "S01",
        "sex": "F",
        "age_at_enrollment": "9",
        "enrollment_date": "2026-01-05",
        **cells,
    }


def visit_row(**cells: str) -> dict[str, str]:
    """Return a visits.csv row: an unscheduled visit of S01-1900, nothing assessed."""
    return {"participant_id": "S01-1900", "visit": "UNS", "visit_date": "2026-01-05", **cells}


def assert_import_outcome(
    report: ImportReport, column: str, refusal: str | None, *, value: str | None
) -> None:
    """An accepted cell imports; a refused one is a problem naming row 2 and its column."""
    problems = [str(problem) for problem in report.problems]
    if refusal is None:
        assert problems == []
        assert report.written
        return
    assert not report.written
    assert any(
        problem.row == 2
        and problem.column == column
        and problem.value == value
        and refusal in problem.message
        for problem in report.problems
    ), problems


# --------------------------------------------------------------------------------------------
# 1. Dates from 1900-01-01 to today
# --------------------------------------------------------------------------------------------

#: (day, the message refusing it; None: accepted)
DATES = [
    pytest.param("0001-01-01", TOO_EARLY, id="year-1-refused"),
    pytest.param("1899-12-31", TOO_EARLY, id="1899-12-31-refused"),
    pytest.param("1900-01-01", None, id="1900-01-01-accepted"),
    pytest.param("today", None, id="today-accepted"),
    pytest.param("tomorrow", IN_FUTURE, id="tomorrow-refused"),
]
PARTICIPANT_DATE_FIELDS = [
    "enrollment_date",
    "infusion_date",
    "treatment_failure_date",
    "withdrawal_date",
]


def participant_dates(field: str, name: str) -> dict[str, date]:
    """Return the participant's dates: the tested one, and an enrolment on 1900-01-01."""
    if field == "enrollment_date":
        return {"enrollment_date": day(name)}
    return {"enrollment_date": EARLIEST_DATE, field: day(name)}


@pytest.mark.parametrize("field", PARTICIPANT_DATE_FIELDS)
@pytest.mark.parametrize(("name", "refusal"), DATES)
def test_participant_service_takes_dates_from_1900_to_today(study, site_a, field, name, refusal):
    def create() -> Participant:
        return services.participant_create(
            study=study,
            site=site_a,
            participant_id="D-001",
            sex="F",
            age_at_enrollment=9,
            **participant_dates(field, name),
            author=None,
            reason="test",
        )

    if refusal is None:
        assert getattr(create(), field) == day(name)
    else:
        assert_refused(create, field, refusal)
        assert not Participant.objects.filter(participant_id="D-001").exists()


@pytest.mark.parametrize(("name", "refusal"), DATES)
def test_visit_service_takes_dates_from_1900_to_today(enrolled_1900, unscheduled, name, refusal):
    def create() -> Visit:
        return services.visit_create(
            participant=enrolled_1900,
            visit_definition=unscheduled,
            visit_date=day(name),
            author=None,
            reason="test",
        )

    if refusal is None:
        assert create().visit_date == day(name)
    else:
        assert_refused(create, "visit_date", refusal)
        assert not Visit.objects.exists()


@pytest.mark.parametrize("field", PARTICIPANT_DATE_FIELDS)
@pytest.mark.parametrize(("name", "refusal"), DATES)
def test_participant_form_takes_dates_from_1900_to_today(
    coordinator_client, site_a, enrolled_1900, field, name, refusal
):
    dates = {key: value.isoformat() for key, value in participant_dates(field, name).items()}
    if field in ParticipantForm.EDIT_ONLY_FIELDS:  # not on the enrolment form: a change
        url = reverse("participant_edit", args=[enrolled_1900.pk])
        data = {**form_data(coordinator_client, url), "change_reason": "Correction"}
    else:
        url = reverse("participant_create")
        data = {
            "site": site_a.pk,
            "participant_id": "S01-901",
            "sex": "F",
            "age_at_enrollment": "9",
        }
    response = coordinator_client.post(
        url,
        {
            **data,
            "withdrawal_reason": "Family moved abroad" if field == "withdrawal_date" else "",
            **dates,
        },
    )
    assert_page_outcome(response, field, refusal)


@pytest.mark.parametrize(("name", "refusal"), DATES)
def test_visit_form_takes_dates_from_1900_to_today(
    coordinator_client, enrolled_1900, unscheduled, name, refusal
):
    response = coordinator_client.post(
        reverse("visit_create", args=[enrolled_1900.pk]),
        {"visit_definition": unscheduled.pk, "visit_date": day(name).isoformat()},
    )
    assert_page_outcome(response, "visit_date", refusal)


@pytest.mark.parametrize("field", PARTICIPANT_DATE_FIELDS)
@pytest.mark.parametrize(("name", "refusal"), DATES)
def test_participant_admin_takes_dates_from_1900_to_today(
    superuser_client, study, site_a, field, name, refusal
):
    url = reverse("admin:trialsite_participant_add")
    dates = {key: value.isoformat() for key, value in participant_dates(field, name).items()}
    data = {
        **page_forms_data(superuser_client, url),
        "study": study.pk,
        "site": site_a.pk,
        "participant_id": "S01-902",
        "sex": "F",
        "age_at_enrollment": "9",
        **dates,
        "change_reason": "Enrolled on paper",
    }
    assert_page_outcome(superuser_client.post(url, data), field, refusal)


@pytest.mark.parametrize(("name", "refusal"), DATES)
def test_visit_admin_takes_dates_from_1900_to_today(
    superuser_client, enrolled_1900, unscheduled, name, refusal
):
    url = reverse("admin:trialsite_visit_add")
    data = {
        **page_forms_data(superuser_client, url),
        "participant": enrolled_1900.pk,
        "visit_definition": unscheduled.pk,
        "visit_date": day(name).isoformat(),
        "change_reason": "Visit recorded on paper",
    }
    assert_page_outcome(superuser_client.post(url, data), "visit_date", refusal)


@pytest.mark.parametrize("column", PARTICIPANT_DATE_FIELDS)
@pytest.mark.parametrize(("name", "refusal"), DATES)
def test_participant_import_takes_dates_from_1900_to_today(
    study, site_a, data_manager, column, name, refusal
):
    cells = {key: value.isoformat() for key, value in participant_dates(column, name).items()}
    report = import_participants(
        csv_text(PARTICIPANT_COLUMNS, participant_row(**cells)),
        file_name="participants.csv",
        study=study,
        author=data_manager,
    )
    assert_import_outcome(report, column, refusal, value=day(name).isoformat())


@pytest.mark.parametrize(("name", "refusal"), DATES)
def test_visit_import_takes_dates_from_1900_to_today(
    study, enrolled_1900, data_manager, name, refusal
):
    cell = day(name).isoformat()
    report = import_visits(
        csv_text(VISIT_COLUMNS, visit_row(visit_date=cell)),
        file_name="visits.csv",
        study=study,
        author=data_manager,
    )
    assert_import_outcome(report, "visit_date", refusal, value=cell)


def test_every_date_field_of_the_trial_models_takes_dates_from_1900_to_today():
    date_fields = [
        f"{model.__name__}.{field.name}"
        for model in trial_models()
        for field in model._meta.get_fields()
        # the times the server stamps (a sign-off's, a query's) are not dates people enter
        if isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField)
    ]
    assert len(date_fields) == 5
    assert [
        name for name in date_fields if validate_trial_date not in field_of(name).validators
    ] == []


# Study days of the visit schedule


#: (study day, the message refusing it; None: accepted)
STUDY_DAYS = [
    pytest.param(STUDY_DAY_MIN - 1, "at least -3650", id="-3651-refused"),
    pytest.param(STUDY_DAY_MIN, None, id="-3650-accepted"),
    pytest.param(STUDY_DAY_MAX, None, id="36500-accepted"),
    pytest.param(STUDY_DAY_MAX + 1, "at most 36500", id="36501-refused"),
]


@pytest.mark.parametrize(("study_day", "refusal"), STUDY_DAYS)
def test_visit_schedule_service_takes_study_days_from_minus_3650_to_36500(
    study, study_day, refusal
):
    definition = VisitDefinition(
        study=study,
        code="X1",
        name="Extra",
        order=50,
        target_day=study_day,
        window_low=study_day,
        window_high=study_day,
    )

    def save() -> None:
        services.save_with_audit(definition, author=None, reason="test")

    if refusal is None:
        save()
        assert VisitDefinition.objects.get(code="X1").target_day == study_day
    else:
        for field in ("target_day", "window_low", "window_high"):
            assert_refused(save, field, refusal)


@pytest.mark.parametrize(("study_day", "refusal"), STUDY_DAYS)
def test_visit_schedule_admin_takes_study_days_from_minus_3650_to_36500(
    superuser_client, study, study_day, refusal
):
    url = reverse("admin:trialsite_visitdefinition_add")
    data = {
        **page_forms_data(superuser_client, url),
        "study": study.pk,
        "code": "X2",
        "name_en": "Extra",
        "order": "51",
        "target_day": study_day,
        "window_low": study_day,
        "window_high": study_day,
        "change_reason": "Long-term follow-up",
    }
    assert_page_outcome(superuser_client.post(url, data), "window_high", refusal)


@pytest.mark.parametrize("study_day", [STUDY_DAY_MIN - 1, STUDY_DAY_MAX + 1])
def test_the_database_refuses_a_study_day_out_of_range(study, study_day):
    with pytest.raises(IntegrityError), transaction.atomic():
        VisitDefinition.objects.create(
            study=study,
            code="X3",
            name="Extra",
            order=52,
            target_day=0,
            window_low=min(0, study_day),
            window_high=max(0, study_day),
        )


def test_schedule_screens_work_at_the_widest_dates_and_windows(coordinator_client, study, site_a):
    # Infusion 1900-01-01 with a window 3650 days before it, and infusion today with one 36500
    # days after it: the window dates stay within the dates Python can hold.
    services.save_with_audit(
        VisitDefinition(
            study=study,
            code="FAR",
            name="Far window",
            order=60,
            target_day=0,
            window_low=STUDY_DAY_MIN,
            window_high=STUDY_DAY_MAX,
        ),
        author=None,
        reason="test",
    )
    today = timezone.localdate()
    participants = [
        services.participant_create(
            study=study,
            site=site_a,
            participant_id=participant_id,
            sex="F",
            age_at_enrollment=9,
            enrollment_date=infused,
            infusion_date=infused,
            author=None,
            reason="test",
        )
        for participant_id, infused in (("S01-OLD", EARLIEST_DATE), ("S01-NEW", today))
    ]
    far = VisitDefinition.objects.get(code="FAR")
    assert selectors.window_dates(participants[0], far)[0] == date(1890, 1, 3)
    assert selectors.window_dates(participants[1], far)[1] == today + timedelta(days=36500)
    assert coordinator_client.get(reverse("home")).status_code == 200
    for participant in participants:
        url = reverse("participant_detail", args=[participant.pk])
        assert coordinator_client.get(url).status_code == 200


# --------------------------------------------------------------------------------------------
# 2. Numbers and dates in the digits 0-9
# --------------------------------------------------------------------------------------------

#: (digit typed, the message refusing it; None: accepted)
DIGITS = [
    pytest.param("3", None, id="3-accepted"),
    pytest.param("\u0663", NOT_ASCII_DIGITS, id="arabic-indic-3-refused"),
    pytest.param("\uff13", NOT_ASCII_DIGITS, id="fullwidth-3-refused"),
]
#: Participant fields typed with digits, each with a valid value written around the digit.
PARTICIPANT_DIGIT_FIELDS = [
    pytest.param("age_at_enrollment", "1{}", id="age"),
    pytest.param("dose_cells_per_kg", "{}00000", id="dose"),
    pytest.param("enrollment_date", "2026-01-0{}", id="date"),
]


@pytest.mark.parametrize(("field", "template"), PARTICIPANT_DIGIT_FIELDS)
@pytest.mark.parametrize(("digit", "refusal"), DIGITS)
def test_participant_form_numbers_and_dates_take_digits_0_to_9_only(
    coordinator_client, study, site_a, field, template, digit, refusal
):
    # A study with dose levels offers them as a choice: the dose is typed in a study without.
    study.dose_levels.all().delete()
    data = {
        "site": site_a.pk,
        "participant_id": "S01-903",
        "sex": "F",
        "age_at_enrollment": "9",
        "enrollment_date": "2026-01-05",
        field: template.format(digit),
    }
    assert_page_outcome(
        coordinator_client.post(reverse("participant_create"), data), field, refusal
    )


@pytest.mark.parametrize(
    ("field", "stored"),
    [
        pytest.param("pga", lambda visit: visit.pga.score, id="pga"),
        pytest.param("lab_platelets", lambda visit: visit.labs.platelets, id="lab-value"),
    ],
)
@pytest.mark.parametrize(("digit", "refusal"), DIGITS)
def test_visit_entry_numbers_take_digits_0_to_9_only(
    coordinator_client, baseline_visit, field, stored, digit, refusal
):
    url = reverse("visit_entry", args=[baseline_visit.pk])
    data = {
        **form_data(coordinator_client, url),
        "entry_status": "in_progress",
        "change_reason": "Transcription checked",
        field: digit,
    }
    assert_page_outcome(coordinator_client.post(url, data), field, refusal)
    visit = Visit.objects.get(pk=baseline_visit.pk)
    if refusal is None:
        assert stored(visit) == Decimal("3")
    else:
        assert visit.pga.score == Decimal("1.00")


@pytest.mark.parametrize(("digit", "refusal"), DIGITS)
def test_lab_suggestions_ignore_other_digits(coordinator_client, digit, refusal):
    # Platelets 3 x10^9/L suggest thrombocytopenia; "٣" is not a number, so it suggests nothing.
    response = coordinator_client.get(reverse("lab_suggestions"), {"lab_platelets": digit})
    expected = ["thrombocytopenia"] if refusal is None else []
    assert response.json()["suggested"] == expected


@pytest.mark.parametrize(("field", "template"), PARTICIPANT_DIGIT_FIELDS)
@pytest.mark.parametrize(("digit", "refusal"), DIGITS)
def test_participant_admin_numbers_and_dates_take_digits_0_to_9_only(
    superuser_client, study, site_a, field, template, digit, refusal
):
    url = reverse("admin:trialsite_participant_add")
    data = {
        **page_forms_data(superuser_client, url),
        "study": study.pk,
        "site": site_a.pk,
        "participant_id": "S01-904",
        "sex": "F",
        "age_at_enrollment": "9",
        "enrollment_date": "2026-01-05",
        field: template.format(digit),
        "change_reason": "Enrolled on paper",
    }
    assert_page_outcome(superuser_client.post(url, data), field, refusal)


@pytest.mark.parametrize(("digit", "refusal"), DIGITS)
def test_pga_admin_inline_takes_digits_0_to_9_only(
    superuser_client, baseline_visit, digit, refusal
):
    url = reverse("admin:trialsite_visit_change", args=[baseline_visit.pk])
    data = {
        **page_forms_data(superuser_client, url),
        "pga-0-score": digit,
        "change_reason": "PGA corrected",
    }
    assert_page_outcome(superuser_client.post(url, data), "pga-0-score", refusal)
    baseline_visit.pga.refresh_from_db()
    assert baseline_visit.pga.score == (Decimal("3") if refusal is None else Decimal("1.00"))


@pytest.mark.parametrize(("digit", "refusal"), DIGITS)
def test_visit_schedule_admin_inline_takes_digits_0_to_9_only(
    superuser_client, study, digit, refusal
):
    url = reverse("admin:trialsite_study_change", args=[study.pk])
    data = page_forms_data(superuser_client, url)
    first = "visit_definitions-0"
    assert data[f"{first}-code"] == "SCR"
    data.update({f"{first}-window_high": f"-{digit}", "change_reason": "Screening window"})
    assert_page_outcome(superuser_client.post(url, data), f"{first}-window_high", refusal)


def digit_fields(form: forms.BaseForm) -> dict[str, type[forms.Field]]:
    """Return the form's fields typed with digits (numbers and dates) by name, with their class."""
    return {
        form.add_prefix(name): type(field)
        for name, field in form.fields.items()
        if isinstance(
            field, forms.IntegerField | forms.DecimalField | forms.FloatField | forms.DateField
        )
    }


def test_every_number_and_date_field_of_the_admin_takes_digits_0_to_9_only(superuser_client):
    found: dict[str, type[forms.Field]] = {}
    for model in admin.site._registry:
        meta = model._meta
        response = superuser_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
        if response.status_code == 403:  # computed results: no add page
            continue
        page_forms = [response.context["adminform"].form]
        page_forms += [
            inline.formset.empty_form for inline in response.context["inline_admin_formsets"]
        ]
        for form in page_forms:
            found.update(
                {f"{meta.model_name}:{name}": kind for name, kind in digit_fields(form).items()}
            )
    assert "participant:age_at_enrollment" in found
    assert "visit:pga-__prefix__-score" in found
    assert "study:visit_definitions-__prefix__-target_day" in found
    assert "visit:visit_date" in found
    assert {name for name, kind in found.items() if not issubclass(kind, AsciiDigitsMixin)} == set()


def test_every_number_and_date_field_of_the_web_forms_takes_digits_0_to_9_only(
    coordinator_a, study, participant_a, baseline_visit
):
    # A study with dose levels offers them as a choice: the dose is typed in a study without.
    study.dose_levels.all().delete()
    found: dict[str, type[forms.Field]] = {}
    for form in (
        ParticipantForm(user=coordinator_a, study=study),
        VisitForm(participant=participant_a),
        AssessmentForm(visit=baseline_visit),
        LabValuesForm(),
    ):
        found.update(digit_fields(form))
    expected = {"age_at_enrollment", "dose_cells_per_kg", "pga", "lab_platelets", "visit_date"}
    assert expected <= set(found)
    assert {name for name, kind in found.items() if not issubclass(kind, AsciiDigitsMixin)} == set()


@pytest.mark.parametrize(("column", "template"), PARTICIPANT_DIGIT_FIELDS)
@pytest.mark.parametrize(("digit", "refusal"), DIGITS)
def test_participant_import_numbers_and_dates_take_digits_0_to_9_only(
    study, site_a, data_manager, column, template, digit, refusal
):
    cell = template.format(digit)
    report = import_participants(
        csv_text(PARTICIPANT_COLUMNS, participant_row(**{column: cell})),
        file_name="participants.csv",
        study=study,
        author=data_manager,
    )
    assert_import_outcome(report, column, refusal, value=cell)


@pytest.mark.parametrize(("digit", "refusal"), DIGITS)
def test_visit_import_pga_takes_digits_0_to_9_only(
    study, enrolled_1900, data_manager, digit, refusal
):
    report = import_visits(
        csv_text(VISIT_COLUMNS, visit_row(pga=digit)),
        file_name="visits.csv",
        study=study,
        author=data_manager,
    )
    assert_import_outcome(report, "pga", refusal, value=digit)
    if refusal is None:
        assert Visit.objects.get().pga.score == Decimal("3.00")


# --------------------------------------------------------------------------------------------
# 3. No control characters in text (multi-line text may hold line breaks and tabs)
# --------------------------------------------------------------------------------------------


def test_every_text_field_of_the_trial_models_refuses_control_characters():
    missing = []
    for model in trial_models():
        for field in model._meta.get_fields():
            if not isinstance(field, models.CharField | models.TextField) or field.choices:
                continue
            expected = (
                validate_multiline_text
                if isinstance(field, models.TextField)
                else validate_single_line_text
            )
            if expected not in field.validators:
                missing.append(f"{model.__name__}.{field.name}")
    assert missing == []


#: (participant field, value, the code point refused; None: accepted)
PARTICIPANT_TEXTS = [
    pytest.param("participant_id", "S01-777", None, id="participant-id-plain-accepted"),
    pytest.param("participant_id", "S01\t777", "U+0009", id="participant-id-tab-refused"),
    pytest.param("participant_id", "S01\n777", "U+000A", id="participant-id-newline-refused"),
    pytest.param("participant_id", "S01\x00777", "U+0000", id="participant-id-nul-refused"),
    pytest.param(
        "withdrawal_reason",
        "Family moved abroad.\nReported by phone.",
        None,
        id="withdrawal-reason-newline-accepted",
    ),
    pytest.param("withdrawal_reason", "Moved\tabroad", None, id="withdrawal-reason-tab-accepted"),
    pytest.param(
        "withdrawal_reason", "Moved\x00abroad", "U+0000", id="withdrawal-reason-nul-refused"
    ),
    pytest.param(
        "withdrawal_reason", "Moved\x1babroad", "U+001B", id="withdrawal-reason-escape-refused"
    ),
]


@pytest.mark.parametrize(("field", "value", "code"), PARTICIPANT_TEXTS)
def test_participant_service_refuses_control_characters(study, site_a, field, value, code):
    texts = {"participant_id": "S01-778", "withdrawal_reason": "", field: value}

    def create() -> Participant:
        return services.participant_create(
            study=study,
            site=site_a,
            sex="F",
            age_at_enrollment=9,
            enrollment_date=date(2026, 1, 5),
            **texts,
            author=None,
            reason="test",
        )

    if code is None:
        assert getattr(create(), field) == value
    else:
        assert_refused(create, field, control_character(code))


def reference_row(kind: str, study: Study) -> models.Model:
    if kind == "site":
        return Site(code="S77", name="Site seventy-seven")
    if kind == "study":
        return Study(protocol_number="PED-77", name="Another study")
    return VisitDefinition(study=study, code="X77", name="Extra", order=77, repeatable=True)


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("site", "code"),
        ("site", "name"),
        ("study", "protocol_number"),
        ("study", "name"),
        ("visit definition", "code"),
        ("visit definition", "name"),
    ],
)
@pytest.mark.parametrize(
    ("character", "code"),
    [
        pytest.param("", None, id="plain-accepted"),
        pytest.param("\t", "U+0009", id="tab-refused"),
        pytest.param("\x00", "U+0000", id="nul-refused"),
    ],
)
def test_reference_data_refuses_control_characters(study, kind, field, character, code):
    row = reference_row(kind, study)
    setattr(row, field, f"X{character}7")

    def save() -> None:
        services.save_with_audit(row, author=None, reason="test")

    if code is None:
        save()
    else:
        assert_refused(save, field, control_character(code))


#: (reason, the code point refused; None: accepted); a reason may come from a textarea.
REASONS = [
    pytest.param("Typo in the name", None, id="plain-accepted"),
    pytest.param("Typo in the name.\r\nConfirmed by phone.", None, id="line-break-accepted"),
    pytest.param("Typo\tfixed", None, id="tab-accepted"),
    pytest.param("Typo\x00", "U+0000", id="nul-refused"),
    pytest.param("Typo\x7f", "U+007F", id="delete-refused"),
]


@pytest.mark.parametrize(("reason", "code"), REASONS)
def test_the_reason_of_a_change_refuses_control_characters_but_line_breaks_and_tabs(
    site_a, reason, code
):
    site_a.name = "Renamed hospital"
    if code is None:
        services.save_with_audit(site_a, author=None, reason=reason)
        assert site_a.history.latest("history_date").history_change_reason == reason
        return
    with pytest.raises(ValidationError) as refused:
        services.save_with_audit(site_a, author=None, reason=reason)
    assert refused.value.messages == [control_character(code)]
    with pytest.raises(ValidationError):
        services.delete_with_audit(site_a, author=None, reason=reason)
    assert Site.objects.filter(pk=site_a.pk).exists()


@pytest.mark.parametrize(
    ("value", "refusal"),
    [
        pytest.param("S01-905", None, id="plain-accepted"),
        pytest.param("S01\t905", control_character("U+0009"), id="tab-refused"),
        pytest.param("S01\x00905", DJANGO_NUL, id="nul-refused"),
    ],
)
def test_participant_form_id_refuses_control_characters(coordinator_client, site_a, value, refusal):
    data = {
        "site": site_a.pk,
        "participant_id": value,
        "sex": "F",
        "age_at_enrollment": "9",
        "enrollment_date": "2026-01-05",
    }
    response = coordinator_client.post(reverse("participant_create"), data)
    assert_page_outcome(response, "participant_id", refusal)


@pytest.mark.parametrize(
    ("field", "value", "refusal"),
    [
        pytest.param(
            "withdrawal_reason",
            "Family moved abroad.\r\nReported by phone.",
            None,
            id="withdrawal-reason-line-break-accepted",
        ),
        pytest.param(
            "withdrawal_reason", "Moved\x00", DJANGO_NUL, id="withdrawal-reason-nul-refused"
        ),
        pytest.param(
            "withdrawal_reason",
            "Moved\x1b",
            control_character("U+001B"),
            id="withdrawal-reason-escape-refused",
        ),
        pytest.param(
            "change_reason",
            "Reported\tby phone",
            control_character("U+0009"),
            id="change-reason-tab-refused",
        ),
        pytest.param("change_reason", "Reported\x00", DJANGO_NUL, id="change-reason-nul-refused"),
    ],
)
def test_participant_form_reasons_refuse_control_characters(
    coordinator_client, participant_a, field, value, refusal
):
    url = reverse("participant_edit", args=[participant_a.pk])
    data = {
        **form_data(coordinator_client, url),
        "withdrawal_date": "2026-06-01",
        "withdrawal_reason": "Family moved abroad",
        "change_reason": "Withdrawal reported by phone",
        field: value,
    }
    assert_page_outcome(coordinator_client.post(url, data), field, refusal)
    participant_a.refresh_from_db()
    if refusal is None:
        assert participant_a.withdrawal_reason == value
    else:
        assert participant_a.withdrawal_date is None


@pytest.mark.parametrize(
    ("field", "value", "refusal"),
    [
        pytest.param(
            "name_en", "Hospital\tone", control_character("U+0009"), id="name-tab-refused"
        ),
        pytest.param("name_en", "Hospital\x00one", DJANGO_NUL, id="name-nul-refused"),
        pytest.param(
            "name_zh_hans",
            "医院\t一",
            control_character("U+0009"),
            id="chinese-name-tab-refused",
        ),
        pytest.param(
            "change_reason",
            "Hospitals merged.\r\nSee the letter.",
            None,
            id="change-reason-line-break-accepted",
        ),
        pytest.param("change_reason", "Merged\x00", DJANGO_NUL, id="change-reason-nul-refused"),
        pytest.param(
            "change_reason",
            "Merged\x1b",
            control_character("U+001B"),
            id="change-reason-escape-refused",
        ),
    ],
)
def test_site_admin_refuses_control_characters(superuser_client, site_a, field, value, refusal):
    url = reverse("admin:trialsite_site_change", args=[site_a.pk])
    data = {
        **page_forms_data(superuser_client, url),
        "name_en": "Merged hospital",
        "change_reason": "Hospitals merged",
        field: value,
    }
    assert_page_outcome(superuser_client.post(url, data), field, refusal)
    site_a.refresh_from_db()
    assert (site_a.name == "Merged hospital") is (refusal is None)


@pytest.mark.parametrize(
    ("value", "refusal"),
    [
        pytest.param("S01-906", None, id="plain-accepted"),
        pytest.param("S01\t906", control_character("U+0009"), id="tab-refused"),
        pytest.param("S01\x00906", DJANGO_NUL, id="nul-refused"),
    ],
)
def test_participant_admin_id_refuses_control_characters(
    superuser_client, study, site_a, value, refusal
):
    url = reverse("admin:trialsite_participant_add")
    data = {
        **page_forms_data(superuser_client, url),
        "study": study.pk,
        "site": site_a.pk,
        "participant_id": value,
        "sex": "F",
        "age_at_enrollment": "9",
        "enrollment_date": "2026-01-05",
        "change_reason": "Enrolled on paper",
    }
    assert_page_outcome(superuser_client.post(url, data), "participant_id", refusal)


@pytest.mark.parametrize(
    ("column", "cell", "code"),
    [
        pytest.param("participant_id", "C-0\t01", "U+0009", id="participant-id-tab-refused"),
        pytest.param("participant_id", "C-0\n01", "U+000A", id="participant-id-newline-refused"),
        pytest.param("participant_id", "C-0\x0001", "U+0000", id="participant-id-nul-refused"),
        pytest.param("site", "S0\x001", "U+0000", id="site-nul-refused"),
        pytest.param("sex", "F\x07", "U+0007", id="sex-bell-refused"),
        pytest.param("participant_id", "C-001", None, id="plain-accepted"),
    ],
)
def test_participant_import_refuses_control_characters_in_every_cell(
    study, site_a, data_manager, column, cell, code
):
    report = import_participants(
        csv_text(PARTICIPANT_COLUMNS, participant_row(**{column: cell})),
        file_name="participants.csv",
        study=study,
        author=data_manager,
    )
    # The problem names the code point; the cell itself is not printed.
    refusal = None if code is None else control_character(code)
    assert_import_outcome(report, column, refusal, value=None)
    if code is not None:
        assert f"row 2, column {column}: {refusal}" in [str(p) for p in report.problems]


def test_visit_import_refuses_control_characters_in_every_cell(study, enrolled_1900, data_manager):
    report = import_visits(
        csv_text(VISIT_COLUMNS, visit_row(bilag_renal="E\x00")),
        file_name="visits.csv",
        study=study,
        author=data_manager,
    )
    assert [str(p) for p in report.problems] == [
        f"row 2, column bilag_renal: {control_character('U+0000')}"
    ]
    assert not Visit.objects.exists()


def test_import_header_with_a_control_character_is_refused(study, data_manager):
    header = ("participant_id\x00", *PARTICIPANT_COLUMNS[1:])
    text = csv_text(PARTICIPANT_COLUMNS, participant_row()).replace(
        ",".join(PARTICIPANT_COLUMNS), ",".join(header), 1
    )
    report = import_participants(
        text, file_name="participants.csv", study=study, author=data_manager
    )
    assert f"row 1: column 1 of the header: {control_character('U+0000')}" in [
        str(p) for p in report.problems
    ]
