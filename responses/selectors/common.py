"""What the report selectors share: the data cut, the study and its follow-up visits, the study
day and window of a visit, and the rate shown as percents."""

from datetime import date, datetime
from decimal import Decimal
from functools import cached_property

from django.db.models import (
    FilteredRelation,
    Q,
    QuerySet,
    Subquery,
)

from responses.models import Endpoint, EndpointResult, VisitScore
from responses.scoring.statistics import (
    PERCENT_QUANTUM,
    percents,
)
from trialsite.models import (
    Participant,
    Study,
    Visit,
    VisitDefinition,
)


class ShowsRateAsPercent:
    """Give a row its rate and exact 95% interval as percents with one decimal, each rounded
    once from the exact value (9 of 10: the upper limit 99.747% shows as 99.7%, where rounding
    the four-decimal proportion 0.9975 again would show 99.8%)."""

    def rate_counts(self) -> tuple[int, int]:
        """Return the responders and the denominator of the rate."""
        raise NotImplementedError

    @cached_property
    def _percents(self) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
        successes, trials = self.rate_counts()
        if trials == 0:
            return None, None, None
        return percents(successes, trials, PERCENT_QUANTUM)

    @property
    def rate_percent(self) -> Decimal | None:
        return self._percents[0]

    @property
    def ci_low_percent(self) -> Decimal | None:
        return self._percents[1]

    @property
    def ci_high_percent(self) -> Decimal | None:
        return self._percents[2]


def visits_as_of(
    *, study: Study, participants: QuerySet[Participant] | None, as_of: date
) -> QuerySet[Visit]:
    """Return the study's visits dated on or before the cut, of participants enrolled by then."""
    visits = Visit.objects.filter(
        participant__study=study,
        participant__enrollment_date__lte=as_of,
        visit_date__lte=as_of,
    )
    if participants is not None:
        visits = visits.filter(participant__in=participants)
    return visits


def enrolled_as_of(
    *, study: Study, participants: QuerySet[Participant] | None, as_of: date
) -> QuerySet[Participant]:
    """Return the study's participants enrolled on or before the cut."""
    people = participants if participants is not None else Participant.objects.all()
    return people.filter(study=study, enrollment_date__lte=as_of)


def check_endpoint(endpoint: str) -> None:
    if endpoint not in Endpoint.values:
        raise ValueError(f"Unknown endpoint {endpoint!r}; expected one of {Endpoint.values}")


def out_of_window(definition: VisitDefinition, study_day: int | None) -> bool:
    """Say whether a visit on this study day is outside its window (unknown, so not outside,
    before the infusion date is known: ``study_day`` None)."""
    return definition.is_in_window(study_day) is False


def scheduled_follow_up_definitions(study: Study) -> list[VisitDefinition]:
    """Return the scheduled visits after the baseline in schedule order (the report's columns)."""
    definitions = VisitDefinition.objects.filter(study=study, repeatable=False)
    if study.baseline_visit is not None:
        definitions = definitions.filter(order__gt=study.baseline_visit.order)
    return list(definitions.order_by("order"))


def latest_computed_at(participants: QuerySet[Participant]) -> datetime | None:
    """Return when a stored score or result of these participants last changed (None if none).

    One query: each table's latest time read by a subquery of its own, newest first, so that an
    index on ``computed_at`` would answer each with its first row.
    """

    def latest(model: type[VisitScore] | type[EndpointResult]) -> Subquery:
        changed = model.objects.filter(visit__participant__in=participants)
        return Subquery(changed.order_by("-computed_at").values("computed_at")[:1])

    # The two subqueries need a row to sit on: a study's (participants have one).
    times = (
        Study.objects.annotate(score=latest(VisitScore), result=latest(EndpointResult))
        .values_list("score", "result")
        .first()
    )
    return max((time for time in times or () if time is not None), default=None)


def result_relation(endpoint: str) -> FilteredRelation:
    return FilteredRelation("endpoint_results", condition=Q(endpoint_results__endpoint=endpoint))
