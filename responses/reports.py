"""What the report pages share: filters read from the URL, the headline sentence, CSV responses.

Filters travel in the query string (``site``, ``dose``, ``sex``, ``age``, ``endpoint``,
``visit``, ``as_of``) so that a report can be bookmarked and shared. A value that is not one of
the choices offered to the user is ignored (the filter is off), never an error; the data cut
``as_of`` (default today) is a date, and a bad one is refused with a message (InvalidDataCut).
"""

import io
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TextIO
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import HttpResponse, QueryDict
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext, ngettext_lazy, pgettext
from django.utils.translation import gettext_lazy as _

from responses.exports import SCOPE_COLUMNS, ExportScope, format_two_decimals
from responses.models import SRI_ENDPOINT_THRESHOLDS, Endpoint
from responses.scoring.analysis import MittExclusion, NotEvaluableReason
from responses.scoring.statistics import whole_percents
from responses.selectors.baseline import BaselineGroup, BaselineTable
from responses.selectors.cohort import CohortRow, MittSummary, NotEvaluable, NotInfused
from trialsite.csvfiles import write_csv
from trialsite.models import Participant, VisitDefinition, dose_label
from trialsite.validators import EARLIEST_DATE

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
    """What a user may filter on: their sites, the doses given there, the scheduled visits.

    ``all_sites`` says the user sees every site (trialsite.selectors.user_sees_all_sites); a
    user who does not sees only ``sites``, so "all" would overstate what a report holds.
    """

    sites: tuple[str, ...]
    doses: tuple[int, ...]
    visits: tuple[VisitDefinition, ...]
    all_sites: bool = False

    @property
    def every_site_label(self) -> str:
        """Name the site filter's "no site chosen": "all", or "all my sites (S01, S03)"."""
        if self.all_sites:
            return str(_("all"))
        return gettext("all my sites (%(sites)s)") % {"sites": ", ".join(self.sites)}


class InvalidDataCut(ValueError):
    """A data cut that is not a date the site can report as of; the message says why."""


ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_data_cut(text: str) -> date:
    """Read a data cut written YYYY-MM-DD: a real day, from 1900-01-01 to today.

    A cut after today is refused: visits not yet due would count as missing.
    """
    not_a_date = gettext(
        'The data cut "%(value)s" is not a date: write it YYYY-MM-DD, e.g. 2024-06-30.'
    ) % {"value": text}
    if not ISO_DATE.fullmatch(text):
        raise InvalidDataCut(not_a_date)
    try:
        cut = date.fromisoformat(text)
    except ValueError:
        raise InvalidDataCut(not_a_date) from None
    today = timezone.localdate()
    if cut > today:
        raise InvalidDataCut(
            gettext(
                "The data cut %(date)s is after today (%(today)s): no figure can be given as of "
                "a day still to come."
            )
            % {"date": text, "today": today.isoformat()}
        )
    if cut < EARLIEST_DATE:
        raise InvalidDataCut(
            gettext("The data cut %(date)s is before %(earliest)s.")
            % {"date": text, "earliest": EARLIEST_DATE.isoformat()}
        )
    return cut


@dataclass(frozen=True)
class ReportFilters:
    """The report's filters; None (or the default endpoint/visit) means not filtered.

    ``as_of`` is the data cut every figure is computed as of (default today, the site's local
    date); ``as_of_given`` says it came from the URL, so links carry it on. ``sites`` are the
    sites the report holds: the one chosen, else every site the user may see (None when the
    user sees every site).
    """

    site: str | None = None
    dose: int | None = None
    sex: str | None = None
    age: str | None = None
    endpoint: str = Endpoint.SRI4.value
    visit: str | None = None
    as_of: date = field(default_factory=timezone.localdate)
    as_of_given: bool = False
    sites: tuple[str, ...] | None = None

    @classmethod
    def from_query(cls, query: QueryDict, choices: FilterChoices) -> "ReportFilters":
        """Read the filters from a query string, ignoring any value not offered.

        Raise InvalidDataCut for an ``as_of`` that is not a date the site can report as of.
        """
        site = query.get("site") or None
        dose = query.get("dose", "")
        sex = query.get("sex") or None
        age = query.get("age") or None
        endpoint = query.get("endpoint", "")
        visit = query.get("visit") or None
        as_of = query.get("as_of", "").strip()
        as_of_given = as_of != ""
        site = site if site in choices.sites else None
        if site is not None:
            sites: tuple[str, ...] | None = (site,)
        else:
            sites = None if choices.all_sites else choices.sites
        return cls(
            site=site,
            dose=int(dose) if is_whole_number(dose) and int(dose) in choices.doses else None,
            sex=sex if sex in SEXES else None,
            age=age if age in AGE_BANDS else None,
            endpoint=endpoint if endpoint in Endpoint.values else Endpoint.SRI4.value,
            visit=visit if visit in {v.code for v in choices.visits} else None,
            as_of=parse_data_cut(as_of) if as_of_given else timezone.localdate(),
            as_of_given=as_of_given,
            sites=sites,
        )

    @classmethod
    def ignoring_data_cut(cls, query: QueryDict, choices: FilterChoices) -> "ReportFilters":
        """Read the filters other than the data cut (to show the form again around a bad one)."""
        without_cut = query.copy()
        without_cut.pop("as_of", None)
        return cls.from_query(without_cut, choices)

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
            "as_of": self.as_of.isoformat() if self.as_of_given else None,
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

    @property
    def sites_label(self) -> str:
        """Name the sites the report holds: "S01", "S01, S03", or "all" (every site)."""
        if self.sites is None:
            return str(_("all"))
        if not self.sites:
            return str(_("none"))
        return ", ".join(self.sites)

    @property
    def other_filters(self) -> list[tuple[str, str]]:
        """The filters chosen other than the site and the endpoint, as (key, value) pairs."""
        chosen = [
            ("dose", str(self.dose) if self.dose is not None else None),
            ("sex", self.sex),
            ("age", self.age),
        ]
        return [(key, value) for key, value in chosen if value is not None]


def filter_description(filters: ReportFilters) -> list[tuple[str, str]]:
    """Describe the filters in force, label and value, for the printed report's header."""
    described = [(str(_("Endpoint")), filters.endpoint_label)]
    described.append((str(_("Data cut")), filters.as_of.isoformat()))
    described.append((str(_("Site")), filters.sites_label))
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


#: The headline's result at the primary timepoint, by endpoint: responders of the evaluable, the
#: rate and its exact 95% interval (the plural chosen by the number of evaluable participants).
_SRI_RESULT = ngettext_lazy(
    "%(responders)s of %(evaluable)s participant with follow-up reaching %(visit)s "
    "achieved %(endpoint)s (%(rate)s%%; 95%% CI %(low)s-%(high)s%%)",
    "%(responders)s of %(evaluable)s participants with follow-up reaching %(visit)s "
    "achieved %(endpoint)s (%(rate)s%%; 95%% CI %(low)s-%(high)s%%)",
    "evaluable",
)
RESULT_SENTENCES: dict[str, Promise] = {
    Endpoint.SRI4: _SRI_RESULT,
    Endpoint.SRI5: _SRI_RESULT,
    Endpoint.SRI6: _SRI_RESULT,
    Endpoint.BICLA: ngettext_lazy(
        "%(responders)s of %(evaluable)s participant with follow-up reaching %(visit)s "
        "achieved a BICLA response (%(rate)s%%; 95%% CI %(low)s-%(high)s%%)",
        "%(responders)s of %(evaluable)s participants with follow-up reaching %(visit)s "
        "achieved a BICLA response (%(rate)s%%; 95%% CI %(low)s-%(high)s%%)",
        "evaluable",
    ),
}
#: The states at a visit: the verb agrees with the responders ("1 of 5 participants ... was in
#: LLDAS", "3 of 5 ... were"), the noun with the evaluable; one evaluable participant has its own
#: sentence.
STATE_RESULT_SENTENCES: dict[str, tuple[Promise, Promise]] = {
    Endpoint.LLDAS: (
        _(
            "%(responders)s of %(evaluable)s participant with follow-up reaching %(visit)s "
            "was in LLDAS (%(rate)s%%; 95%% CI %(low)s-%(high)s%%)"
        ),
        ngettext_lazy(
            "%(responders)s of %(evaluable)s participants with follow-up reaching %(visit)s "
            "was in LLDAS (%(rate)s%%; 95%% CI %(low)s-%(high)s%%)",
            "%(responders)s of %(evaluable)s participants with follow-up reaching %(visit)s "
            "were in LLDAS (%(rate)s%%; 95%% CI %(low)s-%(high)s%%)",
            "responders",
        ),
    ),
    Endpoint.DORIS: (
        _(
            "%(responders)s of %(evaluable)s participant with follow-up reaching %(visit)s "
            "was in DORIS remission (%(rate)s%%; 95%% CI %(low)s-%(high)s%%)"
        ),
        ngettext_lazy(
            "%(responders)s of %(evaluable)s participants with follow-up reaching %(visit)s "
            "was in DORIS remission (%(rate)s%%; 95%% CI %(low)s-%(high)s%%)",
            "%(responders)s of %(evaluable)s participants with follow-up reaching %(visit)s "
            "were in DORIS remission (%(rate)s%%; 95%% CI %(low)s-%(high)s%%)",
            "responders",
        ),
    ),
}


def headline_sentence(
    row: CohortRow | None,
    endpoint: str,
    *,
    not_evaluable: Sequence[NotEvaluable] = (),
    out_of_window_left_out: int = 0,
) -> str:
    """State the primary timepoint's result as the investigators write it.

    "4 of 5 participants with follow-up reaching Month 3 achieved SRI-4 (80%; 95% CI 28-99%)",
    "... achieved a BICLA response (...)", "... were in LLDAS (...)", "... were in DORIS
    remission (...)": responders of evaluable participants at the visit, the rate and the exact
    interval rounded to whole percents. When not everyone who reached the visit is counted, the
    sentence goes on to say how many more reached it and why: ``not_evaluable``
    (selectors.cohort.not_evaluable_among), counted by reason, and the visits dated outside their
    window that the study leaves out.
    """
    if row is None:
        return str(_("The study has no primary timepoint; set one in the study's settings."))
    visit = row.visit_name
    endpoint_label = Endpoint(endpoint).label
    reasons = _reasons_counted(not_evaluable)
    if row.evaluable == 0:
        sentences = [
            _("No participant with follow-up reaching %(visit)s is evaluable for %(endpoint)s yet.")
            % {"visit": visit, "endpoint": endpoint_label}
        ]
        if not_evaluable:
            sentences.append(
                ngettext(
                    "%(count)s participant reached %(visit)s but is not evaluable (%(reasons)s).",
                    "%(count)s participants reached %(visit)s but are not evaluable (%(reasons)s).",
                    len(not_evaluable),
                )
                % {"count": len(not_evaluable), "visit": visit, "reasons": reasons}
            )
        if out_of_window_left_out > 0:
            sentences.append(
                ngettext(
                    "%(count)s participant reached %(visit)s outside its window and is not "
                    "counted (the study leaves out-of-window visits out).",
                    "%(count)s participants reached %(visit)s outside its window and are not "
                    "counted (the study leaves out-of-window visits out).",
                    out_of_window_left_out,
                )
                % {"count": out_of_window_left_out, "visit": visit}
            )
        return " ".join(str(sentence) for sentence in sentences)
    rate, low, high = whole_percents(row.responders, row.evaluable)
    if endpoint in STATE_RESULT_SENTENCES:
        one_evaluable, many_evaluable = STATE_RESULT_SENTENCES[endpoint]
        template = one_evaluable if row.evaluable == 1 else many_evaluable
    else:
        template = RESULT_SENTENCES[endpoint]
    sentence = str(
        template
        % {
            "responders": row.responders,
            "evaluable": row.evaluable,
            "visit": visit,
            "endpoint": endpoint_label,
            "rate": rate,
            "low": low,
            "high": high,
        }
    )
    if not_evaluable:
        sentence += ngettext(
            "; %(count)s more reached %(visit)s but is not evaluable (%(reasons)s)",
            "; %(count)s more reached %(visit)s but are not evaluable (%(reasons)s)",
            len(not_evaluable),
        ) % {"count": len(not_evaluable), "visit": visit, "reasons": reasons}
    if out_of_window_left_out > 0:
        sentence += ngettext(
            "; %(count)s more reached %(visit)s outside its window and is not counted (the "
            "study leaves out-of-window visits out)",
            "; %(count)s more reached %(visit)s outside its window and are not counted (the "
            "study leaves out-of-window visits out)",
            out_of_window_left_out,
        ) % {"count": out_of_window_left_out, "visit": visit}
    return sentence


def matrix_cell_labels() -> dict[str, str]:
    """Return the words of the response matrix's cells (responses/templatetags/matrix_cells.py) in
    the current language, translated once for the page: translated in each of its hundreds of
    cells, they took a fifth of the page's time."""
    return {
        "day": gettext("day"),
        "prednisolone": gettext("prednisolone-equivalent dose (mg/day)"),
        "treatment_failure": gettext("treatment failure"),
        "sledai_change": gettext("SLEDAI-2K change"),
        "new_bilag_a": gettext("new BILAG A"),
        "new_bilag_b": gettext("new BILAG B"),
        "bilag_not_improved": gettext("BILAG A or B not improved"),
        "pga_change": gettext("PGA change"),
        "not_compared": gettext("visit not dated after the baseline visit, so not compared"),
        "responder": pgettext("responder", "R"),
        "non_responder": pgettext("non-responder", "NR"),
        "not_evaluable": pgettext("not evaluable", "NE"),
    }


def endpoint_rule(endpoint: str) -> str:
    """Say in short what makes a visit a responder for the endpoint (clinical-rules.md sections
    4 and 5), for the reports that show its outcomes."""
    threshold = SRI_ENDPOINT_THRESHOLDS.get(Endpoint(endpoint))
    if threshold is not None:
        return _(
            "SRI-%(x)s responder, against baseline: SLEDAI-2K fell by at least %(x)s; no new "
            "BILAG A and at most one new BILAG B; PGA rose by less than 0.30; no treatment "
            "failure. Not evaluable when the complete baseline SLEDAI-2K is below %(x)s."
        ) % {"x": threshold}
    if endpoint == Endpoint.BICLA:
        return str(
            _(
                "BICLA responder, against baseline: every BILAG system graded A improved to B, C "
                "or D and every one graded B to C or D; no new BILAG A and at most one new BILAG "
                "B; SLEDAI-2K not higher; PGA rose by less than 0.30; no treatment failure. Not "
                "evaluable without a BILAG A or B at baseline."
            )
        )
    if endpoint == Endpoint.LLDAS:
        return str(
            _(
                "In LLDAS at the visit (counted as a responder): SLEDAI-2K at most 4 with no "
                "major-organ descriptor; no descriptor present that was absent at the previous "
                "assessed visit; PGA at most 1.00; prednisolone-equivalent dose at most 7.5 "
                "mg/day on the visit date; no new immunosuppressant started in the 28 days "
                "before the visit; no treatment failure."
            )
        )
    return str(
        _(
            "In DORIS remission at the visit (counted as a responder): clinical SLEDAI-2K 0 "
            "(without low complement and increased DNA binding); PGA below 0.50; "
            "prednisolone-equivalent dose at most 5 mg/day on the visit date; no biologic after "
            "the infusion other than the study CAR-T, and no immunosuppressant on the visit "
            "date other than antimalarials and maintenance ones; no treatment failure."
        )
    )


def mitt_exclusion_rule(mitt: MittSummary, endpoint_label: str) -> str:
    """Say who is excluded from the endpoint's infused (mITT) set (clinical-rules.md 4a, 5)."""
    if mitt.exclusion == MittExclusion.BASELINE_SLEDAI_BELOW_THRESHOLD:
        return _(
            "Excluded from %(endpoint)s: a complete baseline SLEDAI-2K below %(threshold)s (a "
            "drop of %(threshold)s is impossible)."
        ) % {"endpoint": endpoint_label, "threshold": mitt.threshold}
    if mitt.exclusion == MittExclusion.NO_BILAG_A_OR_B_AT_BASELINE:
        return str(
            _(
                "Excluded from BICLA: a complete baseline BILAG-2004 (all nine systems graded) "
                "with no system graded A or B (nothing to improve)."
            )
        )
    return _(
        "Nobody is excluded from %(endpoint)s: it is a state at the visit, not a change from "
        "baseline."
    ) % {"endpoint": endpoint_label}


def mitt_excluded_heading(mitt: MittSummary, endpoint_label: str) -> str:
    """Introduce the list of the participants excluded from the endpoint's mITT set ("" when
    nobody is)."""
    count = len(mitt.excluded)
    if count == 0:
        return ""
    if mitt.exclusion == MittExclusion.NO_BILAG_A_OR_B_AT_BASELINE:
        return ngettext(
            "Excluded from the %(endpoint)s analysis, %(count)s participant with no BILAG A or B "
            "at baseline:",
            "Excluded from the %(endpoint)s analysis, %(count)s participants with no BILAG A or "
            "B at baseline:",
            count,
        ) % {"endpoint": endpoint_label, "count": count}
    return ngettext(
        "Excluded from the %(endpoint)s analysis, %(count)s participant with a baseline "
        "SLEDAI-2K below %(threshold)s:",
        "Excluded from the %(endpoint)s analysis, %(count)s participants with a baseline "
        "SLEDAI-2K below %(threshold)s:",
        count,
    ) % {"endpoint": endpoint_label, "count": count, "threshold": mitt.threshold}


def _reasons_counted(not_evaluable: Sequence[NotEvaluable]) -> str:
    """Name the reasons, in the rules' order, with how many each when there are several."""
    ordered = sorted(not_evaluable, key=lambda item: list(NotEvaluableReason).index(item.category))
    counts = Counter(gettext(item.category) % item.category_params for item in ordered)
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(
        gettext("%(reason)s: %(count)s") % {"reason": reason, "count": count}
        for reason, count in counts.items()
    )


UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9-]+")
UNSAFE_IN_KIND = re.compile(r"[^A-Za-z0-9_-]+")


def _filename_part(text: str) -> str:
    """Keep a part of a file name to ASCII letters, digits and "-" (anything else becomes "-")."""
    return UNSAFE_IN_FILENAME.sub("-", text).strip("-") or "x"


def report_filename(
    kind: str,
    filters: ReportFilters,
    *,
    endpoint: bool = False,
    population: str | None = None,
) -> str:
    """Name a report's download by what it holds, e.g. ``cohort_sri4_mitt_S01_2026-11-29.csv``.

    The parts, joined by "_": the kind, the endpoint (when ``endpoint``), the population (when
    given), the sites ("all" for every site, else their codes joined by "-"), the other filters
    chosen (``dose100000``, ``F``, ``age6-11``) and the data cut. Each part keeps to ASCII
    letters, digits and "-" (the kind may hold "_": ``safety_summary``), so the name is safe on
    every system and in a header.
    """
    parts = [filters.endpoint] if endpoint else []
    if population is not None:
        parts.append(population)
    if filters.sites is None:
        parts.append("all")
    else:
        parts.append("-".join(_filename_part(code) for code in filters.sites) or "none")
    if filters.dose is not None:
        parts.append(f"dose{filters.dose}")
    if filters.sex is not None:
        parts.append(filters.sex)
    if filters.age is not None:
        band = AGE_BANDS.get(filters.age)
        parts.append(f"age{band[0]}-{band[1]}" if band is not None else f"age{filters.age}")
    parts.append(filters.as_of.isoformat())
    return "_".join([UNSAFE_IN_KIND.sub("-", kind), *map(_filename_part, parts)]) + ".csv"


def export_scope(filters: ReportFilters, *, endpoint: bool = False) -> ExportScope:
    """What a report's download holds, for the columns every row repeats (ExportScope)."""
    return ExportScope(
        as_of=filters.as_of,
        sites=filters.sites,
        filters=";".join(f"{key}={value}" for key, value in filters.other_filters),
        endpoint=filters.endpoint if endpoint else "",
    )


def csv_response(filename: str, write: Callable[[TextIO], None]) -> HttpResponse:
    """Return a CSV download that ``write`` fills through responses.exports."""
    buffer = io.StringIO()
    write(buffer)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


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
    "female_percent",
    "male_percent",
    *SCOPE_COLUMNS,
)


NOT_INFUSED_COLUMNS: tuple[str, ...] = (
    "participant_id",
    "site",
    "enrollment_date",
    "reason",
    "withdrawal_date",
    "note",
    *SCOPE_COLUMNS,
)


def write_not_infused_csv(out: TextIO, not_infused: NotInfused, scope: ExportScope) -> None:
    """Write the participants enrolled but not infused on the data cut, with their reason."""
    scope_cells = scope.cells()
    write_csv(
        out,
        NOT_INFUSED_COLUMNS,
        (
            (
                person.participant_id,
                person.site,
                person.enrollment_date,
                person.category.value,
                person.withdrawal_date,
                person.note,
                *scope_cells,
            )
            for person in not_infused.participants
        ),
    )


def _group_name(group: BaselineGroup) -> str:
    if group.is_overall:
        return "overall"
    if group.dose_cells_per_kg is None:
        return "no dose recorded"
    return str(group.dose_cells_per_kg)


def write_baseline_csv(out: TextIO, table: BaselineTable, scope: ExportScope) -> None:
    """Write baseline characteristics, one row per dose level (cells/kg) then "overall"; the
    percents of female and male are of the row's n, one decimal (empty when n is 0)."""
    scope_cells = scope.cells()
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
                group.female_count.percent,
                group.male_count.percent,
                *scope_cells,
            )
            for group in table.groups
        ),
    )
