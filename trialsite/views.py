"""Data-capture screens. Every query starts from the user's sites (trialsite.selectors)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from trialsite import selectors


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "trialsite/home.html",
        {
            "sites": selectors.site_overview(request.user),
            "sees_all_sites": selectors.user_sees_all_sites(request.user),
        },
    )


def participant_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "trialsite/participant_list.html",
        {"participants": selectors.participant_list(request.user)},
    )


def participant_detail(request: HttpRequest, pk: int) -> HttpResponse:
    participant = get_object_or_404(selectors.participants_visible_to(request.user), pk=pk)
    return render(
        request,
        "trialsite/participant_detail.html",
        {"participant": participant, "visits": selectors.participant_timeline(participant)},
    )
