"""medications.csv import (interchange.md): all or nothing, every problem listed by row, column and
value, audited; a drug prohibited after infusion is reported as a proposal, never recorded as the
treatment failure date."""

import csv
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from medications.imports import MEDICATION_COLUMNS, import_medications, parse_dose
from medications.models import MedicationCourse
from tests.factories import ParticipantFactory, UserFactory
from tests.medications.conftest import record_course
from trialsite.imports import CellError
from trialsite.management.options import InputError
from trialsite.models import Study

AS_DATA_MANAGER = ("--user", "dm")

#: An ongoing prednisolone course of participant_a (enrolled 2026-01-05, infused 2026-02-09).
ROW = {
    "participant_id": "S01-001",
    "drug": "prednisolone",
    "daily_dose_mg": "20",
    "route": "oral",
    "start_date": "2026-01-05",
    "stop_date": "",
}


def medications_file(tmp_path, *rows, name="medications.csv", columns=MEDICATION_COLUMNS) -> str:
    """Write medications.csv: each row is ROW with the cells given; no row given is ROW alone."""
    out = StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows or ({},):
        writer.writerow([{**ROW, **row}.get(column, "") for column in columns])
    path = tmp_path / name
    path.write_text(out.getvalue(), encoding="utf-8")
    return str(path)


def run(*args: str) -> str:
    stdout = StringIO()
    call_command(*args, stdout=stdout, stderr=StringIO())
    return stdout.getvalue()


def refuse(*args: str) -> str:
    """Run an import that must be refused whole; return its itemised problems (stderr)."""
    stderr = StringIO()
    with pytest.raises(CommandError) as refused:
        call_command(*args, stdout=StringIO(), stderr=stderr)
    assert refused.value.returncode == 1
    assert "nothing was imported" in str(refused.value)
    return stderr.getvalue()


@pytest.fixture
def importer(data_manager, participant_a, study, site_a):
    """The data manager "dm", participant_a and S01-002 (infused 2026-02-09 too)."""
    ParticipantFactory(study=study, site=site_a, participant_id="S01-002")
    return data_manager


# --------------------------------------------------------------------------------------------
# Good files
# --------------------------------------------------------------------------------------------


def test_a_file_creates_courses_with_generic_names_audited(importer, tmp_path):
    path = medications_file(
        tmp_path,
        {"stop_date": "2026-02-22"},
        {"daily_dose_mg": "10", "start_date": "2026-02-23", "stop_date": "2026-03-22"},
        {"drug": "Mycophenolate Mofetil", "daily_dose_mg": "1000", "start_date": "2025-06-01"},
        {"participant_id": "S01-002", "drug": "dexamethasone", "daily_dose_mg": "0.75"},
        {
            "drug": "methylprednisolone",
            "daily_dose_mg": "500",
            "route": "iv",
            "start_date": "2026-02-10",
            "stop_date": "2026-02-12",
        },
        {"drug": "hydrocortisone", "daily_dose_mg": "1", "route": "other"},
    )

    stdout = run("import_medications", *AS_DATA_MANAGER, path)

    assert "Imported medications.csv: 6 created, 0 changed, 0 unchanged." in stdout
    assert "treatment failure" not in stdout
    courses = MedicationCourse.objects.order_by("participant__participant_id", "start_date")
    assert [
        (c.participant.participant_id, c.drug, c.daily_dose_mg, c.route, c.stop_date)
        for c in courses
    ] == [
        ("S01-001", "mycophenolate", Decimal("1000"), "oral", None),
        ("S01-001", "prednisolone", Decimal("20"), "oral", date(2026, 2, 22)),
        ("S01-001", "hydrocortisone", Decimal("1"), "other", None),
        ("S01-001", "methylprednisolone", Decimal("500"), "iv", date(2026, 2, 12)),
        ("S01-001", "prednisolone", Decimal("10"), "oral", date(2026, 3, 22)),
        ("S01-002", "dexamethasone", Decimal("0.75"), "oral", None),
    ]
    assert {(v.history_user, v.history_change_reason) for v in MedicationCourse.history.all()} == {
        (importer, "imported from medications.csv")
    }


def test_a_prohibited_drug_is_reported_as_a_proposal_and_never_recorded(
    importer, participant_a, tmp_path
):
    path = medications_file(
        tmp_path,
        {
            "drug": "cyclophosphamide",
            "daily_dose_mg": "500",
            "route": "iv",
            "start_date": "2026-05-02",
            "stop_date": "2026-05-02",
        },
        {"drug": "rituximab", "daily_dose_mg": "375", "route": "iv", "start_date": "2026-01-20"},
    )
    versions = participant_a.history.count()

    dry = run("import_medications", *AS_DATA_MANAGER, "--dry-run", path)
    assert (
        "S01-001: cyclophosphamide from 2026-05-02, after the infusion, would propose 2026-05-02 "
        "as the treatment failure date." in dry
    )
    assert not MedicationCourse.objects.exists()

    stdout = run("import_medications", *AS_DATA_MANAGER, path)

    assert "Imported medications.csv: 2 created" in stdout
    assert (
        "S01-001: cyclophosphamide from 2026-05-02, after the infusion, proposes 2026-05-02 as "
        "the treatment failure date: not recorded; confirm or dismiss it on the participant's "
        "page." in stdout
    )
    assert "S01-001: rituximab from 2026-02-10, after the infusion, proposes 2026-02-10" in stdout
    participant_a.refresh_from_db()
    assert participant_a.treatment_failure_date is None
    assert participant_a.history.count() == versions


def test_a_drug_the_site_does_not_know_is_listed_with_its_row(importer, tmp_path):
    path = medications_file(
        tmp_path,
        {"drug": "MabThera", "daily_dose_mg": "375", "route": "iv", "start_date": "2026-03-01"},
        {"drug": "rituximb", "daily_dose_mg": "375", "route": "iv", "start_date": "2026-03-01"},
    )

    stdout = run("import_medications", *AS_DATA_MANAGER, path)

    # The brand is known (rituximab: a proposal); the misspelling is not, and is listed.
    assert "S01-001: rituximab from 2026-03-01, after the infusion, proposes" in stdout
    assert (
        "row 3: rituximb is not one of the drugs the site knows (its class is other): check the "
        "spelling; a biologic the site does not know proposes no treatment failure." in stdout
    )
    assert "row 2:" not in stdout


def test_update_changes_dose_route_and_stop_of_existing_courses(importer, tmp_path):
    run(
        "import_medications",
        *AS_DATA_MANAGER,
        medications_file(tmp_path, {"stop_date": "2026-02-22"}),
    )
    path = medications_file(
        tmp_path,
        {"stop_date": "2026-02-25"},
        {"drug": "azathioprine", "daily_dose_mg": "50"},
    )

    problems = refuse("import_medications", *AS_DATA_MANAGER, path)
    assert (
        'row 2, column start_date, value "2026-01-05": this participant already has a course of '
        "this drug starting on this date (use --update to change it)." in problems
    )

    stdout = run("import_medications", *AS_DATA_MANAGER, "--update", path)
    assert "row 2: S01-001 prednisolone 2026-01-05 changed (stop_date)" in stdout
    assert "Imported medications.csv: 1 created, 1 changed, 0 unchanged." in stdout
    course = MedicationCourse.objects.get(drug="prednisolone")
    assert course.stop_date == date(2026, 2, 25)

    again = run("import_medications", *AS_DATA_MANAGER, "--update", path)
    assert "0 created, 0 changed, 2 unchanged." in again


def test_a_synonym_finds_the_course_it_duplicates(importer, participant_a, tmp_path):
    record_course(participant_a, "mycophenolate", start=date(2026, 1, 5))
    path = medications_file(tmp_path, {"drug": "mycophenolic acid", "daily_dose_mg": "720"})
    stdout = run("import_medications", *AS_DATA_MANAGER, "--update", path)
    assert "row 2: S01-001 mycophenolate 2026-01-05 changed (daily_dose_mg)" in stdout
    assert MedicationCourse.objects.get().daily_dose_mg == Decimal("720")


# --------------------------------------------------------------------------------------------
# Problems: by row, column and value; nothing imported
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "problem"),
    [
        pytest.param(
            {"participant_id": "S09-001"},
            'row 2, column participant_id, value "S09-001": there is no participant with this ID '
            "in the study.",
            id="unknown-participant",
        ),
        pytest.param(
            {"drug": ""}, 'row 2, column drug, value "": a value is required.', id="no-drug"
        ),
        pytest.param(
            {"daily_dose_mg": "0"},
            'row 2, column daily_dose_mg, value "0": the daily dose is more than 0 mg.',
            id="dose-zero",
        ),
        pytest.param(
            {"daily_dose_mg": "7,5"},
            'row 2, column daily_dose_mg, value "7,5": the daily dose is written in mg with at '
            "most three decimals, e.g. 7.5.",
            id="decimal-comma",
        ),
        pytest.param(
            {"route": "intravenous"},
            'row 2, column route, value "intravenous": write one of oral, iv, other.',
            id="route-spelled-out",
        ),
        pytest.param(
            {"start_date": "05/01/2026"},
            'row 2, column start_date, value "05/01/2026": a date must be written YYYY-MM-DD.',
            id="date-format",
        ),
        pytest.param(
            {"stop_date": "2026-01-04"},
            'row 2, column stop_date, value "2026-01-04": the stop date is before the start date.',
            id="stop-before-start",
        ),
        pytest.param(
            {"start_date": "2099-01-01"},
            'row 2, column start_date, value "2099-01-01": This date is in the future.',
            id="future",
        ),
    ],
)
def test_a_bad_cell_is_named_and_nothing_is_imported(importer, tmp_path, cells, problem):
    path = medications_file(tmp_path, {"drug": "hydroxychloroquine"}, cells)
    problems = refuse("import_medications", *AS_DATA_MANAGER, path)
    assert problem.replace("row 2", "row 3") in problems
    assert not MedicationCourse.objects.exists()


def test_a_course_twice_in_the_file_is_refused(importer, tmp_path):
    path = medications_file(tmp_path, {}, {"drug": "Prednisolone", "daily_dose_mg": "10"})
    problems = refuse("import_medications", *AS_DATA_MANAGER, path)
    assert (
        'row 3, column start_date, value "2026-01-05": a course of this drug for this participant '
        "starting on this date is already in row 2 of the file." in problems
    )
    assert not MedicationCourse.objects.exists()


def test_a_missing_column_is_refused(importer, tmp_path):
    columns = tuple(column for column in MEDICATION_COLUMNS if column != "route")
    problems = refuse(
        "import_medications", *AS_DATA_MANAGER, medications_file(tmp_path, columns=columns)
    )
    assert "row 1, column route: required column missing from the header." in problems


def test_the_import_needs_a_user_who_may_import(importer, coordinator_a, tmp_path):
    path = medications_file(tmp_path)
    with pytest.raises(CommandError, match="may not import data"):
        call_command("import_medications", "--user", coordinator_a.username, path)
    with pytest.raises(InputError):
        import_medications(
            "", file_name="x.csv", study=Study.objects.get(), author=UserFactory(role="Monitor")
        )


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        pytest.param("7.5", Decimal("7.5"), id="one-decimal"),
        pytest.param("0.75", Decimal("0.75"), id="two-decimals"),
        pytest.param("0.001", Decimal("0.001"), id="smallest"),
        pytest.param("9999999.999", Decimal("9999999.999"), id="largest"),
    ],
)
def test_a_dose_is_read_exactly(cell, value):
    assert parse_dose(cell) == value


@pytest.mark.parametrize(
    "cell",
    ["0", "0.000", "-1", "1e3", "0.0001", "10000000", "٣", ".5", "5."],
)
def test_a_dose_that_is_not_a_positive_number_of_mg_is_refused(cell):
    with pytest.raises(CellError):
        parse_dose(cell)
