"""Monitor queries (data clarification): the services that raise, answer, close and re-open a
query, and the selectors that list them, always bounded by the user's sites.

Who does what (the roles' rights, migration 0013):

- a monitor or data manager (``trialsite.raise_query``) raises a query on a visit, its date, one
  of its answers or lab values, or on one of the participant's other records (trialsite.records:
  the CAR-T treatment record, a CRS or ICANS episode, an adverse event, a medication course) or
  one of its fields, with a question; the query is *open*: it awaits the site;
- the site's coordinator or investigator (``trialsite.answer_query``) answers an open query; in
  the same step they may correct the queried value, with a reason for the change (which needs
  ``trialsite.change_visit`` too, as the entry form does). The
  correction goes through the visit's write services (``visit_save`` for the date,
  ``visit_save_assessments`` for an answer or a lab value), so it is validated, audited with
  its reason and rescored, and refused on a signed or locked visit. A record's value is
  corrected on the record's own page, with its reason, before the answer. The query is then
  *answered*: it awaits review;
- any user with ``trialsite.raise_query`` (as in REDCap, any monitor, not only the one who
  raised it) closes an answered query, or re-opens it with a message (it is open again). The
  person who raised an open query may close it before it is answered (raised in error), with a
  message. A closed query is final: a new question is a new query.

Each step is a ``QueryMessage`` saved with the query's new status in one transaction, both
audited. Every step first locks the participant and reads the query's status again under the
lock, so two people acting at once cannot both answer or close it.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from responses.scoring.bilag import BILAG_GRADES, BILAG_SYSTEMS
from responses.scoring.sledai import SLEDAI_FIELDS
from trialsite import selectors, services
from trialsite.i18n import StrOrPromise, recorded_text
from trialsite.locks import lock_participants
from trialsite.models import (
    NOT_DONE,
    QUERY_FIELD_LABELS,
    STORED_LAB_FIELDS,
    VIEW_QUERIES,
    BilagAssessment,
    DataQuery,
    LabResult,
    NotDoneAnswer,
    PgaAssessment,
    QueryAction,
    QueryMessage,
    QueryStatus,
    RecordSignOff,
    SledaiAssessment,
    Visit,
)
from trialsite.records import kind_of, of_kinds_seen, of_record

RAISE_PERMISSION = "trialsite.raise_query"
ANSWER_PERMISSION = "trialsite.answer_query"
#: The right to correct a visit's data, which a correction with an answer needs too.
CORRECT_PERMISSION = "trialsite.change_visit"

#: What a correction may set, by the kind of field queried.
CorrectedValue = date | Decimal | bool | str

#: The lab values the visit page lists (``selectors.lab_values``), in its order.
LAB_ROWS: tuple[str, ...] = tuple(name for name in STORED_LAB_FIELDS if name != "upcr_unit")


# --------------------------------------------------------------------------------------------
# Services
# --------------------------------------------------------------------------------------------


def _check_text(text: str, *, message: StrOrPromise) -> None:
    if not text.strip():
        raise ValidationError({"text": message})


def _add_message(
    query: DataQuery, *, action: QueryAction, author: User, text: str, reason: str
) -> QueryMessage:
    message = QueryMessage(
        query=query, action=action, author=author, written_at=timezone.now(), text=text
    )
    services.save_with_audit(message, author=author, reason=reason)
    return message


def _lock(query: DataQuery) -> None:
    """Lock the query's participant, then read the query as committed (under the lock)."""
    lock_participants([query.participant_id])
    query.refresh_from_db()


def _set_status(
    query: DataQuery, status: QueryStatus, *, action: QueryAction, author: User, text: str
) -> DataQuery:
    reason = recorded_text(QUERY_STEP_REASONS[action])
    query.status = status
    services.save_with_audit(query, author=author, reason=reason)
    _add_message(query, action=action, author=author, text=text, reason=reason)
    return query


#: The reason the audit trail gives each step of a query.
QUERY_STEP_REASONS: dict[str, StrOrPromise] = {
    QueryAction.RAISED: gettext_lazy("Query raised"),
    QueryAction.ANSWERED: gettext_lazy("Query answered"),
    QueryAction.CLOSED: gettext_lazy("Query closed"),
    QueryAction.REOPENED: gettext_lazy("Query re-opened"),
}


@transaction.atomic
def query_raise(*, visit: Visit, field: str, text: str, author: User) -> DataQuery:
    """Raise a query on a visit (``field`` "") or one of its fields (named as
    trialsite.models.QUERY_FIELD_LABELS names them), with the question ``text``."""
    return _raise(
        DataQuery(visit=visit, participant_id=visit.participant_id, field=field),
        subject=visit,
        fields=QUERY_FIELD_LABELS,
        text=text,
        author=author,
    )


@transaction.atomic
def query_raise_on_record(
    *, record: models.Model, field: str, text: str, author: User
) -> DataQuery:
    """Raise a query on one of a participant's records registered in trialsite.records
    (``field`` "") or one of its fields, with the question ``text``."""
    kind = kind_of(type(record))
    return _raise(
        DataQuery(
            **of_record(record),
            participant_id=cast(Any, record).participant_id,  # every record kind has one
            field=field,
        ),
        subject=record,
        fields=("", *kind.fields),
        text=text,
        author=author,
    )


def _raise(
    query: DataQuery,
    *,
    subject: models.Model,
    fields: Collection[str],
    text: str,
    author: User,
) -> DataQuery:
    """Raise the query on ``subject`` (its visit or record) if it is still there under the
    participant's lock (not deleted as entered in error since the page showed it)."""
    services.require_permission(author, RAISE_PERMISSION)
    _check_text(text, message=_("Write the question."))
    if query.field not in fields:
        raise ValidationError({"field": _("Choose what the query is about.")})
    lock_participants([query.participant_id])
    if not type(subject)._default_manager.filter(pk=subject.pk).exists():
        raise ValidationError(_("This was deleted (entered in error) meanwhile: nothing to query."))
    reason = str(QUERY_STEP_REASONS[QueryAction.RAISED])
    query.status = QueryStatus.OPEN
    query.raised_by = author
    query.raised_at = timezone.now()
    services.save_with_audit(query, author=author, reason=reason)
    _add_message(query, action=QueryAction.RAISED, author=author, text=text, reason=reason)
    return query


@transaction.atomic
def query_answer(
    *,
    query: DataQuery,
    text: str,
    author: User,
    new_value: CorrectedValue | None = None,
    change_reason: str = "",
) -> DataQuery:
    """Answer an open query; with ``new_value``, correct the queried value in the same
    transaction, giving ``change_reason`` to the audit trail. A refused correction (a signed or
    locked visit, an invalid value) leaves neither the answer nor any change."""
    services.require_permission(author, ANSWER_PERMISSION)
    _check_text(text, message=_("Write the answer."))
    if new_value is None and change_reason.strip():
        raise ValidationError(
            {"new_value": _("Give the corrected value, or clear the reason for the change.")}
        )
    if new_value is not None:
        if query.visit_id is None:
            raise ValidationError({"new_value": RECORD_CORRECTED_ON_ITS_PAGE})
        services.require_permission(author, CORRECT_PERMISSION)
        if not change_reason.strip():
            raise ValidationError({"change_reason": _("Give the reason for the change.")})
    _lock(query)
    if query.status != QueryStatus.OPEN:
        raise ValidationError(
            _("This query is %(status)s: only an open query can be answered.")
            % {"status": query.get_status_display()}
        )
    if new_value is not None:
        reason = recorded_text(
            gettext_lazy("%(reason)s (query %(query)s)"),
            {"reason": change_reason.strip(), "query": query.pk},
        )
        visit = cast(Visit, query.visit)  # a query with a correction is on a visit
        before = current_value(visit, query.field)
        _correct(
            visit_id=visit.pk,
            field=query.field,
            value=new_value,
            author=author,
            reason=reason,
        )
        # The conversation says what changed, for whoever reviews the answer.
        text = "\n\n".join(
            [
                text.strip(),
                recorded_text(
                    gettext_lazy("Corrected %(field)s: %(old)s → %(new)s. Reason: %(reason)s"),
                    {
                        "field": QUERY_FIELD_LABELS[query.field],
                        "old": before,
                        "new": current_value(Visit.objects.get(pk=visit.pk), query.field),
                        "reason": change_reason.strip(),
                    },
                ),
            ]
        )
    return _set_status(
        query, QueryStatus.ANSWERED, action=QueryAction.ANSWERED, author=author, text=text
    )


#: Why an answer to a query on a record carries no corrected value.
RECORD_CORRECTED_ON_ITS_PAGE = gettext_lazy(
    "Correct a record's value on the record's page, with the reason for the change, then answer."
)


@transaction.atomic
def query_close(*, query: DataQuery, text: str, author: User) -> DataQuery:
    """Close an answered query (any user who may raise queries), or an open one its raiser
    withdraws (raised in error: ``text`` says why). An answered query's closing message may be
    left empty: it then reads "Answer accepted."."""
    services.require_permission(author, RAISE_PERMISSION)
    _lock(query)
    if query.status == QueryStatus.CLOSED:
        raise ValidationError(_("This query is already closed."))
    if query.status == QueryStatus.OPEN:
        if query.raised_by_id != author.pk:
            raise ValidationError(
                _("Only the person who raised this query can close it before the site answers it.")
            )
        _check_text(text, message=_("Say why the query is closed without an answer."))
    text = text.strip() or _("Answer accepted.")
    return _set_status(
        query, QueryStatus.CLOSED, action=QueryAction.CLOSED, author=author, text=text
    )


@transaction.atomic
def query_reopen(*, query: DataQuery, text: str, author: User) -> DataQuery:
    """Re-open an answered query with a message to the site (it is open again)."""
    services.require_permission(author, RAISE_PERMISSION)
    _check_text(text, message=_("Say what the site should look at again."))
    _lock(query)
    if query.status != QueryStatus.ANSWERED:
        raise ValidationError(
            _("This query is %(status)s: only an answered query can be re-opened.")
            % {"status": query.get_status_display()}
        )
    return _set_status(
        query, QueryStatus.OPEN, action=QueryAction.REOPENED, author=author, text=text
    )


def query_actions(user: User, query: DataQuery) -> set[str]:
    """Name the steps the user may take on the query now: "answer", "close", "reopen" (the
    services check the same rules)."""
    actions = set()
    if query.status == QueryStatus.OPEN and user.has_perm(ANSWER_PERMISSION):
        actions.add("answer")
    if user.has_perm(RAISE_PERMISSION):
        if query.status == QueryStatus.ANSWERED:
            actions |= {"close", "reopen"}
        elif query.status == QueryStatus.OPEN and query.raised_by_id == user.pk:
            actions.add("close")
    return actions


# --------------------------------------------------------------------------------------------
# Corrections through the visit's write services
# --------------------------------------------------------------------------------------------


def field_kind(field: str) -> str:
    """Say what kind of value a queried field holds: "visit" (the whole visit: no single value),
    "date", "pga", "sledai", "bilag" or "lab"."""
    if field == "":
        return "visit"
    if field == "visit_date":
        return "date"
    if field == "pga":
        return "pga"
    if field.startswith("sledai_"):
        return "sledai"
    if field.startswith("bilag_"):
        return "bilag"
    return "lab"


def _value_fits(kind: str, value: object) -> bool:
    if kind == "date":
        return isinstance(value, date)
    if kind == "sledai":
        return isinstance(value, bool)
    if kind == "bilag":
        return value in BILAG_GRADES
    return isinstance(value, Decimal)  # the PGA and the lab values


@dataclass(frozen=True)
class StoredEntry:
    """A visit's stored answers and labs, as visit_save_assessments takes them back."""

    sledai: dict[str, bool | None]
    lookback_days: int | None
    pga: Decimal | None
    bilag: dict[str, str | None]
    labs: dict[str, object] | None
    not_done: dict[str, str]

    def value(self, field: str) -> object:
        """Return the stored value of an answer or lab value (None: not given)."""
        if field == "pga":
            return self.pga
        if field.startswith("sledai_"):
            return self.sledai.get(field.removeprefix("sledai_"))
        if field.startswith("bilag_"):
            return self.bilag.get(field.removeprefix("bilag_"))
        return (self.labs or {}).get(field)


def stored_entry(visit: Visit) -> StoredEntry:
    """Read a visit's stored answers, labs and answers not done."""
    sledai = SledaiAssessment.objects.filter(visit=visit).first()
    pga = PgaAssessment.objects.filter(visit=visit).first()
    bilag = BilagAssessment.objects.filter(visit=visit).first()
    labs = LabResult.objects.filter(visit=visit).first()
    return StoredEntry(
        sledai=sledai.answers() if sledai is not None else dict.fromkeys(SLEDAI_FIELDS),
        lookback_days=sledai.lookback_days if sledai is not None else None,
        pga=pga.score if pga is not None else None,
        bilag=bilag.grades() if bilag is not None else dict.fromkeys(BILAG_SYSTEMS),
        labs=(
            {name: getattr(labs, name) for name in STORED_LAB_FIELDS} if labs is not None else None
        ),
        not_done=dict(NotDoneAnswer.objects.filter(visit=visit).values_list("answer", "reason")),
    )


def _correct(
    *, visit_id: int, field: str, value: CorrectedValue, author: User, reason: str
) -> None:
    """Change one stored value of a visit through its write service, leaving everything else
    (the other answers and labs, the answers not done, the entry status) as it is. A value given
    for an answer marked not done replaces that mark."""
    kind = field_kind(field)
    if kind == "visit":
        raise ValidationError(
            {
                "new_value": _(
                    "A query on the whole visit has no single value to correct: correct the data "
                    "on the visit's entry form."
                )
            }
        )
    if not _value_fits(kind, value):
        raise ValidationError({"new_value": _("This is not a value this field can hold.")})
    visit = Visit.objects.select_related("participant__study", "visit_definition").get(pk=visit_id)
    try:
        if kind == "date":
            _correct_visit_date(visit, value, author=author, reason=reason)
        else:
            _correct_entry(visit, field, value, author=author, reason=reason)
    except ValidationError as error:
        if hasattr(error, "error_dict"):  # a field's check: shown beside the corrected value
            raise ValidationError({"new_value": error.messages}) from error
        raise  # the visit's own refusal (signed or locked): shown on top of the form


def _already(value: object) -> ValidationError:
    return ValidationError(
        {"new_value": _("%(value)s is already the stored value.") % {"value": value}}
    )


def _correct_visit_date(visit: Visit, value: object, *, author: User, reason: str) -> None:
    if visit.visit_date == value:
        raise _already(value)
    visit.visit_date = value  # type: ignore[assignment]  # checked by _value_fits
    services.visit_save(visit=visit, author=author, reason=reason)


def _correct_entry(
    visit: Visit, field: str, value: CorrectedValue, *, author: User, reason: str
) -> None:
    stored = stored_entry(visit)
    if field not in stored.not_done and stored.value(field) == value:
        raise _already(value)
    sledai, bilag = dict(stored.sledai), dict(stored.bilag)
    labs = stored.labs
    pga = stored.pga
    if field == "pga":
        pga = value  # type: ignore[assignment]  # a Decimal (_value_fits)
    elif field.startswith("sledai_"):
        sledai[field.removeprefix("sledai_")] = value  # type: ignore[assignment]
    elif field.startswith("bilag_"):
        bilag[field.removeprefix("bilag_")] = value  # type: ignore[assignment]
    else:
        labs = dict(labs) if labs is not None else _empty_labs()
        labs[field] = value
    services.visit_save_assessments(
        visit=visit,
        sledai=sledai,
        sledai_lookback_days=stored.lookback_days,
        pga=pga,
        bilag=bilag,
        not_done={answer: why for answer, why in stored.not_done.items() if answer != field},
        labs=labs,
        complete=visit.entry_complete,
        author=author,
        reason=reason,
    )


def _empty_labs() -> dict[str, object]:
    return {name: "" if name == "upcr_unit" else None for name in STORED_LAB_FIELDS}


def queried_value(query: DataQuery) -> StrOrPromise:
    """Show the stored value of what the query is about ("" for a whole visit or record)."""
    kind = query.record_kind
    if kind is None:
        return current_value(cast(Visit, query.visit), query.field)
    record = query.record
    return "" if record is None else kind.current_value(record, query.field)


def current_value(visit: Visit, field: str) -> StrOrPromise:
    """Show the stored value of a queried field as pages show it ("" for the whole visit)."""
    kind = field_kind(field)
    if kind == "visit":
        return ""
    if kind == "date":
        return visit.visit_date.isoformat()
    stored = stored_entry(visit)
    if field in stored.not_done:
        return _("%(nd)s: not done (%(reason)s)") % {
            "nd": NOT_DONE,
            "reason": stored.not_done[field],
        }
    value = stored.value(field)
    if value is None or value == "":
        return gettext_lazy("not recorded")
    if kind == "sledai":
        return gettext_lazy("present") if value else gettext_lazy("absent")
    if kind == "lab":
        labs = stored.labs or {}
        # A queried lab value is a decimal column of LabResult, its unit in the help text.
        model_field = cast(models.Field, LabResult._meta.get_field(field))
        unit = labs.get("upcr_unit") if field == "upcr" else model_field.help_text
        return f"{value} {unit or ''}".strip()
    return str(value)


# --------------------------------------------------------------------------------------------
# Selectors
# --------------------------------------------------------------------------------------------


def queries_visible_to(user: User) -> QuerySet[DataQuery]:
    """Return the queries on the participants of the user's sites (on their visits, and on
    their other records of the kinds the user may see); every query page starts here."""
    return (
        of_kinds_seen(
            DataQuery.objects.filter(
                participant__in=selectors.participants_visible_to(user).values("pk")
            ),
            user,
        )
        .select_related("participant__site", "visit__visit_definition", "raised_by")
        .prefetch_related("record")
    )


def with_messages(queries: QuerySet[DataQuery]) -> QuerySet[DataQuery]:
    """Add each query's conversation, oldest first, with the authors (one query for all)."""
    return queries.prefetch_related(
        Prefetch(
            "messages",
            queryset=QueryMessage.objects.select_related("author").order_by("written_at", "pk"),
        )
    )


@dataclass(frozen=True)
class QueryRow:
    """A query as the lists show it: its age in days and its latest message."""

    query: DataQuery
    age_days: int
    last_message: QueryMessage | None
    #: The latest question: the message that raised the query or re-opened it.
    question: QueryMessage | None

    @property
    def status_badge(self) -> str:
        return QUERY_STATUS_BADGES[self.query.status]


#: The steps whose message asks the site something.
QUESTION_ACTIONS = (QueryAction.RAISED, QueryAction.REOPENED)

#: The badge of each status: open waits for the site, answered for the review.
QUERY_STATUS_BADGES: dict[str, str] = {
    QueryStatus.OPEN: "text-bg-danger",
    QueryStatus.ANSWERED: "text-bg-info",
    QueryStatus.CLOSED: "text-bg-secondary",
}


def query_rows(queries: Iterable[DataQuery], *, today: date | None = None) -> list[QueryRow]:
    """Return the rows of queries read with ``with_messages``."""
    today = today or timezone.localdate()
    rows = []
    for query in queries:
        messages = list(query.messages.all())
        rows.append(
            QueryRow(
                query=query,
                age_days=(today - timezone.localdate(query.raised_at)).days,
                last_message=messages[-1] if messages else None,
                question=next(
                    (m for m in reversed(messages) if m.action in QUESTION_ACTIONS), None
                ),
            )
        )
    return rows


#: The status filter of the query list: the default shows the queries not closed.
STATUS_FILTERS: dict[str, tuple[StrOrPromise, Q]] = {
    "active": (gettext_lazy("open or answered"), ~Q(status=QueryStatus.CLOSED)),
    "open": (gettext_lazy("open: awaiting the site"), Q(status=QueryStatus.OPEN)),
    "answered": (gettext_lazy("answered: awaiting review"), Q(status=QueryStatus.ANSWERED)),
    "closed": (gettext_lazy("closed"), Q(status=QueryStatus.CLOSED)),
    "all": (gettext_lazy("all"), Q()),
}
DEFAULT_STATUS_FILTER = "active"
#: The age filter of the query list: raised at least this many days ago.
AGE_FILTERS = (7, 14, 30)


def query_list(
    user: User,
    *,
    site: str = "",
    status: str = DEFAULT_STATUS_FILTER,
    older_than: int | None = None,
    newest_first: bool = False,
    now: datetime | None = None,
) -> tuple[QuerySet[DataQuery], dict[str, int]]:
    """Return the user's queries filtered by site code, status (a key of STATUS_FILTERS) and
    age (raised at least ``older_than`` days ago), oldest first unless ``newest_first``, with
    their conversations; and how many match each status under the site and age filters."""
    queries = queries_visible_to(user)
    if site:
        queries = queries.filter(participant__site__code=site)
    if older_than is not None:
        queries = queries.filter(
            raised_at__lte=(now or timezone.now()) - timedelta(days=older_than)
        )
    counts = queries.aggregate(
        **{
            key: Count("pk", filter=condition)
            for key, (_label, condition) in STATUS_FILTERS.items()
        }
    )
    condition = STATUS_FILTERS.get(status, STATUS_FILTERS[DEFAULT_STATUS_FILTER])[1]
    order = ["-raised_at", "-pk"] if newest_first else ["raised_at", "pk"]
    return with_messages(queries.filter(condition).order_by(*order)), counts


def awaiting_statuses(user: User) -> list[str]:
    """Return the statuses of the queries that wait for the user: open ones for the site's
    staff (to answer), answered ones for monitors and data managers (to review)."""
    statuses = []
    if user.has_perm(ANSWER_PERMISSION):
        statuses.append(QueryStatus.OPEN.value)
    if user.has_perm(RAISE_PERMISSION):
        statuses.append(QueryStatus.ANSWERED.value)
    return statuses


def queries_awaiting(user: User) -> QuerySet[DataQuery]:
    """Return the queries at the user's sites that wait for the user, oldest first."""
    if not user.has_perm(VIEW_QUERIES):
        return DataQuery.objects.none()
    return (
        queries_visible_to(user)
        .filter(status__in=awaiting_statuses(user))
        .order_by("raised_at", "pk")
    )


def visit_queries(visit: Visit) -> list[QueryRow]:
    """Return every query of a visit, oldest first, with its conversation."""
    return query_rows(
        with_messages(
            DataQuery.objects.filter(visit=visit)
            .select_related("raised_by")
            .order_by("raised_at", "pk")
        )
    )


def record_queries(record: models.Model) -> list[QueryRow]:
    """Return every query on a record, oldest first, with its conversation."""
    return query_rows(
        with_messages(
            DataQuery.objects.filter(**of_record(record))
            .select_related("raised_by")
            .order_by("raised_at", "pk")
        )
    )


def participant_record_queries(participant_id: int) -> list[QueryRow]:
    """Return every query on a participant's records other than visits, oldest first, with its
    conversation and its record."""
    return query_rows(
        with_messages(
            DataQuery.objects.filter(participant_id=participant_id, visit__isnull=True)
            .select_related("raised_by")
            .prefetch_related("record")
            .order_by("raised_at", "pk")
        )
    )


def record_delete(*, record: models.Model, author: services.Author, reason: str) -> None:
    """Delete a participant's record entered in error (one of trialsite.records; the caller
    holds the participant's lock), with its queries and their messages and its sign-offs, as
    services.visit_delete deletes a visit's: a signed or locked record must be unlocked first.
    Their history keeps every row, with who deleted it and why."""
    services.record_data_changed(record=record, author=author, reason=reason)
    queries = DataQuery.objects.filter(**of_record(record))
    rows: list[models.Model] = [
        *QueryMessage.objects.filter(query__in=queries),
        *queries,
        *RecordSignOff.objects.filter(**of_record(record)),
        record,
    ]
    for row in rows:
        services.delete_with_audit(row, author=author, reason=reason)


def open_counts_by_field(rows: Iterable[QueryRow]) -> dict[str, int]:
    """Count a visit's queries not closed by field."""
    counts: dict[str, int] = {}
    for row in rows:
        if row.query.is_open:
            counts[row.query.field] = counts.get(row.query.field, 0) + 1
    return counts
