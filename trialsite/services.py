"""Every write to the trial's data: each service validates, saves with its audit entry, atomically.

The audit entry of each change carries its author and reason (django-simple-history reads them
from ``_history_user`` and ``_change_reason``); its time is the save time.
"""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from responses.scoring import BILAG_SYSTEMS, SLEDAI_FIELDS
from trialsite.models import (
    BilagAssessment,
    Participant,
    PgaAssessment,
    Site,
    SledaiAssessment,
    Study,
    Visit,
    VisitDefinition,
)


def save_with_audit(
    instance: models.Model, *, author: AbstractBaseUser | None, reason: str
) -> None:
    """Validate and save one row, recording who changed it and why in its audit history."""
    if not reason.strip():
        raise ValidationError(_("Every change needs a reason."))
    instance.full_clean()
    instance._history_user = author
    instance._change_reason = reason
    instance.save()


@transaction.atomic
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
    author: AbstractBaseUser | None,
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
    save_with_audit(participant, author=author, reason=reason)
    return participant


@transaction.atomic
def visit_create(
    *,
    participant: Participant,
    visit_definition: VisitDefinition,
    visit_date: date,
    author: AbstractBaseUser | None,
    reason: str,
) -> Visit:
    """Record that a visit took place; a repeatable (unscheduled) visit gets the next number."""
    occurrence = 1
    if visit_definition.repeatable:
        latest = participant.visits.filter(visit_definition=visit_definition).aggregate(
            latest=Max("occurrence")
        )["latest"]
        occurrence = 1 if latest is None else latest + 1
    visit = Visit(
        participant=participant,
        visit_definition=visit_definition,
        visit_date=visit_date,
        occurrence=occurrence,
    )
    save_with_audit(visit, author=author, reason=reason)
    return visit


def _assessment_for(model: type[models.Model], visit: Visit) -> models.Model:
    return model.objects.filter(visit=visit).first() or model(visit=visit)


@transaction.atomic
def visit_save_assessments(
    *,
    visit: Visit,
    sledai: Mapping[str, bool | None],
    sledai_lookback_days: int | None = None,
    pga: Decimal | None,
    bilag: Mapping[str, str | None],
    author: AbstractBaseUser | None,
    reason: str,
) -> Visit:
    """Store the SLEDAI-2K, PGA and BILAG-2004 of a visit (None = not assessed)."""
    unknown = (set(sledai) - set(SLEDAI_FIELDS)) | (set(bilag) - set(BILAG_SYSTEMS))
    if unknown:
        raise ValueError(f"Unknown assessment fields: {sorted(unknown)}")

    sledai_row = _assessment_for(SledaiAssessment, visit)
    sledai_row.lookback_days = (
        sledai_lookback_days
        if sledai_lookback_days is not None
        else visit.participant.study.sledai_lookback_days
    )
    for field in SLEDAI_FIELDS:
        setattr(sledai_row, field, sledai.get(field))
    save_with_audit(sledai_row, author=author, reason=reason)

    pga_row = _assessment_for(PgaAssessment, visit)
    pga_row.score = pga
    save_with_audit(pga_row, author=author, reason=reason)

    bilag_row = _assessment_for(BilagAssessment, visit)
    for system in BILAG_SYSTEMS:
        setattr(bilag_row, system, bilag.get(system) or "")
    save_with_audit(bilag_row, author=author, reason=reason)
    return visit
