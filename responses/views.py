"""Cohort reports, computed from the stored results of the user's sites."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from responses import selectors
from responses.models import Endpoint
from trialsite.models import Study
from trialsite.selectors import participants_visible_to


def cohort_summary(request: HttpRequest) -> HttpResponse:
    endpoint = request.GET.get("endpoint", Endpoint.SRI4)
    if endpoint not in Endpoint.values:
        endpoint = Endpoint.SRI4
    study = Study.objects.select_related("primary_visit").get()
    rows = selectors.cohort_summary(
        study=study, endpoint=endpoint, participants=participants_visible_to(request.user)
    )
    return render(
        request,
        "responses/cohort_summary.html",
        {
            "rows": rows,
            "endpoint": Endpoint(endpoint),
            "endpoints": Endpoint.choices,
            "study": study,
        },
    )
