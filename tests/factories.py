"""Factories with deterministic clinical values, and builders that record visits and whole
cohorts through the services (record_visit, build_cohort), as the web forms do."""

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group

from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.sledai import SLEDAI_FIELDS
from trialsite import services
from trialsite.models import Participant, Site, SiteMembership, Study, Visit, VisitDefinition

TEST_PASSWORD = "correct-horse-battery"


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"T{n:02d}")
    name = factory.LazyAttribute(lambda site: f"Test hospital {site.code}")

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        # The name is the English name, whatever the active language: assigning ``name`` would
        # write the active language's name (trialsite/translation.py).
        kwargs["name_en"] = kwargs.pop("name")
        return kwargs


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def role(user, create, extracted, **kwargs):
        if extracted:
            user.groups.add(Group.objects.get(name=extracted))
        user.save()

    @factory.post_generation
    def sites(user, create, extracted, **kwargs):
        for site in extracted or []:
            SiteMembership.objects.create(user=user, site=site)


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

    study = factory.LazyFunction(lambda: Study.objects.get())
    site = factory.SubFactory(SiteFactory)
    participant_id = factory.Sequence(lambda n: f"P-{n:03d}")
    sex = "F"
    age_at_enrollment = 12
    enrollment_date = date(2026, 1, 5)
    infusion_date = date(2026, 2, 9)
    dose_cells_per_kg = 100_000


NONE_PRESENT = dict.fromkeys(SLEDAI_FIELDS, False)
ALL_E = dict.fromkeys(BILAG_SYSTEMS, "E")

#: SLEDAI-2K answers: a mapping of descriptor to present (True), absent (False) or not answered
#: (None, or left out); or the collection of the descriptors present, every other one absent.
SledaiAnswers = Mapping[str, bool | None] | Collection[str]


def sledai_answers(sledai: SledaiAnswers) -> dict[str, bool | None]:
    """Return SLEDAI-2K answers as the services take them (see SledaiAnswers)."""
    if isinstance(sledai, Mapping):
        return dict(sledai)
    unknown = set(sledai) - set(SLEDAI_FIELDS)
    if unknown:
        raise ValueError(f"Unknown SLEDAI-2K descriptors: {sorted(unknown)}")
    return {field: field in sledai for field in SLEDAI_FIELDS}


def grades(**named: str) -> dict[str, str]:
    """BILAG-2004 grades: the systems named, every other system E (never involved)."""
    unknown = set(named) - set(BILAG_SYSTEMS)
    if unknown:
        raise ValueError(f"Unknown BILAG-2004 systems: {sorted(unknown)}")
    return {**ALL_E, **named}


def record_visit(
    participant: Participant,
    code: str,
    visit_date: date,
    *,
    pga: Decimal | str | None = "1.00",
    sledai: SledaiAnswers = NONE_PRESENT,
    bilag: Mapping[str, str | None] = ALL_E,
    labs: Mapping[str, object] | None = None,
    not_done: Mapping[str, str] | None = None,
    complete: bool | None = None,
    user: AbstractBaseUser | None = None,
    reason: str = "test",
) -> Visit:
    """Record a visit and its assessments through the services, as a coordinator would.

    The visit (``code`` of the participant's study schedule) is created with
    ``services.visit_create``, then its assessments are saved with
    ``services.visit_save_assessments``, which computes the totals and SRI results. ``sledai``
    is a mapping of answers or the set of descriptors present; ``bilag`` maps each system to
    its grade (a system left out is not assessed; see ``grades``); ``complete`` is passed on
    (None: complete exactly when every answer is given or marked not done). Both saves are
    audited with ``user`` and ``reason``.
    """
    visit = services.visit_create(
        participant=participant,
        visit_definition=VisitDefinition.objects.get(study=participant.study, code=code),
        visit_date=visit_date,
        author=user,
        reason=reason,
    )
    return services.visit_save_assessments(
        visit=visit,
        sledai=sledai_answers(sledai),
        pga=Decimal(pga) if pga is not None else None,
        bilag=bilag,
        labs=labs,
        not_done=not_done,
        complete=complete,
        author=user,
        reason=reason,
    ).visit


# --------------------------------------------------------------------------------------------
# Cohorts as data: participant id -> its enrolment and its visits with their values
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitRow:
    """One visit of a cohort table and what was recorded at it (see record_visit).

    ``on`` is the visit date, or an int: the study day, counted from the infusion (day 0).
    """

    on: date | int
    sledai: SledaiAnswers = frozenset()
    pga: Decimal | str | None = "1.00"
    bilag: Mapping[str, str | None] = field(default_factory=lambda: dict(ALL_E))
    complete: bool | None = None


@dataclass(frozen=True)
class ParticipantRow:
    """One participant of a cohort table: enrolment details, then visits by visit code (in the
    order they are recorded). ``details`` holds any other Participant field (treatment failure,
    withdrawal, reason not infused)."""

    site: str
    sex: str
    age: int
    dose: int | None
    enrolled: date
    infused: date | None
    visits: Mapping[str, VisitRow] = field(default_factory=dict)
    details: Mapping[str, object] = field(default_factory=dict)


def enrol(
    study: Study,
    participant_id: str,
    row: ParticipantRow,
    *,
    user: AbstractBaseUser | None = None,
    reason: str = "test",
) -> Participant:
    """Enrol one participant of a cohort table through the services (no visit)."""
    participant = Participant(
        study=study,
        site=SiteFactory(code=row.site),
        participant_id=participant_id,
        sex=row.sex,
        age_at_enrollment=row.age,
        enrollment_date=row.enrolled,
        infusion_date=row.infused,
        dose_cells_per_kg=row.dose,
        **row.details,
    )
    return services.participant_save(participant=participant, author=user, reason=reason)


def build_cohort(
    study: Study,
    table: Mapping[str, ParticipantRow],
    *,
    user: AbstractBaseUser | None = None,
    reason: str = "test",
) -> dict[str, Participant]:
    """Enrol every participant of ``table`` and record its visits, in the table's order, through
    the services; return the participants by id. Nothing derived is set here: the services
    compute every total and SRI result."""
    people = {}
    for participant_id, row in table.items():
        participant = enrol(study, participant_id, row, user=user, reason=reason)
        for code, visit in row.visits.items():
            if isinstance(visit.on, date):
                visit_date = visit.on
            elif row.infused is not None:
                visit_date = row.infused + timedelta(days=visit.on)
            else:
                raise ValueError(f"{participant_id} {code}: a study day needs an infusion date")
            record_visit(
                participant,
                code,
                visit_date,
                pga=visit.pga,
                sledai=visit.sledai,
                bilag=visit.bilag,
                complete=visit.complete,
                user=user,
                reason=reason,
            )
        people[participant_id] = participant
    return people


#: A small cohort's visits: BL (arthritis 4 + rash 2 = 6) and Month 3 (0), PGA 1.00 and
#: every BILAG-2004 system E at both: an SRI-4 responder at Month 3.
BL_AND_M3 = {
    "BL": VisitRow(date(2026, 2, 2), {"arthritis", "rash"}, "1.00"),
    "M3": VisitRow(date(2026, 5, 10), set(), "1.00"),
}


def with_bl_and_m3(site: str) -> ParticipantRow:
    """A girl of 12 at ``site``, enrolled 2026-01-05 and infused 2026-02-09, with BL_AND_M3."""
    return ParticipantRow(
        site,
        "F",
        12,
        100_000,
        enrolled=date(2026, 1, 5),
        infused=date(2026, 2, 9),
        visits=BL_AND_M3,
    )
