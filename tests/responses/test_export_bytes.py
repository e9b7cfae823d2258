"""The exports, byte for byte, against a straightforward reference built here: every visit read
as model instances and counted one by one, the obvious way (the selectors read plain values and
count in the database; the CSV columns are a contract, interchange.md, so not a byte may change).

The cohort is the analysis cohort (tests/responses/cohorts.py) with what the hand-counted tests
lack: a PGA and a SLEDAI-2K descriptor marked not done, an unscheduled visit, a visit before the
infusion date is known, and the study's out-of-window setting both ways.
"""

import csv
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from responses.exports import (
    RESPONSES_COLUMNS,
    ExportScope,
    format_two_decimals,
    write_cohort_csv,
    write_mitt_csv,
)
from responses.models import SRI_ENDPOINT_THRESHOLDS, Endpoint
from responses.scoring.analysis import (
    MITT_DENOMINATOR,
    MittCategory,
    MittParticipant,
    RecordedResult,
    mitt_category,
)
from responses.scoring.bicla import BICLA_IMPROVED_GRADES
from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.common import Outcome
from responses.scoring.sledai import SLEDAI_FIELDS
from responses.scoring.statistics import rate_and_interval
from responses.selectors.cohort import CohortRow, MittRow
from tests.factories import ParticipantRow, VisitRow, build_cohort, grades, record_visit
from tests.responses.cohorts import BASELINE_8, I1, RESPONDING
from trialsite.csvfiles import write_csv
from trialsite.models import NOT_DONE, Participant, Study, Visit, VisitDefinition

CUTS = [date(2024, 6, 30), date(2024, 4, 15)]


@pytest.fixture
def varied_cohort(study, analysis_cohort) -> Study:
    """The analysis cohort and four more participants (all at S01, infused 2024-03-01)."""
    baseline = VisitRow(-7, BASELINE_8, "2.00", grades(musculoskeletal="B"))
    follow_up = follow_up_grades()
    people = build_cohort(
        study,
        {
            "V01": ParticipantRow("S01", "F", 9, 100_000, enrolled=date(2024, 1, 2), infused=I1,
                                  visits={"BL": baseline}),
            "V02": ParticipantRow("S01", "M", 13, 300_000, enrolled=date(2024, 1, 2), infused=I1,
                                  visits={"BL": baseline}),
            "V03": ParticipantRow("S01", "F", 7, 30_000, enrolled=date(2024, 1, 2), infused=I1,
                                  visits={"BL": baseline,
                                          "M1": VisitRow(29, RESPONDING, bilag=follow_up)}),
            # Visits recorded before any infusion date: their study day is unknown.
            "V04": ParticipantRow("S01", "F", 16, None, enrolled=date(2024, 1, 2), infused=None,
                                  visits={"BL": VisitRow(date(2024, 2, 1), BASELINE_8, "2.00"),
                                          "M1": VisitRow(date(2024, 3, 4), RESPONDING)}),
        },
    )  # fmt: skip
    # Month 1 with its PGA not done; Month 3 with a descriptor not done (no SLEDAI-2K total).
    record_visit(
        people["V01"], "M1", I1 + timedelta(days=28), pga=None, sledai=RESPONDING,
        bilag=follow_up_grades(), not_done={"pga": "child asleep"},
    )  # fmt: skip
    answers: dict[str, bool | None] = {name: name in RESPONDING for name in SLEDAI_FIELDS}
    answers["rash"] = None
    record_visit(
        people["V01"], "M3", I1 + timedelta(days=90), sledai=answers,
        bilag=follow_up_grades(), not_done={"sledai_rash": "not examined"},
    )  # fmt: skip
    record_visit(
        people["V02"], "UNS", I1 + timedelta(days=45), sledai=RESPONDING, bilag=follow_up_grades()
    )
    return study


def follow_up_grades() -> dict[str, str]:
    """The analysis cohort's grades after baseline (musculoskeletal B -> D)."""
    return grades(musculoskeletal="D")


def exported(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def visits_by_the_cut(study: Study, as_of: date) -> list[Visit]:
    """Every visit dated by the cut of a participant enrolled by then, as instances."""
    return list(
        Visit.objects.filter(
            participant__study=study,
            participant__enrollment_date__lte=as_of,
            visit_date__lte=as_of,
        )
        .select_related("participant__site", "visit_definition", "score", "pga", "sledai", "bilag")
        .prefetch_related("endpoint_results", "not_done_answers")
    )


def study_day(visit: Visit) -> int | None:
    infusion = visit.participant.infusion_date
    return (visit.visit_date - infusion).days if infusion is not None else None


def out_of_window(visit: Visit) -> bool:
    return visit.visit_definition.is_in_window(study_day(visit)) is False


def result_of(visit: Visit, endpoint: str):
    return next((r for r in visit.endpoint_results.all() if r.endpoint == endpoint), None)


def assessed(visit: Visit) -> bool:
    """Any SLEDAI-2K answer, a PGA or a BILAG-2004 grade recorded, or an answer not done."""
    sledai = getattr(visit, "sledai", None)
    bilag = getattr(visit, "bilag", None)
    pga = getattr(visit, "pga", None)
    return (
        (pga is not None and pga.score is not None)
        or bool(visit.not_done_answers.all())
        or (sledai is not None and any(getattr(sledai, f) is not None for f in SLEDAI_FIELDS))
        or (bilag is not None and any(getattr(bilag, s) != "" for s in BILAG_SYSTEMS))
    )


def reference_responses_csv(study: Study, as_of: date) -> str:
    rows = []
    visits = sorted(
        visits_by_the_cut(study, as_of),
        key=lambda v: (
            v.participant.participant_id, v.visit_date, v.visit_definition.order, v.occurrence
        ),
    )  # fmt: skip
    for visit in visits:
        sri4 = result_of(visit, Endpoint.SRI4)
        if sri4 is None or not assessed(visit):
            continue
        pga = getattr(visit, "pga", None)
        pga_not_done = any(answer.answer == "pga" for answer in visit.not_done_answers.all())

        def outcome(endpoint: str, visit: Visit = visit) -> str:
            result = result_of(visit, endpoint)
            return result.outcome if result is not None else ""

        rows.append(
            (
                visit.participant.participant_id,
                visit.participant.site.code,
                visit.visit_definition.code,
                visit.visit_date,
                study_day(visit),
                visit.score.sledai_total if hasattr(visit, "score") else None,
                sri4.sledai_change,
                NOT_DONE if pga_not_done else format_two_decimals(pga.score if pga else None),
                format_two_decimals(sri4.pga_change),
                sri4.new_bilag_a,
                sri4.new_bilag_b,
                sri4.treatment_failure,
                sri4.outcome,
                outcome(Endpoint.SRI5),
                outcome(Endpoint.SRI6),
                sri4.reason,
                outcome(Endpoint.BICLA),
                outcome(Endpoint.LLDAS),
                outcome(Endpoint.DORIS),
                not out_of_window(visit),
                "all",
                "",
                as_of,
            )
        )
    out = StringIO()
    write_csv(out, RESPONSES_COLUMNS, rows)
    return out.getvalue()


def follow_up_definitions(study: Study) -> list[VisitDefinition]:
    assert study.baseline_visit is not None
    return list(
        VisitDefinition.objects.filter(
            study=study, repeatable=False, order__gt=study.baseline_visit.order
        ).order_by("order")
    )


def reference_observed_rows(study: Study, endpoint: str, as_of: date) -> list[CohortRow]:
    visits = visits_by_the_cut(study, as_of)
    rows = []
    for definition in follow_up_definitions(study):
        reached = evaluable = responders = outside = 0
        for visit in visits:
            if visit.visit_definition_id != definition.pk:
                continue
            if out_of_window(visit):
                outside += 1
                if study.exclude_out_of_window_visits:
                    continue
            reached += 1
            result = result_of(visit, endpoint)
            outcome = result.outcome if result is not None else None
            evaluable += outcome in (Outcome.RESPONDER, Outcome.NON_RESPONDER)
            responders += outcome == Outcome.RESPONDER
        rate, low, high = rate_and_interval(responders, evaluable)
        rows.append(
            CohortRow(
                definition.code, definition.name, reached, evaluable, responders, rate, low,
                high, outside,
            )
        )  # fmt: skip
    return rows


def excluded_at_baseline(participant: Participant, endpoint: str, as_of: date) -> bool:
    """Outside the endpoint's mITT set: for SRI-X a complete baseline SLEDAI-2K below X, for
    BICLA a complete baseline BILAG-2004 without A or B (clinical-rules.md 4a and 5)."""
    baseline = Visit.objects.filter(
        participant=participant,
        visit_definition=participant.study.baseline_visit,
        visit_date__lte=as_of,
    ).first()
    if baseline is None:
        return False
    threshold = SRI_ENDPOINT_THRESHOLDS.get(Endpoint(endpoint))
    if threshold is not None:
        total = baseline.score.sledai_total if hasattr(baseline, "score") else None
        return total is not None and total < threshold
    if endpoint == Endpoint.BICLA:
        bilag = getattr(baseline, "bilag", None)
        graded = [getattr(bilag, system) for system in BILAG_SYSTEMS] if bilag else []
        return all(graded) and not any(g in BICLA_IMPROVED_GRADES for g in graded)
    return False


def reference_mitt_rows(study: Study, endpoint: str, as_of: date) -> list[MittRow]:
    infused = Participant.objects.filter(
        study=study, enrollment_date__lte=as_of, infusion_date__lte=as_of
    ).select_related("study__baseline_visit")
    visits = visits_by_the_cut(study, as_of)
    rows = []
    for definition in follow_up_definitions(study):
        assert definition.window_high is not None
        counts = dict.fromkeys(MittCategory, 0)
        for participant in infused:
            assert participant.infusion_date is not None
            recorded = None
            for visit in visits:
                if (
                    visit.participant_id == participant.pk
                    and visit.visit_definition_id == definition.pk
                    and not (study.exclude_out_of_window_visits and out_of_window(visit))
                ):
                    result = result_of(visit, endpoint)
                    recorded = RecordedResult(
                        result.outcome if result else None,
                        result.treatment_failure if result else None,
                    )
            person = MittParticipant(
                participant.infusion_date,
                participant.treatment_failure_date,
                participant.withdrawal_date,
                excluded=excluded_at_baseline(participant, endpoint, as_of),
            )
            counts[
                mitt_category(
                    participant=person,
                    recorded=recorded,
                    window_high=definition.window_high,
                    as_of=as_of,
                )
            ] += 1
        denominator = sum(counts[category] for category in MITT_DENOMINATOR)
        rate, low, high = rate_and_interval(counts[MittCategory.RESPONDER], denominator)
        rows.append(
            MittRow(
                definition.code, definition.name, definition.window_high, denominator,
                counts[MittCategory.RESPONDER], counts[MittCategory.NON_RESPONDER],
                counts[MittCategory.TREATMENT_FAILURE], counts[MittCategory.INCOMPLETE],
                counts[MittCategory.MISSING], counts[MittCategory.EXCLUDED],
                counts[MittCategory.PENDING], rate, low, high,
            )
        )  # fmt: skip
    return rows


@pytest.fixture(params=[False, True], ids=["out-of-window-counted", "out-of-window-left-out"])
def cohort_with_setting(request, varied_cohort: Study) -> Study:
    varied_cohort.exclude_out_of_window_visits = request.param
    varied_cohort.save()
    return varied_cohort


@pytest.mark.parametrize("as_of", CUTS, ids=str)
def test_export_responses_writes_the_reference_bytes(cohort_with_setting, as_of):
    expected = reference_responses_csv(cohort_with_setting, as_of)
    assert expected.count("\n") > 5  # the reference itself finds the visits
    assert exported("export_responses", "--as-of", as_of.isoformat()) == expected


@pytest.mark.parametrize("as_of", CUTS, ids=str)
def test_export_cohort_writes_the_reference_bytes_of_both_sets(cohort_with_setting, as_of):
    study = cohort_with_setting
    for endpoint in Endpoint.values:
        scope = ExportScope(as_of=as_of, endpoint=endpoint)
        observed, mitt = StringIO(), StringIO()
        write_cohort_csv(observed, reference_observed_rows(study, endpoint, as_of), scope)
        write_mitt_csv(mitt, reference_mitt_rows(study, endpoint, as_of), scope)
        command = ("export_cohort", "--as-of", as_of.isoformat(), "--endpoint", endpoint)
        assert exported(*command) == observed.getvalue(), endpoint
        assert exported(*command, "--population", "mitt") == mitt.getvalue(), endpoint


def test_the_reference_cohort_holds_what_the_bytes_test_is_for(varied_cohort):
    # Each case the selectors read differently from the reference: a PGA and a descriptor not
    # done, an unscheduled visit, a study day unknown, a visit outside its window (P07 Month 1).
    written = reference_responses_csv(varied_cohort, CUTS[0])
    rows = {(row[0], row[2]): row for row in csv.reader(StringIO(written))}
    assert rows[("V01", "M1")][7] == NOT_DONE
    assert rows[("V01", "M3")][5] == ""  # no SLEDAI-2K total
    assert ("V02", "UNS") in rows
    assert rows[("V04", "M1")][4] == ""  # study day unknown: in window
    assert rows[("P07", "M1")][19] == "0"
    assert Decimal(rows[("P01", "M3")][8]) == Decimal("-1.00")
