"""Factories with deterministic clinical values."""

from datetime import date

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from trialsite.models import Participant, Site, SiteMembership, Study

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
