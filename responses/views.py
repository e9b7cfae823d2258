"""Cohort reports, computed from the stored results of the user's sites.

Every page starts from ``participants_visible_to(request.user)``, narrows it with the filters in
the URL, and reads the stored results through responses.selectors as of the data cut in the URL
(``as_of``, default today; a bad one is refused with a message and no figure).
``?format=csv&table=...`` downloads a page's table with the same filters.
"""

from dataclasses import dataclass
from datetime import date
from typing import TypedDict

from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from responses import plots
from responses.exports import (
    MITT,
    OBSERVED,
    write_cohort_csv,
    write_mitt_csv,
    write_responses_csv,
)
from responses.models import Endpoint
from responses.reports import (
    AGE_BANDS,
    SEXES,
    FilterChoices,
    InvalidDataCut,
    ReportFilters,
    csv_response,
    endpoint_rule,
    export_scope,
    filter_description,
    headline_sentence,
    matrix_cell_labels,
    mitt_excluded_heading,
    mitt_exclusion_rule,
    report_filename,
    write_baseline_csv,
    write_not_infused_csv,
)
from responses.selectors import cohort
from responses.selectors.baseline import baseline_characteristics
from responses.selectors.common import latest_computed_at, scheduled_follow_up_definitions
from responses.selectors.matrix import (
    DEFAULT_MATRIX_SORT,
    MATRIX_PAGE_SIZE,
    MATRIX_SORTS,
    matrix_participants,
    response_matrix,
)
from responses.selectors.rows import response_rows
from responses.selectors.trajectories import bilag_grids, score_trajectories
from trialsite.http import AuthenticatedHttpRequest
from trialsite.models import Participant, Study
from trialsite.pagination import paginate, sort_columns, sort_order
from trialsite.selectors import (
    current_study,
    dose_levels,
    participants_visible_to,
    sites_visible_to,
    user_sees_all_sites,
)

CSV_TABLES = ("summary", "mitt", "not_infused", "matrix", "baseline")
#: Participants per page of the summary's list of the primary visit's results.
PRIMARY_RESULTS_PER_PAGE = 50


class AnalysisScope(TypedDict):
    """What every cohort query counts from: the study, the data cut and the participants."""

    study: Study
    as_of: date
    participants: QuerySet[Participant]


@dataclass(frozen=True)
class Report:
    """What every report page needs: the study, the filters and the participants they select.

    ``refused`` holds the message when the data cut in the URL is not a date the site can report
    as of: the page then shows the filters and the message, and no figure.
    """

    study: Study
    filters: ReportFilters
    participants: QuerySet[Participant]
    context: dict
    refused: str | None = None


def _report(request: AuthenticatedHttpRequest, page: str) -> Report:
    study = current_study()
    choices = FilterChoices(
        sites=tuple(site.code for site in sites_visible_to(request.user)),
        doses=tuple(dose_levels(request.user)),
        visits=tuple(scheduled_follow_up_definitions(study)),
        all_sites=user_sees_all_sites(request.user),
    )
    refused = None
    try:
        filters = ReportFilters.from_query(request.GET, choices)
    except InvalidDataCut as error:
        refused = str(error)
        filters = ReportFilters.ignoring_data_cut(request.GET, choices)
    participants = filters.apply(participants_visible_to(request.user).filter(study=study))
    context = {
        "page": page,
        "study": study,
        "filters": filters,
        "choices": choices,
        "endpoints": Endpoint.choices,
        "sexes": SEXES,
        "age_bands": AGE_BANDS,
        "filter_description": filter_description(filters),
        "generated_at": timezone.localtime(),
        "today": timezone.localdate(),
        "data_cut_refused": refused,
        "as_of_entered": request.GET.get("as_of", ""),
        "csv_query": {table: filters.csv_querystring(table) for table in CSV_TABLES},
    }
    if refused is None and not _wants_csv(request):
        context["latest_computed_at"] = latest_computed_at(participants)
    return Report(study, filters, participants, context, refused)


def _refused(request: AuthenticatedHttpRequest, report: Report) -> HttpResponse:
    """Answer a bad data cut with the filters and the message (400), never a figure."""
    return render(request, "responses/report_refused.html", report.context, status=400)


def _wants_csv(request: AuthenticatedHttpRequest) -> bool:
    return request.GET.get("format") == "csv"


def cohort_summary(request: AuthenticatedHttpRequest) -> HttpResponse:
    report = _report(request, "summary")
    if report.refused is not None:
        return _refused(request, report)
    study, filters = report.study, report.filters
    endpoint, as_of = filters.endpoint, filters.as_of
    sets: AnalysisScope = {"study": study, "as_of": as_of, "participants": report.participants}
    if _wants_csv(request):
        return _cohort_csv(request.GET.get("table"), filters, sets)
    rows = cohort.cohort_summary(endpoint=endpoint, **sets)
    mitt = cohort.mitt_summary(endpoint=endpoint, **sets)
    not_infused = cohort.not_infused(**sets)
    primary = study.primary_visit
    primary_row = next((row for row in rows if primary and row.visit == primary.code), None)
    primary_results = []
    if primary is not None:
        primary_results = cohort.results_at(visit_definition=primary, endpoint=endpoint, **sets)
    not_evaluable = cohort.not_evaluable_among(primary_results)
    left_out = 0
    if primary_row is not None and study.exclude_out_of_window_visits:
        left_out = primary_row.out_of_window
    return render(
        request,
        "responses/cohort_summary.html",
        {
            **report.context,
            "rows": rows,
            "mitt": mitt,
            "not_infused": not_infused,
            "headline": headline_sentence(
                primary_row, endpoint, not_evaluable=not_evaluable, out_of_window_left_out=left_out
            ),
            "endpoint_rule": endpoint_rule(endpoint),
            "mitt_exclusion_rule": mitt_exclusion_rule(mitt, filters.endpoint_label),
            "mitt_excluded_heading": mitt_excluded_heading(mitt, filters.endpoint_label),
            "not_evaluable": not_evaluable,
            # Not "page": report_base.html names the report's tab so.
            "primary_results": paginate(request, primary_results, PRIMARY_RESULTS_PER_PAGE),
            "rate_plot": plots.response_rate_plot(rows, mitt.rows, endpoint),
        },
    )


def _cohort_csv(table: str | None, filters: ReportFilters, sets: AnalysisScope) -> HttpResponse:
    """Download one table of the cohort summary: ``mitt``, ``not_infused``, else the observed."""
    endpoint = filters.endpoint
    if table == "mitt":
        mitt_rows = cohort.mitt_summary(endpoint=endpoint, **sets).rows
        return csv_response(
            report_filename("cohort", filters, endpoint=True, population=MITT),
            lambda out: write_mitt_csv(out, mitt_rows, export_scope(filters, endpoint=True)),
        )
    if table == "not_infused":
        not_infused = cohort.not_infused(**sets)
        return csv_response(
            report_filename("not-infused", filters),
            lambda out: write_not_infused_csv(out, not_infused, export_scope(filters)),
        )
    rows = cohort.cohort_summary(endpoint=endpoint, **sets)
    return csv_response(
        report_filename("cohort", filters, endpoint=True, population=OBSERVED),
        lambda out: write_cohort_csv(out, rows, export_scope(filters, endpoint=True)),
    )


def report_matrix(request: AuthenticatedHttpRequest) -> HttpResponse:
    report = _report(request, "matrix")
    if report.refused is not None:
        return _refused(request, report)
    as_of = report.filters.as_of
    if _wants_csv(request):
        rows = response_rows(study=report.study, as_of=as_of, participants=report.participants)
        return csv_response(
            report_filename("responses", report.filters),
            lambda out: write_responses_csv(out, rows, export_scope(report.filters)),
        )
    sort, order_by = sort_order(request, MATRIX_SORTS, DEFAULT_MATRIX_SORT)
    people = matrix_participants(
        study=report.study, as_of=as_of, participants=report.participants, order_by=order_by
    )
    matrix_page = paginate(request, people, MATRIX_PAGE_SIZE)
    matrix = response_matrix(
        study=report.study, endpoint=report.filters.endpoint, as_of=as_of, people=matrix_page
    )
    return render(
        request,
        "responses/report_matrix.html",
        {
            **report.context,
            "matrix": matrix,
            # Not "page": report_base.html names the report's tab so.
            "matrix_page": matrix_page,
            "sort_columns": sort_columns(request, list(MATRIX_SORTS), sort),
            "endpoint_rule": endpoint_rule(report.filters.endpoint),
            "cell_labels": matrix_cell_labels(),
        },
    )


def report_baseline(request: AuthenticatedHttpRequest) -> HttpResponse:
    report = _report(request, "baseline")
    if report.refused is not None:
        return _refused(request, report)
    table = baseline_characteristics(
        study=report.study, as_of=report.filters.as_of, participants=report.participants
    )
    if _wants_csv(request):
        return csv_response(
            report_filename("baseline", report.filters),
            lambda out: write_baseline_csv(out, table, export_scope(report.filters)),
        )
    return render(request, "responses/report_baseline.html", {**report.context, "table": table})


def report_plots(request: AuthenticatedHttpRequest) -> HttpResponse:
    report = _report(request, "plots")
    if report.refused is not None:
        return _refused(request, report)
    study, filters = report.study, report.filters
    chosen = next(
        (v for v in report.context["choices"].visits if v.code == filters.visit),
        study.primary_visit,
    )
    trajectories = score_trajectories(
        study=study, as_of=filters.as_of, participants=report.participants
    )
    baseline_grid, visit_grid = bilag_grids(
        study=study,
        as_of=filters.as_of,
        participants=report.participants,
        visit_definition=chosen,
    )
    return render(
        request,
        "responses/report_plots.html",
        {
            **report.context,
            "chosen_visit": chosen,
            "sledai_plot": plots.sledai_plot(trajectories.sledai),
            "pga_plot": plots.pga_plot(trajectories.pga),
            "bilag_plot": plots.bilag_heatmap(baseline_grid, visit_grid),
        },
    )
