"""Reading pages as a browser would."""

import re
from collections.abc import Mapping

from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from trialsite.models import STORED_LAB_FIELDS, LabResult, Visit

OPENED_VERSION = re.compile(r'<input type="hidden" name="opened_version" value="([^"]*)"')


def page_text(response: HttpResponse) -> str:
    """Return the page's HTML with each escaped apostrophe written as Django's templates write
    it (&#x27;): the widgets and error lists, drawn by Jinja2, write &#39;."""
    return response.content.decode().replace("&#39;", "&#x27;")


def page_forms_data(client: Client, url: str) -> dict[str, object]:
    """Return what an admin change page posts unchanged: its form, inline management forms and
    inline forms."""
    response = client.get(url)
    assert response.status_code == 200
    page_forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        page_forms.extend([inline.formset.management_form, *inline.formset.forms])
    return {
        bound.html_name: bound.value()
        for form in page_forms
        for bound in form
        if bound.value() is not None
    }


def opened_version(client: Client, url: str) -> str:
    """Open a form page and return the version it carries, which a browser posts back."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    match = OPENED_VERSION.search(response.content.decode())
    assert match is not None, "the form carries no opened_version"
    return match.group(1)


def admin_visit_form(
    client: Client,
    visit: Visit,
    *,
    pga: str,
    sledai: Mapping[str, bool | None],
    bilag: Mapping[str, str | None],
    reason: str,
) -> dict[str, object]:
    """Return what the admin change form of a visit posts, with its three inline assessments,
    its labs as stored and its answers not done."""
    data: dict[str, object] = {
        "opened_version": opened_version(
            client, reverse("admin:trialsite_visit_change", args=[visit.pk])
        ),
        "participant": visit.participant_id,
        "visit_definition": visit.visit_definition_id,
        "visit_date": visit.visit_date.isoformat(),
        "change_reason": reason,
    }
    for prefix, row in (("pga", visit.pga), ("sledai", visit.sledai), ("bilag", visit.bilag)):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": 1,
                f"{prefix}-INITIAL_FORMS": 1,
                f"{prefix}-MIN_NUM_FORMS": 0,
                f"{prefix}-MAX_NUM_FORMS": 1,
                f"{prefix}-0-id": row.pk,
                f"{prefix}-0-visit": visit.pk,
            }
        )
    # The labs, as stored (none: the inline's empty form is left out).
    labs = LabResult.objects.filter(visit=visit).first()
    data.update(
        {
            "labs-TOTAL_FORMS": 0 if labs is None else 1,
            "labs-INITIAL_FORMS": 0 if labs is None else 1,
            "labs-MIN_NUM_FORMS": 0,
            "labs-MAX_NUM_FORMS": 1,
        }
    )
    if labs is not None:
        data.update({"labs-0-id": labs.pk, "labs-0-visit": visit.pk})
        for field in STORED_LAB_FIELDS:
            value = getattr(labs, field)
            if isinstance(value, bool):
                value = "true" if value else "false"
            data[f"labs-0-{field}"] = "" if value is None else value
    # The answers not done are listed read-only (management form only).
    not_done = list(visit.not_done_answers.values_list("pk", flat=True))
    data.update(
        {
            "not_done_answers-TOTAL_FORMS": len(not_done),
            "not_done_answers-INITIAL_FORMS": len(not_done),
            "not_done_answers-MIN_NUM_FORMS": 0,
            "not_done_answers-MAX_NUM_FORMS": 1000,
        }
    )
    for index, pk in enumerate(not_done):
        data[f"not_done_answers-{index}-id"] = pk
        data[f"not_done_answers-{index}-visit"] = visit.pk
    data["pga-0-score"] = pga
    data["sledai-0-lookback_days"] = visit.sledai.lookback_days
    for field, present in sledai.items():
        data[f"sledai-0-{field}"] = {True: "true", False: "false", None: "unknown"}[present]
    for system, grade in bilag.items():
        data[f"bilag-0-{system}"] = grade or ""
    return data
