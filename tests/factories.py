"""Factories with deterministic clinical values."""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
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


def record_visit(
    participant: Participant,
    code: str,
    visit_date: date,
    *,
    pga: str | None = "1.00",
    sledai: Mapping[str, bool | None] = NONE_PRESENT,
    bilag: Mapping[str, str | None] = ALL_E,
) -> Visit:
    """Record a visit and its assessments through the services, as a coordinator would."""
    visit = services.visit_create(
        participant=participant,
        visit_definition=VisitDefinition.objects.get(study=participant.study, code=code),
        visit_date=visit_date,
        author=None,
        reason="test",
    )
    return services.visit_save_assessments(
        visit=visit,
        sledai=sledai,
        pga=Decimal(pga) if pga is not None else None,
        bilag=bilag,
        author=None,
        reason="test",
    )
