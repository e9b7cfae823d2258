"""The raw SQL reads a benchmark sets beside each report: for each, the one SELECT of the rows and
columns the report uses, fetched whole (``fetchall``), with nothing built from them. A report's
time over its raw read's says how much the report adds to merely reading its data.

Never called by the site: the reports read through the selectors. Each read takes the study and
the data cut (every site, no other filter, as ``export_responses`` and ``export_cohort`` do) and
returns how many rows it fetched; the endpoint, where the report has one, is SRI-4 unless given.
Table and column names come from the models, so the reads follow the schema.
"""

from collections.abc import Callable
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import Model

from responses.models import Endpoint, EndpointResult, VisitScore
from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.sledai import SLEDAI_FIELDS
from responses.selectors.matrix import MATRIX_PAGE_SIZE
from trialsite.models import (
    BilagAssessment,
    EntryStatus,
    NotDoneAnswer,
    Participant,
    PgaAssessment,
    Site,
    SledaiAssessment,
    Study,
    Visit,
    VisitDefinition,
)

#: A raw read: (study, data cut) -> the number of rows fetched.
RawRead = Callable[[Study, date], int]


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(alias: str, name: str) -> str:
    return f"{alias}.{connection.ops.quote_name(name)}"


def _fetch(sql: str, params: list[Any]) -> int:
    """Run the SELECT and fetch every row; return how many."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return len(cursor.fetchall())


def _follow_up(study: Study) -> tuple[str, list[Any]]:
    """The condition on ``d`` (the visit's definition) of a scheduled visit after baseline."""
    baseline = study.baseline_visit
    after = baseline.order if baseline is not None else -1
    return f"d.repeatable = %s AND {_column('d', 'order')} > %s", [False, after]


def read_response_rows(study: Study, as_of: date) -> int:
    """Read what responses.csv shows (``export_responses`` and the matrix's CSV download): each
    visit dated by the cut with a stored SRI-4 result and any assessment, one row per visit,
    with its participant, site, visit code, date, infusion date, SLEDAI-2K total, PGA or PGA
    not done, SRI-4's outcome, reason and components and the other endpoints' outcomes, by
    participant and date."""
    others = [endpoint for endpoint in Endpoint.values if endpoint != Endpoint.SRI4]
    other_joins = "\n".join(
        f"LEFT JOIN {_table(EndpointResult)} r_{endpoint} "
        f"ON r_{endpoint}.visit_id = v.id AND r_{endpoint}.endpoint = %s"
        for endpoint in others
    )
    any_assessment = " OR ".join(
        [
            "pga.score IS NOT NULL",
            f"EXISTS (SELECT 1 FROM {_table(NotDoneAnswer)} a WHERE a.visit_id = v.id)",
            *(f"{_column('sl', name)} IS NOT NULL" for name in SLEDAI_FIELDS),
            *(f"{_column('b', system)} <> ''" for system in BILAG_SYSTEMS),
        ]
    )
    sql = f"""
        SELECT p.participant_id, s.code, d.code, v.visit_date, p.infusion_date,
               sc.sledai_total, pga.score, nd.id, r.outcome, r.reason, r.sledai_change,
               r.pga_change, r.new_bilag_a, r.new_bilag_b, r.treatment_failure,
               {", ".join(f"r_{endpoint}.outcome" for endpoint in others)}
        FROM {_table(Visit)} v
        JOIN {_table(Participant)} p ON p.id = v.participant_id
        JOIN {_table(Site)} s ON s.id = p.site_id
        JOIN {_table(VisitDefinition)} d ON d.id = v.visit_definition_id
        JOIN {_table(EndpointResult)} r ON r.visit_id = v.id AND r.endpoint = %s
        {other_joins}
        LEFT JOIN {_table(VisitScore)} sc ON sc.visit_id = v.id
        LEFT JOIN {_table(PgaAssessment)} pga ON pga.visit_id = v.id
        LEFT JOIN {_table(NotDoneAnswer)} nd ON nd.visit_id = v.id AND nd.answer = %s
        LEFT JOIN {_table(SledaiAssessment)} sl ON sl.visit_id = v.id
        LEFT JOIN {_table(BilagAssessment)} b ON b.visit_id = v.id
        WHERE p.study_id = %s AND p.enrollment_date <= %s AND v.visit_date <= %s
          AND ({any_assessment})
        ORDER BY p.participant_id, v.visit_date, {_column("d", "order")}, v.occurrence
    """
    params = [Endpoint.SRI4, *others, "pga", study.pk, as_of, as_of]
    return _fetch(sql, params)


def read_cohort_visits(study: Study, as_of: date, endpoint: str = Endpoint.SRI4) -> int:
    """Read what the observed set counts (``export_cohort``, cohort.csv): each scheduled visit
    after baseline dated by the cut, with its visit, date, the participant's infusion date and
    the endpoint's stored outcome."""
    follow_up, follow_up_params = _follow_up(study)
    sql = f"""
        SELECT v.visit_definition_id, v.visit_date, p.infusion_date, r.outcome
        FROM {_table(Visit)} v
        JOIN {_table(Participant)} p ON p.id = v.participant_id
        JOIN {_table(VisitDefinition)} d ON d.id = v.visit_definition_id
        LEFT JOIN {_table(EndpointResult)} r ON r.visit_id = v.id AND r.endpoint = %s
        WHERE p.study_id = %s AND p.enrollment_date <= %s AND v.visit_date <= %s
          AND {follow_up}
    """
    return _fetch(sql, [endpoint, study.pk, as_of, as_of, *follow_up_params])


def read_mitt_cells(study: Study, as_of: date, endpoint: str = Endpoint.SRI4) -> int:
    """Read what the infused (mITT) set classifies (``export_cohort --population mitt``): each
    participant infused by the cut, with the infusion, treatment-failure and withdrawal dates,
    and each of their scheduled visits after baseline dated by the cut with its date and the
    endpoint's stored outcome and treatment-failure flag."""
    follow_up, follow_up_params = _follow_up(study)
    sql = f"""
        SELECT p.id, p.infusion_date, p.treatment_failure_date, p.withdrawal_date,
               v.visit_definition_id, v.visit_date, r.outcome, r.treatment_failure
        FROM {_table(Participant)} p
        LEFT JOIN {_table(Visit)} v ON v.participant_id = p.id AND v.visit_date <= %s
             AND v.visit_definition_id IN (
                 SELECT d.id FROM {_table(VisitDefinition)} d WHERE d.study_id = %s
                 AND {follow_up})
        LEFT JOIN {_table(EndpointResult)} r ON r.visit_id = v.id AND r.endpoint = %s
        WHERE p.study_id = %s AND p.enrollment_date <= %s AND p.infusion_date <= %s
    """
    params = [as_of, study.pk, *follow_up_params, endpoint, study.pk, as_of, as_of]
    return _fetch(sql, params)


def read_cohort_summary(study: Study, as_of: date, endpoint: str = Endpoint.SRI4) -> int:
    """Read what the cohort summary page shows: each participant enrolled by the cut (ID, site,
    infusion, treatment-failure and withdrawal dates, reason not infused) with each of their
    scheduled visits after baseline dated by the cut: its visit, date, and the endpoint's stored
    outcome, treatment-failure flag and reason."""
    follow_up, follow_up_params = _follow_up(study)
    sql = f"""
        SELECT p.id, p.participant_id, s.code, p.infusion_date, p.treatment_failure_date,
               p.withdrawal_date, p.not_infused_reason, v.visit_definition_id, v.visit_date,
               r.outcome, r.treatment_failure, r.reason_parts
        FROM {_table(Participant)} p
        JOIN {_table(Site)} s ON s.id = p.site_id
        LEFT JOIN {_table(Visit)} v ON v.participant_id = p.id AND v.visit_date <= %s
             AND v.visit_definition_id IN (
                 SELECT d.id FROM {_table(VisitDefinition)} d WHERE d.study_id = %s
                 AND {follow_up})
        LEFT JOIN {_table(EndpointResult)} r ON r.visit_id = v.id AND r.endpoint = %s
        WHERE p.study_id = %s AND p.enrollment_date <= %s
    """
    params = [as_of, study.pk, *follow_up_params, endpoint, study.pk, as_of]
    return _fetch(sql, params)


def read_matrix_page(study: Study, as_of: date, endpoint: str = Endpoint.SRI4) -> int:
    """Read what the response matrix's first page shows: the first participants by ID enrolled
    by the cut (a page of them), with each of their scheduled visits dated by the cut: its
    date, SLEDAI-2K total, PGA and the endpoint's stored result with its components."""
    sql = f"""
        SELECT p.id, p.participant_id, s.code, p.dose_cells_per_kg, p.infusion_date,
               v.visit_definition_id, v.visit_date, sc.sledai_total, pga.score, r.outcome,
               r.sledai_change, r.new_bilag_a, r.new_bilag_b, r.pga_change,
               r.bilag_not_improved, r.prednisolone_mg, r.treatment_failure, r.reason_parts
        FROM (
            SELECT id, participant_id, site_id, dose_cells_per_kg, infusion_date
            FROM {_table(Participant)}
            WHERE study_id = %s AND enrollment_date <= %s
            ORDER BY participant_id LIMIT %s
        ) p
        JOIN {_table(Site)} s ON s.id = p.site_id
        LEFT JOIN {_table(Visit)} v ON v.participant_id = p.id AND v.visit_date <= %s
             AND v.visit_definition_id IN (
                 SELECT d.id FROM {_table(VisitDefinition)} d
                 WHERE d.study_id = %s AND d.repeatable = %s)
        LEFT JOIN {_table(VisitScore)} sc ON sc.visit_id = v.id
        LEFT JOIN {_table(PgaAssessment)} pga ON pga.visit_id = v.id
        LEFT JOIN {_table(EndpointResult)} r ON r.visit_id = v.id AND r.endpoint = %s
        ORDER BY p.participant_id
    """
    params = [study.pk, as_of, MATRIX_PAGE_SIZE, as_of, study.pk, False, endpoint]
    return _fetch(sql, params)


def read_baseline(study: Study, as_of: date) -> int:
    """Read what the baseline characteristics describe: each participant enrolled by the cut
    (age, sex, dose) with their complete baseline visit dated by the cut: its SLEDAI-2K total,
    PGA and nine BILAG-2004 grades."""
    grades = ", ".join(_column("b", system) for system in BILAG_SYSTEMS)
    sql = f"""
        SELECT p.id, p.age_at_enrollment, p.sex, p.dose_cells_per_kg, sc.sledai_total,
               pga.score, {grades}
        FROM {_table(Participant)} p
        LEFT JOIN {_table(Visit)} v ON v.participant_id = p.id AND v.visit_definition_id = %s
             AND v.entry_status = %s AND v.visit_date <= %s
        LEFT JOIN {_table(VisitScore)} sc ON sc.visit_id = v.id
        LEFT JOIN {_table(PgaAssessment)} pga ON pga.visit_id = v.id
        LEFT JOIN {_table(BilagAssessment)} b ON b.visit_id = v.id
        WHERE p.study_id = %s AND p.enrollment_date <= %s
    """
    params = [study.baseline_visit_id, EntryStatus.COMPLETE, as_of, study.pk, as_of]
    return _fetch(sql, params)


#: Each report's raw read, by the name the benchmark gives the report.
RAW_READS: dict[str, RawRead] = {
    "responses.csv": read_response_rows,
    "cohort.csv": read_cohort_visits,
    "cohort.csv (mITT)": read_mitt_cells,
    "cohort summary": read_cohort_summary,
    "response matrix": read_matrix_page,
    "baseline characteristics": read_baseline,
}
