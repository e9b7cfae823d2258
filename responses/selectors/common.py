"""What the report selectors share: the data cut, the study and its follow-up visits, and the
rate shown as percents."""

from datetime import date, datetime
from decimal import Decimal
from functools import cached_property

from django.db.models import (
    FilteredRelation,
    Q,
    QuerySet,
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


def out_of_window(definition: VisitDefinition, visit_date: date, infusion: date | None) -> bool:
    """Say whether a visit is dated outside its window (unknown before the infusion date is)."""
    study_day = (visit_date - infusion).days if infusion is not None else None
    return definition.is_in_window(study_day) is False


def scheduled_follow_up_definitions(study: Study) -> list[VisitDefinition]:
    """Return the scheduled visits after the baseline in schedule order (the report's columns)."""
    definitions = VisitDefinition.objects.filter(study=study, repeatable=False)
    if study.baseline_visit is not None:
        definitions = definitions.filter(order__gt=study.baseline_visit.order)
    return list(definitions.order_by("order"))


def latest_computed_at(participants: QuerySet[Participant]) -> datetime | None:
    """Return when a stored score or result of these participants last changed (None if none)."""
    scores = VisitScore.objects.filter(visit__participant__in=participants)
    results = EndpointResult.objects.filter(visit__participant__in=participants)
    # One query: the latest of the two tables' times (each unordered inside the union).
    return (
        scores.order_by()
        .values_list("computed_at", flat=True)
        .union(results.order_by().values_list("computed_at", flat=True))
        .order_by("-computed_at")
        .first()
    )


def result_relation(endpoint: str) -> FilteredRelation:
    return FilteredRelation("endpoint_results", condition=Q(endpoint_results__endpoint=endpoint))
