"""B cells and immunoglobulins on a visit's labs (CD19+ cells/µL, IgG, IgA, IgM in g/L): stored
never negative, entered on the visit form in their own group, shown on the visit page, queried
and corrected, edited in admin, imported from visits.csv's optional columns, and never a SLEDAI-2K
suggestion. The study's aplasia threshold is a setting, 1 cell/µL by default."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from responses.scoring.labs import LAB_FIELDS
from tests.factories import UserFactory, build_cohort, record_visit, with_bl_and_m3
from tests.pages import admin_visit_form, opened_version
from trialsite import queries, selectors
from trialsite.forms import AssessmentForm, LabValuesForm
from trialsite.imports import VISIT_COLUMNS, VISIT_OPTIONAL_COLUMNS, import_visits
from trialsite.models import (
    IMMUNE_LAB_FIELDS,
    QUERY_FIELD_LABELS,
    STORED_LAB_FIELDS,
    DataQuery,
    LabResult,
    Study,
    Visit,
)

IMMUNE = {
    "cd19_per_ul": Decimal("0.50"),
    "igg_g_l": Decimal("9.60"),
    "iga_g_l": Decimal("1.20"),
    "igm_g_l": Decimal("0.40"),
}


@pytest.fixture
def m3(study, site_a) -> Visit:
    people = build_cohort(study, {"S01-001": with_bl_and_m3("S01")})
    return people["S01-001"].visits.get(visit_definition__code="M3")


def stored_labs(visit: Visit) -> dict[str, object]:
    labs = LabResult.objects.get(visit=visit)
    return {name: getattr(labs, name) for name in STORED_LAB_FIELDS}


# --------------------------------------------------------------------------------------------
# The fields and the study setting
# --------------------------------------------------------------------------------------------


def test_the_immune_labs_are_lab_results_with_their_units_but_not_scoring_labs():
    assert IMMUNE_LAB_FIELDS == ("cd19_per_ul", "igg_g_l", "iga_g_l", "igm_g_l")
    assert not set(IMMUNE_LAB_FIELDS) & set(LAB_FIELDS)
    assert (*LAB_FIELDS, *IMMUNE_LAB_FIELDS) == STORED_LAB_FIELDS
    units = {name: str(LabResult._meta.get_field(name).help_text) for name in IMMUNE_LAB_FIELDS}
    assert units == {
        "cd19_per_ul": "cells/µL",
        "igg_g_l": "g/L",
        "iga_g_l": "g/L",
        "igm_g_l": "g/L",
    }


@pytest.mark.parametrize("field", IMMUNE_LAB_FIELDS)
def test_a_negative_immune_lab_value_is_refused_by_the_database(m3, field):
    labs = LabResult(visit=m3, **{field: Decimal("-0.01")})
    with pytest.raises(ValidationError) as refused:
        labs.full_clean()
    assert "A B-cell count or an immunoglobulin level cannot be negative." in str(refused.value)
    with transaction.atomic(), pytest.raises(IntegrityError):
        labs.save()


def test_a_count_of_0_is_stored(m3):
    labs = LabResult(visit=m3, cd19_per_ul=Decimal("0"))
    labs.full_clean()
    labs.save()
    assert LabResult.objects.get(visit=m3).cd19_per_ul == Decimal("0")


def test_the_aplasia_threshold_is_1_cell_per_microlitre_by_default(study):
    assert study.b_cell_aplasia_threshold_per_ul == Decimal("1")


@pytest.mark.parametrize("threshold", ["0", "-1"])
def test_an_aplasia_threshold_of_0_or_less_is_refused(study, threshold):
    study.b_cell_aplasia_threshold_per_ul = Decimal(threshold)
    with pytest.raises(ValidationError) as refused:
        study.full_clean()
    assert "b_cell_aplasia_threshold_per_ul" in refused.value.message_dict
    with transaction.atomic(), pytest.raises(IntegrityError):
        Study.objects.filter(pk=study.pk).update(b_cell_aplasia_threshold_per_ul=threshold)


# --------------------------------------------------------------------------------------------
# Saving through the service; no SLEDAI-2K suggestion
# --------------------------------------------------------------------------------------------


def test_the_service_stores_the_immune_labs_beside_the_others(study, site_a):
    participant = build_cohort(study, {"S01-002": with_bl_and_m3("S01")})["S01-002"]
    visit = record_visit(
        participant, "M6", date(2026, 8, 9), labs={"platelets": Decimal("150"), **IMMUNE}
    )

    labs = stored_labs(visit)
    assert {name: labs[name] for name in IMMUNE_LAB_FIELDS} == IMMUNE
    assert labs["platelets"] == Decimal("150.00")


def test_immune_labs_suggest_no_sledai_descriptor(study, site_a):
    participant = build_cohort(study, {"S01-003": with_bl_and_m3("S01")})["S01-003"]
    zero = dict.fromkeys(IMMUNE_LAB_FIELDS, Decimal("0"))
    visit = record_visit(participant, "M6", date(2026, 8, 9), labs=zero)

    assert selectors.lab_suggestions(LabResult.objects.get(visit=visit)) == []
    assert "lab_cd19_per_ul" not in LabValuesForm().fields


# --------------------------------------------------------------------------------------------
# The visit entry form and the visit page
# --------------------------------------------------------------------------------------------


def entry_data(client, visit: Visit, **labs: str) -> dict[str, str]:
    """The entry form's data: the PGA and the labs given, saved in progress."""
    url = reverse("visit_entry", args=[visit.pk])
    return {
        "opened_version": opened_version(client, url),
        "pga": "1.00",
        "lookback_days": "10",
        "entry_status": "in_progress",
        "change_reason": "Lab report arrived",
        **{f"lab_{name}": value for name, value in labs.items()},
    }


def test_the_entry_form_groups_b_cells_and_immunoglobulins_apart(client, coordinator_a, m3):
    client.force_login(coordinator_a)
    page = client.get(reverse("visit_entry", args=[m3.pk])).content.decode()

    sledai_labs, immune_labs = page.split('id="labs"')[1].split('id="immune-labs"')
    assert "B cells and immunoglobulins" in sledai_labs  # the group's legend, before its fields
    for name in IMMUNE_LAB_FIELDS:
        assert f'name="lab_{name}"' in immune_labs
        assert f'name="lab_{name}"' not in sledai_labs
    assert "cells/µL" in immune_labs
    assert "g/L" in immune_labs


def test_the_entry_form_saves_the_immune_labs(client, coordinator_a, m3):
    client.force_login(coordinator_a)
    data = entry_data(client, m3, cd19_per_ul="0.5", igg_g_l="9.6", iga_g_l="", igm_g_l="0.4")

    response = client.post(reverse("visit_entry", args=[m3.pk]), data)

    assert response.status_code == 302
    labs = stored_labs(m3)
    assert (labs["cd19_per_ul"], labs["igg_g_l"], labs["iga_g_l"], labs["igm_g_l"]) == (
        Decimal("0.50"),
        Decimal("9.60"),
        None,
        Decimal("0.40"),
    )
    assert AssessmentForm.initial_for(Visit.objects.get(pk=m3.pk))["lab_cd19_per_ul"] == Decimal(
        "0.50"
    )


@pytest.mark.parametrize("value", ["-1", "lots", "٣"], ids=["negative", "text", "arabic-digit"])
def test_the_entry_form_refuses_a_bad_count_on_its_field(client, coordinator_a, m3, value):
    client.force_login(coordinator_a)
    response = client.post(
        reverse("visit_entry", args=[m3.pk]), entry_data(client, m3, cd19_per_ul=value)
    )

    assert response.status_code == 200
    assert "lab_cd19_per_ul" in response.context["form"].errors
    assert not LabResult.objects.filter(visit=m3).exists()


def test_the_visit_page_lists_the_immune_labs_as_their_own_group(client, monitor, m3):
    visit = record_visit(m3.participant, "M6", date(2026, 8, 9), labs={"cd19_per_ul": Decimal("0")})
    client.force_login(monitor)

    page = client.get(reverse("visit_detail", args=[visit.pk])).content.decode()

    group = page.split('id="immune-lab-values"')[1].split("</tbody>")[0]
    assert "B cells and immunoglobulins" in group
    assert "CD19+ B cells" in group
    assert "0.00" in group
    assert "cells/µL" in group


# --------------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", IMMUNE_LAB_FIELDS)
def test_a_query_can_be_raised_on_each_immune_lab(m3, monitor, field):
    query = queries.query_raise(visit=m3, field=field, text="Check the report.", author=monitor)

    assert DataQuery.objects.get(pk=query.pk).field == field
    assert field in QUERY_FIELD_LABELS
    assert queries.field_kind(field) == "lab"


def test_a_count_corrected_from_a_query_keeps_the_other_labs(study, site_a, monitor, coordinator_a):
    participant = build_cohort(study, {"S01-004": with_bl_and_m3("S01")})["S01-004"]
    visit = record_visit(
        participant,
        "M6",
        date(2026, 8, 9),
        labs={"upcr": Decimal("62.4"), "upcr_unit": "mg/mmol", **IMMUNE},
    )
    query = queries.query_raise(
        visit=visit, field="cd19_per_ul", text="CD19 5 per µL?", author=monitor
    )

    queries.query_answer(
        query=query,
        text="Corrected from the flow cytometry report.",
        author=coordinator_a,
        new_value=Decimal("5"),
        change_reason="Transcription error",
    )

    labs = stored_labs(visit)
    assert labs["cd19_per_ul"] == Decimal("5.00")
    assert (labs["igg_g_l"], labs["upcr"], labs["upcr_unit"]) == (
        Decimal("9.60"),
        Decimal("62.40"),
        "mg/mmol",
    )
    assert "Corrected CD19+ B cells: 0.50 cells/µL → 5.00 cells/µL" in (
        query.messages.order_by("pk").last().text
    )


# --------------------------------------------------------------------------------------------
# Admin
# --------------------------------------------------------------------------------------------


def test_admin_shows_the_labs_inline_and_the_study_threshold(admin_client, study, m3):
    visit_page = admin_client.get(reverse("admin:trialsite_visit_change", args=[m3.pk]))
    study_page = admin_client.get(reverse("admin:trialsite_study_change", args=[study.pk]))

    visit_html = visit_page.content.decode()
    assert "B cells and immunoglobulins" in visit_html
    for name in IMMUNE_LAB_FIELDS:
        assert f'name="labs-0-{name}"' in visit_html
    assert 'name="b_cell_aplasia_threshold_per_ul"' in study_page.content.decode()


def admin_labs_post(client, visit: Visit, **labs: str) -> dict[str, object]:
    """The visit's admin change form as stored, with the labs inline adding ``labs``."""
    data = admin_visit_form(
        client,
        visit,
        pga=str(visit.pga.score),
        sledai=visit.sledai.answers(),
        bilag=visit.bilag.grades(),
        reason="Flow cytometry report",
    )
    data.update({"labs-TOTAL_FORMS": 1, "labs-0-visit": visit.pk})
    data.update({f"labs-0-{name}": value for name, value in labs.items()})
    return data


def test_admin_records_a_count_in_the_labs_inline_with_the_reason(admin_client, m3):
    url = reverse("admin:trialsite_visit_change", args=[m3.pk])

    response = admin_client.post(url, admin_labs_post(admin_client, m3, cd19_per_ul="0.5"))

    assert response.status_code == 302
    labs = LabResult.objects.get(visit=m3)
    assert labs.cd19_per_ul == Decimal("0.50")
    assert labs.history.get().history_change_reason == "Flow cytometry report"


def test_admin_refuses_a_negative_count(admin_client, m3):
    url = reverse("admin:trialsite_visit_change", args=[m3.pk])

    response = admin_client.post(url, admin_labs_post(admin_client, m3, igg_g_l="-1"))

    assert response.status_code == 200
    assert "A B-cell count or an immunoglobulin level cannot be negative." in (
        response.content.decode()
    )
    assert not LabResult.objects.filter(visit=m3).exists()


# --------------------------------------------------------------------------------------------
# visits.csv
# --------------------------------------------------------------------------------------------


@pytest.fixture
def data_manager_user(db):
    return UserFactory(username="dm_b_cells", role="Data manager")


@pytest.fixture
def c001(study, site_a):
    return build_cohort(study, {"C-001": with_bl_and_m3("S01")})["C-001"]


def visits_csv(*rows: dict[str, str], labs: tuple[str, ...] = IMMUNE_LAB_FIELDS) -> str:
    """A visits.csv with the given lab columns; every answer given (complete), PGA 1.00."""
    header = [*VISIT_COLUMNS, *labs]
    lines = [",".join(header)]
    for row in rows:
        cells = {column: "0" for column in VISIT_COLUMNS if column.startswith("sledai_")}
        cells.update({column: "E" for column in VISIT_COLUMNS if column.startswith("bilag_")})
        cells.update({"pga": "1.00", **row})
        lines.append(",".join(cells.get(column, "") for column in header))
    return "\n".join(lines) + "\n"


def run_import(text: str, study, author, *, update: bool = False):
    return import_visits(text, file_name="visits.csv", study=study, author=author, update=update)


def test_the_lab_columns_are_optional_and_named_as_the_fields():
    assert set(IMMUNE_LAB_FIELDS) <= set(VISIT_OPTIONAL_COLUMNS)
    assert not set(IMMUNE_LAB_FIELDS) & set(VISIT_COLUMNS)


def test_import_stores_the_counts_and_an_empty_cell_is_not_done(study, c001, data_manager_user):
    text = visits_csv(
        {
            "participant_id": "C-001",
            "visit": "M6",
            "visit_date": "2026-08-09",
            "cd19_per_ul": "0",
            "igg_g_l": "9.6",
            "iga_g_l": "",
            "igm_g_l": "0.45",
        }
    )

    report = run_import(text, study, data_manager_user)

    assert report.problems == []
    visit = c001.visits.get(visit_definition__code="M6")
    labs = stored_labs(visit)
    assert (labs["cd19_per_ul"], labs["igg_g_l"], labs["iga_g_l"], labs["igm_g_l"]) == (
        Decimal("0.00"),
        Decimal("9.60"),
        None,
        Decimal("0.45"),
    )


def test_import_without_lab_columns_records_no_labs(study, c001, data_manager_user):
    text = visits_csv(
        {"participant_id": "C-001", "visit": "M6", "visit_date": "2026-08-09"}, labs=()
    )

    report = run_import(text, study, data_manager_user)

    assert report.problems == []
    assert not LabResult.objects.filter(visit__participant=c001).exists()


def test_import_with_empty_lab_cells_records_no_labs(study, c001, data_manager_user):
    text = visits_csv({"participant_id": "C-001", "visit": "M6", "visit_date": "2026-08-09"})

    report = run_import(text, study, data_manager_user)

    assert report.problems == []
    assert not LabResult.objects.filter(visit__participant=c001).exists()


def test_an_update_writes_the_files_lab_columns_and_keeps_the_other_labs(
    study, c001, data_manager_user
):
    visit = record_visit(
        c001,
        "M6",
        date(2026, 8, 9),
        labs={"platelets": Decimal("150"), "cd19_per_ul": Decimal("0"), "igg_g_l": Decimal("9")},
    )
    text = visits_csv(
        {
            "participant_id": "C-001",
            "visit": "M6",
            "visit_date": "2026-08-09",
            "cd19_per_ul": "12",
            "igg_g_l": "9",
        },
        labs=("cd19_per_ul", "igg_g_l"),
    )

    report = run_import(text, study, data_manager_user, update=True)

    assert report.problems == []
    assert [(change.label, change.columns) for change in report.changed] == [
        ("C-001 M6", ("cd19_per_ul",))
    ]
    labs = stored_labs(visit)
    assert (labs["cd19_per_ul"], labs["igg_g_l"], labs["platelets"]) == (
        Decimal("12.00"),
        Decimal("9.00"),
        Decimal("150.00"),
    )


def test_an_update_with_an_empty_lab_cell_clears_the_value_and_one_left_out_keeps_it(
    study, c001, data_manager_user
):
    visit = record_visit(c001, "M6", date(2026, 8, 9), labs=IMMUNE)
    text = visits_csv(
        {"participant_id": "C-001", "visit": "M6", "visit_date": "2026-08-09"},
        labs=("cd19_per_ul",),
    )

    report = run_import(text, study, data_manager_user, update=True)

    assert report.problems == []
    assert [change.columns for change in report.changed] == [("cd19_per_ul",)]
    labs = stored_labs(visit)
    assert labs["cd19_per_ul"] is None
    assert labs["igg_g_l"] == IMMUNE["igg_g_l"]


def test_an_update_with_the_same_counts_changes_nothing(study, c001, data_manager_user):
    record_visit(c001, "M6", date(2026, 8, 9), labs={"cd19_per_ul": Decimal("250")})
    text = visits_csv(
        {
            "participant_id": "C-001",
            "visit": "M6",
            "visit_date": "2026-08-09",
            "cd19_per_ul": "250.00",
        },
        labs=("cd19_per_ul",),
    )

    report = run_import(text, study, data_manager_user, update=True)

    assert (report.problems, report.changed, report.unchanged) == ([], [], ["C-001 M6"])


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("cd19_per_ul", "-1", "a lab value cannot be negative."),
        ("cd19_per_ul", "-0", "a lab value cannot be negative."),
        ("igg_g_l", "ND", "leave the cell empty when it was not done (ND is for answers only)"),
        ("igg_g_l", "9.6 g/L", "a lab value is a number written with the digits 0-9"),
        ("iga_g_l", "NaN", "a lab value is a number written with the digits 0-9"),
        ("igm_g_l", "0.125", "a lab value has at most two decimals."),
        ("cd19_per_ul", "1000000", "a lab value is at most 999999.99."),
        ("cd19_per_ul", "٣", "0-9"),
        ("cd19_per_ul", "1e5", "a lab value is a number written with the digits 0-9"),
        ("cd19_per_ul", "1E-2", "a lab value is a number written with the digits 0-9"),
        ("cd19_per_ul", "1_000", "a lab value is a number written with the digits 0-9"),
        ("cd19_per_ul", "+5", "a lab value is a number written with the digits 0-9"),
        ("igg_g_l", ".5", "a lab value is a number written with the digits 0-9"),
        ("cd19_per_ul", "9" * 5000, "a lab value is a number written with the digits 0-9"),
    ],
    ids=[
        "negative",
        "minus-zero",
        "nd",
        "unit",
        "nan",
        "three-decimals",
        "too-large",
        "digit",
        "exponent",
        "negative-exponent",
        "underscore",
        "plus-sign",
        "no-leading-digit",
        "thousands-of-digits",
    ],
)
def test_a_bad_lab_cell_is_refused_by_row_column_and_value(
    study, c001, data_manager_user, column, value, message
):
    text = visits_csv(
        {"participant_id": "C-001", "visit": "M6", "visit_date": "2026-08-09"},
        {"participant_id": "C-001", "visit": "M9", "visit_date": "2026-11-09", column: value},
    )

    report = run_import(text, study, data_manager_user)

    [problem] = report.problems
    assert (problem.row, problem.column, problem.value) == (3, column, value)
    assert message in problem.message
    assert f'row 3, column {column}, value "{value}"' in str(problem)
    assert not c001.visits.filter(visit_definition__code__in=["M6", "M9"]).exists()
