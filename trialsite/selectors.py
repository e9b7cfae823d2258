"""Read queries for the data-capture screens, always bounded by the user's sites."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, QuerySet

from trialsite.models import Participant, Site, Visit

ALL_SITES_PERMISSION = "trialsite.view_all_sites"


def user_sees_all_sites(user: AbstractBaseUser) -> bool:
    """Monitors, data managers and superusers see every site; others only their own."""
    return user.has_perm(ALL_SITES_PERMISSION)


def sites_visible_to(user: AbstractBaseUser) -> QuerySet[Site]:
    """Return the sites whose data the user may see."""
    if user_sees_all_sites(user):
        return Site.objects.all()
    return Site.objects.filter(memberships__user=user)


def participants_visible_to(user: AbstractBaseUser) -> QuerySet[Participant]:
    """Return the participants of the user's sites; every view starts from here."""
    return Participant.objects.filter(site__in=sites_visible_to(user)).select_related(
        "site", "study"
    )


def site_overview(user: AbstractBaseUser) -> QuerySet[Site]:
    """Return the user's sites with their participant counts."""
    return sites_visible_to(user).annotate(participant_count=Count("participants")).order_by("code")


def participant_timeline(participant: Participant) -> list[Visit]:
    """Return a participant's visits in date order with their assessments, in one query."""
    return list(
        Visit.objects.filter(participant=participant)
        .select_related("visit_definition", "sledai", "pga", "bilag")
        .order_by("visit_date", "visit_definition__order", "occurrence")
    )


def participant_list(user: AbstractBaseUser) -> QuerySet[Participant]:
    """Return the participants the user may see with their visit counts."""
    return participants_visible_to(user).annotate(visit_count=Count("visits"))
