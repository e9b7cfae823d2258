"""Every write to the trial's data: validated, saved with its audit entry, and rescored atomically.

The audit entry of each change carries its author and reason (django-simple-history reads them
from ``_history_user`` and ``_change_reason``); its time is the save time. Each service that
changes something an outcome depends on ends by calling
``responses.services.participant_recompute_responses`` in the same transaction.

Each service first locks what it derives from (trialsite.locks: the participant, or the study to
enrol), so concurrent saves for one participant run one after the other.
"""

from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar, cast

from django.contrib.auth import authenticate
from django.contrib.auth.models import AbstractBaseUser, User
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Max, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history

from responses.scoring.bilag import (
    BILAG_INVOLVED_GRADES,
    BILAG_SYSTEM_LABELS,
    BILAG_SYSTEMS,
    bilag_e_after_involvement,
)
from responses.scoring.sledai import SLEDAI_FIELDS
from responses.services import ResultChange, participant_recompute_responses, visit_assessment
from safety.checks import TREATMENT_PARTICIPANT_FIELDS, participant_safety_errors
from safety.models import TreatmentRecord
from trialsite.i18n import StrOrPromise, recorded_text
from trialsite.locks import lock_participant_save, lock_participants
from trialsite.models import (
    ANSWER_LABELS,
    ANSWERS,
    FREEZING_STEPS,
    QUERY_FIELD_LABELS,
    SIGNATURE_MEANING,
    STORED_LAB_FIELDS,
    VISIT_RECORD_MODELS,
    BilagAssessment,
    DataQuery,
    EntryStatus,
    LabResult,
    MissedVisit,
    NotDoneAnswer,
    Participant,
    PgaAssessment,
    QueryMessage,
    QueryStatus,
    RecordSignOff,
    SignOff,
    SignOffKind,
    Site,
    SiteMembership,
    SledaiAssessment,
    Study,
    StudyDoseLevel,
    Visit,
    VisitDefinition,
    VisitSignOff,
    dose_label,
)
from trialsite.records import kind_of, of_record
from trialsite.validators import validate_multiline_text

Author = AbstractBaseUser | None
#: A row recorded for a visit (an assessment or the labs).
VisitRecord = TypeVar("VisitRecord", bound=models.Model)

ANSWER_NEEDED = gettext_lazy("Answer this, or mark it not done, before marking the visit complete.")


def check_reason(reason: str) -> None:
    """Refuse an empty reason, or one holding control characters other than line breaks and tabs.

    The reason may come from a textarea (admin), so the multi-line text rule applies.
    """
    if not reason.strip():
        raise ValidationError(_("Every change needs a reason."))
    validate_multiline_text(reason)


def save_with_audit(
    instance: models.Model,
    *,
    author: Author,
    reason: str,
    stored: Mapping[str, object] | None = None,
) -> bool:
    """Validate and save one row, recording who changed it and why in its audit history; say
    whether it was saved.

    A stored row whose values are all unchanged is not saved again: its history records only
    changes, so a save of a visit that changed the SLEDAI-2K alone adds no PGA version.
    ``stored``, the row's values (``row_values``) as the caller read them under the lock it
    holds, spares reading the row again; a row still equal to them is not validated either.
    """
    check_reason(reason)
    if stored is not None and _unchanged(instance, stored):
        return False
    instance.full_clean()  # may convert a value (text to a Decimal): compare again after it
    if _unchanged(instance, stored):
        return False
    _tell_history(instance, author=author, reason=reason)
    instance.save()
    return True


def row_values(instance: models.Model) -> dict[str, object]:
    """Return a row's values by column, as save_with_audit compares them."""
    return {
        field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields
    }


def _unchanged(instance: models.Model, stored: Mapping[str, object] | None) -> bool:
    """Say whether a stored row holds exactly the values of ``instance`` already: ``stored``,
    its values as read (None: read them now)."""
    if instance._state.adding:
        return False
    columns = [field.attname for field in instance._meta.concrete_fields]
    if stored is None:
        stored = type(instance)._default_manager.filter(pk=instance.pk).values(*columns).first()
    return stored is not None and all(
        stored[column] == getattr(instance, column) for column in columns
    )


def delete_with_audit(instance: models.Model, *, author: Author, reason: str) -> None:
    """Delete one row; its audit history keeps its last values with who deleted it and why."""
    check_reason(reason)
    _tell_history(instance, author=author, reason=reason)
    instance.delete()


def _tell_history(instance: models.Model, *, author: Author, reason: str) -> None:
    """Give django-simple-history the author and reason of the next save or delete: it reads
    them from these two attributes of the instance."""
    vars(instance).update(_history_user=author, _change_reason=reason)


@transaction.atomic
def participant_save(*, participant: Participant, author: Author, reason: str) -> Participant:
    """Enrol a participant or save changes to one (dates, dose, treatment failure, withdrawal)."""
    enrolling = participant.pk is None
    lock_participant_save(study_id=participant.study_id, participant_id=participant.pk)
    stored = None
    if not enrolling:
        before = Participant.objects.filter(pk=participant.pk)
        stored = before.values(*TREATMENT_PARTICIPANT_FIELDS).first()
    dose = participant_dose_errors(
        study_id=participant.study_id,
        dose_cells_per_kg=participant.dose_cells_per_kg,
        participant_id=participant.pk,
    )
    save_with_audit(participant, author=author, reason=reason)
    if enrolling:
        # A new row with a new key: no visit, episode, adverse event or treatment record refers
        # to it yet, so nothing stored can contradict the dates, age or dose, and there is
        # nothing to score.
        if dose:
            raise ValidationError({"dose_cells_per_kg": dose})
        return participant
    errors = participant_safety_errors(participant)
    if dose:
        errors.setdefault("dose_cells_per_kg", []).extend(dose)
    baseline = baseline_infusion_errors(participant, infusion_date=participant.infusion_date)
    if baseline:
        errors.setdefault("infusion_date", []).extend(baseline)
    if errors:
        raise ValidationError(errors)
    if stored is not None and any(
        stored[field] != getattr(participant, field) for field in TREATMENT_PARTICIPANT_FIELDS
    ):
        # The treatment record's meaning changed with it: refused when it is signed or locked
        # (participant_safety_errors says so on the field first), its verification voided.
        for record in TreatmentRecord.objects.filter(participant=participant):
            record_data_changed(record=record, author=author, reason=reason)
    participant_recompute_responses(participant=participant)
    return participant


def participant_create(
    *,
    study: Study,
    site: Site,
    participant_id: str,
    sex: str,
    age_at_enrollment: int,
    enrollment_date: date,
    infusion_date: date | None = None,
    dose_cells_per_kg: int | None = None,
    treatment_failure_date: date | None = None,
    withdrawal_date: date | None = None,
    withdrawal_reason: str = "",
    author: Author,
    reason: str,
) -> Participant:
    """Enrol a participant."""
    participant = Participant(
        study=study,
        site=site,
        participant_id=participant_id,
        sex=sex,
        age_at_enrollment=age_at_enrollment,
        enrollment_date=enrollment_date,
        infusion_date=infusion_date,
        dose_cells_per_kg=dose_cells_per_kg,
        treatment_failure_date=treatment_failure_date,
        withdrawal_date=withdrawal_date,
        withdrawal_reason=withdrawal_reason,
    )
    return participant_save(participant=participant, author=author, reason=reason)


@transaction.atomic
def visit_save(*, visit: Visit, author: Author, reason: str) -> Visit:
    """Record a visit or change its date; a new unscheduled visit gets the next number."""
    stored_participant_id = (
        Visit.objects.filter(pk=visit.pk).values_list("participant_id", flat=True).first()
        if visit.pk is not None
        else None
    )
    lock_participants(
        {pk for pk in (visit.participant_id, stored_participant_id) if pk is not None}
    )
    errors = {
        "visit_definition": visit_missed_errors(visit),
        "visit_date": visit_order_errors(visit.participant, proposed_visit=visit),
    }
    if any(errors.values()):
        raise ValidationError({field: messages for field, messages in errors.items() if messages})
    if visit.pk is None and visit.visit_definition.repeatable:
        latest = Visit.objects.filter(
            participant=visit.participant, visit_definition=visit.visit_definition
        ).aggregate(latest=Max("occurrence"))["latest"]
        visit.occurrence = 1 if latest is None else latest + 1
    if save_with_audit(visit, author=author, reason=reason) and stored_participant_id is not None:
        visit_data_changed(visit=visit, author=author, reason=reason)
    participant_rescore(participant=visit.participant)
    if stored_participant_id not in (None, visit.participant_id):
        participant_recompute_responses(participant=Participant(pk=stored_participant_id))
    return visit


def visit_create(
    *,
    participant: Participant,
    visit_definition: VisitDefinition,
    visit_date: date,
    author: Author,
    reason: str,
) -> Visit:
    """Record that a visit took place."""
    visit = Visit(participant=participant, visit_definition=visit_definition, visit_date=visit_date)
    return visit_save(visit=visit, author=author, reason=reason)


def missed_visit_errors(
    *, participant: Participant, visit_definition: VisitDefinition
) -> list[str]:
    """Refuse to record as missed a visit that took place."""
    if Visit.objects.filter(participant=participant, visit_definition=visit_definition).exists():
        return [_("%(code)s is already recorded as a visit.") % {"code": visit_definition.code}]
    return []


@transaction.atomic
def missed_visit_record(
    *,
    participant: Participant,
    visit_definition: VisitDefinition,
    reason: str,
    note: str = "",
    author: Author,
    audit_reason: str,
) -> MissedVisit:
    """Record that a scheduled visit did not take place, and why."""
    lock_participants([participant.pk])
    errors = missed_visit_errors(participant=participant, visit_definition=visit_definition)
    if errors:
        raise ValidationError({"visit_definition": errors})
    missed = MissedVisit(
        participant=participant, visit_definition=visit_definition, reason=reason, note=note
    )
    save_with_audit(missed, author=author, reason=audit_reason)
    return missed


@transaction.atomic
def missed_visit_remove(*, missed: MissedVisit, author: Author, reason: str) -> None:
    """Remove a missed-visit record made in error (its history keeps it)."""
    lock_participants([missed.participant_id])
    delete_with_audit(missed, author=author, reason=reason)


@transaction.atomic
def visit_delete(*, visit: Visit, author: Author, reason: str) -> None:
    """Delete a visit entered in error, with its assessments, queries and voided sign-offs; their
    history keeps every value. A signed or locked visit must be unlocked first."""
    participant = visit.participant
    lock_participants([participant.pk])
    visit_data_changed(visit=visit, author=author, reason=reason)
    records: list[type[models.Model]] = [*VISIT_RECORD_MODELS, VisitSignOff]
    for message in QueryMessage.objects.filter(query__visit=visit):
        delete_with_audit(message, author=author, reason=reason)
    for query in DataQuery.objects.filter(visit=visit):
        delete_with_audit(query, author=author, reason=reason)
    for model in records:
        for row in model._default_manager.filter(visit=visit):
            delete_with_audit(row, author=author, reason=reason)
    delete_with_audit(visit, author=author, reason=reason)
    participant_recompute_responses(participant=participant)


def _assessment_for(
    model: type[VisitRecord], visit: Visit
) -> tuple[VisitRecord, dict[str, object]]:
    """Return the visit's row of ``model`` (a new one if it has none) with its values as read."""
    row = model._default_manager.filter(visit=visit).first() or model(visit=visit)
    return row, row_values(row)


def answer_values(
    sledai: Mapping[str, bool | None], pga: Decimal | None, bilag: Mapping[str, str | None]
) -> dict[str, object]:
    """Return every answer of an entry by its name (trialsite.models.ANSWERS), None if not given."""
    return {
        "pga": pga,
        **{f"sledai_{field}": sledai.get(field) for field in SLEDAI_FIELDS},
        **{f"bilag_{system}": bilag.get(system) or None for system in BILAG_SYSTEMS},
    }


def missing_answers(
    sledai: Mapping[str, bool | None],
    pga: Decimal | None,
    bilag: Mapping[str, str | None],
    not_done: Collection[str] = (),
) -> list[str]:
    """Name every answer neither given nor marked not done, as trialsite.models.ANSWERS does."""
    values = answer_values(sledai, pga, bilag)
    return [answer for answer in ANSWERS if values[answer] is None and answer not in not_done]


def not_done_errors(values: Mapping[str, object], not_done: Mapping[str, str]) -> dict[str, str]:
    """Refuse an answer both given and marked not done, or marked not done without a reason."""
    unknown = set(not_done) - set(ANSWERS)
    if unknown:
        raise ValueError(f"Unknown answers marked not done: {sorted(unknown)}")
    errors = {}
    for answer, reason in not_done.items():
        label = ANSWER_LABELS[answer]
        if values[answer] is not None:
            errors[answer] = _(
                "%(answer)s has a value and is marked not done; keep one of the two."
            ) % {"answer": label}
        elif not reason.strip():
            errors[answer] = _("Give the reason %(answer)s was not done.") % {"answer": label}
    return errors


def _save_not_done(
    *, visit: Visit, not_done: Mapping[str, str], author: Author, reason: str
) -> bool:
    """Bring the visit's not-done answers in line with ``not_done``, each change audited; say
    whether anything changed."""
    stored = {row.answer: row for row in NotDoneAnswer.objects.filter(visit=visit)}
    changed = False
    for answer, row in stored.items():
        if answer not in not_done:
            delete_with_audit(row, author=author, reason=reason)
            changed = True
    for answer, why in not_done.items():
        row = stored.get(answer) or NotDoneAnswer(visit=visit, answer=answer)
        values = row_values(row)
        row.reason = why
        changed |= save_with_audit(row, author=author, reason=reason, stored=values)
    return changed


@dataclass(frozen=True)
class SavedAssessments:
    """What a save of a visit's assessments did: the visit, and the endpoint results whose
    outcome changed, at this visit or at others (a corrected baseline changes later ones)."""

    visit: Visit
    changes: tuple[ResultChange, ...]


@transaction.atomic
def visit_save_assessments(
    *,
    visit: Visit,
    sledai: Mapping[str, bool | None],
    sledai_lookback_days: int | None = None,
    pga: Decimal | None,
    bilag: Mapping[str, str | None],
    not_done: Mapping[str, str] | None = None,
    labs: Mapping[str, object] | None = None,
    complete: bool | None = None,
    author: Author,
    reason: str,
) -> SavedAssessments:
    """Store the SLEDAI-2K, PGA, BILAG-2004 (None = not given) and labs of a visit, and rescore;
    return the visit with the endpoint results (of any visit) whose outcome the save changed.

    ``not_done`` maps each answer documented as not done (named as trialsite.models.ANSWERS
    names them) to the reason; such an answer has no value. Like the answers, it replaces what
    was stored: an answer left out of it is no longer marked not done.
    ``complete=True`` marks the entry complete and requires every answer given or marked not
    done; ``False`` saves it in progress (it feeds no endpoint); ``None`` marks it complete
    exactly when every answer is given or marked not done (imports, the demo loader).
    ``labs`` maps LabResult's values (trialsite.models.STORED_LAB_FIELDS, the B cells and
    immunoglobulins included) to what is stored; a value left out is stored as not done, and
    ``labs=None`` leaves the stored labs as they are.
    """
    unknown = (set(sledai) - set(SLEDAI_FIELDS)) | (set(bilag) - set(BILAG_SYSTEMS))
    unknown |= set(labs or {}) - set(STORED_LAB_FIELDS)
    if unknown:
        raise ValueError(f"Unknown assessment fields: {sorted(unknown)}")
    not_done = not_done or {}
    lock_participants([visit.participant_id])
    visit.refresh_from_db()  # its date and entry status as committed, read under the lock
    errors = not_done_errors(answer_values(sledai, pga, bilag), not_done)
    if errors:
        raise ValidationError(errors)
    missing = missing_answers(sledai, pga, bilag, not_done)
    if complete and missing:
        raise ValidationError({answer: ANSWER_NEEDED for answer in missing})
    if complete is None:
        complete = not missing

    sledai_row, sledai_stored = _assessment_for(SledaiAssessment, visit)
    sledai_row.lookback_days = (
        sledai_lookback_days
        if sledai_lookback_days is not None
        else visit.participant.study.sledai_lookback_days
    )
    for field in SLEDAI_FIELDS:
        setattr(sledai_row, field, sledai.get(field))
    pga_row, pga_stored = _assessment_for(PgaAssessment, visit)
    pga_row.score = pga
    bilag_row, bilag_stored = _assessment_for(BilagAssessment, visit)
    for system in BILAG_SYSTEMS:
        setattr(bilag_row, system, bilag.get(system) or "")
    # Each row with its values as read under the lock (None: read them again).
    rows: list[tuple[models.Model, dict[str, object] | None]] = [
        (sledai_row, sledai_stored),
        (pga_row, pga_stored),
        (bilag_row, bilag_stored),
    ]
    lab_values_given = labs is not None and any(
        value is not None and value != "" for value in labs.values()
    )
    if labs is not None and (lab_values_given or LabResult.objects.filter(visit=visit).exists()):
        lab_row, lab_stored = _assessment_for(LabResult, visit)
        for field in STORED_LAB_FIELDS:
            setattr(lab_row, field, labs.get(field, "" if field == "upcr_unit" else None))
        rows.append((lab_row, lab_stored))
    entry_status = EntryStatus.COMPLETE if complete else EntryStatus.IN_PROGRESS
    if visit.entry_status != entry_status:
        visit.entry_status = entry_status
        rows.append((visit, None))
    changed = _save_not_done(visit=visit, not_done=not_done, author=author, reason=reason)
    for row, stored in rows:
        changed |= save_with_audit(row, author=author, reason=reason, stored=stored)
    if changed:
        visit_data_changed(visit=visit, author=author, reason=reason)
    changes = participant_rescore(participant=visit.participant)
    return SavedAssessments(visit=visit, changes=tuple(changes))


@dataclass(frozen=True)
class NewVisit:
    """A visit not recorded yet, with its assessments: what visit_create and then
    visit_save_assessments take (``labs=None``: no labs)."""

    visit_definition: VisitDefinition
    visit_date: date
    sledai: Mapping[str, bool | None]
    sledai_lookback_days: int | None
    pga: Decimal | None
    bilag: Mapping[str, str | None]
    not_done: Mapping[str, str]
    labs: Mapping[str, object] | None


@transaction.atomic
def visits_record_new(
    *,
    new_visits: Mapping[Participant, Sequence[NewVisit]],
    author: Author,
    reason: str,
) -> dict[int, list[ValidationError | None]]:
    """Record new visits with their assessments, many participants in one batch, as
    visit_create then visit_save_assessments would record each in turn, and rescore each
    participant once; return, by participant key, each visit's refusal (None: none). If any visit
    is refused, nothing is written.

    Each participant's visits are checked in order by the rules those services apply: not
    already recorded, not recorded as missed, in the schedule's order, the fields and the answers
    valid, the BILAG-2004 history whole; against the participant's stored visits and the new
    visits accepted before it. The rows are then written in bulk, each with its audit history
    (author and reason). A new visit has no sign-off to void, and is created with its final entry
    status. The checks run in memory (see _check_new_row); the database still enforces every
    constraint on insert.
    """
    check_reason(reason)
    participants = list(new_visits)
    lock_participants(participant.pk for participant in participants)
    stored: dict[int, list[Visit]] = defaultdict(list)
    for visit in Visit.objects.filter(participant__in=participants).select_related(
        "visit_definition", "bilag"
    ):
        stored[visit.participant_id].append(visit)
    missed: dict[int, list[MissedVisit]] = defaultdict(list)
    for missed_visit in MissedVisit.objects.filter(participant__in=participants):
        missed[missed_visit.participant_id].append(missed_visit)
    refusals: dict[int, list[ValidationError | None]] = {}
    rows: list[models.Model] = []
    for participant, entries in new_visits.items():
        refusals[participant.pk] = _check_new_visits(
            participant, entries, stored[participant.pk], missed[participant.pk], rows
        )
    if any(refusal is not None for found in refusals.values() for refusal in found):
        return refusals
    by_model: dict[type[models.Model], list[models.Model]] = defaultdict(list)
    for row in rows:
        by_model[type(row)].append(row)
    for model, model_rows in by_model.items():  # visits first: the rows after refer to them
        bulk_create_with_history(
            model_rows,
            model,
            batch_size=BULK_BATCH_SIZE,
            default_user=author,
            default_change_reason=reason,
        )
    for participant in participants:
        participant_recompute_responses(participant=participant)
    return refusals


#: Rows per INSERT statement when visits are recorded in bulk.
BULK_BATCH_SIZE = 1000


def _check_new_visits(
    participant: Participant,
    new_visits: Sequence[NewVisit],
    stored: list[Visit],
    missed: list[MissedVisit],
    rows: list[models.Model],
) -> list[ValidationError | None]:
    """Check one participant's new visits in order (see visits_record_new); add the rows of the
    accepted ones to ``rows``, each visit before its own rows; return each visit's refusal."""
    accepted: list[Visit] = []
    graded = [(visit, visit.bilag.grades()) for visit in stored if hasattr(visit, "bilag")]
    refusals: list[ValidationError | None] = []
    for new in new_visits:
        visit = Visit(
            participant=participant,
            visit_definition=new.visit_definition,
            visit_date=new.visit_date,
        )
        try:
            visit_rows, grades = _new_visit_rows(
                visit, new, participant.study, stored + accepted, missed, graded
            )
        except ValidationError as error:
            refusals.append(error)
            continue
        refusals.append(None)
        accepted.append(visit)
        graded.append((visit, grades))
        rows.extend(visit_rows)
    return refusals


def _new_visit_rows(
    visit: Visit,
    new: NewVisit,
    study: Study,
    recorded: list[Visit],
    missed: list[MissedVisit],
    graded: Sequence[tuple[Visit, Mapping[str, str | None]]],
) -> tuple[list[models.Model], dict[str, str | None]]:
    """Check a new visit and its assessments as visit_save and visit_save_assessments do, in
    their order (see participant_record_visits); return its rows, the visit first, with its
    BILAG-2004 grades."""
    unknown = (set(new.sledai) - set(SLEDAI_FIELDS)) | (set(new.bilag) - set(BILAG_SYSTEMS))
    unknown |= set(new.labs or {}) - set(STORED_LAB_FIELDS)
    if unknown:
        raise ValueError(f"Unknown assessment fields: {sorted(unknown)}")
    definition = new.visit_definition
    same = [v for v in recorded if v.visit_definition_id == definition.pk]
    if definition.repeatable:
        if any(v.visit_date == new.visit_date for v in same):
            raise ValidationError(_("This participant already has this visit on this date."))
        visit.occurrence = max((v.occurrence for v in same), default=0) + 1
    elif same:
        raise ValidationError(_("This participant already has this visit."))
    errors = {
        "visit_definition": visit_missed_errors(visit, missed),
        "visit_date": visit_order_errors(
            visit.participant,
            proposed_visit=visit,
            scheduled_visits=[v for v in recorded if not v.visit_definition.repeatable],
        ),
    }
    if any(errors.values()):
        raise ValidationError({field: messages for field, messages in errors.items() if messages})
    _check_new_row(visit)
    not_done = not_done_errors(answer_values(new.sledai, new.pga, new.bilag), new.not_done)
    if not_done:
        raise ValidationError(not_done)
    missing = missing_answers(new.sledai, new.pga, new.bilag, new.not_done)
    visit.entry_status = EntryStatus.IN_PROGRESS if missing else EntryStatus.COMPLETE
    rows: list[models.Model] = [
        NotDoneAnswer(visit=visit, answer=answer, reason=why)
        for answer, why in new.not_done.items()
    ]
    lookback_days = (
        new.sledai_lookback_days
        if new.sledai_lookback_days is not None
        else study.sledai_lookback_days
    )
    rows.append(
        SledaiAssessment(
            visit=visit,
            lookback_days=lookback_days,
            **{field: new.sledai.get(field) for field in SLEDAI_FIELDS},
        )
    )
    rows.append(PgaAssessment(visit=visit, score=new.pga))
    bilag = BilagAssessment(
        visit=visit, **{system: new.bilag.get(system) or "" for system in BILAG_SYSTEMS}
    )
    rows.append(bilag)
    labs = new.labs or {}
    if any(value is not None and value != "" for value in labs.values()):
        rows.append(
            LabResult(
                visit=visit,
                **{f: labs.get(f, "" if f == "upcr_unit" else None) for f in STORED_LAB_FIELDS},
            )
        )
    for row in rows:
        _check_new_row(row)
    history = bilag_errors_in([*graded, (visit, bilag.grades())])
    if history:
        raise ValidationError(history)
    return [visit, *rows], bilag.grades()


def _check_new_row(row: models.Model) -> None:
    """Validate a new row of a visit as save_with_audit does, without asking the database: its
    visit is new (unique), its participant and schedule row are in hand (foreign keys), and only
    the labs have check constraints that join values the fields do not check one by one."""
    row.full_clean(
        exclude=["participant", "visit_definition", "visit"],
        validate_unique=False,
        validate_constraints=isinstance(row, LabResult),
    )


@transaction.atomic
def visit_recheck_entry(*, visit: Visit, author: Author, reason: str) -> Visit:
    """After a visit's assessment rows were saved directly (admin inlines): mark its entry
    complete exactly when every answer is given or marked not done, then check the BILAG-2004
    history and rescore."""
    lock_participants([visit.participant_id])
    visit.refresh_from_db()  # also forgets the assessments it had loaded
    stored = visit_assessment(visit)
    not_done = dict(visit.not_done_answers.values_list("answer", "reason"))
    errors = not_done_errors(answer_values(stored.sledai, stored.pga, stored.bilag), not_done)
    if errors:
        raise ValidationError(errors)
    missing = missing_answers(stored.sledai, stored.pga, stored.bilag, not_done)
    status = EntryStatus.IN_PROGRESS if missing else EntryStatus.COMPLETE
    if visit.entry_status != status:
        visit.entry_status = status
        save_with_audit(visit, author=author, reason=reason)
        visit_data_changed(visit=visit, author=author, reason=reason)
    participant_rescore(participant=visit.participant)
    return visit


def bilag_history_errors(
    participant: Participant,
    *,
    proposed_visit: Visit | None = None,
    proposed_grades: Mapping[str, str | None] | None = None,
) -> dict[str, list[str]]:
    """Find every BILAG-2004 grade E that follows an A..D of the same system, keyed by system.

    A system once involved can no longer be "never involved" (clinical-rules.md section 3).
    A form checks its unsaved grades (and the visit's unsaved date) by proposing them.
    """
    recorded = Visit.objects.filter(participant=participant, bilag__isnull=False)
    if proposed_visit is not None and proposed_visit.pk is not None:
        recorded = recorded.exclude(pk=proposed_visit.pk)
    graded = [
        (visit, visit.bilag.grades())
        for visit in recorded.select_related("visit_definition", "bilag")
    ]
    if proposed_visit is not None and proposed_grades is not None:
        graded.append((proposed_visit, dict(proposed_grades)))
    return bilag_errors_in(graded)


def bilag_errors_in(
    graded: Sequence[tuple[Visit, Mapping[str, str | None]]],
) -> dict[str, list[str]]:
    """Find every BILAG-2004 grade E that follows an A..D of the same system among these visits
    with their grades, keyed by system (the rule of bilag_history_errors)."""
    graded = sorted(
        graded,
        key=lambda pair: (pair[0].visit_date, pair[0].visit_definition.order, pair[0].occurrence),
    )
    visits = [visit for visit, _grades in graded]
    history = [dict(grades) for _visit, grades in graded]
    errors: dict[str, list[str]] = {}
    for index, system in bilag_e_after_involvement(history):
        earlier = next(i for i in range(index) if history[i].get(system) in BILAG_INVOLVED_GRADES)
        errors.setdefault(system, []).append(
            _(
                "%(system)s cannot be E (never involved) at %(visit)s: it was graded %(grade)s "
                "at %(earlier)s on %(date)s."
            )
            % {
                "system": _(BILAG_SYSTEM_LABELS[system]),
                "visit": visits[index].visit_definition.code,
                "grade": history[earlier][system],
                "earlier": visits[earlier].visit_definition.code,
                "date": visits[earlier].visit_date.isoformat(),
            }
        )
    return errors


def participant_check_bilag_history(*, participant: Participant) -> None:
    """Refuse the change (roll it back) when it leaves a BILAG E after involvement."""
    errors = bilag_history_errors(participant)
    if errors:
        raise ValidationError(errors)


def visit_missed_errors(
    visit: Visit, missed_visits: Collection[MissedVisit] | None = None
) -> list[str]:
    """Refuse to record a visit that is recorded as missed (``missed_visits``, when given, are the
    participant's missed-visit records; else they are read from the database)."""
    if missed_visits is None:
        missed = MissedVisit.objects.filter(
            participant=visit.participant_id, visit_definition=visit.visit_definition_id
        ).first()
    else:
        missed = next(
            (m for m in missed_visits if m.visit_definition_id == visit.visit_definition_id), None
        )
    if missed is None:
        return []
    return [
        _(
            "%(code)s is recorded as missed (%(reason)s); a data manager can remove that record "
            "in admin."
        )
        % {"code": visit.visit_definition.code, "reason": missed.get_reason_display()}
    ]


def _baseline_message(visit: Visit, infusion: date) -> str:
    return _(
        "The baseline visit %(visit)s (%(date)s) must be dated before the CAR-T infusion "
        "(%(infusion)s)."
    ) % {
        "visit": visit.visit_definition.code,
        "date": visit.visit_date.isoformat(),
        "infusion": infusion.isoformat(),
    }


def visit_order_errors(
    participant: Participant,
    *,
    proposed_visit: Visit,
    scheduled_visits: Collection[Visit] | None = None,
) -> list[str]:
    """Name what a visit's date breaks (clinical-rules.md section 4): a scheduled visit dated
    out of the schedule's order against the participant's other scheduled visits, and a baseline
    visit dated on or after the infusion. Unscheduled visits may fall on any date.

    Only problems that involve the proposed visit are named, so data stored before these checks
    never block the saving of another visit. ``scheduled_visits``, when given, are the
    participant's other scheduled visits (else they are read from the database).
    """
    if proposed_visit.visit_definition.repeatable:
        return []
    if scheduled_visits is None:
        scheduled_visits = list(
            Visit.objects.filter(participant=participant, visit_definition__repeatable=False)
            .exclude(pk=proposed_visit.pk)
            .select_related("visit_definition")
        )
    visits = [*scheduled_visits, proposed_visit]
    visits.sort(key=lambda visit: (visit.visit_definition.order, visit.visit_date))
    errors = []
    latest: Visit | None = None  # the latest-dated visit earlier in the schedule
    for visit in visits:
        involved = proposed_visit in (visit, latest)
        if latest is not None and visit.visit_date < latest.visit_date and involved:
            errors.append(
                _(
                    "Out of the schedule's order: %(earlier)s is dated %(earlier_date)s, after "
                    "%(visit)s (%(date)s), which comes later in the schedule."
                )
                % {
                    "visit": visit.visit_definition.code,
                    "date": visit.visit_date.isoformat(),
                    "earlier": latest.visit_definition.code,
                    "earlier_date": latest.visit_date.isoformat(),
                }
            )
        if latest is None or visit.visit_date > latest.visit_date:
            latest = visit
    infusion = participant.infusion_date
    is_baseline = proposed_visit.visit_definition_id == participant.study.baseline_visit_id
    if is_baseline and infusion is not None and proposed_visit.visit_date >= infusion:
        errors.append(_baseline_message(proposed_visit, infusion))
    return errors


def dose_level_refusal(levels: Collection[int]) -> str:
    """Say which doses a study allows (clinical-rules.md section 6)."""
    return _("Choose one of the study's dose levels: %(levels)s.") % {
        "levels": ", ".join(dose_label(level) for level in levels)
    }


def participant_dose_errors(
    *, study_id: int, dose_cells_per_kg: int | None, participant_id: int | None = None
) -> list[str]:
    """Refuse a new or changed dose that is not one of the study's dose levels, when the study
    has any. A stored participant's unchanged dose is not checked again, so a dose recorded before
    the levels were set never blocks an unrelated change (a withdrawal, say)."""
    if dose_cells_per_kg is None:
        return []
    if participant_id is not None:
        stored = Participant.objects.filter(pk=participant_id).values_list(
            "dose_cells_per_kg", flat=True
        )
        if stored.first() == dose_cells_per_kg:
            return []
    levels = list(
        StudyDoseLevel.objects.filter(study_id=study_id)
        .order_by("cells_per_kg")
        .values_list("cells_per_kg", flat=True)
    )
    if not levels or dose_cells_per_kg in levels:
        return []
    return [dose_level_refusal(levels)]


def baseline_infusion_errors(participant: Participant, *, infusion_date: date | None) -> list[str]:
    """Name a recorded baseline visit that an infusion date would not follow."""
    if participant.pk is None or infusion_date is None:
        return []
    baseline = (
        Visit.objects.filter(
            participant=participant, visit_definition=participant.study.baseline_visit_id
        )
        .select_related("visit_definition")
        .first()
    )
    if baseline is None or baseline.visit_date < infusion_date:
        return []
    return [_baseline_message(baseline, infusion_date)]


@transaction.atomic
def participant_rescore(*, participant: Participant) -> list[ResultChange]:
    """After a visit or its assessments changed: refuse a broken BILAG history, then rescore;
    return the results whose outcome changed."""
    lock_participants([participant.pk])
    participant_check_bilag_history(participant=participant)
    return participant_recompute_responses(participant=participant)


# Sign-offs: a complete visit is source-verified (monitor), then signed (the site's investigator),
# then locked (data manager). A signed or locked visit's data cannot change until a data manager
# unlocks it with a reason, which voids its sign-offs; a change to a verified visit voids the
# verification. Sign-offs never change the scores: the endpoints follow the data. What the site
# writes into the record itself (the audit reasons) is in English (trialsite.i18n.recorded_text).

#: The sign-off each step needs in force before it, in the order of the steps.
PREVIOUS_STEP: dict[str, str | None] = {
    SignOffKind.VERIFIED: None,
    SignOffKind.SIGNED: SignOffKind.VERIFIED,
    SignOffKind.LOCKED: SignOffKind.SIGNED,
}
#: The right each step needs (trialsite.models.Visit's permissions); unlocking needs the lock's.
STEP_PERMISSIONS: dict[str, str] = {
    SignOffKind.VERIFIED: "trialsite.verify_visit",
    SignOffKind.SIGNED: "trialsite.sign_visit",
    SignOffKind.LOCKED: "trialsite.lock_visit",
}
#: Who signs: an investigator of the participant's site, by role (a superuser holds every
#: permission, but a signature is an investigator's own).
SIGNING_ROLE = "Investigator"
#: The audit reasons of the steps, as recorded.
STEP_REASONS: dict[str, str] = {
    SignOffKind.VERIFIED: "Source verified",
    SignOffKind.SIGNED: "Signed: " + SIGNATURE_MEANING,
    SignOffKind.LOCKED: "Locked",
}
VOIDED_BY_CHANGE = gettext_lazy("The data changed after source verification: %(reason)s")
RECORD_DELETED = gettext_lazy("This was deleted (entered in error) meanwhile.")
SIGNATURE_REFUSED = gettext_lazy(
    "This password was not accepted; the %(what)s was not signed. After several wrong "
    "passwords, signing is blocked for a while."
)


def require_permission(user: User, permission: str) -> None:
    """Refuse (PermissionDenied, a 403 page) a user without the right to do what they ask."""
    if not user.has_perm(permission):
        raise PermissionDenied


@dataclass(frozen=True)
class SignOffSubject:
    """What a sign-off is of, as the sign-off rules see it: a visit (visit_subject) or another
    record of a participant (record_subject), read under the participant's lock."""

    #: How messages name it ("M3", "CRS episode from 2026-02-12").
    name: str
    participant: Participant
    entry_complete: bool
    sign_offs: QuerySet[VisitSignOff] | QuerySet[RecordSignOff]
    queries: QuerySet[DataQuery]
    #: Make an unsaved sign-off of it from the step's fields.
    new_sign_off: Callable[..., SignOff]
    #: What must happen before it is signed (None: nothing more than the rules of every one).
    before_signing: StrOrPromise | None = None


def visit_subject(visit: Visit) -> SignOffSubject:
    return SignOffSubject(
        name=str(visit),
        participant=visit.participant,
        entry_complete=visit.entry_complete,
        sign_offs=VisitSignOff.objects.filter(visit=visit),
        queries=DataQuery.objects.filter(visit=visit),
        new_sign_off=partial(VisitSignOff, visit=visit),
    )


def record_subject(record: models.Model) -> SignOffSubject:
    """Return a participant's record (one of trialsite.records) as the sign-off rules see it."""
    kind = kind_of(type(record))
    participant = Participant.objects.select_related("site").get(
        pk=cast(Any, record).participant_id  # every record kind has one
    )
    return SignOffSubject(
        name=str(capfirst(kind.describe(record))),
        participant=participant,
        entry_complete=True,
        sign_offs=RecordSignOff.objects.filter(**of_record(record)),
        queries=DataQuery.objects.filter(**of_record(record)),
        new_sign_off=partial(RecordSignOff, participant=participant, **of_record(record)),
        before_signing=kind.before_signing(record),
    )


def sign_offs_in_force(visit: Visit) -> dict[str, VisitSignOff]:
    """Return the visit's sign-offs not voided, by kind."""
    return {row.kind: row for row in visit.sign_offs.filter(voided_at__isnull=True)}


def _in_force(subject: SignOffSubject) -> dict[str, SignOff]:
    return {row.kind: row for row in subject.sign_offs.filter(voided_at__isnull=True)}


def frozen_message(name: str, in_force: Collection[str]) -> str | None:
    """Say why the data of a visit or record (named ``name``) cannot change now (it is signed or
    locked), None if they can."""
    if SignOffKind.LOCKED in in_force:
        return _(
            "%(what)s is locked: its data cannot change. A data manager can unlock it, with a "
            "reason."
        ) % {"what": name}
    if SignOffKind.SIGNED in in_force:
        return _(
            "%(what)s is signed by the investigator: its data cannot change. A data manager can "
            "unlock it, with a reason, which voids the signature."
        ) % {"what": name}
    return None


def visit_frozen_message(visit: Visit, in_force: Collection[str]) -> str | None:
    """Say why the visit's data cannot change now (it is signed or locked), None if they can."""
    return frozen_message(str(visit), in_force)


def visit_is_frozen(visit: Visit) -> bool:
    """Say whether the visit is signed or locked: its data cannot change."""
    return visit_frozen_message(visit, sign_offs_in_force(visit)) is not None


def record_is_frozen(record: models.Model) -> bool:
    """Say whether a participant's record is signed or locked: its data cannot change."""
    subject = record_subject(record)
    return frozen_message(subject.name, _in_force(subject)) is not None


def _data_changed(subject: SignOffSubject, *, author: Author, reason: str) -> None:
    in_force = _in_force(subject)
    message = frozen_message(subject.name, in_force)
    if message is not None:
        raise ValidationError(message)
    verification = in_force.get(SignOffKind.VERIFIED)
    if verification is not None:
        if not isinstance(author, User):
            raise ValueError("Only a user's change can void a source verification.")
        why = recorded_text(VOIDED_BY_CHANGE, {"reason": reason})
        _void(verification, author=author, reason=why)


def visit_data_changed(*, visit: Visit, author: Author, reason: str) -> None:
    """Refuse a change to a signed or locked visit (the caller's transaction rolls back); void
    the source verification of a verified one, saying which change voided it."""
    _data_changed(visit_subject(visit), author=author, reason=reason)


def record_data_changed(*, record: models.Model, author: Author, reason: str) -> None:
    """Refuse a change to (or the deletion of) a signed or locked record of a participant (the
    caller's transaction rolls back); void the source verification of a verified one, saying
    which change voided it. A record not stored yet has no sign-off."""
    if record.pk is not None:
        _data_changed(record_subject(record), author=author, reason=reason)


def save_record_with_audit(record: models.Model, *, author: Author, reason: str) -> bool:
    """Save a participant's record (one of trialsite.records) as save_with_audit does; a change
    to a stored record is refused when it is signed or locked and voids its source verification
    (record_data_changed). Say whether it was saved."""
    adding = record._state.adding
    saved = save_with_audit(record, author=author, reason=reason)
    if saved and not adding:
        record_data_changed(record=record, author=author, reason=reason)
    return saved


def record_has_sign_offs(record: models.Model) -> bool:
    """Say whether a participant's record has a sign-off in force."""
    return RecordSignOff.objects.filter(**of_record(record), voided_at__isnull=True).exists()


def _void(sign_off: SignOff, *, author: User, reason: str) -> None:
    sign_off.voided_at = timezone.now()
    sign_off.voided_by = author
    sign_off.void_reason = reason
    save_with_audit(sign_off, author=author, reason=reason)


def _sign_off_errors(
    subject: SignOffSubject, kind: str, in_force: Mapping[str, SignOff], author: User
) -> list[str]:
    """Name what stops the author from giving this sign-off now."""
    if kind in in_force:
        return [_("%(what)s is already %(step)s.") % {"what": subject.name, "step": _label(kind)}]
    previous = PREVIOUS_STEP[kind]
    if previous is None and not subject.entry_complete:
        return [_("Only a visit whose data entry is complete can be source-verified.")]
    if previous is not None and previous not in in_force:
        return [
            _("%(what)s must be %(previous)s before it can be %(step)s.")
            % {"what": subject.name, "previous": _label(previous), "step": _label(kind)}
        ]
    if kind in FREEZING_STEPS and subject.queries.exclude(status=QueryStatus.CLOSED).exists():
        return [
            _("%(what)s has open queries: they must be closed before it is %(step)s.")
            % {"what": subject.name, "step": _label(kind)}
        ]
    if kind == SignOffKind.SIGNED:
        errors = _signer_errors(subject, in_force, author)
        if not errors and subject.before_signing is not None:
            errors = [str(subject.before_signing)]
        return errors
    return []


def _signer_errors(
    subject: SignOffSubject, in_force: Mapping[str, SignOff], author: User
) -> list[str]:
    """A visit or record is signed by an investigator of its participant's site, not by
    whoever verified it against the source (two people, two checks)."""
    site = subject.participant.site
    is_site_investigator = (
        author.groups.filter(name=SIGNING_ROLE).exists()
        and SiteMembership.objects.filter(user=author, site=site).exists()
    )
    if not is_site_investigator:
        return [_("Only an investigator of site %(site)s signs its data.") % {"site": site.code}]
    if in_force[SignOffKind.VERIFIED].given_by_id == author.pk:
        return [
            _("You verified %(what)s against the source: another person signs it.")
            % {"what": subject.name}
        ]
    return []


def _label(kind: str) -> str:
    return str(SignOffKind(kind).label)


def _give_sign_off(
    subject: SignOffSubject, *, kind: str, author: User, meaning: str = "", **fields: object
) -> SignOff:
    """Record a sign-off of a subject read under its participant's lock."""
    require_permission(author, STEP_PERMISSIONS[kind])
    errors = _sign_off_errors(subject, kind, _in_force(subject), author)
    if errors:
        raise ValidationError(errors)
    sign_off = subject.new_sign_off(
        kind=kind,
        given_by=author,
        given_by_name=author.get_full_name() or author.get_username(),
        given_at=timezone.now(),
        meaning=meaning,
        **fields,
    )
    save_with_audit(sign_off, author=author, reason=STEP_REASONS[kind])
    return sign_off


def _locked_visit(visit: Visit) -> Visit:
    lock_participants([visit.participant_id])
    visit.refresh_from_db()
    return visit


def _locked_record(record: models.Model) -> SignOffSubject:
    lock_participants([cast(Any, record).participant_id])
    try:
        record.refresh_from_db()
    except ObjectDoesNotExist as error:
        raise ValidationError(RECORD_DELETED) from error
    return record_subject(record)


def _check_signature(
    author: User, password: str, request: HttpRequest | None, *, refused: StrOrPromise
) -> None:
    """Accept the author's password, entered again, as their signature; given the request (the
    sign page), check it like a login, so wrong passwords count towards the login lockout
    (django-axes) and a locked-out user cannot sign."""
    if request is not None:
        signer = authenticate(request, username=author.get_username(), password=password)
        accepted = signer is not None and signer.pk == author.pk
    else:
        accepted = author.check_password(password)
    if not accepted:
        raise ValidationError({"password": refused})


@transaction.atomic
def visit_verify(
    *, visit: Visit, author: User, verified_fields: Collection[str] = ()
) -> VisitSignOff:
    """Record the monitor's source verification of a complete visit, of the whole visit or of the
    answers ticked (named as trialsite.models.QUERY_FIELD_LABELS names them)."""
    unknown = set(verified_fields) - set(QUERY_FIELD_LABELS)
    if unknown:
        raise ValueError(f"Unknown fields verified: {sorted(unknown)}")
    ordered = [field for field in QUERY_FIELD_LABELS if field in verified_fields]
    subject = visit_subject(_locked_visit(visit))
    return cast(
        VisitSignOff,
        _give_sign_off(subject, kind=SignOffKind.VERIFIED, author=author, verified_fields=ordered),
    )


def visit_sign(
    *, visit: Visit, author: User, password: str, request: HttpRequest | None = None
) -> VisitSignOff:
    """Record the electronic signature of a verified visit without open queries by an
    investigator of its site: their password, entered again, is the signature; it means
    SIGNATURE_MEANING (_check_signature, before the transaction: a wrong password stays
    counted towards the lockout)."""
    _check_signature(author, password, request, refused=SIGNATURE_REFUSED % {"what": _("visit")})
    with transaction.atomic():
        subject = visit_subject(_locked_visit(visit))
        return cast(
            VisitSignOff,
            _give_sign_off(
                subject, kind=SignOffKind.SIGNED, author=author, meaning=SIGNATURE_MEANING
            ),
        )


@transaction.atomic
def visit_lock(*, visit: Visit, author: User) -> VisitSignOff:
    """Lock a signed visit without open queries (data manager)."""
    subject = visit_subject(_locked_visit(visit))
    return cast(VisitSignOff, _give_sign_off(subject, kind=SignOffKind.LOCKED, author=author))


def _unlock(subject: SignOffSubject, *, author: User, reason: str) -> list[SignOff]:
    in_force = _in_force(subject)
    if not any(kind in in_force for kind in FREEZING_STEPS):
        raise ValidationError(_("%(what)s is neither signed nor locked.") % {"what": subject.name})
    for sign_off in in_force.values():
        _void(sign_off, author=author, reason=reason)
    return list(in_force.values())


@transaction.atomic
def visit_unlock(*, visit: Visit, author: User, reason: str) -> list[SignOff]:
    """Reopen a signed or locked visit for changes (data manager): void every sign-off in force,
    with the reason; return them."""
    require_permission(author, STEP_PERMISSIONS[SignOffKind.LOCKED])
    check_reason(reason)
    return _unlock(visit_subject(_locked_visit(visit)), author=author, reason=reason)


# The same steps on a participant's other records (trialsite.records), with the visits' rights:
# their source verification is of the whole record.


@transaction.atomic
def record_verify(*, record: models.Model, author: User) -> SignOff:
    """Record the monitor's source verification of a participant's record."""
    return _give_sign_off(_locked_record(record), kind=SignOffKind.VERIFIED, author=author)


def record_sign(
    *, record: models.Model, author: User, password: str, request: HttpRequest | None = None
) -> SignOff:
    """Record the electronic signature of a verified record without open queries by an
    investigator of its participant's site (as visit_sign)."""
    _check_signature(author, password, request, refused=SIGNATURE_REFUSED % {"what": _("record")})
    with transaction.atomic():
        return _give_sign_off(
            _locked_record(record),
            kind=SignOffKind.SIGNED,
            author=author,
            meaning=SIGNATURE_MEANING,
        )


@transaction.atomic
def record_lock(*, record: models.Model, author: User) -> SignOff:
    """Lock a signed record without open queries (data manager)."""
    return _give_sign_off(_locked_record(record), kind=SignOffKind.LOCKED, author=author)


@transaction.atomic
def record_unlock(*, record: models.Model, author: User, reason: str) -> list[SignOff]:
    """Reopen a signed or locked record for changes (data manager): void every sign-off in
    force, with the reason; return them."""
    require_permission(author, STEP_PERMISSIONS[SignOffKind.LOCKED])
    check_reason(reason)
    return _unlock(_locked_record(record), author=author, reason=reason)
