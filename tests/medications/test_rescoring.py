"""Every write of a medication course rescores the participant in the same transaction: LLDAS and
DORIS remission read the prednisolone-equivalent dose on the visit date, new immunosuppressants
and biologics after infusion (clinical-rules.md sections 5 and 6b), so a course saved, changed or
deleted through the services, the pages, admin or the import changes the results of the visits it
covers, and a stored result always equals a fresh computation (stale_results, which
`recompute_responses --check` runs).

participant_a (infused 2026-02-09) has BL and M3 (2026-05-10) saved complete; M3 has no SLEDAI-2K
descriptor (clinical SLEDAI-2K 0, no descriptor new since BL) and PGA 0.20: in LLDAS (<= 4, PGA
<= 1.00) and in DORIS remission (0, PGA < 0.50) while the dose is 0 mg/day.
"""

import csv
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from medications import services
from medications.imports import MEDICATION_COLUMNS
from medications.models import MedicationCourse
from responses import services as response_services
from responses.models import EndpointResult
from responses.services import stale_results
from tests.factories import ParticipantFactory, record_visit
from tests.medications.conftest import M3_DATE, record_course
from tests.pages import opened_version
from trialsite.models import Participant

RESPONDER, NON_RESPONDER = "responder", "non-responder"
#: A course running over the M3 date (2026-05-10).
COVERING_M3 = {"start": date(2026, 5, 1), "stop": None}
LLDAS_AT_10_MG = "prednisolone-equivalent 10 mg/day > 7.5"
DORIS_AT_10_MG = "prednisolone-equivalent 10 mg/day > 5"


def result(participant: Participant, endpoint: str, code: str = "M3") -> EndpointResult:
    return EndpointResult.objects.get(
        visit__participant=participant, visit__visit_definition__code=code, endpoint=endpoint
    )


def states(participant: Participant) -> tuple[str, str]:
    """Return M3's (LLDAS, DORIS) outcomes."""
    return result(participant, "lldas").outcome, result(participant, "doris").outcome


def assert_on_10_mg(participant: Participant) -> None:
    """M3 with prednisolone 10 mg/day: out of LLDAS (> 7.5) and DORIS (> 5) for the dose only."""
    lldas, doris = result(participant, "lldas"), result(participant, "doris")
    assert (lldas.outcome, lldas.reason) == (NON_RESPONDER, LLDAS_AT_10_MG)
    assert (doris.outcome, doris.reason) == (NON_RESPONDER, DORIS_AT_10_MG)
    assert lldas.prednisolone_mg == doris.prednisolone_mg == Decimal("10.00")


def assert_without_a_dose(participant: Participant) -> None:
    """M3 with no glucocorticoid on its date: in LLDAS and DORIS remission again."""
    assert states(participant) == (RESPONDER, RESPONDER)
    assert result(participant, "doris").prednisolone_mg == Decimal("0.00")


# --------------------------------------------------------------------------------------------
# The services: record, change, delete
# --------------------------------------------------------------------------------------------


def test_without_medications_month_3_is_in_lldas_and_doris_remission(in_remission):
    assert states(in_remission) == (RESPONDER, RESPONDER)
    assert "prednisolone-equivalent 0 mg/day ≤ 5" in result(in_remission, "doris").reason
    assert stale_results() == []


def test_recording_changing_and_deleting_a_course_rescores_the_visits_it_covers(
    in_remission, coordinator_a
):
    course = record_course(in_remission, dose="10", **COVERING_M3, author=coordinator_a).course
    assert_on_10_mg(in_remission)
    # The dose is no SRI condition: M3 stays an SRI-4 responder (6 -> 0).
    assert result(in_remission, "sri4").outcome == RESPONDER
    assert stale_results() == []

    # A change of dose: 5 mg/day is within both limits (5 <= 5, 5 <= 7.5).
    course.daily_dose_mg = Decimal("5")
    services.medication_course_save(course=course, author=coordinator_a, reason="dose corrected")
    assert states(in_remission) == (RESPONDER, RESPONDER)
    assert "prednisolone-equivalent 5 mg/day ≤ 5" in result(in_remission, "doris").reason
    assert "prednisolone-equivalent 5 mg/day ≤ 7.5" in result(in_remission, "lldas").reason
    assert stale_results() == []

    course.daily_dose_mg = Decimal("10")
    services.medication_course_save(course=course, author=coordinator_a, reason="dose was 10")
    assert_on_10_mg(in_remission)
    services.medication_course_delete(course=course, author=coordinator_a, reason="entered twice")
    assert_without_a_dose(in_remission)
    assert stale_results() == []


@pytest.mark.parametrize(
    ("dose", "lldas"),
    [
        pytest.param("7.5", RESPONDER, id="7.5-at-the-limit"),
        pytest.param("7.6", NON_RESPONDER, id="7.6-over"),
    ],
)
def test_lldas_allows_7_5_mg_prednisolone_a_day_and_no_more(in_remission, dose, lldas):
    record_course(in_remission, dose=dose, **COVERING_M3)
    assert result(in_remission, "lldas").outcome == lldas
    assert stale_results() == []


@pytest.mark.parametrize(
    ("drug", "dose", "route", "doris"),
    [
        pytest.param("prednisolone", "5.0", "oral", RESPONDER, id="5.0-at-the-limit"),
        pytest.param("prednisolone", "5.1", "oral", NON_RESPONDER, id="5.1-over"),
        # Exact ratios: dexamethasone 0.75 mg is 5 mg; 0.751 mg is 5.00666... mg, over 5.
        pytest.param("dexamethasone", "0.75", "oral", RESPONDER, id="dexamethasone-0.75"),
        pytest.param("dexamethasone", "0.751", "oral", NON_RESPONDER, id="dexamethasone-0.751"),
        # 20 mg of intravenous hydrocortisone is 5 mg.
        pytest.param("hydrocortisone", "20", "iv", RESPONDER, id="hydrocortisone-20-iv"),
        # A topical, inhaled or intra-articular course (route other) never counts.
        pytest.param("prednisolone", "10", "other", RESPONDER, id="route-other"),
    ],
)
def test_doris_allows_5_mg_prednisolone_equivalent_a_day_and_no_more(
    in_remission, drug, dose, route, doris
):
    record_course(in_remission, drug, dose=dose, route=route, **COVERING_M3)
    assert result(in_remission, "doris").outcome == doris
    assert stale_results() == []


@pytest.mark.parametrize(
    ("drug", "dose", "shown"),
    [
        # 0.751 x 20/3 = 5.00666... mg: 5.01 to 0.01, half up.
        pytest.param("dexamethasone", "0.751", "5.01", id="dexamethasone-0.751"),
        # 4.001 x 5/4 = 5.00125 mg: 5.00 to 0.01 would read as the limit, so 5.0013 to 0.0001.
        pytest.param("methylprednisolone", "4.001", "5.0013", id="methylprednisolone-4.001"),
    ],
)
def test_a_dose_just_over_the_limit_is_stored_in_the_reason_as_over_it(
    in_remission, drug, dose, shown
):
    record_course(in_remission, drug, dose=dose, **COVERING_M3)
    assert result(in_remission, "doris").reason == f"prednisolone-equivalent {shown} mg/day > 5"


@pytest.mark.parametrize(
    ("start", "stop", "covered"),
    [
        pytest.param(date(2026, 4, 1), date(2026, 5, 9), False, id="stopped-the-day-before"),
        pytest.param(date(2026, 4, 1), date(2026, 5, 10), True, id="stopped-on-the-visit"),
        pytest.param(date(2026, 5, 10), None, True, id="started-on-the-visit"),
        pytest.param(date(2026, 5, 11), None, False, id="started-the-day-after"),
    ],
)
def test_only_a_course_active_on_the_visit_date_counts(in_remission, start, stop, covered):
    record_course(in_remission, dose="10", start=start, stop=stop)
    expected = (NON_RESPONDER, NON_RESPONDER) if covered else (RESPONDER, RESPONDER)
    assert states(in_remission) == expected
    assert stale_results() == []


def test_a_course_rescores_every_later_visit_of_the_participant_only(in_remission, study, site_a):
    other = ParticipantFactory(study=study, site=site_a, participant_id="S01-002")
    record_visit(other, "BL", date(2026, 2, 2), sledai={"arthritis", "rash"}, pga="1.00")
    record_visit(other, "M3", M3_DATE, sledai=set(), pga="0.20")
    record_visit(in_remission, "M6", date(2026, 8, 9), sledai=set(), pga="0.20")

    record_course(in_remission, dose="10", start=date(2026, 3, 1))

    assert_on_10_mg(in_remission)
    assert result(in_remission, "doris", "M6").outcome == NON_RESPONDER
    assert states(other) == (RESPONDER, RESPONDER)
    assert stale_results() == []


# --------------------------------------------------------------------------------------------
# Biologics and the treatment-failure proposal
# --------------------------------------------------------------------------------------------


def test_a_biologic_after_infusion_fails_doris_before_any_failure_is_recorded(
    in_remission, coordinator_a
):
    # Rituximab on 2026-04-01 (study day 51): after infusion, so DORIS fails at every later
    # visit; started 39 days before M3, so it is not new for LLDAS (28 days).
    course = record_course(
        in_remission, "rituximab", dose="750", route="iv", start=date(2026, 4, 1),
        stop=date(2026, 4, 1),
    ).course  # fmt: skip
    doris = result(in_remission, "doris")
    assert doris.outcome == NON_RESPONDER
    assert doris.reason == "rituximab given on 2026-04-01, after the infusion (a biologic)"
    assert doris.treatment_failure is False
    assert result(in_remission, "lldas").outcome == RESPONDER
    assert result(in_remission, "sri4").outcome == RESPONDER
    assert stale_results() == []

    # Dismissing the proposal changes nothing an endpoint reads.
    stored = list(EndpointResult.objects.order_by("pk").values_list("endpoint", "outcome"))
    services.treatment_failure_dismiss(
        course=course, proposed=date(2026, 4, 1), author=coordinator_a, reason="not ours"
    )
    assert list(EndpointResult.objects.order_by("pk").values_list("endpoint", "outcome")) == (
        stored
    )
    assert stale_results() == []


def test_confirming_the_proposal_makes_every_endpoint_a_treatment_failure(
    in_remission, coordinator_a
):
    course = record_course(
        in_remission, "rituximab", dose="750", route="iv", start=date(2026, 4, 1)
    ).course
    services.treatment_failure_confirm(
        course=course, proposed=date(2026, 4, 1), author=coordinator_a
    )
    for endpoint in ("sri4", "bicla", "lldas", "doris"):
        stored = result(in_remission, endpoint)
        assert (stored.outcome, stored.treatment_failure) == (NON_RESPONDER, True), endpoint
    assert stale_results() == []


# --------------------------------------------------------------------------------------------
# The pages and admin
# --------------------------------------------------------------------------------------------

PREDNISOLONE_10 = {
    "drug": "prednisolone",
    "daily_dose_mg": "10",
    "route": "oral",
    "start_date": "2026-05-01",
    "stop_date": "",
}


def test_the_course_pages_rescore(client, coordinator_a, in_remission):
    client.force_login(coordinator_a)
    response = client.post(
        reverse("medication_course_create", args=[in_remission.pk]), PREDNISOLONE_10
    )
    assert response.status_code == 302
    assert_on_10_mg(in_remission)

    course = MedicationCourse.objects.get()
    url = reverse("medication_course_edit", args=[course.pk])
    data = {
        **PREDNISOLONE_10,
        "stop_date": "2026-05-09",
        "change_reason": "Stopped the day before Month 3",
        "opened_version": opened_version(client, url),
    }
    assert client.post(url, data).status_code == 302
    assert_without_a_dose(in_remission)
    assert stale_results() == []


def test_admin_rescores_on_save_and_delete(superuser_client, in_remission):
    response = superuser_client.post(
        reverse("admin:medications_medicationcourse_add"),
        {**PREDNISOLONE_10, "participant": in_remission.pk, "change_reason": "From the chart"},
    )
    assert response.status_code == 302, response.content.decode()
    assert_on_10_mg(in_remission)

    course = MedicationCourse.objects.get()
    url = reverse("admin:medications_medicationcourse_change", args=[course.pk])
    data = {
        **PREDNISOLONE_10,
        "daily_dose_mg": "7.5",
        "change_reason": "Dose misread",
        "opened_version": opened_version(superuser_client, url),
    }
    assert superuser_client.post(url, data).status_code == 302
    assert states(in_remission) == (RESPONDER, NON_RESPONDER)  # 7.5 <= 7.5; 7.5 > 5

    url = reverse("admin:medications_medicationcourse_delete", args=[course.pk])
    response = superuser_client.post(url, {"post": "yes", "delete_reason": "entered twice"})
    assert response.status_code == 302
    assert_without_a_dose(in_remission)
    assert stale_results() == []


# --------------------------------------------------------------------------------------------
# The import: one rescoring per participant, after its rows
# --------------------------------------------------------------------------------------------

ROW = {
    "participant_id": "S01-001",
    "drug": "prednisolone",
    "daily_dose_mg": "10",
    "route": "oral",
    "start_date": "2026-05-01",
    "stop_date": "",
}


def medications_file(tmp_path, *rows: dict[str, str]) -> str:
    """Write medications.csv with ROW changed by each row's cells."""
    out = StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MEDICATION_COLUMNS)
    for row in rows:
        writer.writerow([{**ROW, **row}[column] for column in MEDICATION_COLUMNS])
    path = tmp_path / "medications.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return str(path)


def import_file(path: str, *options: str) -> None:
    call_command(
        "import_medications", "--user", "dm", *options, path, stdout=StringIO(), stderr=StringIO()
    )


def test_the_import_rescores_what_it_creates_and_updates(data_manager, in_remission, tmp_path):
    path = medications_file(tmp_path, {})
    import_file(path, "--dry-run")
    assert states(in_remission) == (RESPONDER, RESPONDER)  # nothing was written

    import_file(path)
    assert_on_10_mg(in_remission)
    assert stale_results() == []

    import_file(medications_file(tmp_path, {"daily_dose_mg": "5"}), "--update")
    assert states(in_remission) == (RESPONDER, RESPONDER)
    assert "prednisolone-equivalent 5 mg/day ≤ 5" in result(in_remission, "doris").reason
    assert stale_results() == []


def test_a_refused_import_leaves_the_results_as_they_were(data_manager, in_remission, tmp_path):
    path = medications_file(tmp_path, {}, {"start_date": "2026-05-02", "route": "intravenous"})
    with pytest.raises(CommandError):
        import_file(path)
    assert not MedicationCourse.objects.exists()
    assert states(in_remission) == (RESPONDER, RESPONDER)
    assert stale_results() == []


def rescorings(captured: CaptureQueriesContext) -> int:
    """Count the rescorings among the captured queries: each reads the participant's stored
    endpoint results once to bring them in line."""
    return sum(
        1
        for query in captured.captured_queries
        if query["sql"].startswith("SELECT") and 'FROM "responses_endpointresult"' in query["sql"]
    )


@pytest.mark.parametrize("rows_each", [1, 6])
def test_the_import_rescores_each_participant_once_after_its_rows(
    data_manager, in_remission, study, site_a, tmp_path, rows_each, monkeypatch
):
    ParticipantFactory(study=study, site=site_a, participant_id="S01-002")
    computed: list[str] = []
    compute = response_services.compute_participant

    def counting(**arguments):
        computed.append(arguments["participant"].participant_id)
        return compute(**arguments)

    monkeypatch.setattr(response_services, "compute_participant", counting)
    # A taper, one day at each dose: a change of dose is a new course, so a row each.
    days = [f"2026-04-{day:02d}" for day in range(1, rows_each + 1)]
    rows = [
        {
            "participant_id": participant_id,
            "daily_dose_mg": str(20 - step),
            "start_date": day,
            "stop_date": day,
        }
        for participant_id in ("S01-001", "S01-002")
        for step, day in enumerate(days)
    ]
    with CaptureQueriesContext(connection) as captured:
        import_file(medications_file(tmp_path, *rows))
    assert MedicationCourse.objects.count() == 2 * rows_each
    assert sorted(computed) == ["S01-001", "S01-002"]
    assert rescorings(captured) == 1  # both participants' results read in one query
    assert stale_results() == []
