"""Answers marked "not done" with a reason (clinical-rules.md section 4: missing for O5 and O6).

The expected outcomes are worked out by hand from the rules, in the comments.
"""

import csv
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.sledai import SLEDAI_FIELDS
from tests.factories import ALL_E, NONE_PRESENT, record_visit
from tests.pages import admin_visit_form, opened_version
from trialsite import services
from trialsite.history import visit_changes
from trialsite.models import ANSWERS, EntryStatus, NotDoneAnswer, Visit

# Baseline: arthritis 4 + rash 2 + alopecia 2 = 8.
BASELINE_SLEDAI = {**NONE_PRESENT, "arthritis": True, "rash": True, "alopecia": True}
# Month 3: arthritis 4 + rash 2 = 6, a fall of 2 (SRI-4 needs 4).
FELL_BY_2 = {**NONE_PRESENT, "arthritis": True, "rash": True}


@pytest.fixture
def baseline(participant_a):
    return record_visit(participant_a, "BL", date(2026, 2, 2), sledai=BASELINE_SLEDAI)


PGA_NOT_DONE = {"pga": "Physician unavailable"}


def m3_in_progress(participant) -> Visit:
    return record_visit(participant, "M3", date(2026, 5, 10), pga=None, sledai={}, bilag={})


def enter_m3(
    participant,
    *,
    sledai=FELL_BY_2,
    pga: str | None = None,
    bilag=ALL_E,
    not_done=PGA_NOT_DONE,
    complete: bool | None = None,
    author=None,
) -> Visit:
    """Record Month 3 and save its answers: by default SLEDAI-2K 6, BILAG all E, PGA not done."""
    m3 = m3_in_progress(participant)
    services.visit_save_assessments(
        visit=m3,
        sledai=sledai,
        pga=Decimal(pga) if pga is not None else None,
        bilag=bilag,
        not_done=not_done,
        complete=complete,
        author=author,
        reason="Initial entry",
    )
    return Visit.objects.get(pk=m3.pk)


def sri4(visit: Visit):
    return visit.endpoint_results.get(endpoint="sri4")


def test_pga_not_done_where_sledai_fell_by_2_is_a_non_responder(baseline, participant_a):
    m3 = enter_m3(participant_a, complete=True)
    assert m3.entry_status == EntryStatus.COMPLETE
    assert m3.pga.score is None
    assert NotDoneAnswer.objects.get(visit=m3).reason == "Physician unavailable"
    # O5: a fall of 2 fails SRI-4 whatever the PGA was.
    result = sri4(m3)
    assert result.outcome == "non-responder"
    assert result.reason == (
        "SLEDAI-2K fell by 2; PGA missing at the visit; the missing answers cannot change this"
    )


def test_a_descriptor_not_done_leaves_an_otherwise_responding_visit_not_evaluable(
    baseline, participant_a
):
    # Everything absent but pyuria not done: a fall of 8, or of 4 if pyuria (4) was present.
    # At its best case the visit responds, so the missing answer decides nothing (O6).
    m3 = enter_m3(
        participant_a,
        sledai={**NONE_PRESENT, "pyuria": None},
        pga="1.00",
        not_done={"sledai_pyuria": "No urine sample"},
    )
    assert m3.entry_status == EntryStatus.COMPLETE  # every answer given or marked not done
    assert m3.score.sledai_total is None
    result = sri4(m3)
    assert result.outcome == "not evaluable"
    assert result.reason == "SLEDAI-2K incomplete at the visit"


def test_a_bilag_system_not_done_is_missing_and_not_new(baseline, participant_a):
    m3 = enter_m3(
        participant_a,
        sledai=NONE_PRESENT,
        pga="1.00",
        bilag={**ALL_E, "renal": None},
        not_done={"bilag_renal": "Nephrologist's review pending"},
    )
    assert m3.entry_status == EntryStatus.COMPLETE
    assert sri4(m3).reason == "BILAG-2004 incomplete at the visit"


def test_an_answer_not_done_and_given_is_refused_naming_the_answer(baseline, participant_a):
    with pytest.raises(ValidationError) as refusal:
        enter_m3(participant_a, sledai=NONE_PRESENT, pga="1.20")
    assert refusal.value.message_dict == {
        "pga": ["PGA has a value and is marked not done; keep one of the two."]
    }
    assert not NotDoneAnswer.objects.exists()


def test_an_answer_not_done_needs_its_reason(baseline, participant_a):
    with pytest.raises(ValidationError) as refusal:
        enter_m3(
            participant_a,
            sledai={**NONE_PRESENT, "fever": None},
            pga="1.00",
            not_done={"sledai_fever": "  "},
        )
    assert refusal.value.message_dict == {
        "sledai_fever": ["Give the reason SLEDAI-2K: Fever was not done."]
    }


def test_complete_needs_every_answer_given_or_not_done(baseline, participant_a):
    with pytest.raises(ValidationError) as refusal:
        enter_m3(
            participant_a,
            sledai={**NONE_PRESENT, "fever": None, "rash": None},
            pga="1.00",
            not_done={"sledai_fever": "Thermometer broken"},
            complete=True,
        )
    assert list(refusal.value.message_dict) == ["sledai_rash"]


def test_a_value_replacing_not_done_removes_the_mark_and_the_history_keeps_it(
    baseline, participant_a, coordinator_a
):
    m3 = enter_m3(participant_a, author=coordinator_a)
    services.visit_save_assessments(
        visit=m3,
        sledai=FELL_BY_2,
        pga=Decimal("0.50"),
        bilag=ALL_E,
        author=coordinator_a,
        reason="PGA rated on the phone the next day",
    )
    assert not NotDoneAnswer.objects.filter(visit=m3).exists()
    removed = NotDoneAnswer.history.filter(visit_id=m3.pk).latest("history_id")
    assert removed.history_type == "-"
    assert removed.history_user == coordinator_a
    assert removed.history_change_reason == "PGA rated on the phone the next day"
    trail = [(entry.what, entry.kind, entry.reason) for entry in visit_changes(m3, coordinator_a)]
    assert (
        "PGA not done (Physician unavailable)",
        "deleted",
        "PGA rated on the phone the next day",
    ) in trail
    assert ("PGA not done (Physician unavailable)", "entered", "Initial entry") in trail


def test_deleting_a_visit_deletes_its_answers_not_done(baseline, participant_a):
    m3 = enter_m3(participant_a, sledai=NONE_PRESENT)
    visit_pk = m3.pk
    services.visit_delete(visit=m3, author=None, reason="Entered for the wrong participant")
    assert not Visit.objects.filter(pk=visit_pk).exists()
    deleted = NotDoneAnswer.history.get(visit_id=visit_pk, history_type="-")
    assert deleted.history_change_reason == "Entered for the wrong participant"


def test_the_pages_show_a_descriptor_and_a_grade_not_done_as_nd(
    client, coordinator_a, baseline, participant_a
):
    m3 = enter_m3(
        participant_a,
        sledai={**NONE_PRESENT, "pyuria": None},
        pga="1.00",
        bilag={**ALL_E, "renal": None},
        not_done={"sledai_pyuria": "No urine sample", "bilag_renal": "No urine sample"},
    )
    client.force_login(coordinator_a)
    page = client.get(reverse("visit_detail", args=[m3.pk])).content.decode()
    assert "no total: a descriptor was not done" in page
    assert "<li>SLEDAI-2K: Pyuria: No urine sample</li>" in page
    timeline = client.get(reverse("participant_detail", args=[participant_a.pk])).content.decode()
    # Month 3's row: SLEDAI-2K not computed, and the nine grades with renal (8th) not done.
    assert 'title="no total: a descriptor was not done">ND</span>' in timeline
    assert ">E E E E E E E ND E</span>" in timeline
    matrix = client.get(reverse("report_matrix")).content.decode()
    assert '">ND</a>' in matrix


# --------------------------------------------------------------------------------------------
# The visit form
# --------------------------------------------------------------------------------------------


def entry_data(**overrides: str) -> dict[str, str]:
    """Every answer of the visit form given: nothing present, PGA 1.00, BILAG all E."""
    data = {
        "pga": "1.00",
        "lookback_days": "10",
        "entry_status": "complete",
        "change_reason": "Entered from the source notes",
    }
    data.update({f"sledai_{field}": "0" for field in SLEDAI_FIELDS})
    data.update({f"bilag_{system}": "E" for system in BILAG_SYSTEMS})
    data.update(overrides)
    return data


def post_entry(client, visit: Visit, data: dict[str, str]):
    url = reverse("visit_entry", args=[visit.pk])
    return client.post(url, {"opened_version": opened_version(client, url), **data})


def test_the_form_saves_pga_not_done_as_complete_and_the_pages_show_nd(
    client, coordinator_a, baseline, participant_a
):
    m3 = m3_in_progress(participant_a)
    client.force_login(coordinator_a)
    response = post_entry(
        client,
        m3,
        entry_data(
            pga="",
            pga_not_done="on",
            pga_not_done_reason="Physician unavailable",
            sledai_arthritis="1",
            sledai_rash="1",
            bilag_renal="ND",
            bilag_renal_not_done_reason="Nephrology review pending",
            change_reason="Entered from the source notes",
        ),
    )
    assert response.status_code == 302
    m3.refresh_from_db()
    assert m3.entry_status == EntryStatus.COMPLETE
    assert dict(m3.not_done_answers.values_list("answer", "reason")) == {
        "pga": "Physician unavailable",
        "bilag_renal": "Nephrology review pending",
    }
    assert sri4(m3).outcome == "non-responder"

    page = client.get(reverse("visit_detail", args=[m3.pk])).content.decode()
    assert '<th scope="row">PGA</th><td>ND</td>' in page
    assert "<li>PGA: Physician unavailable</li>" in page
    assert "<li>BILAG-2004: Renal: Nephrology review pending</li>" in page
    assert "Renal <strong>ND</strong>" in page
    assert "non-responder" in page
    assert "SLEDAI-2K fell by 2" in page
    timeline = client.get(reverse("participant_detail", args=[participant_a.pk])).content.decode()
    assert '<td class="text-end" data-label="PGA">ND</td>' in timeline

    # Opened again, the form shows the marks and their reasons.
    form = client.get(reverse("visit_entry", args=[m3.pk])).content.decode()
    assert 'name="pga_not_done" id="id_pga_not_done" checked' in form
    assert 'value="Physician unavailable"' in form
    assert 'value="ND" selected' in form


def test_the_form_asks_for_the_reason_of_an_answer_not_done(
    client, coordinator_a, baseline, participant_a
):
    m3 = m3_in_progress(participant_a)
    client.force_login(coordinator_a)
    response = post_entry(client, m3, entry_data(sledai_fever="ND"))
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "sledai_fever_not_done_reason": ["Give the reason it was not done."]
    }
    m3.refresh_from_db()
    assert m3.entry_status == EntryStatus.IN_PROGRESS


def test_the_form_refuses_a_pga_given_and_marked_not_done(
    client, coordinator_a, baseline, participant_a
):
    m3 = m3_in_progress(participant_a)
    client.force_login(coordinator_a)
    response = post_entry(
        client, m3, entry_data(pga_not_done="on", pga_not_done_reason="Physician unavailable")
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "pga": ["PGA has a value and is marked not done; keep one of the two."]
    }


def test_save_as_complete_names_an_answer_neither_given_nor_not_done(
    client, coordinator_a, baseline, participant_a
):
    m3 = m3_in_progress(participant_a)
    client.force_login(coordinator_a)
    response = post_entry(client, m3, entry_data(bilag_renal=""))
    assert response.context["form"].errors == {
        "bilag_renal": ["Answer this, or mark it not done, before marking the visit complete."]
    }


# --------------------------------------------------------------------------------------------
# The admin
# --------------------------------------------------------------------------------------------


def test_admin_refuses_a_value_for_an_answer_not_done(admin_client, baseline, participant_a):
    m3 = enter_m3(participant_a, sledai=NONE_PRESENT)
    m3 = Visit.objects.get(pk=m3.pk)
    url = reverse("admin:trialsite_visit_change", args=[m3.pk])
    page = admin_client.get(url).content.decode()
    assert "Physician unavailable" in page  # the inline lists the answers not done
    data = admin_visit_form(
        admin_client, m3, pga="0.50", sledai=NONE_PRESENT, bilag=ALL_E, reason="Correction"
    )
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "Recorded as not done (Physician unavailable)." in response.content.decode()
    m3.refresh_from_db()
    assert m3.pga.score is None


def test_admin_keeps_an_entry_with_answers_not_done_complete(admin_client, baseline, participant_a):
    m3 = enter_m3(participant_a, sledai=NONE_PRESENT)
    m3 = Visit.objects.get(pk=m3.pk)
    url = reverse("admin:trialsite_visit_change", args=[m3.pk])
    data = admin_visit_form(
        admin_client,
        m3,
        pga="",
        sledai={**NONE_PRESENT, "fever": True},
        bilag=ALL_E,
        reason="Fever missed in transcription",
    )
    assert admin_client.post(url, data).status_code == 302
    m3.refresh_from_db()
    assert m3.sledai.fever is True
    assert m3.entry_status == EntryStatus.COMPLETE


# --------------------------------------------------------------------------------------------
# Exports
# --------------------------------------------------------------------------------------------


def test_a_visit_whose_answers_were_all_not_done_is_in_responses_csv(baseline, participant_a):
    reason = "Participant too unwell to be examined"
    enter_m3(participant_a, sledai={}, bilag={}, not_done=dict.fromkeys(ANSWERS, reason))
    out = StringIO()
    call_command("export_responses", stdout=out)
    (row,) = csv.DictReader(StringIO(out.getvalue()))
    assert (row["visit"], row["pga"], row["sledai2k"], row["sri4"]) == (
        "M3",
        "ND",
        "",
        "not evaluable",
    )


def test_responses_csv_writes_a_pga_not_done_as_nd(baseline, participant_a):
    enter_m3(participant_a)
    out = StringIO()
    call_command("export_responses", "--as-of", "2026-06-30", stdout=out)
    (row,) = csv.DictReader(StringIO(out.getvalue()))
    assert (row["visit"], row["pga"], row["pga_change"], row["sledai2k"]) == ("M3", "ND", "", "6")
    assert row["sri4"] == "non-responder"
