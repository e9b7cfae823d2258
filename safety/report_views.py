"""The safety report (reports/safety/): CRS and ICANS of the infused participants as of a data cut.

A tab of the cohort reports: the same filters in the URL (site, dose level, sex, age band and
the data cut ``as_of``; a bad cut is refused with a message and no figure), applied to
``participants_visible_to(request.user)``, so a coordinator sees only their sites.
``?format=csv&table=safety`` (or ``safety_summary``) downloads the export of the filtered set.
The adverse events of the same participants are counted by term and worst grade.
The page also shows the B cells of the same participants (safety.b_cells): a plot of the CD19+
counts over study day and each one's aplasia and reconstitution, from the visits dated on or
before the cut.
"""

from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from responses.reports import (
    AGE_BANDS,
    SEXES,
    FilterChoices,
    InvalidDataCut,
    ReportFilters,
    csv_response,
    report_filename,
)
from responses.selectors.common import scheduled_follow_up_definitions
from safety.b_cells import b_cell_report, b_cell_sentence
from safety.exports import write_safety_csv, write_safety_summary_csv
from safety.plots import b_cell_plot
from safety.selectors import (
    EpisodeKind,
    adverse_event_table,
    latest_episode_change,
    safety_sentences,
    safety_summary,
)
from trialsite.http import AuthenticatedHttpRequest
from trialsite.models import dose_label
from trialsite.pagination import paginate
from trialsite.selectors import (
    current_study,
    dose_levels,
    participants_visible_to,
    sites_visible_to,
    user_sees_all_sites,
)

PAGE = "safety"
#: The downloads of the page: the query's ``table`` -> the file it writes.
CSV_TABLES = ("safety", "safety_summary")
#: Infused participants a page lists, in both per-participant tables (episodes and B cells).
PARTICIPANTS_PER_PAGE = 50
VIEW_PERMISSIONS = ("safety.view_crsepisode", "safety.view_icansepisode")


def filters_in_force(filters: ReportFilters) -> list[tuple[str, str]]:
    """Describe the filters that apply to the safety report, for the printed report's header
    (the endpoint does not apply to it)."""
    everyone = _("all")
    dose = dose_label(filters.dose) if filters.dose is not None else everyone
    return [
        (_("Data cut"), filters.as_of.isoformat()),
        (_("Site"), filters.sites_label),
        (_("Dose level"), dose),
        (_("Sex"), str(SEXES[filters.sex]) if filters.sex else everyone),
        (_("Age band"), filters.age or everyone),
    ]


@permission_required(VIEW_PERMISSIONS, raise_exception=True)
def safety_report(request: AuthenticatedHttpRequest) -> HttpResponse:
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
    context = {
        "page": PAGE,
        "study": study,
        "filters": filters,
        "choices": choices,
        "endpoints": (),  # no endpoint applies: the filter keeps the one chosen for the tabs
        "sexes": SEXES,
        "age_bands": AGE_BANDS,
        "filter_description": filters_in_force(filters),
        "generated_at": timezone.localtime(),
        "today": timezone.localdate(),
        "data_cut_refused": refused,
        "as_of_entered": request.GET.get("as_of", ""),
        "csv_query": {table: filters.csv_querystring(table) for table in CSV_TABLES},
    }
    if refused is not None:
        return render(request, "responses/report_refused.html", context, status=400)
    participants = filters.apply(participants_visible_to(request.user).filter(study=study))
    summary = safety_summary(participants=participants, as_of=filters.as_of)
    if request.GET.get("format") == "csv":
        if request.GET.get("table") == "safety_summary":
            return csv_response(
                report_filename("safety_summary", filters),
                lambda out: write_safety_summary_csv(out, summary.counts),
            )
        return csv_response(
            report_filename("safety", filters), lambda out: write_safety_csv(out, summary.episodes)
        )
    crs, icans = EpisodeKind.CRS, EpisodeKind.ICANS
    b_cells = b_cell_report(
        participants=participants,
        as_of=filters.as_of,
        threshold_per_ul=study.b_cell_aplasia_threshold_per_ul,
    )
    return render(
        request,
        "safety/report_safety.html",
        {
            **context,
            "latest_computed_at": latest_episode_change(participants),
            "summary": summary,
            "sentences": safety_sentences(summary),
            "grade_rows": list(zip(summary.counts_of(crs), summary.counts_of(icans), strict=True)),
            "adverse_events": adverse_event_table(participants=participants, summary=summary),
            "b_cells": b_cells,
            # Both tables list the infused participants by ID: one page number turns both.
            "participant_page": paginate(request, summary.participants, PARTICIPANTS_PER_PAGE),
            "b_cell_page": paginate(request, b_cells.rows, PARTICIPANTS_PER_PAGE),
            "b_cell_sentence": b_cell_sentence(b_cells),
            "b_cell_plot": b_cell_plot(b_cells.trajectories, b_cells.threshold_per_ul),
        },
    )
