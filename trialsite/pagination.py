"""Pages and sorting of the site's long lists, read from the URL.

A list is sorted by ``?sort=<key>`` (ascending) or ``?sort=-<key>`` (descending), where the keys
are the ones the view allows, and shown page by page with ``?page=<number>``. A key or page the
list does not know falls back to the default sort or the nearest page, never to an error. The
links of a page keep every other parameter of the URL (the filters), so that filters, sorting
and pages work together; ``templates/includes/pagination.html`` draws the page links and the
"Showing 1-50 of 2,000" line, ``templates/includes/sort_header.html`` a sortable column head.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from django.core.paginator import Page, Paginator
from django.db.models import F, QuerySet
from django.db.models.expressions import OrderBy
from django.http import HttpRequest, QueryDict

#: The URL parameters of sorting and of the page number.
SORT_PARAMETER = "sort"
PAGE_PARAMETER = "page"


@dataclass(frozen=True)
class SortColumn:
    """What a column head needs: the link that sorts by it, and how the list is sorted now."""

    key: str
    #: The query string that sorts by this column: ascending, or descending when the list is
    #: already sorted ascending by it; back on the first page, other parameters kept.
    url: str
    #: The value of the head's ``aria-sort``: "ascending", "descending" or "none".
    aria_sort: Literal["ascending", "descending", "none"]


def paginate(
    request: HttpRequest, object_list: QuerySet[Any] | Sequence[Any], per_page: int
) -> Page:
    """Return the page of ``object_list`` that ``?page=`` asks for.

    A page number that is not a number gives the first page, one past the end the last page.
    A queryset costs two queries (its count and the page's rows); it must be ordered.
    """
    paginator = ListPaginator(object_list, per_page)
    return paginator.get_page(request.GET.get(PAGE_PARAMETER))


class ListPage(Page):
    """A page that also knows which page numbers its links show."""

    @property
    def page_links(self) -> list[int | str]:
        """Return the page numbers to link to, with the paginator's ellipsis for the others."""
        return list(self.paginator.get_elided_page_range(self.number, on_each_side=2, on_ends=1))


class ListPaginator(Paginator):
    """A paginator whose pages are ``ListPage``."""

    def _get_page(self, *args: Any, **kwargs: Any) -> ListPage:
        return ListPage(*args, **kwargs)


def sort_order(
    request: HttpRequest, allowed: Mapping[str, tuple[str, ...]], default: str
) -> tuple[str, tuple[str, ...]]:
    """Return the sort the URL asks for, as ``(key, order_by)``.

    ``allowed`` maps each key to the fields that sort by it ascending (end them with a unique
    field so that pages do not overlap); ``default`` is such a key, with a leading "-" for a
    descending sort. ``key`` is the key read (``"site"`` or ``"-site"``), ``order_by`` the fields
    to pass to ``QuerySet.order_by``: a descending sort reverses every field. A key not in
    ``allowed`` gives the default.
    """
    requested = request.GET.get(SORT_PARAMETER, "")
    key = requested if requested.removeprefix("-") in allowed else default
    descending = key.startswith("-")
    fields = allowed[key.removeprefix("-")]
    return key, tuple(_reversed(field) for field in fields) if descending else fields


def _reversed(field: str) -> str:
    return field.removeprefix("-") if field.startswith("-") else f"-{field}"


def nulls_last(order_by: Sequence[str]) -> list[OrderBy]:
    """Turn field names ("-" for descending) into orderings that put empty values last in
    either direction, the same on every database."""
    return [
        F(field.removeprefix("-")).desc(nulls_last=True)
        if field.startswith("-")
        else F(field).asc(nulls_last=True)
        for field in order_by
    ]


def sort_columns(request: HttpRequest, keys: Sequence[str], current: str) -> dict[str, SortColumn]:
    """Return the column head of every sort key, given the list's ``current`` sort key."""
    columns = {}
    for key in keys:
        if current == key:
            aria_sort: Literal["ascending", "descending", "none"] = "ascending"
            target = f"-{key}"
        elif current == f"-{key}":
            aria_sort = "descending"
            target = key
        else:
            aria_sort = "none"
            target = key
        columns[key] = SortColumn(
            key=key, url=query_string(request.GET, sort=target), aria_sort=aria_sort
        )
    return columns


def query_string(query: QueryDict, **changes: str) -> str:
    """Return ``?`` and the URL's parameters with some changed, back on the first page."""
    params = query.copy()
    params.pop(PAGE_PARAMETER, None)
    for name, value in changes.items():
        params[name] = value
    return f"?{params.urlencode()}"
