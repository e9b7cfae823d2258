"""What the report pages share: filters read from the URL, the headline sentence, CSV responses.

Filters travel in the query string (``site``, ``dose``, ``sex``, ``age``, ``endpoint``,
``visit``) so that a report can be bookmarked and shared. A value that is not one of the
choices offered to the user is ignored (the filter is off), never an error.
"""

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TextIO
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import HttpResponse, QueryDict
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from responses.exports import format_two_decimals, write_csv
from responses.models import Endpoint
from responses.selectors import BaselineGroup, BaselineTable, CohortRow, IttRow, whole_percents
from trialsite.models import Participant, VisitDefinition
from trialsite.templatetags.trial import dose as dose_label

#: Pediatric age bands at enrolment (whole years): key -> (youngest, oldest), both included.
AGE_BANDS: dict[str, tuple[int, int]] = {
    "<6": (0, 5),
    "6-11": (6, 11),
    "12-17": (12, 17),
    "18-21": (18, 21),
}
SEXES = dict(Participant.Sex.choices)


@dataclass(frozen=True)
class FilterChoices:
    """What a user may filter on: their sites, the doses given there, the scheduled visits."""

    sites: tuple[str, ...]
    doses: tuple[int, ...]
    visits: tuple[VisitDefinition, ...]


@dataclass(frozen=True)
class ReportFilters:
    """The report's filters; None (or the default endpoint/visit) means not filtered."""

    site: str | None = None
    dose: int | None = None
    sex: str | None = None
    age: str | None = None
    endpoint: str = Endpoint.SRI4.value
    visit: str | None = None

    @classmethod
    def from_query(cls, query: QueryDict, choices: FilterChoices) -> "ReportFilters":
        """Read the filters from a query string, ignoring any value not offered."""
        site = query.get("site") or None
        dose = query.get("dose", "")
        sex = query.get("sex") or None
        age = query.get("age") or None
        endpoint = query.get("endpoint", "")
        visit = query.get("visit") or None
        return cls(
            site=site if site in choices.sites else None,
            dose=int(dose) if is_whole_number(dose) and int(dose) in choices.doses else None,
            sex=sex if sex in SEXES else None,
            age=age if age in AGE_BANDS else None,
            endpoint=endpoint if endpoint in Endpoint.values else Endpoint.SRI4.value,
            visit=visit if visit in {v.code for v in choices.visits} else None,
        )

    def apply(self, participants: QuerySet[Participant]) -> QuerySet[Participant]:
        """Restrict participants (already bounded to the user's sites) to the filters."""
        if self.site is not None:
            participants = participants.filter(site__code=self.site)
        if self.dose is not None:
            participants = participants.filter(dose_cells_per_kg=self.dose)
        if self.sex is not None:
            participants = participants.filter(sex=self.sex)
        if self.age is not None:
            youngest, oldest = AGE_BANDS[self.age]
            participants = participants.filter(
                age_at_enrollment__gte=youngest, age_at_enrollment__lte=oldest
            )
        return participants

    def as_params(self) -> dict[str, str]:
        """Return the filters that are set, as query-string parameters."""
        params = {
            "site": self.site,
            "dose": str(self.dose) if self.dose is not None else None,
            "sex": self.sex,
            "age": self.age,
            "endpoint": self.endpoint if self.endpoint != Endpoint.SRI4 else None,
            "visit": self.visit,
        }
        return {key: value for key, value in params.items() if value is not None}

    @property
    def querystring(self) -> str:
        """Return "?..." carrying the filters (or "" when none is set), for links."""
        params = self.as_params()
        return "?" + urlencode(params) if params else ""

    def csv_querystring(self, table: str) -> str:
        """Return the query string of a table's CSV download with the same filters."""
        return "?" + urlencode({**self.as_params(), "format": "csv", "table": table})

    @property
    def endpoint_label(self) -> str:
        return str(Endpoint(self.endpoint).label)

    def without(self, name: str) -> "ReportFilters":
        return replace(self, **{name: None})


def filter_description(filters: ReportFilters) -> list[tuple[str, str]]:
    """Describe the filters in force, label and value, for the printed report's header."""
    described = [(str(_("Endpoint")), filters.endpoint_label)]
    described.append((str(_("Site")), filters.site or str(_("all"))))
    described.append(
        (
            str(_("Dose level")),
            dose_label(filters.dose) if filters.dose is not None else str(_("all")),
        )
    )
    described.append((str(_("Sex")), str(SEXES[filters.sex]) if filters.sex else str(_("all"))))
    described.append((str(_("Age band")), filters.age or str(_("all"))))
    return described


def is_whole_number(text: str) -> bool:
    """Say whether a query value is a plain whole number ("²" is a digit but not a number)."""
    return text.isascii() and text.isdigit()


def headline_sentence(row: CohortRow | None, endpoint_label: str) -> str:
    """State the primary timepoint's result as the investigators write it.

    "4 of 5 participants with follow-up reaching Month 3 achieved SRI-4 (80%; 95% CI 28-99%)":
    responders of evaluable participants at the visit, the rate and the exact interval rounded
    to whole percents.
    """
    if row is None:
        return str(_("The study has no primary timepoint; set one in the study's settings."))
    if row.evaluable == 0:
        return str(
            _("No participant with follow-up reaching %(visit)s is evaluable for %(endpoint)s yet.")
            % {"visit": row.visit_name, "endpoint": endpoint_label}
        )
    rate, low, high = whole_percents(row.responders, row.evaluable)
    return ngettext(
        "%(responders)s of %(evaluable)s participant with follow-up reaching %(visit)s "
        "achieved %(endpoint)s (%(rate)s%%; 95%% CI %(low)s-%(high)s%%)",
        "%(responders)s of %(evaluable)s participants with follow-up reaching %(visit)s "
        "achieved %(endpoint)s (%(rate)s%%; 95%% CI %(low)s-%(high)s%%)",
        row.evaluable,
    ) % {
        "responders": row.responders,
        "evaluable": row.evaluable,
        "visit": row.visit_name,
        "endpoint": endpoint_label,
        "rate": rate,
        "low": low,
        "high": high,
    }


def csv_response(filename: str, write: Callable[[TextIO], None]) -> HttpResponse:
    """Return a CSV download that ``write`` fills through responses.exports."""
    buffer = io.StringIO()
    write(buffer)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


ITT_COLUMNS: tuple[str, ...] = (
    "visit",
    "denominator",
    "responders",
    "non_responders",
    "not_evaluable",
    "missing",
    "withdrawn",
    "treatment_failure",
    "rate",
    "ci_low",
    "ci_high",
)
BASELINE_COLUMNS: tuple[str, ...] = (
    "group",
    "n",
    "age_median",
    "age_min",
    "age_max",
    "female",
    "male",
    "sledai2k_median",
    "sledai2k_min",
    "sledai2k_max",
    "pga_median",
    "pga_min",
    "pga_max",
    "bilag_a_systems",
    "bilag_b_systems",
    "baseline_missing",
)


def write_itt_csv(out: TextIO, rows: Iterable[IttRow]) -> None:
    """Write the intention-to-treat counts per visit (rates and limits with four decimals)."""
    write_csv(
        out,
        ITT_COLUMNS,
        (
            (
                row.visit,
                row.denominator,
                row.responders,
                row.non_responders,
                row.not_evaluable,
                row.missing,
                row.withdrawn,
                row.treatment_failure,
                row.rate,
                row.ci_low,
                row.ci_high,
            )
            for row in rows
        ),
    )


def _group_name(group: BaselineGroup) -> str:
    if group.is_overall:
        return "overall"
    if group.dose_cells_per_kg is None:
        return "no dose recorded"
    return str(group.dose_cells_per_kg)


def write_baseline_csv(out: TextIO, table: BaselineTable) -> None:
    """Write baseline characteristics, one row per dose level (cells/kg) then "overall"."""
    write_csv(
        out,
        BASELINE_COLUMNS,
        (
            (
                _group_name(group),
                group.n,
                group.age.median,
                group.age.low,
                group.age.high,
                group.female,
                group.male,
                group.sledai.median,
                group.sledai.low,
                group.sledai.high,
                format_two_decimals(group.pga.median),
                format_two_decimals(group.pga.low),
                format_two_decimals(group.pga.high),
                group.bilag_a_systems,
                group.bilag_b_systems,
                group.baseline_missing,
            )
            for group in table.groups
        ),
    )
