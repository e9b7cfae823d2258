"""Days counted by the database, so that study days and visit windows are compared in SQL.

Each database counts whole days natively: PostgreSQL subtracts dates, SQLite its Julian day
numbers. (The ORM's own date subtraction gives a duration that SQLite works out in Python, row by
row.)
"""

from collections.abc import Callable
from datetime import date
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Func, IntegerField
from django.db.models.sql.compiler import SQLCompiler

#: Day numbers count from here, in Python as in the database (``DayNumber``).
DAY_ZERO = date(1970, 1, 1)


class DayNumber(Func):
    """The number of days from DAY_ZERO to a date (NULL for no date)."""

    template = "(%(expressions)s - DATE '1970-01-01')"
    output_field = IntegerField()
    arity = 1

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: object
    ) -> tuple[str, Any]:
        return self.as_sql(
            compiler, connection, template="CAST(julianday(%(expressions)s) - 2440587.5 AS INTEGER)"
        )


class Days(Func):
    """A number of whole days, read as the database gives it. Both databases give an integer
    (``DayNumber``), so it is not converted row by row, as Django converts every value of an
    integer expression (``int()``): a cost on the reports that read every visit's study day."""

    template = "%(expressions)s"
    output_field = IntegerField()
    arity = 1

    def get_db_converters(self, connection: BaseDatabaseWrapper) -> list[Callable[..., Any]]:
        # Not the expression's int() of every value; an integer field has no converter of its own.
        return []


def visit_study_day(
    visit_date: str = "visit_date", infusion_date: str = "participant__infusion_date"
) -> Days:
    """A visit's study day: its date minus the participant's infusion date, in whole days (NULL
    while the infusion date is unknown), as ``Participant.study_day`` counts."""
    return Days(DayNumber(F(visit_date)) - DayNumber(F(infusion_date)))
