"""Cohort reports, computed from the stored results of the user's sites.

Every page starts from ``participants_visible_to(request.user)``, narrows it with the filters in
the URL, and reads the stored results through responses.selectors. ``?format=csv&table=...``
downloads a page's table with the same filters.
"""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from responses import plots, selectors
from responses.exports import write_cohort_csv, write_responses_csv
from responses.models import Endpoint
from responses.reports import (
    AGE_BANDS,
    SEXES,
    FilterChoices,
    ReportFilters,
    csv_response,
    filter_description,
    headline_sentence,
    is_whole_number,
    write_baseline_csv,
    write_itt_csv,
)
from trialsite.models import Participant, Study
from trialsite.selectors import dose_levels, participants_visible_to, sites_visible_to

CSV_TABLES = ("summary", "itt", "matrix", "baseline")


@dataclass(frozen=True)
class Report:
    """What every report page needs: the study, the filters and the participants they select."""

    study: Study
    filters: ReportFilters
    participants: QuerySet[Participant]
    context: dict


def _report(request: HttpRequest, page: str) -> Report:
    study = selectors.current_study()
    choices = FilterChoices(
        sites=tuple(site.code for site in sites_visible_to(request.user)),
        doses=tuple(dose_levels(request.user)),
        visits=tuple(selectors.scheduled_follow_up_definitions(study)),
    )
    filters = ReportFilters.from_query(request.GET, choices)
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
        "data_cut": selectors.data_cut(participants),
        "csv_query": {table: filters.csv_querystring(table) for table in CSV_TABLES},
    }
    return Report(study, filters, participants, context)


def _wants_csv(request: HttpRequest) -> bool:
    return request.GET.get("format") == "csv"


def cohort_summary(request: HttpRequest) -> HttpResponse:
    report = _report(request, "summary")
    study, endpoint = report.study, report.filters.endpoint
    rows = selectors.cohort_summary(
        study=study, endpoint=endpoint, participants=report.participants
    )
    itt = selectors.itt_summary(
        study=study,
        endpoint=endpoint,
        participants=report.participants,
        today=timezone.localdate(),
    )
    if _wants_csv(request):
        if request.GET.get("table") == "itt":
            return csv_response("itt.csv", lambda out: write_itt_csv(out, itt))
        return csv_response("cohort.csv", lambda out: write_cohort_csv(out, rows))
    primary = study.primary_visit
    primary_row = next((row for row in rows if primary and row.visit == primary.code), None)
    not_evaluable = []
    if primary is not None:
        not_evaluable = selectors.not_evaluable_at(
            visit_definition=primary, endpoint=endpoint, participants=report.participants
        )
    return render(
        request,
        "responses/cohort_summary.html",
        {
            **report.context,
            "rows": rows,
            "itt": itt,
            "headline": headline_sentence(primary_row, report.filters.endpoint_label),
            "not_evaluable": not_evaluable,
            "rate_plot": plots.response_rate_plot(rows, itt, report.filters.endpoint_label),
        },
    )


def report_matrix(request: HttpRequest) -> HttpResponse:
    report = _report(request, "matrix")
    if _wants_csv(request):
        rows = selectors.response_rows(study=report.study, participants=report.participants)
        return csv_response("responses.csv", lambda out: write_responses_csv(out, rows))
    page = request.GET.get("page", "")
    matrix = selectors.response_matrix(
        study=report.study,
        endpoint=report.filters.endpoint,
        participants=report.participants,
        page=int(page) if is_whole_number(page) else 1,
    )
    return render(
        request,
        "responses/report_matrix.html",
        {**report.context, "matrix": matrix, "page_numbers": range(1, matrix.page_count + 1)},
    )


def report_baseline(request: HttpRequest) -> HttpResponse:
    report = _report(request, "baseline")
    table = selectors.baseline_characteristics(study=report.study, participants=report.participants)
    if _wants_csv(request):
        return csv_response("baseline.csv", lambda out: write_baseline_csv(out, table))
    return render(request, "responses/report_baseline.html", {**report.context, "table": table})


def report_plots(request: HttpRequest) -> HttpResponse:
    report = _report(request, "plots")
    study, filters = report.study, report.filters
    chosen = next(
        (v for v in report.context["choices"].visits if v.code == filters.visit),
        study.primary_visit,
    )
    trajectories = selectors.score_trajectories(study=study, participants=report.participants)
    baseline_grid, visit_grid = selectors.bilag_grids(
        study=study, participants=report.participants, visit_definition=chosen
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
