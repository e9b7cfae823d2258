"""A change of a study, its schedule or its dose levels, once the study has participants.

Every stored result depends on the schedule (the baseline visit decides each change from
baseline; without one, the schedule's order decides the follow-up visits), so such a change and
the rescoring of the study's participants are written in one transaction: a stored result always
equals a fresh computation. At the scale of a trial network that takes minutes, so admin does not
write the change itself: it records the rows its page would save (for a stored row, only the
fields it changes) and delete (``admin_operations``) in a schedule change
(jobs.models.ScheduleChange), and a worker applies them to the rows as they stand then
(``apply_schedule_change``, run by jobs.tasks.apply_schedule_change). A study without
participants has nothing to rescore: admin writes its changes at once.

Lock order (trialsite.locks): the study (step 1), then its participants (step 2), then the rows.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from django.apps import apps
from django.contrib.auth.models import User
from django.core import serializers
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models, transaction
from django.db.models import ProtectedError
from django.forms import ModelForm
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext as _
from modeltranslation.translator import NotRegistered, translator

from responses.services import recompute_participants
from trialsite import services
from trialsite.locks import lock_participants, lock_study
from trialsite.models import Participant


class Operation(TypedDict, total=False):
    """One row to write: Django's "python" serialization of the row to save (model, pk, fields),
    or the model and pk of a row to delete (delete: True)."""

    model: str
    pk: int | None
    fields: dict[str, Any]
    delete: bool


def study_has_participants(study_id: int) -> bool:
    """Say whether a change of the study would alter stored results (it has participants)."""
    return Participant.objects.filter(study_id=study_id).exists()


def admin_operations(form: ModelForm, formsets: Sequence[BaseInlineFormSet]) -> list[Operation]:
    """Return the rows an admin page would write for its validated form and inline formsets, in
    the order admin writes them: the record, then each formset's deletions and saves.

    Each formset also records its rows as its save() would (new_objects, changed_objects,
    deleted_objects), from which admin words the change for its history.
    """
    operations = [_saved(form)]
    for formset in formsets:
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        deleted = formset.deleted_forms
        for inline_form in formset.forms:
            instance = inline_form.instance
            if inline_form in deleted:
                if instance.pk is not None:
                    formset.deleted_objects.append(instance)
                    operations.append(
                        Operation(model=instance._meta.label_lower, pk=instance.pk, delete=True)
                    )
            elif inline_form.has_changed():
                if instance.pk is None:
                    formset.new_objects.append(instance)
                else:
                    formset.changed_objects.append((instance, inline_form.changed_data))
                operations.append(_saved(inline_form))
    return operations


def _saved(form: ModelForm) -> Operation:
    """Return the row a form saves: every field of a new row; of a stored row, only the fields
    the form changed, which the worker sets on the row as it stands then."""
    instance = form.instance
    model = type(instance)
    # A field translated by modeltranslation ("name") reads and writes the current language's
    # column ("name_en", "name_zh_hans"), which are fields of their own.
    translated = _translated_fields(model)
    names = [
        field.name
        for field in model._meta.concrete_fields
        if not field.primary_key and field.name not in translated
    ]
    if instance.pk is not None:
        names = [name for name in names if name in form.changed_data]
    (serialized,) = serializers.serialize("python", [instance], fields=names)
    return Operation(model=serialized["model"], pk=serialized["pk"], fields=serialized["fields"])


def _translated_fields(model: type[models.Model]) -> list[str]:
    try:
        return list(translator.get_options_for_model(model).all_fields)
    except NotRegistered:
        return []


@dataclass(frozen=True)
class AppliedChange:
    """What a schedule change wrote: the record of its admin page (with its key when it was
    added) and how many participants were rescored."""

    record: models.Model
    added: bool
    rescored: int


@transaction.atomic
def apply_schedule_change(
    *,
    study_id: int,
    operations: Sequence[Operation],
    author: User,
    reason: str,
    progress: Callable[[int, int], None] | None = None,
) -> AppliedChange:
    """Write the rows of a schedule change with its author and reason, and rescore the study's
    participants, in one transaction.

    Each row is validated again, as it stands now (ValidationError, and nothing is written, when
    the data no longer allow the change). ``progress`` is told how many participants are
    rescored, of how many.
    """
    lock_study(study_id)
    participant_ids = lock_participants(
        Participant.objects.filter(study_id=study_id).values_list("pk", flat=True)
    )
    written = []
    for operation in operations:
        if operation.get("delete"):
            _delete(operation, author=author, reason=reason)
        else:
            instance = _instance(operation)
            services.save_with_audit(instance, author=author, reason=reason)
            written.append(instance)
    recompute_participants(participant_ids, progress=progress)
    return AppliedChange(
        record=written[0], added=operations[0]["pk"] is None, rescored=len(participant_ids)
    )


def _instance(operation: Operation) -> models.Model:
    if operation["pk"] is None:
        (deserialized,) = serializers.deserialize("python", [operation])
        return deserialized.object
    model = apps.get_model(operation["model"])
    instance = _stored(model, operation["pk"])
    for name, value in operation["fields"].items():
        field = model._meta.get_field(name)
        setattr(instance, field.attname, field.to_python(value))
    return instance


def _delete(operation: Operation, *, author: User, reason: str) -> None:
    instance = _stored(apps.get_model(operation["model"]), operation["pk"])
    try:
        services.delete_with_audit(instance, author=author, reason=reason)
    except ProtectedError as error:
        # Django refuses before it deletes anything, and the transaction is rolled back.
        raise ValidationError(
            _("%(record)s cannot be deleted: recorded data refer to it.") % {"record": instance}
        ) from error


def _stored(model: type[models.Model], pk: int | None) -> models.Model:
    try:
        return model._default_manager.get(pk=pk)
    except ObjectDoesNotExist as error:
        raise ValidationError(
            _("The %(record)s changed here (key %(pk)s) no longer exists.")
            % {"record": model._meta.verbose_name, "pk": pk}
        ) from error
