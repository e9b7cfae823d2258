"""The participant's records beside the visits that monitor queries can be about: the CAR-T
treatment record, CRS and ICANS episodes, adverse events and medication courses.

Their apps register them here when Django starts (``AppConfig.ready``), so trialsite, below
them, never imports them: a query names its record by content type and primary key
(trialsite.models.DataQuery.record).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from typing import Any, cast

from django.contrib.auth import get_permission_codename
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from trialsite.i18n import StrOrPromise

#: What a query on a whole record is about.
WHOLE_RECORD = _("the whole record")


@dataclass(frozen=True)
class RecordKind:
    """One kind of record: its model (with a ``participant`` foreign key), the fields a query
    can be about (those of its entry form), how the pages name one record, and its page."""

    model: type[models.Model]
    fields: tuple[str, ...]
    describe: Callable[[Any], StrOrPromise]
    url: Callable[[Any], str]
    #: Show a field's value where the page shows it differently from its plain stored value
    #: (None: the plain value).
    show: Callable[[Any, str], StrOrPromise | None]
    #: Say what must happen before an investigator signs the record (None: nothing).
    before_signing: Callable[[Any], StrOrPromise | None]

    @property
    def key(self) -> str:
        """The kind's name in URLs: the model's ``app_label.modelname``."""
        return self.model._meta.label_lower

    @property
    def view_permission(self) -> str:
        """The right to see records of this kind, which their queries' pages need too."""
        return view_permission(self.model)

    @property
    def label(self) -> StrOrPromise:
        return self.model._meta.verbose_name or ""

    def field_label(self, field: str) -> StrOrPromise:
        """Name a field of the record as its entry form does ("" is the whole record)."""
        if field == "":
            return WHOLE_RECORD
        model_field = cast(models.Field, self.model._meta.get_field(field))
        return model_field.verbose_name

    def field_choices(self) -> list[tuple[str, StrOrPromise]]:
        return [(name, self.field_label(name)) for name in ("", *self.fields)]

    def current_value(self, record: models.Model, field: str) -> StrOrPromise:
        """Show a field's stored value as the record's page does ("" for the whole record)."""
        if field == "":
            return ""
        shown = self.show(record, field)
        if shown is not None:
            return shown
        model_field = cast(models.Field, self.model._meta.get_field(field))
        value = getattr(record, field)
        if value is None or value == "":
            return _("not recorded")
        if model_field.choices:
            return cast(StrOrPromise, getattr(record, f"get_{field}_display")())
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        if isinstance(value, time):
            return value.strftime("%H:%M")
        if isinstance(value, Decimal) and cast(models.DecimalField, model_field).decimal_places > 2:
            return f"{value.normalize():f}"  # a daily dose of 10 mg, stored as 10.000
        return str(value)  # a decimal as stored: 1.20 m², 38.0 °C


_KINDS: dict[str, RecordKind] = {}


def view_permission(model: type[models.Model]) -> str:
    """Return the right to see a model's records, as ``user.has_perm`` names it."""
    return f"{model._meta.app_label}.{get_permission_codename('view', model._meta)}"


def _plain(record: models.Model, field: str) -> None:
    """Show every field by its plain stored value (RecordKind.show)."""


def _nothing(record: models.Model) -> None:
    """Ask nothing before the record is signed (RecordKind.before_signing)."""


def participant_page(participant_id: int, section: str = "") -> str:
    """Return the URL of a participant's page, at one of its sections (its element id)."""
    url = reverse("participant_detail", args=[participant_id])
    return f"{url}#{section}" if section else url


def of_record(record: models.Model) -> dict[str, Any]:
    """Return the lookups that find the rows about a record (its queries, its sign-offs): its
    content type and primary key."""
    return {"record_type": ContentType.objects.get_for_model(record), "record_id": record.pk}


def register(
    model: type[models.Model],
    *,
    fields: tuple[str, ...] | list[str],
    describe: Callable[[Any], StrOrPromise],
    url: Callable[[Any], str],
    show: Callable[[Any, str], StrOrPromise | None] | None = None,
    before_signing: Callable[[Any], StrOrPromise | None] | None = None,
) -> None:
    """Let queries be about records of ``model`` (called by the model's app when it is ready)."""
    kind = RecordKind(
        model=model,
        fields=tuple(fields),
        describe=describe,
        url=url,
        show=show or _plain,
        before_signing=before_signing or _nothing,
    )
    _KINDS[kind.key] = kind


def record_kind(key: str) -> RecordKind | None:
    """Return the registered kind named ``key`` (``app_label.modelname``), None if unknown."""
    return _KINDS.get(key)


def record_kinds() -> list[RecordKind]:
    """Return every registered kind of record."""
    return list(_KINDS.values())


def of_kinds_seen(rows: QuerySet, user: User) -> QuerySet:
    """Keep the rows about a visit or a record (queries, sign-offs and their histories: a
    ``record_type`` field, empty for a visit) that are about a visit or about a kind of record
    the user may see: a record's queries and sign-offs are seen with the record."""
    kinds = record_kinds()
    if all(user.has_perm(kind.view_permission) for kind in kinds):
        return rows
    seen = [
        ContentType.objects.get_for_model(kind.model).pk
        for kind in kinds
        if user.has_perm(kind.view_permission)
    ]
    return rows.filter(Q(record_type__isnull=True) | Q(record_type_id__in=seen))


def kind_of(model: type[models.Model]) -> RecordKind:
    """Return the registered kind of a model (KeyError: not a record queries can be about)."""
    return _KINDS[model._meta.label_lower]
