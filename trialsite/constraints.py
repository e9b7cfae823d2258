"""Check constraints that validate a row in memory.

Django validates a ``CheckConstraint`` (``full_clean()``, model forms, the admin) by asking the
database: one query, inside a savepoint, per constraint and per row. An imported visit with labs
checks eight constraints, so a file of 24,000 visits asked the database some 200,000 times.

``CheckConstraint`` here answers the same question in Python when its condition is made only of
comparisons of a field with a constant or with another field (``exact``, ``in``, ``isnull``,
``gt``, ``gte``, ``lt``, ``lte``, joined by AND, OR and NOT), which is what every constraint of
the trial is. It follows SQL: a comparison with NULL is unknown, and a constraint fails only when
its condition is false, as the database's CHECK does. Any other condition is left to Django's
query. The database still enforces every constraint on insert and update; a test sets the
in-memory verdict beside the verdict of Django's query for every constraint of every model.
"""

import functools
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.constraints import CheckConstraint as DjangoCheckConstraint
from django.db.models.options import Options

#: Comparisons a condition may make; a string is compared only for equality, because the
#: database's collation, not Python, orders strings.
_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
_LOOKUPS = {"exact", "in", "isnull", *_ORDERINGS}


class NotInMemory(Exception):
    """The condition uses something ``holds`` does not evaluate."""


class FieldLeftOut(Exception):
    """The condition names a field not validated: excluded (``exclude``), or not a column."""


def holds(condition: Q, values: Mapping[str, object]) -> bool | None:
    """Evaluate a condition against a row's field values by SQL's three-valued logic: True,
    False, or None for unknown (a comparison with NULL). Raise NotInMemory for a condition this
    does not evaluate; a field missing from ``values`` raises what its lookup raises."""
    verdicts = [_child_holds(child, values) for child in condition.children]
    if condition.connector == Q.AND:
        result = _all(verdicts)
    elif condition.connector == Q.OR:
        result = _any(verdicts)
    else:
        raise NotInMemory(condition.connector)
    if condition.negated and result is not None:
        return not result
    return result


def _all(verdicts: list[bool | None]) -> bool | None:
    if False in verdicts:
        return False
    return None if None in verdicts else True


def _any(verdicts: list[bool | None]) -> bool | None:
    if True in verdicts:
        return True
    return None if None in verdicts else False


def _child_holds(child: object, values: Mapping[str, object]) -> bool | None:
    if isinstance(child, Q):
        return holds(child, values)
    if not isinstance(child, tuple) or len(child) != 2:
        raise NotInMemory(child)
    lookup, expected = child
    field, _sep, kind = str(lookup).partition("__")
    kind = kind or "exact"
    if kind not in _LOOKUPS:
        raise NotInMemory(lookup)
    current = values[field]
    if isinstance(expected, F):
        expected = values[expected.name]
    elif hasattr(expected, "resolve_expression"):
        raise NotInMemory(expected)
    elif kind == "exact" and expected is None:
        kind, expected = "isnull", True  # as Django reads field=None
    if kind == "isnull":
        return (current is None) == bool(expected)
    if kind == "in":
        choices = list(expected)
        if None in choices:
            raise NotInMemory(lookup)  # Django leaves None out of the list it sends
        return None if current is None else current in choices
    if current is None or expected is None:
        return None
    if kind == "exact":
        return bool(current == expected)
    if isinstance(current, str) or isinstance(expected, str):
        raise NotInMemory(lookup)
    return _ORDERINGS[kind](current, expected)


class FieldValues(Mapping[str, object]):
    """A row's field values as Django sets them against a constraint, read when asked for: a
    foreign key as its key, and ``pk``. Asking for an excluded field raises FieldLeftOut."""

    def __init__(
        self, instance: models.Model, meta: "Options[Any]", exclude: set[str] | None
    ) -> None:
        self.instance, self.meta, self.exclude = instance, meta, exclude or set()

    def __getitem__(self, name: str) -> object:
        if name in self.exclude:
            raise FieldLeftOut(name)
        if name == "pk":
            return self.instance.pk
        field = _columns(self.meta).get(name)
        if field is None:
            raise FieldLeftOut(name)  # not a column: Django skips the constraint too
        if field.generated:
            raise NotInMemory(name)
        value = getattr(self.instance, field.attname)
        if hasattr(value, "resolve_expression"):
            raise NotInMemory(name)  # an expression assigned to the field
        try:  # as Django prepares the value it sends ("10" for a number is 10)
            return field.get_prep_value(value)
        except (TypeError, ValueError, ValidationError):
            raise NotInMemory(name) from None

    def __iter__(self) -> Iterator[str]:
        return (field.name for field in self.meta.local_concrete_fields)

    def __len__(self) -> int:
        return len(self.meta.local_concrete_fields)


@functools.cache
def _columns(meta: "Options[Any]") -> dict[str, "models.Field[Any, Any]"]:
    """Return a model's own columns by field name (what Django sets against a constraint)."""
    return {field.name: field for field in meta.local_concrete_fields}


class CheckConstraint(DjangoCheckConstraint):
    """Django's ``CheckConstraint``, validated in memory when its condition allows (see the
    module's docstring). It is the same constraint in the database and in migrations."""

    def validate(
        self,
        model: type[models.Model],
        instance: models.Model,
        exclude: set[str] | None = None,
        using: str = "default",
    ) -> None:
        try:
            verdict = holds(Q(self.condition), FieldValues(instance, model._meta, exclude))
        except (NotInMemory, TypeError):  # TypeError: values Python cannot compare
            # django-stubs does not declare BaseConstraint.validate.
            super().validate(model, instance, exclude=exclude, using=using)  # type: ignore[misc]
            return
        except FieldLeftOut:
            return  # as Django does: a constraint on a field not validated is not checked
        if verdict is False:
            raise ValidationError(
                self.get_violation_error_message(), code=self.violation_error_code
            )

    def deconstruct(self) -> tuple[str, Sequence[Any], dict[str, Any]]:
        """Deconstruct as Django's own, so that migrations see no change."""
        _path, args, kwargs = super().deconstruct()
        return "django.db.models.CheckConstraint", args, kwargs
