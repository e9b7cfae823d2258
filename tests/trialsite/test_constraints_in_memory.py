"""Check constraints validated in memory give the verdict of Django's own query, which asks the
database (trialsite.constraints)."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from trialsite.constraints import CheckConstraint, FieldValues, NotInMemory, holds
from trialsite.models import LabResult, Participant

#: Every check constraint of the project's models, with its model.
CHECK_CONSTRAINTS = [
    (model, constraint)
    for model in apps.get_models()
    if model.__module__.split(".")[0] in {"trialsite", "responses", "safety", "medications", "jobs"}
    for constraint in model._meta.constraints
    if isinstance(constraint, models.CheckConstraint)
]


def _lookups(condition: Q):
    """Yield (field, value) for every comparison in a condition, F values included."""
    for child in condition.children:
        if isinstance(child, Q):
            yield from _lookups(child)
        else:
            lookup, value = child
            field, _sep, kind = lookup.partition("__")
            # An isnull lookup's value says whether the field is empty, not what it holds.
            yield field, None if kind == "isnull" else value


def _near(value):
    """A value with its neighbours on either side (the boundaries of the constraint)."""
    if isinstance(value, bool) or value is None:
        return [value]
    if isinstance(value, int):
        return [value - 1, value, value + 1]
    if isinstance(value, Decimal):
        step = Decimal("0.01")
        return [value - step, value, value + step]
    return [value]


def _candidates(model, condition: Q) -> dict[str, list]:
    """Values to try for each field the condition names: its constants and their neighbours,
    NULL where the field allows it, and values of its type that no constant names."""
    candidates: dict[str, list] = {}
    for name, value in _lookups(condition):
        field = model._meta.get_field(name)
        found = candidates.setdefault(name, [None] if field.null else [])
        constants = value if isinstance(value, list | tuple) else [value]
        for constant in constants:
            if not isinstance(constant, F):
                found.extend(_near(constant))
        if isinstance(value, F):
            candidates.setdefault(value.name, [])
    day = date(2026, 3, 1)
    for name, found in candidates.items():
        field = model._meta.get_field(name)
        if isinstance(field, models.DateTimeField):
            moment = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
            found.extend([moment - timedelta(hours=1), moment, moment + timedelta(hours=1)])
        elif isinstance(field, models.DateField):
            found.extend([day - timedelta(days=1), day, day + timedelta(days=1)])
        elif isinstance(field, models.BooleanField):
            found.extend([True, False])
        elif isinstance(field, models.CharField):
            found.extend(["", "other"])
        elif isinstance(field, models.DecimalField):
            found.extend([Decimal("-1"), Decimal("0"), Decimal("0.5"), Decimal("7")])
        elif isinstance(field, models.IntegerField | models.FloatField):
            found.extend([-1, 0, 1, 7])
        if field.null and None not in found:
            found.append(None)
    return candidates


def _rows(model, constraint, count: int = 40):
    """Rows of the model with candidate values in the constraint's fields: each candidate of
    each field with the other fields empty (NULL where they may be, else their first candidate),
    then ``count`` rows of random candidates."""
    randomly = random.Random(constraint.name)
    candidates = _candidates(model, Q(constraint.condition))
    empty = {name: None if None in values else values[0] for name, values in candidates.items()}
    for name, values in candidates.items():
        for value in values:
            yield _row(model, {**empty, name: value})
    for _index in range(count):
        yield _row(model, {name: randomly.choice(values) for name, values in candidates.items()})


def _row(model, values: dict):
    row = model()
    for name, value in values.items():
        setattr(row, model._meta.get_field(name).attname, value)
    return row


#: Constraints left to the database: a text pattern (LIKE is case-blind on SQLite only). They are
#: on adverse events, entered one at a time.
ASKED_OF_THE_DATABASE = {"ae_description_only_for_other_specify", "ae_other_specify_described"}


def test_every_other_constraint_of_the_trial_is_checked_in_memory():
    assert CHECK_CONSTRAINTS
    for model, constraint in CHECK_CONSTRAINTS:
        assert isinstance(constraint, CheckConstraint), constraint.name
        row = next(_rows(model, constraint, count=1))
        values = FieldValues(row, model._meta, None)
        if constraint.name in ASKED_OF_THE_DATABASE:
            with pytest.raises(NotInMemory):
                holds(Q(constraint.condition), values)
        else:
            holds(Q(constraint.condition), values)  # raises NotInMemory if not


def _values(row) -> dict:
    return {
        name: expression.value
        for name, expression in row._get_field_expression_map(meta=row._meta).items()
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "constraint"),
    CHECK_CONSTRAINTS,
    ids=[constraint.name for _model, constraint in CHECK_CONSTRAINTS],
)
def test_the_verdict_in_memory_is_djangos(model, constraint):
    if constraint.name in ASKED_OF_THE_DATABASE:
        pytest.skip("validated by the database")
    for row in _rows(model, constraint):
        against = row._get_field_expression_map(meta=model._meta)
        in_database = Q(constraint.condition).check(against)
        in_memory = holds(Q(constraint.condition), FieldValues(row, model._meta, None))
        assert (in_memory is not False) == in_database, (constraint.name, _values(row))


@pytest.mark.parametrize(
    ("condition", "values", "expected"),
    [
        (Q(score__gte=0), {"score": None}, None),
        (~Q(score__gte=0), {"score": None}, None),
        (Q(score__gte=0) | Q(score__isnull=True), {"score": None}, True),
        (Q(score__gte=0) & Q(other__gte=0), {"score": None, "other": -1}, False),
        (Q(score__gte=0) | Q(other__gte=0), {"score": None, "other": -1}, None),
        (Q(unit__in=["", "g/g"]), {"unit": ""}, True),
        (Q(unit__in=["", "g/g"]), {"unit": "mg"}, False),
        (~Q(unit=""), {"unit": ""}, False),
        (Q(unit=None), {"unit": None}, True),
        (Q(end__gte=F("start")), {"start": date(2026, 1, 2), "end": date(2026, 1, 1)}, False),
        (Q(end__gte=F("start")), {"start": date(2026, 1, 2), "end": None}, None),
        (Q(end__lt=F("start")), {"start": date(2026, 1, 2), "end": date(2026, 1, 1)}, True),
    ],
    ids=[
        "null-compared-is-unknown",
        "not-unknown-is-unknown",
        "or-with-true-is-true",
        "and-with-false-is-false",
        "or-of-unknown-and-false-is-unknown",
        "in-found",
        "in-not-found",
        "not-equal-to-empty",
        "equals-none-is-null",
        "date-before-other-field",
        "null-other-field-is-unknown",
        "lt-other-field",
    ],
)
def test_holds_follows_sqls_three_valued_logic(condition, values, expected):
    assert holds(condition, values) is expected


@pytest.mark.parametrize(
    "condition",
    [Q(Lower("unit")), Q(unit__startswith="g"), Q(unit__gt="a"), Q(unit__exact=Lower("unit"))],
    ids=["expression", "unsupported-lookup", "string-ordering", "expression-value"],
)
def test_what_holds_does_not_evaluate_it_says(condition):
    with pytest.raises(NotInMemory):
        holds(condition, {"unit": "g/g"})


@pytest.mark.django_db
def test_a_condition_not_evaluated_in_memory_is_asked_of_the_database(
    django_assert_num_queries,
):
    constraint = CheckConstraint(condition=Q(upcr_unit__startswith="g"), name="unit_starts_g")
    # A savepoint, the check, and the savepoint's release (the test runs in a transaction).
    with django_assert_num_queries(3), pytest.raises(ValidationError):
        constraint.validate(LabResult, LabResult(upcr_unit="mg/mmol"))


def test_a_constraint_on_an_excluded_field_is_not_checked():
    constraint = CheckConstraint(condition=Q(upcr__gte=0), name="upcr_not_negative")
    constraint.validate(LabResult, LabResult(upcr=Decimal("-1")), exclude={"upcr"})
    with pytest.raises(ValidationError):
        constraint.validate(LabResult, LabResult(upcr=Decimal("-1")))


@pytest.mark.django_db
def test_validating_labs_and_a_participant_asks_the_database_nothing(
    django_assert_num_queries, participant_a
):
    labs = LabResult(upcr=Decimal("1.2"), upcr_unit="", c3=Decimal("-0.01"))
    with django_assert_num_queries(0), pytest.raises(ValidationError) as refused:
        labs.full_clean(exclude=["visit"], validate_unique=False)
    assert refused.value.messages == [
        "Give the unit of the urine protein:creatinine ratio.",
        "A lab value cannot be negative.",
    ]
    participant = Participant.objects.get(pk=participant_a.pk)
    participant.infusion_date = participant.enrollment_date - timedelta(days=1)
    with django_assert_num_queries(0), pytest.raises(ValidationError) as refused:
        participant.full_clean(exclude=["site", "study"], validate_unique=False)
    assert refused.value.messages == ["The infusion date cannot be before enrolment."]


def test_migrations_see_djangos_own_constraint():
    path, _args, kwargs = CheckConstraint(condition=Q(a__gte=0), name="a").deconstruct()
    assert path == "django.db.models.CheckConstraint"
    assert kwargs == {"condition": Q(a__gte=0), "name": "a"}


def test_a_list_holding_none_is_left_to_django():
    # Django leaves None out of the list it sends: x IN (1, NULL) with x = 2 is false there.
    with pytest.raises(NotInMemory):
        holds(Q(score__in=[1, None]), {"score": 2})


@pytest.mark.django_db
def test_a_value_is_compared_as_django_prepares_it(django_assert_num_queries):
    constraint = CheckConstraint(condition=Q(upcr__gte=0), name="upcr_not_negative")
    with django_assert_num_queries(0):
        constraint.validate(LabResult, LabResult(upcr="1.5"))  # Django reads "1.5" as 1.5
        with pytest.raises(ValidationError):
            constraint.validate(LabResult, LabResult(upcr="-1"))
