"""adverse_events.csv import (interchange.md): all or nothing, every problem listed by row, column
and value, keyed by participant, term and start date, audited, with --update and --dry-run."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from safety import services
from safety.imports import ADVERSE_EVENT_COLUMNS, import_adverse_events
from safety.models import AdverseEvent
from tests.factories import ParticipantFactory
from tests.safety.test_imports import csv_text

AS_DATA_MANAGER = ("--user", "dm")

#: A grade 3 neutropenia of participant_a (enrolled 2026-01-05, infused 2026-02-09), recovered.
AE_ROW = {
    "participant_id": "S01-001",
    "term": "Neutrophil count decreased",
    "grade": "3",
    "start_date": "2026-02-12",
    "end_date": "2026-02-19",
    "serious": "0",
    "related_cart": "possible",
    "related_ld": "probable",
    "action": "none",
    "outcome": "recovered",
}
#: A serious lung infection, hospitalised, ongoing.
SAE_ROW = {
    **AE_ROW,
    "term": "Lung infection",
    "start_date": "2026-03-20",
    "end_date": "",
    "serious": "1",
    "related_ld": "not",
    "action": "hospitalisation",
    "outcome": "recovering",
}


def ae_file(tmp_path, *rows, name="adverse_events.csv", columns=ADVERSE_EVENT_COLUMNS) -> str:
    """Write adverse_events.csv: each row is AE_ROW with the cells given (none: AE_ROW alone)."""
    rows = rows or ({},)
    path = tmp_path / name
    path.write_text(csv_text(columns, *({**AE_ROW, **row} for row in rows)), encoding="utf-8")
    return str(path)


def run(*args: str) -> str:
    stdout = StringIO()
    call_command("import_adverse_events", *args, stdout=stdout, stderr=StringIO())
    return stdout.getvalue()


def refuse(*args: str) -> str:
    """Run an import that must be refused whole; return its itemised problems (stderr)."""
    stderr = StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import_adverse_events", *args, stdout=StringIO(), stderr=stderr)
    assert refused.value.returncode == 1
    assert "nothing was imported" in str(refused.value)
    return stderr.getvalue()


def database_state() -> tuple[int, int]:
    return AdverseEvent.objects.count(), AdverseEvent.history.count()


@pytest.fixture
def not_infused(study, site_a):
    return ParticipantFactory(
        study=study, site=site_a, participant_id="S01-099", infusion_date=None
    )


@pytest.fixture
def importer(data_manager, participant_a, not_infused):
    """The data manager "dm" and the participants of these files."""
    return data_manager


# --------------------------------------------------------------------------------------------
# Good files
# --------------------------------------------------------------------------------------------


def test_a_file_creates_adverse_events_with_their_audit_entry(importer, tmp_path):
    path = ae_file(
        tmp_path,
        {},
        # Another term starting the same day is another event.
        {"term": "Lymphocyte count decreased", "grade": "4", "related_cart": "not"},
        SAE_ROW,
        # Before infusion, after enrolment: related to lymphodepletion, not to the CAR-T cells.
        {
            "participant_id": "S01-099",
            "term": "Fever",
            "grade": "1",
            "start_date": "2026-01-20",
            "end_date": "2026-01-21",
            "related_cart": "not",
            "related_ld": "not",
        },
    )

    stdout = run(*AS_DATA_MANAGER, path)

    assert "Imported adverse_events.csv: 4 created, 0 changed, 0 unchanged." in stdout
    events = AdverseEvent.objects.order_by("participant__participant_id", "start_date", "term")
    assert [(e.participant.participant_id, e.term, e.grade) for e in events] == [
        ("S01-001", "Lymphocyte count decreased", 4),
        ("S01-001", "Neutrophil count decreased", 3),
        ("S01-001", "Lung infection", 3),
        ("S01-099", "Fever", 1),
    ]
    sae = AdverseEvent.objects.get(term="Lung infection")
    # The file has no column for the criteria: a serious event comes without them.
    assert (sae.serious, sae.criteria, sae.end_date, sae.acknowledged_at) == (True, [], None, None)
    assert {(v.history_user, v.history_change_reason) for v in AdverseEvent.history.all()} == {
        (importer, "imported from adverse_events.csv")
    }


def test_the_columns_may_come_in_any_order(importer, tmp_path):
    path = ae_file(tmp_path, columns=tuple(reversed(ADVERSE_EVENT_COLUMNS)))
    assert "1 created" in run(*AS_DATA_MANAGER, path)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        pytest.param(
            (*ADVERSE_EVENT_COLUMNS, "term_specify"),
            "row 1, column term_specify: unknown column.",
            id="unknown-column",
        ),
        pytest.param(
            (*ADVERSE_EVENT_COLUMNS, "hospitalisation"),
            "row 1, column hospitalisation: unknown column.",
            id="criterion-column",
        ),
        pytest.param(
            tuple(column for column in ADVERSE_EVENT_COLUMNS if column != "outcome"),
            "row 1, column outcome: required column missing from the header.",
            id="missing-column",
        ),
    ],
)
def test_the_header_must_hold_exactly_the_columns(importer, tmp_path, columns, message):
    problems = refuse(*AS_DATA_MANAGER, ae_file(tmp_path, columns=columns))
    assert problems.splitlines() == [message]
    assert database_state() == (0, 0)


# --------------------------------------------------------------------------------------------
# Bad rows: the whole file is refused, each problem by row, column and value
# --------------------------------------------------------------------------------------------

BAD_ROWS = [
    pytest.param(
        {"term": "Neutropenia"},
        'row 3, column term, value "Neutropenia": not a CTCAE v5.0 term of the site\'s list',
        id="unknown-term",
    ),
    pytest.param(
        {"term": "neutrophil count decreased"},
        'row 3, column term, value "neutrophil count decreased": write the term as CTCAE spells '
        'it: "Neutrophil count decreased".',
        id="term-spelt-otherwise",
    ),
    pytest.param(
        {"term": "Cytokine release syndrome"},
        'row 3, column term, value "Cytokine release syndrome": Cytokine release syndrome is '
        "recorded as a CRS episode",
        id="crs",
    ),
    pytest.param(
        {"term": "ICANS"},
        'row 3, column term, value "ICANS": ICANS is recorded as an ICANS episode',
        id="icans",
    ),
    pytest.param(
        {"term": "Investigations - Other, specify"},
        'row 3, column term, value "Investigations - Other, specify": an "Other, specify" term '
        "needs its description, which this file has no column for",
        id="other-specify",
    ),
    pytest.param(
        {"grade": "6"},
        'row 3, column grade, value "6": the CTCAE grade is a whole number from 1 to 5.',
        id="grade-6",
    ),
    pytest.param(
        {"grade": "0"},
        'row 3, column grade, value "0": the CTCAE grade is a whole number from 1 to 5.',
        id="grade-0",
    ),
    pytest.param(
        {"grade": "3.0"},
        'row 3, column grade, value "3.0": the CTCAE grade is a whole number from 1 to 5.',
        id="grade-decimal",
    ),
    pytest.param({"grade": "٣"}, 'row 3, column grade, value "٣"', id="grade-arabic-digit"),
    pytest.param(
        {"grade": ""}, 'row 3, column grade, value "": a value is required.', id="grade-empty"
    ),
    pytest.param(
        {"start_date": "12/02/2026"}, 'row 3, column start_date, value "12/02/2026"', id="date"
    ),
    pytest.param(
        {"serious": "yes"},
        'row 3, column serious, value "yes": write 1 (yes) or 0 (no).',
        id="serious-yes",
    ),
    pytest.param(
        {"related_cart": "maybe"},
        'row 3, column related_cart, value "maybe": write one of not, unlikely, possible, '
        "probable, definite.",
        id="relatedness",
    ),
    pytest.param(
        {"action": "dose_reduced"},
        'row 3, column action, value "dose_reduced": write one of none, treatment_given, '
        "hospitalisation, other.",
        id="action",
    ),
    pytest.param(
        {"outcome": "resolved"},
        'row 3, column outcome, value "resolved": write one of recovered, recovering, '
        "not_recovered, recovered_with_sequelae, fatal, unknown.",
        id="outcome",
    ),
    pytest.param(
        {"end_date": "2026-02-11"},
        'row 3, column end_date, value "2026-02-11": the end date is before the start date.',
        id="end-before-start",
    ),
    pytest.param(
        {"participant_id": "S01-404"},
        'row 3, column participant_id, value "S01-404": there is no participant with this ID in '
        "the study.",
        id="unknown-participant",
    ),
    pytest.param(
        {"term": "Lymphocyte count decreased", "start_date": "2026-01-04", "related_cart": "not"},
        'row 3, column start_date, value "2026-01-04": The start date cannot be before enrolment '
        "(2026-01-05).",
        id="start-before-enrolment",
    ),
    pytest.param(
        {"term": "Lymphocyte count decreased", "start_date": "2026-02-08"},
        'row 3, column related_cart, value "possible": The event started before the CAR-T '
        "infusion (2026-02-09)",
        id="cart-related-before-infusion",
    ),
    pytest.param(
        {"term": "Sepsis", "grade": "5"},
        'row 3, column outcome, value "recovered": A grade 5 event is fatal',
        id="grade-5-not-fatal",
    ),
    pytest.param(
        {"term": "Sepsis", "action": "hospitalisation"},
        'row 3, column serious, value "0": An event that led to hospitalisation',
        id="hospitalised-not-serious",
    ),
    pytest.param(
        {"term": "Sepsis", "outcome": "recovering"},
        'row 3, column end_date, value "2026-02-19": The outcome says the event is still going on',
        id="recovering-with-end-date",
    ),
    pytest.param(
        {"grade": "4"},
        'row 3, column start_date, value "2026-02-12": an adverse event of this participant with '
        "this term and start date is already in row 2 of the file.",
        id="same-event-twice",
    ),
]


@pytest.mark.parametrize(("row", "message"), BAD_ROWS)
def test_a_bad_row_refuses_the_whole_file(importer, tmp_path, row, message):
    # Row 2 is good: nothing at all is written when a later row is bad.
    path = ae_file(tmp_path, {}, row)
    problems = refuse(*AS_DATA_MANAGER, path)
    assert database_state() == (0, 0)
    assert message in problems, problems


def test_every_problem_of_a_file_is_listed_by_row_column_and_value(importer, tmp_path):
    path = ae_file(
        tmp_path,
        {},  # row 2: fine
        {"term": "Sepsis", "grade": "x", "outcome": "better"},  # row 3: 2 problems
        {"participant_id": "S01-404"},  # row 4
        {"term": "Fever", "outcome": "fatal", "grade": "4"},  # row 5: the service refuses
    )
    stderr = StringIO()
    with pytest.raises(CommandError, match=r"4 problems in adverse_events\.csv"):
        call_command(
            "import_adverse_events", *AS_DATA_MANAGER, path, stdout=StringIO(), stderr=stderr
        )
    assert not AdverseEvent.objects.exists()
    assert [line.split(":")[0] for line in stderr.getvalue().splitlines()] == [
        'row 3, column grade, value "x"',
        'row 3, column outcome, value "better"',
        'row 4, column participant_id, value "S01-404"',
        'row 5, column grade, value "4"',
    ]


# --------------------------------------------------------------------------------------------
# Existing events, --update and --dry-run
# --------------------------------------------------------------------------------------------


def test_an_existing_event_is_a_problem_without_update(importer, tmp_path):
    run(*AS_DATA_MANAGER, ae_file(tmp_path))
    problems = refuse(*AS_DATA_MANAGER, ae_file(tmp_path, {"grade": "4"}))
    assert problems.splitlines() == [
        'row 2, column start_date, value "2026-02-12": this participant already has an adverse '
        "event with this term and start date (use --update to change it)."
    ]
    assert AdverseEvent.objects.get().grade == 3


def test_update_changes_an_event_and_reports_the_changed_columns(importer, tmp_path):
    run(*AS_DATA_MANAGER, ae_file(tmp_path, {}, SAE_ROW))
    path = ae_file(
        tmp_path,
        {"grade": "4", "action": "treatment_given"},
        SAE_ROW,
        name="adverse_events_v2.csv",
    )

    stdout = run(*AS_DATA_MANAGER, "--update", path)

    assert "1 created" not in stdout
    assert "0 created, 1 changed, 1 unchanged" in stdout
    assert "grade, action" in stdout
    changed = AdverseEvent.objects.get(term="Neutrophil count decreased")
    assert (changed.grade, changed.action) == (4, "treatment_given")
    assert changed.history.latest().history_change_reason == "imported from adverse_events_v2.csv"


def test_an_update_keeps_criteria_while_serious_and_clears_them_when_not(
    importer, participant_a, monitor, tmp_path
):
    run(*AS_DATA_MANAGER, ae_file(tmp_path, SAE_ROW))
    sae = AdverseEvent.objects.get()
    # The site adds the criterion the file cannot carry, and the monitor acknowledges.
    sae.hospitalisation = True
    services.adverse_event_save(event=sae, author=None, reason="Criterion from the SAE form")
    services.sae_acknowledge(event=sae, author=monitor)

    # Discharged: end date and outcome change, the acknowledgement and the criterion stay.
    discharged = {**SAE_ROW, "end_date": "2026-03-27", "outcome": "recovered"}
    run(*AS_DATA_MANAGER, "--update", ae_file(tmp_path, discharged))
    sae.refresh_from_db()
    assert (sae.criteria, sae.acknowledged_by) == (["hospitalisation"], monitor)

    # Re-read as not serious (treated at home): the criterion goes, so does the acknowledgement.
    at_home = {**discharged, "serious": "0", "action": "treatment_given"}
    run(*AS_DATA_MANAGER, "--update", ae_file(tmp_path, at_home))
    sae.refresh_from_db()
    assert (sae.serious, sae.criteria, sae.acknowledged_at) == (False, [], None)


def test_an_update_of_the_grade_withdraws_the_acknowledgement(importer, monitor, tmp_path):
    run(*AS_DATA_MANAGER, ae_file(tmp_path, SAE_ROW))
    sae = AdverseEvent.objects.get()
    services.sae_acknowledge(event=sae, author=monitor)

    run(*AS_DATA_MANAGER, "--update", ae_file(tmp_path, {**SAE_ROW, "grade": "4"}))

    sae.refresh_from_db()
    assert (sae.grade, sae.acknowledged_at) == (4, None)


def test_an_unchanged_row_leaves_the_event_and_its_acknowledgement(importer, monitor, tmp_path):
    run(*AS_DATA_MANAGER, ae_file(tmp_path, SAE_ROW))
    sae = AdverseEvent.objects.get()
    services.sae_acknowledge(event=sae, author=monitor)
    versions = sae.history.count()

    assert "0 changed, 1 unchanged" in run(*AS_DATA_MANAGER, "--update", ae_file(tmp_path, SAE_ROW))

    sae.refresh_from_db()
    assert sae.acknowledged_by == monitor
    assert sae.history.count() == versions


def test_a_dry_run_reports_and_writes_nothing(importer, tmp_path):
    stdout = run(*AS_DATA_MANAGER, "--dry-run", ae_file(tmp_path, {}, SAE_ROW))
    assert "2 would be created" in stdout
    assert database_state() == (0, 0)


def test_a_dry_run_runs_the_services_checks(importer, tmp_path):
    problems = refuse(*AS_DATA_MANAGER, "--dry-run", ae_file(tmp_path, {"outcome": "fatal"}))
    assert 'row 2, column grade, value "3": A fatal event is grade 5 (death).' in problems


# --------------------------------------------------------------------------------------------
# Who imports
# --------------------------------------------------------------------------------------------


def test_a_monitor_may_not_import(importer, monitor, tmp_path):
    with pytest.raises(CommandError, match='The user "monitor" may not import data'):
        call_command(
            "import_adverse_events",
            "--user",
            "monitor",
            ae_file(tmp_path),
            stdout=StringIO(),
            stderr=StringIO(),
        )
    assert database_state() == (0, 0)


def test_an_import_without_user_is_refused(importer, tmp_path):
    with pytest.raises(CommandError, match="Name the user who imports with --user USERNAME"):
        call_command(
            "import_adverse_events", ae_file(tmp_path), stdout=StringIO(), stderr=StringIO()
        )


def test_the_import_function_reports_without_a_command(importer, study):
    text = csv_text(ADVERSE_EVENT_COLUMNS, AE_ROW)
    report = import_adverse_events(
        text, file_name="adverse_events.csv", study=study, author=importer
    )
    assert report.written
    assert report.created == ["S01-001 Neutrophil count decreased 2026-02-12"]
    assert AdverseEvent.objects.get().start_date == date(2026, 2, 12)
