"""The CAR-T treatment record (clinical-rules.md section 6): its checks at their boundaries, the
same checks when the participant's infusion date or dose changes, the service's audit, the
participant page's section and the form (404 for another site, 403 without the right), and
admin."""

from datetime import date, time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from safety import services
from safety.checks import participant_safety_errors, treatment_record_errors
from safety.models import TreatmentRecord
from tests.pages import opened_version
from trialsite.services import participant_save

#: participant_a (tests/factories.py) is infused on 2026-02-09 at 1 x 10^5 CAR+ cells/kg: a
#: 40 kg child gets 4,000,000 cells; 3 days of lymphodepletion from 2026-02-03 end on day -4.
ENTRIES = {
    "leukapheresis_date": date(2026, 1, 20),
    "lymphodepletion_start_date": date(2026, 2, 3),
    "lymphodepletion_days": 3,
    "fludarabine_mg_m2_per_day": Decimal("30"),
    "cyclophosphamide_mg_m2_per_day": Decimal("300"),
    "dose_reduced": False,
    "dose_reduction_reason": "",
    "bsa_m2": Decimal("1.25"),
    "weight_kg": Decimal("40.0"),
    "infusion_time": time(10, 30),
    "total_car_cells": 4_000_000,
}
#: The same as the form posts it.
FORM = {
    "leukapheresis_date": "2026-01-20",
    "lymphodepletion_start_date": "2026-02-03",
    "lymphodepletion_days": "3",
    "fludarabine_mg_m2_per_day": "30",
    "cyclophosphamide_mg_m2_per_day": "300",
    "dose_reduction_reason": "",
    "bsa_m2": "1.25",
    "weight_kg": "40.0",
    "infusion_time": "10:30",
    "total_car_cells": "4000000",
}


def errors_of(participant, **changes) -> dict[str, list[str]]:
    return treatment_record_errors(
        TreatmentRecord(participant=participant, **{**ENTRIES, **changes}), participant
    )


def record_treatment(participant, *, author=None, **changes) -> TreatmentRecord:
    record = TreatmentRecord(participant=participant, **{**ENTRIES, **changes})
    return services.treatment_record_save(record=record, author=author, reason="test")


# --------------------------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------------------------


def test_consistent_entries_pass(participant_a):
    assert errors_of(participant_a) == {}


@pytest.mark.parametrize(
    ("total", "accepted"),
    [
        pytest.param(3_599_999, False, id="just-over-10pc-below"),
        pytest.param(3_600_000, True, id="exactly-10pc-below"),
        pytest.param(4_400_000, True, id="exactly-10pc-above"),
        pytest.param(4_400_001, False, id="just-over-10pc-above"),
    ],
)
def test_total_cells_within_10pc_of_dose_times_weight(participant_a, total, accepted):
    errors = errors_of(participant_a, total_car_cells=total)
    assert ("total_car_cells" not in errors) is accepted
    if not accepted:
        # The expected number is said: 100000 cells/kg times 40 kg.
        assert "4,000,000" in errors["total_car_cells"][0]
        assert set(errors) == {"total_car_cells"}


@pytest.mark.parametrize(
    ("start", "days", "accepted"),
    [
        pytest.param(date(2026, 2, 6), 3, True, id="ends-the-day-before-infusion"),
        pytest.param(date(2026, 2, 7), 3, False, id="ends-on-the-infusion-day"),
        pytest.param(date(2026, 2, 8), 1, True, id="one-day-the-day-before"),
        pytest.param(date(2026, 2, 4), 5, True, id="five-days-ending-the-day-before"),
        pytest.param(date(2026, 2, 5), 5, False, id="five-days-ending-on-day-0"),
    ],
)
def test_lymphodepletion_ends_before_the_infusion(participant_a, start, days, accepted):
    errors = errors_of(participant_a, lymphodepletion_start_date=start, lymphodepletion_days=days)
    assert ("lymphodepletion_start_date" not in errors) is accepted
    if not accepted:
        assert "2026-02-09" in errors["lymphodepletion_start_date"][0]


@pytest.mark.parametrize(
    ("leukapheresis", "accepted"),
    [
        pytest.param(date(2026, 2, 2), True, id="the-day-before"),
        pytest.param(date(2026, 2, 3), False, id="the-same-day"),
        pytest.param(date(2026, 2, 4), False, id="after"),
    ],
)
def test_leukapheresis_comes_before_lymphodepletion(participant_a, leukapheresis, accepted):
    errors = errors_of(participant_a, leukapheresis_date=leukapheresis)
    assert ("leukapheresis_date" not in errors) is accepted


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param(
            {"fludarabine_mg_m2_per_day": Decimal("25")},
            "fludarabine_mg_m2_per_day",
            id="fludarabine-reduced-unticked",
        ),
        pytest.param(
            {"cyclophosphamide_mg_m2_per_day": Decimal("250")},
            "cyclophosphamide_mg_m2_per_day",
            id="cyclophosphamide-reduced-unticked",
        ),
        pytest.param(
            {"fludarabine_mg_m2_per_day": Decimal("25"), "dose_reduced": True},
            "dose_reduction_reason",
            id="reduced-without-reason",
        ),
        pytest.param(
            {"dose_reduced": True, "dose_reduction_reason": "   "},
            "dose_reduction_reason",
            id="reduced-with-blank-reason",
        ),
        pytest.param(
            {"dose_reduction_reason": "renal function"},
            "dose_reduction_reason",
            id="reason-without-reduction",
        ),
    ],
)
def test_a_dose_other_than_the_protocols_is_a_reduction_with_its_reason(
    participant_a, changes, field
):
    assert list(errors_of(participant_a, **changes)) == [field]


def test_a_reduction_with_its_reason_is_accepted(participant_a):
    errors = errors_of(
        participant_a,
        fludarabine_mg_m2_per_day=Decimal("22.5"),
        dose_reduced=True,
        dose_reduction_reason="creatinine clearance 50 mL/min",
    )
    assert errors == {}


def test_a_treatment_needs_the_participants_infusion_date_and_dose(participant_a):
    participant_a.infusion_date = None
    participant_a.dose_cells_per_kg = None
    errors = errors_of(participant_a)
    assert set(errors) == {"infusion_time", "total_car_cells"}


# --------------------------------------------------------------------------------------------
# The participant's infusion date and dose against the stored record
# --------------------------------------------------------------------------------------------


def test_moving_the_infusion_onto_the_lymphodepletion_is_refused(participant_a):
    record_treatment(participant_a)
    participant_a.infusion_date = date(2026, 2, 5)  # the last lymphodepletion day
    errors = participant_safety_errors(participant_a)
    assert list(errors) == ["infusion_date"]
    participant_a.infusion_date = date(2026, 2, 6)
    assert participant_safety_errors(participant_a) == {}


def test_changing_the_dose_against_the_total_cells_is_refused_by_the_service(participant_a):
    record_treatment(participant_a)
    participant_a.dose_cells_per_kg = 300_000
    with pytest.raises(ValidationError) as refused:
        participant_save(participant=participant_a, author=None, reason="typo")
    assert "12,000,000" in refused.value.message_dict["dose_cells_per_kg"][0]


def test_the_participant_form_shows_the_dose_refusal_on_its_field(
    client, coordinator_a, participant_a
):
    record_treatment(participant_a)
    client.force_login(coordinator_a)
    url = reverse("participant_edit", args=[participant_a.pk])
    page = client.get(url)
    form = page.context["form"]
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name in form.fields
    }
    data = {
        **{
            name: (value.isoformat() if hasattr(value, "isoformat") else value)
            for name, value in data.items()
        },
        "dose_cells_per_kg": "300000",
        "change_reason": "typo",
        "opened_version": opened_version(client, url),
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "dose_cells_per_kg" in response.context["form"].errors


# --------------------------------------------------------------------------------------------
# The service
# --------------------------------------------------------------------------------------------


def test_the_service_saves_with_its_audit_entry(participant_a, coordinator_a):
    record = record_treatment(participant_a, author=coordinator_a)
    version = record.history.get()
    assert (version.history_user, version.history_change_reason) == (coordinator_a, "test")


def test_the_service_refuses_inconsistent_entries_on_their_fields(participant_a):
    with pytest.raises(ValidationError) as refused:
        record_treatment(participant_a, total_car_cells=1_000_000, lymphodepletion_days=6)
    assert set(refused.value.message_dict) == {"total_car_cells", "lymphodepletion_days"}
    assert not TreatmentRecord.objects.exists()


def test_one_treatment_record_per_participant(participant_a):
    record_treatment(participant_a)
    with pytest.raises(ValidationError) as refused:
        record_treatment(participant_a)
    assert "participant" in refused.value.message_dict


# --------------------------------------------------------------------------------------------
# The pages
# --------------------------------------------------------------------------------------------


def test_coordinator_records_the_treatment_and_sees_it_on_the_participant_page(
    client, coordinator_a, participant_a
):
    client.force_login(coordinator_a)
    page = client.get(participant_a.get_absolute_url()).content.decode()
    assert reverse("treatment_record_create", args=[participant_a.pk]) in page
    response = client.post(reverse("treatment_record_create", args=[participant_a.pk]), FORM)
    assert response.status_code == 302, response.content.decode()
    record = TreatmentRecord.objects.get(participant=participant_a)
    assert record.total_car_cells == 4_000_000
    assert record.history.get().history_change_reason == "Initial entry"
    page = client.get(participant_a.get_absolute_url()).content.decode()
    assert "CAR-T treatment" in page
    assert "2026-01-20 (day -20)" in page  # leukapheresis
    assert "2026-02-03 to 2026-02-05, 3 days (days -6 to -4)" in page
    assert "1.25 m²" in page
    assert "40.0 kg" in page
    assert "10:30" in page
    assert reverse("treatment_record_edit", args=[participant_a.pk]) in page


def test_a_change_asks_for_a_reason(client, coordinator_a, participant_a):
    record_treatment(participant_a)
    client.force_login(coordinator_a)
    url = reverse("treatment_record_edit", args=[participant_a.pk])
    version = opened_version(client, url)
    changed = {**FORM, "weight_kg": "41.0", "opened_version": version}
    response = client.post(url, changed)
    assert response.status_code == 200
    assert "change_reason" in response.context["form"].errors
    response = client.post(url, {**changed, "change_reason": "weighed again"})
    assert response.status_code == 302
    record = TreatmentRecord.objects.get()
    assert record.weight_kg == Decimal("41.0")
    assert record.history.latest().history_change_reason == "weighed again"


def test_the_form_shows_each_refusal_on_its_field(client, coordinator_a, participant_a):
    client.force_login(coordinator_a)
    response = client.post(
        reverse("treatment_record_create", args=[participant_a.pk]),
        {**FORM, "fludarabine_mg_m2_per_day": "25", "total_car_cells": "5000000"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"fludarabine_mg_m2_per_day", "total_car_cells"}
    assert not TreatmentRecord.objects.exists()


def test_recording_a_second_time_opens_the_change(client, coordinator_a, participant_a):
    record_treatment(participant_a)
    client.force_login(coordinator_a)
    response = client.get(reverse("treatment_record_create", args=[participant_a.pk]))
    assert response.url == reverse("treatment_record_edit", args=[participant_a.pk])


@pytest.mark.parametrize("name", ["treatment_record_create", "treatment_record_edit"])
def test_another_sites_participant_is_not_found(client, coordinator_a, participant_b, name):
    record_treatment(participant_b)
    client.force_login(coordinator_a)
    assert client.get(reverse(name, args=[participant_b.pk])).status_code == 404


@pytest.mark.parametrize("name", ["treatment_record_create", "treatment_record_edit"])
def test_a_monitor_sees_the_treatment_but_may_not_record_it(client, monitor, participant_a, name):
    record_treatment(participant_a)
    client.force_login(monitor)
    assert client.get(reverse(name, args=[participant_a.pk])).status_code == 403
    page = client.get(participant_a.get_absolute_url()).content.decode()
    assert "40.0 kg" in page
    assert reverse(name, args=[participant_a.pk]) not in page


def test_changing_a_treatment_not_recorded_is_not_found(client, coordinator_a, participant_a):
    client.force_login(coordinator_a)
    url = reverse("treatment_record_edit", args=[participant_a.pk])
    assert client.get(url).status_code == 404


# --------------------------------------------------------------------------------------------
# Admin
# --------------------------------------------------------------------------------------------


def test_admin_records_a_treatment_through_the_service(superuser_client, participant_a):
    response = superuser_client.post(
        reverse("admin:safety_treatmentrecord_add"),
        {**FORM, "participant": participant_a.pk, "change_reason": "Entered from chart"},
    )
    assert response.status_code == 302, response.content.decode()
    version = TreatmentRecord.objects.get().history.get()
    assert version.history_change_reason == "Entered from chart"
    assert version.history_user.username == "root"


def test_admin_refuses_inconsistent_cells_on_their_field(superuser_client, participant_a):
    response = superuser_client.post(
        reverse("admin:safety_treatmentrecord_add"),
        {**FORM, "participant": participant_a.pk, "total_car_cells": "3000000"},
    )
    assert response.status_code == 200
    assert "total_car_cells" in response.context["adminform"].form.errors
    assert not TreatmentRecord.objects.exists()
