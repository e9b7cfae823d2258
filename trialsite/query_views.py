"""The pages of monitor queries: the list, a query's page with the steps the user may take,
raising a query on a visit, and what the visit page, its entry form, Home and the navigation bar
show of them. Every page starts from the user's sites (a query of another site is not found),
then checks the user's right (the 403 page otherwise)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Case, Model, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from trialsite import queries, records, selectors, services
from trialsite.forms import add_refusal, lab_field_name
from trialsite.http import AuthenticatedHttpRequest
from trialsite.i18n import StrOrPromise
from trialsite.models import VIEW_QUERIES, DataQuery, Participant, QueryStatus, Visit
from trialsite.pagination import paginate, query_string, sort_columns, sort_order
from trialsite.queries import (
    ANSWER_PERMISSION,
    RAISE_PERMISSION,
    QueryRow,
)
from trialsite.query_forms import (
    AnswerQueryForm,
    CloseQueryForm,
    RaiseQueryForm,
    ReopenQueryForm,
)
from trialsite.selectors import LabValue

#: The form of one step of a query (answer, close, re-open).
StepForm = TypeVar("StepForm", bound=forms.Form)

#: Queries per page of the list.
PAGE_SIZE = 50
#: Queries Home lists (the list page has them all).
HOME_LIMIT = 10
#: The request attribute where a page that counted the queries awaiting the user keeps the
#: count for the navigation bar.
AWAITING_COUNT = "queries_awaiting_count"


def _can_correct(request: AuthenticatedHttpRequest) -> bool:
    return request.user.has_perm(queries.CORRECT_PERMISSION)


def _visible_query(request: AuthenticatedHttpRequest, pk: int) -> DataQuery:
    """Return a query of the user's sites; a query on a record is found only by a user who may
    see the record too (its page shows the record's values): queries_visible_to."""
    return get_object_or_404(queries.queries_visible_to(request.user), pk=pk)


#: The sorts of the query list (trialsite.pagination.sort_order), each ending with the query's
#: number so that equal values keep a fixed order.
QUERY_SORTS: dict[str, tuple[str, ...]] = {
    "opened": ("raised_at", "pk"),
    "age": ("-raised_at", "-pk"),
    "participant": ("participant__participant_id", "raised_at", "pk"),
    "status": ("status_order", "raised_at", "pk"),
}
#: The statuses in the order a query goes through them.
STATUS_ORDER = Case(
    When(status=QueryStatus.OPEN, then=Value(0)),
    When(status=QueryStatus.ANSWERED, then=Value(1)),
    default=Value(2),
)
#: The oldest query first.
DEFAULT_QUERY_SORT = "-age"


def query_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    services.require_permission(request.user, VIEW_QUERIES)
    site = request.GET.get("site", "")
    status = request.GET.get("status", "")
    if status not in queries.STATUS_FILTERS:
        status = queries.DEFAULT_STATUS_FILTER
    age = request.GET.get("age", "")
    older_than = int(age) if age in {str(days) for days in queries.AGE_FILTERS} else None
    sort, order_by = sort_order(request, QUERY_SORTS, DEFAULT_QUERY_SORT)
    found, counts = queries.query_list(
        request.user, site=site, status=status, older_than=older_than
    )
    found = found.annotate(status_order=STATUS_ORDER).order_by(*order_by)
    page = paginate(request, found, PAGE_SIZE)
    return render(
        request,
        "trialsite/query_list.html",
        {
            "rows": queries.query_rows(page.object_list),
            "page": page,
            "sort": sort_columns(request, list(QUERY_SORTS), sort),
            "filters": {"site": site, "status": status, "age": older_than},
            "status_tabs": [
                (key, label, counts[key], query_string(request.GET, status=key))
                for key, (label, _condition) in queries.STATUS_FILTERS.items()
            ],
            "sites": selectors.sites_visible_to(request.user).order_by("code"),
            "ages": queries.AGE_FILTERS,
        },
    )


def query_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    query = _visible_query(request, pk)
    services.require_permission(request.user, VIEW_QUERIES)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return _query_page(request, query)


def _query_page(
    request: AuthenticatedHttpRequest, query: DataQuery, bound: forms.Form | None = None
) -> HttpResponse:
    """Render a query's page with the forms of the steps the user may take; ``bound`` is a
    form sent back with its errors."""
    actions = queries.query_actions(request.user, query)
    step_forms: dict[str, forms.Form] = {}
    if "answer" in actions:
        step_forms["answer"] = AnswerQueryForm(
            query=query, can_correct=_can_correct(request), prefix="answer"
        )
    if "close" in actions:
        step_forms["close"] = CloseQueryForm(query=query, prefix="close")
    if "reopen" in actions:
        step_forms["reopen"] = ReopenQueryForm(prefix="reopen")
    if bound is not None and bound.prefix is not None:
        step_forms[bound.prefix] = bound
    return render(
        request,
        "trialsite/query_detail.html",
        {
            "query": query,
            "visit": query.visit,
            "record_kind": query.record_kind,
            "current_value": queries.queried_value(query),
            "corrected_on_record_page": queries.RECORD_CORRECTED_ON_ITS_PAGE,
            "conversation": query.messages.select_related("author").order_by("written_at", "pk"),
            "status_badge": queries.QUERY_STATUS_BADGES[query.status],
            "answer_form": step_forms.get("answer"),
            "close_form": step_forms.get("close"),
            "reopen_form": step_forms.get("reopen"),
        },
    )


def _query_step(
    request: AuthenticatedHttpRequest,
    pk: int,
    *,
    permission: str,
    form_for: Callable[[QueryDict, DataQuery], StepForm],
    act: Callable[[StepForm, DataQuery], object],
    done: str,
) -> HttpResponse:
    """Take one step of a query from its page's form: the service's refusal goes on the form."""
    query = _visible_query(request, pk)
    services.require_permission(request.user, permission)
    if request.method != "POST":
        return redirect(query)
    form = form_for(request.POST, query)
    if form.is_valid():
        try:
            act(form, query)
        except ValidationError as error:
            query.refresh_from_db()  # the step was rolled back: show the query as stored
            add_refusal(form, error)
        else:
            messages.success(request, done)
            return redirect(query)
    return _query_page(request, query, bound=form)


def query_answer(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    def answer(form: AnswerQueryForm, query: DataQuery) -> DataQuery:
        return queries.query_answer(
            query=query,
            text=form.cleaned_data["text"],
            author=request.user,
            new_value=form.new_value(),
            change_reason=form.change_reason(),
        )

    return _query_step(
        request,
        pk,
        permission=ANSWER_PERMISSION,
        form_for=lambda data, query: AnswerQueryForm(
            data, query=query, can_correct=_can_correct(request), prefix="answer"
        ),
        act=answer,
        done=_("Answer sent: the query awaits review."),
    )


def query_close(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _query_step(
        request,
        pk,
        permission=RAISE_PERMISSION,
        form_for=lambda data, query: CloseQueryForm(data, query=query, prefix="close"),
        act=lambda form, query: queries.query_close(
            query=query, text=form.cleaned_data["text"], author=request.user
        ),
        done=_("Query closed."),
    )


def query_reopen(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _query_step(
        request,
        pk,
        permission=RAISE_PERMISSION,
        form_for=lambda data, query: ReopenQueryForm(data, prefix="reopen"),
        act=lambda form, query: queries.query_reopen(
            query=query, text=form.cleaned_data["text"], author=request.user
        ),
        done=_("Query re-opened: it awaits the site again."),
    )


def query_raise(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    visit = get_object_or_404(selectors.visits_visible_to(request.user), pk=pk)
    services.require_permission(request.user, RAISE_PERMISSION)
    return _raise_page(
        request,
        RaiseQueryForm(request.POST or None, initial={"field": request.GET.get("field", "")}),
        raise_=lambda data: queries.query_raise(visit=visit, author=request.user, **data),
        participant=visit.participant,
        subject=f"{visit.visit_definition.code} {visit.visit_definition.name}",
        subject_date=visit.visit_date,
        back_url=reverse("visit_detail", args=[visit.pk]),
        done_url=reverse("visit_detail", args=[visit.pk]) + "#queries",
    )


def query_raise_on_record(request: AuthenticatedHttpRequest, kind: str, pk: int) -> HttpResponse:
    """Raise a query on one of a participant's records (trialsite.records), or one of its
    fields, from its page."""
    record_kind, record = selectors.record_visible_to(request.user, kind, pk)
    services.require_permission(request.user, RAISE_PERMISSION)
    services.require_permission(request.user, record_kind.view_permission)
    back_url = record_kind.url(record)
    return _raise_page(
        request,
        RaiseQueryForm(
            request.POST or None,
            choices=record_kind.field_choices(),
            initial={"field": request.GET.get("field", "")},
        ),
        raise_=lambda data: queries.query_raise_on_record(
            record=record, author=request.user, **data
        ),
        participant=cast(Any, record).participant,
        subject=record_kind.describe(record),
        subject_date=None,
        back_url=back_url,
        done_url=back_url,
    )


def _raise_page(
    request: AuthenticatedHttpRequest,
    form: RaiseQueryForm,
    *,
    raise_: Callable[[dict[str, Any]], DataQuery],
    participant: Participant,
    subject: StrOrPromise,
    subject_date: date | None,
    back_url: str,
    done_url: str,
) -> HttpResponse:
    """Raise a query from the form (its question and what it is about), or show the page with
    the form and its errors (the service's refusal on top)."""
    if request.method == "POST" and form.is_valid():
        try:
            raise_({"field": form.cleaned_data["field"], "text": form.cleaned_data["text"]})
        except ValidationError as error:
            add_refusal(form, error)
        else:
            messages.success(request, _("Query raised: it awaits the site's answer."))
            return redirect(done_url)
    return render(
        request,
        "trialsite/query_raise.html",
        {
            "form": form,
            "participant": participant,
            "subject": subject,
            "subject_date": subject_date,
            "back_url": back_url,
        },
    )


# --------------------------------------------------------------------------------------------
# What other pages show of the queries
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitQueryPanel:
    """The visit page's queries: the list, the count of queries not closed on each row of its
    scores table (``pga``, ``sledai``, ``bilag``: the SLEDAI-2K and BILAG-2004 rows count those
    on any of their answers) and beside each lab value (in the order of ``summary.labs``), and
    the form to raise one (None without the right)."""

    rows: list[QueryRow]
    row_counts: dict[str, int]
    lab_rows: list[tuple[LabValue, int]]
    raise_form: RaiseQueryForm | None


def visit_query_panel(request: AuthenticatedHttpRequest, visit: Visit) -> VisitQueryPanel:
    """Return what the visit page shows of the visit's queries (none without the right to see
    queries)."""
    rows = queries.visit_queries(visit) if request.user.has_perm(VIEW_QUERIES) else []
    by_field = queries.open_counts_by_field(rows)

    def starting(prefix: str) -> int:
        return sum(count for field, count in by_field.items() if field.startswith(prefix))

    labs = selectors.lab_values(getattr(visit, "labs", None)) or []
    lab_counts = [by_field.get(name, 0) for name in queries.LAB_ROWS] if labs else []
    can_raise = request.user.has_perm(RAISE_PERMISSION)
    return VisitQueryPanel(
        rows=rows,
        row_counts={
            "pga": by_field.get("pga", 0),
            "sledai": starting("sledai_"),
            "bilag": starting("bilag_"),
        },
        lab_rows=list(zip(labs, lab_counts, strict=True)),
        raise_form=RaiseQueryForm(auto_id="raise_%s") if can_raise else None,
    )


@dataclass(frozen=True)
class RecordQueryPanel:
    """A record page's queries (a CRS episode's, an adverse event's, ...) and the form to raise
    one, posted to ``raise_url`` (None without the right)."""

    rows: list[QueryRow]
    raise_form: RaiseQueryForm | None
    raise_url: str
    #: The queries not closed on each field, by field name and by the field's label as the page
    #: shows it (capitalised), for the badge beside its value.
    open_by_field: dict[str, int]
    open_by_label: dict[str, int]


def record_query_panel(request: AuthenticatedHttpRequest, record: Model) -> RecordQueryPanel:
    """Return what a record's page shows of its queries (trialsite.records; none without the
    right to see queries)."""
    kind = records.kind_of(type(record))
    rows = queries.record_queries(record) if request.user.has_perm(VIEW_QUERIES) else []
    open_by_field = queries.open_counts_by_field(rows)
    can_raise = request.user.has_perm(RAISE_PERMISSION)
    return RecordQueryPanel(
        rows=rows,
        raise_form=(
            RaiseQueryForm(choices=kind.field_choices(), auto_id="raise_%s") if can_raise else None
        ),
        raise_url=reverse("query_raise_on_record", args=[kind.key, record.pk]),
        open_by_field=open_by_field,
        open_by_label={
            str(capfirst(kind.field_label(field))): count for field, count in open_by_field.items()
        },
    )


def participant_record_queries(
    request: AuthenticatedHttpRequest, participant: Participant
) -> list[QueryRow]:
    """Return the queries on a participant's records other than visits, for the participant
    page (none without the right to see queries)."""
    if not request.user.has_perm(VIEW_QUERIES):
        return []
    return queries.participant_record_queries(participant.pk)


def entry_field_queries(
    request: AuthenticatedHttpRequest, visit: Visit
) -> dict[str, list[QueryRow]]:
    """Return a visit's queries not closed by the entry form's field they are about (a lab
    value's form field, ``visit_date``, or ``visit`` for the whole visit); none without the
    right to see queries."""
    by_field: dict[str, list[QueryRow]] = {}
    if not request.user.has_perm(VIEW_QUERIES):
        return by_field
    for row in queries.visit_queries(visit):
        if row.query.is_open:
            by_field.setdefault(_entry_field(row.query.field), []).append(row)
    return by_field


def _entry_field(field: str) -> str:
    kind = queries.field_kind(field)
    if kind == "visit":
        return "visit"
    if kind == "lab":
        return lab_field_name(field)
    return field


@dataclass(frozen=True)
class HomeQueries:
    """Home's panel: the oldest queries waiting for the user, how many there are, and the status
    filter of the list that shows them all (``open``: to answer; ``answered``: to review)."""

    rows: list[QueryRow]
    total: int
    status: str


def home_queries(request: AuthenticatedHttpRequest) -> HomeQueries | None:
    """Return Home's panel of the queries awaiting the user (None without the right to see
    queries)."""
    user = request.user
    if not user.has_perm(VIEW_QUERIES):
        return None
    awaiting = queries.queries_awaiting(user)
    statuses = queries.awaiting_statuses(user)
    status = statuses[0] if len(statuses) == 1 else queries.DEFAULT_STATUS_FILTER
    rows = queries.query_rows(queries.with_messages(awaiting[:HOME_LIMIT]))
    total = len(rows) if len(rows) < HOME_LIMIT else awaiting.count()
    setattr(request, AWAITING_COUNT, total)  # the navigation bar shows it too: count it once
    return HomeQueries(rows=rows, total=total, status=status)


def navbar_queries(request: HttpRequest) -> dict[str, object]:
    """Give every page the number of queries awaiting the user, counted only if the page shows
    it (a template context processor)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def count() -> int:
        counted = getattr(request, AWAITING_COUNT, None)
        return counted if counted is not None else queries.queries_awaiting(user).count()

    return {"queries_awaiting_count": SimpleLazyObject(count)}
