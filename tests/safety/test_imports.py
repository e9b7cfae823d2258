"""crs.csv and icans.csv imports (interchange.md): all or nothing, every problem listed by row,
column and value, graded by the site, audited."""

import csv
from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from safety import services
from safety.imports import (
    CRS_COLUMNS,
    ICANS_COLUMNS,
    import_crs,
    import_icans,
    parse_temperature,
)
from safety.models import CrsEpisode, IcansEpisode
from tests.factories import ParticipantFactory, UserFactory
from trialsite.imports import CellError
from trialsite.management.options import InputError
from trialsite.models import Study

#: Every import names its author, a user whose role may import.
AS_DATA_MANAGER = ("--user", "dm")
EPISODE_MODELS = (CrsEpisode, IcansEpisode)

#: An ongoing CRS episode of participant_a (infused 2026-02-09): fever 38.5 °C and nothing else.
CRS_ROW = {
    "participant_id": "S01-001",
    "onset_date": "2026-02-10",
    "resolution_date": "",
    "max_temp_c": "38.5",
    "fever_masked": "0",
    "hypotension": "none",
    "oxygen": "none",
    "tocilizumab": "0",
    "corticosteroids": "0",
    "died_of_crs": "0",
}
#: An ICANS episode of the 10-year-old: CAPD 4, every other domain normal.
ICANS_ROW = {
    "participant_id": "S01-010",
    "onset_date": "2026-02-14",
    "resolution_date": "",
    "tool": "capd",
    "tool_score": "4",
    "unable_to_perform": "0",
    "consciousness": "alert",
    "seizure": "none",
    "motor": "none",
    "raised_icp": "none",
    "died_of_icans": "0",
}


def csv_text(columns, *rows) -> str:
    """Return a CSV file's text: the header, then each row (a dict of cells by column; a column
    it lacks is empty). Cells with a comma are quoted, as a spreadsheet does."""
    out = StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    return out.getvalue()


def crs_file(tmp_path, *rows, name="crs.csv", columns=CRS_COLUMNS) -> str:
    """Write crs.csv: each row is CRS_ROW with the cells given; no row given is CRS_ROW alone."""
    rows = rows or ({},)
    path = tmp_path / name
    path.write_text(csv_text(columns, *({**CRS_ROW, **row} for row in rows)), encoding="utf-8")
    return str(path)


def icans_file(tmp_path, *rows, name="icans.csv", columns=ICANS_COLUMNS) -> str:
    """Write icans.csv: each row is ICANS_ROW with the cells given; no row is ICANS_ROW alone."""
    rows = rows or ({},)
    path = tmp_path / name
    text = csv_text(columns, *({**ICANS_ROW, **row} for row in rows))
    path.write_text(text, encoding="utf-8")
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


def database_state() -> dict[str, int]:
    """Count the episodes and their audit history rows."""
    state = {model.__name__: model.objects.count() for model in EPISODE_MODELS}
    state.update({f"{m.__name__} history": m.history.count() for m in EPISODE_MODELS})
    return state


@pytest.fixture
def child_10(study, site_a):
    """A boy of 10 at enrolment (2026-01-05), infused 2026-02-09: assessed with CAPD."""
    return ParticipantFactory(
        study=study, site=site_a, participant_id="S01-010", sex="M", age_at_enrollment=10
    )


@pytest.fixture
def teenager_14(study, site_a):
    """A girl of 14 at enrolment (2026-01-05), infused 2026-02-09: assessed with ICE."""
    return ParticipantFactory(
        study=study, site=site_a, participant_id="S01-014", age_at_enrollment=14
    )


@pytest.fixture
def not_infused(study, site_a):
    """A participant enrolled but not infused (yet): no CRS or ICANS can be recorded."""
    return ParticipantFactory(
        study=study, site=site_a, participant_id="S01-099", infusion_date=None
    )


@pytest.fixture
def importer(data_manager, participant_a, child_10, teenager_14, not_infused):
    """The data manager "dm" and the participants of these files."""
    return data_manager


# --------------------------------------------------------------------------------------------
# Good files: created, graded by the site, audited
# --------------------------------------------------------------------------------------------


def test_a_crs_file_creates_episodes_graded_by_the_site(importer, tmp_path):
    path = crs_file(
        tmp_path,
        # Fever 38.5 °C, one vasopressor (grade 3) and low-flow oxygen (grade 2): the worse, 3.
        {"resolution_date": "2026-02-12", "hypotension": "one_vasopressor", "oxygen": "low_flow"},
        # 37.9 °C, not masked: no CRS (grade 0), whatever was given afterwards.
        {"onset_date": "2026-02-20", "max_temp_c": "37.9", "tocilizumab": "1"},
        # Masked fever below 38.0 °C with nothing else: grade 1; ongoing.
        {"onset_date": "2026-03-01", "max_temp_c": "37.2", "fever_masked": "1"},
        # Positive pressure: grade 4; whole degrees are read as one decimal.
        {"onset_date": "2026-03-10", "max_temp_c": "39", "oxygen": "positive_pressure"},
        # Died of CRS: grade 5, entered.
        {"onset_date": "2026-03-20", "max_temp_c": "40.1", "died_of_crs": "1"},
    )

    stdout = run("import_crs", *AS_DATA_MANAGER, path)

    assert "Imported crs.csv: 5 created, 0 changed, 0 unchanged." in stdout
    episodes = CrsEpisode.objects.order_by("onset_date")
    assert [(e.onset_date.isoformat(), e.grade) for e in episodes] == [
        ("2026-02-10", 3),
        ("2026-02-20", 0),
        ("2026-03-01", 1),
        ("2026-03-10", 4),
        ("2026-03-20", 5),
    ]
    first, second, third, fourth, _fifth = episodes
    assert first.drivers == ["hypotension"]
    assert (first.max_temp_c, fourth.max_temp_c) == (Decimal("38.5"), Decimal("39.0"))
    assert (second.tocilizumab, third.fever_masked, third.resolution_date) == (True, True, None)
    versions = CrsEpisode.history.all()
    assert {(v.history_user, v.history_change_reason) for v in versions} == {
        (importer, "imported from crs.csv")
    }


def test_an_icans_file_creates_episodes_graded_by_the_site(importer, tmp_path):
    path = icans_file(
        tmp_path,
        # A 10-year-old is assessed with CAPD: 4 (1-8) is grade 1.
        {},
        # CAPD 9 or more: grade 3.
        {"onset_date": "2026-02-20", "tool_score": "9"},
        # Unable to perform, no score: grade 4.
        {"onset_date": "2026-03-01", "tool_score": "", "unable_to_perform": "1"},
        # A 14-year-old is assessed with ICE: 6 (3-6) is grade 2; awakens to voice is grade 2.
        {
            "participant_id": "S01-014",
            "tool": "ice",
            "tool_score": "6",
            "consciousness": "awakens_to_voice",
        },
        # ICE 10 but a life-threatening seizure: grade 4.
        {
            "participant_id": "S01-014",
            "onset_date": "2026-03-01",
            "tool": "ice",
            "tool_score": "10",
            "seizure": "life_threatening",
        },
    )

    stdout = run("import_icans", *AS_DATA_MANAGER, path)

    assert "Imported icans.csv: 5 created, 0 changed, 0 unchanged." in stdout
    episodes = IcansEpisode.objects.order_by("participant__participant_id", "onset_date")
    assert [
        (e.participant.participant_id, e.onset_date.isoformat(), e.grade) for e in episodes
    ] == [
        ("S01-010", "2026-02-14", 1),
        ("S01-010", "2026-02-20", 3),
        ("S01-010", "2026-03-01", 4),
        ("S01-014", "2026-02-14", 2),
        ("S01-014", "2026-03-01", 4),
    ]
    assert (episodes[2].tool_score, episodes[2].unable_to_perform) == (None, True)
    assert episodes[3].drivers == ["encephalopathy", "consciousness"]
    assert {v.history_change_reason for v in IcansEpisode.history.all()} == {
        "imported from icans.csv"
    }


def test_the_columns_may_come_in_any_order_and_the_file_may_start_with_a_bom(importer, tmp_path):
    columns = tuple(reversed(CRS_COLUMNS))
    path = tmp_path / "crs.csv"
    path.write_text("\ufeff" + csv_text(columns, CRS_ROW), encoding="utf-8")
    run("import_crs", *AS_DATA_MANAGER, str(path))
    assert CrsEpisode.objects.get().grade == 1


# --------------------------------------------------------------------------------------------
# Refused files: nothing written, every problem named by row, column and value
# --------------------------------------------------------------------------------------------

BAD_CRS_ROWS = [
    pytest.param(
        {"hypotension": "vasopressor"},
        'row 3, column hypotension, value "vasopressor": write one of none, no_vasopressor, '
        "one_vasopressor, multiple_vasopressors.",
        id="unknown-hypotension",
    ),
    pytest.param(
        {"oxygen": "Low_flow"},
        'row 3, column oxygen, value "Low_flow": write one of none, low_flow, high_flow, '
        "positive_pressure.",
        id="enum-is-case-sensitive",
    ),
    pytest.param(
        {"fever_masked": "yes"},
        'row 3, column fever_masked, value "yes": write 1 (yes) or 0 (no).',
        id="boolean-yes",
    ),
    pytest.param(
        {"died_of_crs": "2"},
        'row 3, column died_of_crs, value "2": write 1 (yes) or 0 (no).',
        id="boolean-2",
    ),
    pytest.param(
        {"tocilizumab": ""},
        'row 3, column tocilizumab, value "": a value is required.',
        id="boolean-empty",
    ),
    pytest.param(
        {"onset_date": "10/02/2026"},
        'row 3, column onset_date, value "10/02/2026": a date must be written YYYY-MM-DD.',
        id="date-not-iso",
    ),
    pytest.param(
        {"resolution_date": "2026-02-30"},
        'row 3, column resolution_date, value "2026-02-30": this date does not exist.',
        id="date-does-not-exist",
    ),
    pytest.param(
        {"onset_date": "2099-02-10", "resolution_date": ""},
        'row 3, column onset_date, value "2099-02-10": This date is in the future.',
        id="date-in-future",
    ),
    pytest.param(
        {"max_temp_c": "38.55"},
        'row 3, column max_temp_c, value "38.55": the highest temperature is written in °C with '
        "at most one decimal, e.g. 38.5.",
        id="temperature-two-decimals",
    ),
    pytest.param(
        {"max_temp_c": "37,9"},
        'row 3, column max_temp_c, value "37,9": the highest temperature is written in °C',
        id="temperature-decimal-comma",
    ),
    pytest.param(
        {"max_temp_c": "1e2"},
        'row 3, column max_temp_c, value "1e2": the highest temperature is written in °C',
        id="temperature-float-like",
    ),
    pytest.param(
        {"max_temp_c": "46.0"},
        'row 3, column max_temp_c, value "46.0": the highest temperature is 30.0 to 45.0 °C.',
        id="temperature-implausible",
    ),
    pytest.param(
        {"max_temp_c": ""},
        'row 3, column max_temp_c, value "": a value is required.',
        id="temperature-empty",
    ),
    pytest.param(
        {"resolution_date": "2026-02-09"},
        'row 3, column resolution_date, value "2026-02-09": the resolution date is before the '
        "onset date.",
        id="resolution-before-onset",
    ),
    pytest.param(
        {"participant_id": "S01-404"},
        'row 3, column participant_id, value "S01-404": there is no participant with this ID in '
        "the study.",
        id="unknown-participant",
    ),
    pytest.param(
        {"participant_id": "S01-099"},
        'row 3, column participant_id, value "S01-099": S01-099',
        id="participant-not-infused",
    ),
    pytest.param(
        {"onset_date": "2026-02-08", "resolution_date": ""},
        'row 3, column onset_date, value "2026-02-08": The onset cannot be before the infusion '
        "(2026-02-09).",
        id="onset-before-infusion",
    ),
    pytest.param(
        {"onset_date": "2026-02-20"},
        'row 3, column onset_date, value "2026-02-20": an episode of this participant with this '
        "onset date is already in row 2 of the file.",
        id="same-episode-twice",
    ),
]


@pytest.mark.parametrize(("row", "message"), BAD_CRS_ROWS)
def test_a_bad_crs_row_refuses_the_whole_file(importer, tmp_path, row, message):
    # Row 2 is good: nothing at all is written when a later row is bad.
    path = crs_file(tmp_path, {"onset_date": "2026-02-20"}, row)
    before = database_state()
    problems = refuse("import_crs", *AS_DATA_MANAGER, path)
    assert database_state() == before
    assert message in problems, problems


def test_a_participant_without_infusion_date_is_refused_on_the_participant_column(
    importer, tmp_path
):
    path = crs_file(tmp_path, {"participant_id": "S01-099"})
    problems = refuse("import_crs", *AS_DATA_MANAGER, path)
    assert problems.splitlines() == [
        'row 2, column participant_id, value "S01-099": S01-099 has no infusion date: CRS and '
        "ICANS are recorded after infusion."
    ]


BAD_ICANS_ROWS = [
    pytest.param(
        {"tool": "ice", "tool_score": "8"},
        'row 3, column tool, value "ice": The participant was 10 at onset: children aged 12 or '
        "under are assessed with CAPD, not ICE. Enter the CAPD score.",
        id="ice-for-a-10-year-old",
    ),
    pytest.param(
        {"participant_id": "S01-014", "tool": "capd"},
        'row 3, column tool, value "capd": The participant was 14 at onset: participants over 12 '
        "are assessed with ICE, not CAPD.",
        id="capd-for-a-14-year-old",
    ),
    pytest.param(
        {"tool": "CAPD"},
        'row 3, column tool, value "CAPD": write one of ice, capd.',
        id="tool-upper-case",
    ),
    pytest.param(
        {"tool_score": "4", "unable_to_perform": "1"},
        'row 3, column tool_score, value "4": leave the score empty when unable_to_perform is 1.',
        id="score-and-unable",
    ),
    pytest.param(
        {"tool_score": ""},
        'row 3, column tool_score, value "": a value is required, unless the assessment could '
        "not be performed (unable_to_perform 1).",
        id="no-score-and-able",
    ),
    pytest.param(
        {"tool_score": "33"},
        'row 3, column tool_score, value "33": the CAPD score is a whole number from 0 to 32.',
        id="capd-33",
    ),
    pytest.param(
        {"participant_id": "S01-014", "tool": "ice", "tool_score": "11"},
        'row 3, column tool_score, value "11": the ICE score is a whole number from 0 to 10.',
        id="ice-11",
    ),
    pytest.param(
        {"tool_score": "4.5"},
        'row 3, column tool_score, value "4.5": the CAPD score is a whole number from 0 to 32.',
        id="score-not-whole",
    ),
    pytest.param(
        {"tool_score": "9" * 5000},
        f'row 3, column tool_score, value "{"9" * 5000}": the CAPD score is a whole number from '
        "0 to 32.",
        id="score-too-long-for-int",
    ),
    pytest.param(
        {"unable_to_perform": "true"},
        'row 3, column unable_to_perform, value "true": write 1 (yes) or 0 (no).',
        id="unable-true",
    ),
    pytest.param(
        {"consciousness": "drowsy"},
        'row 3, column consciousness, value "drowsy": write one of alert, awakens_spontaneously, '
        "awakens_to_voice, awakens_to_touch, unarousable.",
        id="unknown-consciousness",
    ),
    pytest.param(
        {"seizure": "yes"},
        'row 3, column seizure, value "yes": write one of none, resolved, life_threatening.',
        id="unknown-seizure",
    ),
    pytest.param(
        {"motor": "weakness"},
        'row 3, column motor, value "weakness": write one of none, deep_focal_weakness.',
        id="unknown-motor",
    ),
    pytest.param(
        {"raised_icp": "edema"},
        'row 3, column raised_icp, value "edema": write one of none, focal_oedema, diffuse_oedema.',
        id="unknown-raised-icp",
    ),
    pytest.param(
        {"participant_id": "S01-099"},
        'row 3, column participant_id, value "S01-099": S01-099 has no infusion date',
        id="participant-not-infused",
    ),
]


@pytest.mark.parametrize(("row", "message"), BAD_ICANS_ROWS)
def test_a_bad_icans_row_refuses_the_whole_file(importer, tmp_path, row, message):
    # Row 2 is good: nothing at all is written when a later row is bad.
    path = icans_file(tmp_path, {"onset_date": "2026-02-10"}, row)
    before = database_state()
    problems = refuse("import_icans", *AS_DATA_MANAGER, path)
    assert database_state() == before
    assert message in problems, problems


HEADERS = [
    pytest.param(
        (*CRS_COLUMNS, "grade"),
        ["row 1, column grade: unknown column."],
        id="grade-is-computed-not-imported",
    ),
    pytest.param(
        tuple(column for column in CRS_COLUMNS if column != "resolution_date"),
        ["row 1, column resolution_date: required column missing from the header."],
        id="missing-column",
    ),
    pytest.param(
        tuple("max_temp" if column == "max_temp_c" else column for column in CRS_COLUMNS),
        [
            "row 1, column max_temp: unknown column.",
            "row 1, column max_temp_c: required column missing from the header.",
        ],
        id="renamed-column",
    ),
]


@pytest.mark.parametrize(("columns", "messages"), HEADERS)
def test_the_header_must_hold_exactly_the_columns_of_crs_csv(importer, tmp_path, columns, messages):
    path = crs_file(tmp_path, {"grade": "3"}, columns=columns)
    problems = refuse("import_crs", *AS_DATA_MANAGER, path)
    assert problems.splitlines() == messages
    assert not CrsEpisode.objects.exists()


def test_every_problem_of_a_file_is_listed_by_row_column_and_value(importer, tmp_path):
    path = icans_file(
        tmp_path,
        {},  # row 2: fine
        {"onset_date": "2026-02-20", "tool_score": "x", "seizure": "Yes"},  # row 3: 2
        {"participant_id": "S01-404"},  # row 4
        {"onset_date": "2026-02-14"},  # row 5: row 2's episode again
        {"onset_date": "2026-03-01", "tool": "ice", "tool_score": "9"},  # row 6: service refuses
        {"participant_id": "S01-099"},  # row 7: not infused, found by the service
    )
    stderr = StringIO()
    with pytest.raises(CommandError, match=r"6 problems in icans\.csv; nothing was imported"):
        call_command("import_icans", *AS_DATA_MANAGER, path, stdout=StringIO(), stderr=stderr)
    assert not IcansEpisode.objects.exists()
    assert [line.split(":")[0] for line in stderr.getvalue().splitlines()] == [
        'row 3, column tool_score, value "x"',
        'row 3, column seizure, value "Yes"',
        'row 4, column participant_id, value "S01-404"',
        'row 5, column onset_date, value "2026-02-14"',
        'row 6, column tool, value "ice"',
        'row 7, column participant_id, value "S01-099"',
    ]


def test_an_existing_episode_is_a_problem_without_update(importer, participant_a, tmp_path):
    run("import_crs", *AS_DATA_MANAGER, crs_file(tmp_path))
    before = database_state()
    path = crs_file(tmp_path, {"onset_date": "2026-02-20"}, {"oxygen": "low_flow"})
    problems = refuse("import_crs", *AS_DATA_MANAGER, path)
    assert problems.splitlines() == [
        'row 3, column onset_date, value "2026-02-10": this participant already has an episode '
        "with this onset date (use --update to change it)."
    ]
    assert database_state() == before


# --------------------------------------------------------------------------------------------
# --update and --dry-run
# --------------------------------------------------------------------------------------------


def test_update_changes_an_episode_regrades_it_and_audits_the_change(
    importer, participant_a, tmp_path
):
    entered = services.crs_episode_save(
        episode=CrsEpisode(
            participant=participant_a,
            onset_date=date(2026, 2, 10),
            resolution_date=None,
            max_temp_c=Decimal("38.5"),
            hypotension="none",
            oxygen="none",
        ),
        author=None,
        reason="entered on the ward",
    )
    unchanged = services.crs_episode_save(
        episode=CrsEpisode(
            participant=participant_a,
            onset_date=date(2026, 3, 1),
            resolution_date=date(2026, 3, 2),
            max_temp_c=Decimal("38.5"),
            hypotension="none",
            oxygen="none",
        ),
        author=None,
        reason="entered on the ward",
    )
    assert entered.grade == 1
    path = crs_file(
        tmp_path,
        {"resolution_date": "2026-02-13", "oxygen": "high_flow"},  # two changes
        {"onset_date": "2026-03-01", "resolution_date": "2026-03-02"},  # as stored
    )

    stdout = run("import_crs", *AS_DATA_MANAGER, path, "--update")

    assert "row 2: S01-001 2026-02-10 changed (resolution_date, oxygen)" in stdout
    assert "Imported crs.csv: 0 created, 1 changed, 1 unchanged." in stdout
    entered.refresh_from_db()
    # High-flow oxygen is grade 3.
    assert (entered.resolution_date, entered.oxygen, entered.grade) == (
        date(2026, 2, 13),
        "high_flow",
        3,
    )
    latest = entered.history.latest("history_date")
    assert (latest.history_user, latest.history_change_reason) == (
        importer,
        "imported from crs.csv",
    )
    assert entered.history.count() == 2
    assert unchanged.history.count() == 1


def test_an_update_withdraws_the_confirmation_of_a_changed_grade_only(
    importer, participant_a, investigator_a, tmp_path
):
    run("import_crs", *AS_DATA_MANAGER, crs_file(tmp_path, {}, {"onset_date": "2026-03-01"}))
    for episode in CrsEpisode.objects.all():
        services.episode_confirm(episode=episode, author=investigator_a)
    path = crs_file(tmp_path, {"hypotension": "no_vasopressor"}, {"onset_date": "2026-03-01"})

    run("import_crs", *AS_DATA_MANAGER, path, "--update")

    changed, kept = CrsEpisode.objects.order_by("onset_date")
    assert (changed.grade, changed.confirmed_at) == (2, None)
    assert kept.confirmed_by == investigator_a


def test_update_of_icans_to_unable_to_perform_clears_the_score(importer, child_10, tmp_path):
    run("import_icans", *AS_DATA_MANAGER, icans_file(tmp_path))
    path = icans_file(tmp_path, {"tool_score": "", "unable_to_perform": "1"})
    stdout = run("import_icans", *AS_DATA_MANAGER, path, "--update")
    assert "row 2: S01-010 2026-02-14 changed (tool_score, unable_to_perform)" in stdout
    episode = IcansEpisode.objects.get()
    assert (episode.tool_score, episode.unable_to_perform, episode.grade) == (None, True, 4)


def test_a_dry_run_reports_what_would_change_and_writes_nothing(importer, tmp_path):
    run("import_crs", *AS_DATA_MANAGER, crs_file(tmp_path))
    before = database_state()
    path = crs_file(tmp_path, {"oxygen": "low_flow"}, {"onset_date": "2026-02-20"})

    stdout = run("import_crs", *AS_DATA_MANAGER, path, "--update", "--dry-run")

    assert database_state() == before
    assert "row 2: S01-001 2026-02-10 would be changed (oxygen)" in stdout
    assert (
        "Dry run of crs.csv, nothing was written: 1 would be created, 1 would be changed, "
        "0 unchanged." in stdout
    )


def test_a_dry_run_runs_the_services_checks(importer, tmp_path):
    path = icans_file(tmp_path, {"tool": "ice", "tool_score": "8"})
    problems = refuse("import_icans", *AS_DATA_MANAGER, path, "--dry-run")
    assert 'row 2, column tool, value "ice": The participant was 10 at onset' in problems
    assert not IcansEpisode.objects.exists()


def test_the_import_functions_report_without_a_command(importer, study):
    text = csv_text(CRS_COLUMNS, CRS_ROW)
    report = import_crs(text, file_name="crs.csv", study=study, author=importer, dry_run=True)
    assert (report.created, report.problems, report.written) == (["S01-001 2026-02-10"], [], False)
    assert not CrsEpisode.objects.exists()
    report = import_icans(
        csv_text(ICANS_COLUMNS, ICANS_ROW), file_name="icans.csv", study=study, author=importer
    )
    assert report.written
    assert IcansEpisode.objects.get().grade == 1


def test_participants_of_another_study_are_not_found(importer, study, tmp_path):
    other = Study.objects.create(protocol_number="PED-SLE-002", name="Second study")
    path = crs_file(tmp_path)
    problems = refuse("import_crs", *AS_DATA_MANAGER, path, "--study", other.protocol_number)
    assert 'row 2, column participant_id, value "S01-001": there is no participant' in problems


# --------------------------------------------------------------------------------------------
# Who may import, and the commands' errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["import_crs", "import_icans"])
def test_a_monitor_may_not_import(importer, monitor, tmp_path, command):
    path = crs_file(tmp_path) if command == "import_crs" else icans_file(tmp_path)
    with pytest.raises(CommandError, match='The user "monitor" may not import data'):
        run(command, path, "--user", "monitor")
    assert not CrsEpisode.objects.exists()
    assert not IcansEpisode.objects.exists()


@pytest.mark.parametrize("importer_function", [import_crs, import_icans])
def test_the_import_functions_refuse_a_monitor(study, monitor, importer_function):
    with pytest.raises(InputError, match='The user "monitor" may not import data'):
        importer_function("", file_name="any.csv", study=study, author=monitor)


def test_an_inactive_data_manager_may_not_import(importer, tmp_path):
    UserFactory(username="gone", role="Data manager", is_active=False)
    with pytest.raises(CommandError, match='The user "gone" is inactive'):
        run("import_crs", crs_file(tmp_path), "--user", "gone")


@pytest.mark.parametrize("command", ["import_crs", "import_icans"])
def test_an_import_without_user_is_refused(importer, tmp_path, command):
    with pytest.raises(CommandError, match="Name the user who imports with --user USERNAME"):
        run(command, crs_file(tmp_path))


def test_a_missing_file_is_a_clear_error(importer, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run("import_crs", *AS_DATA_MANAGER, str(tmp_path / "nope.csv"))


def test_a_file_that_is_not_utf8_is_a_clear_error(importer, tmp_path):
    path = Path(crs_file(tmp_path))
    path.write_bytes(path.read_bytes().replace(b"38.5", "38.5°".encode("latin-1")))
    with pytest.raises(CommandError, match="is not UTF-8 text"):
        run("import_crs", *AS_DATA_MANAGER, str(path))


def test_an_empty_file_is_refused(importer, tmp_path):
    path = tmp_path / "icans.csv"
    path.write_text("", encoding="utf-8")
    assert "row 1: The file is empty" in refuse("import_icans", *AS_DATA_MANAGER, str(path))


def test_the_commands_exit_with_status_1_on_problems(importer, tmp_path):
    path = crs_file(tmp_path, {"max_temp_c": "1e2"})
    with pytest.raises(CommandError) as refused:
        call_command("import_crs", *AS_DATA_MANAGER, path, stdout=StringIO(), stderr=StringIO())
    assert refused.value.returncode == 1
    assert str(refused.value) == "1 problem in crs.csv; nothing was imported."


# --------------------------------------------------------------------------------------------
# The temperature cell: Decimal with one decimal, never a float
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        pytest.param("38.5", Decimal("38.5"), id="one-decimal"),
        pytest.param("38.0", Decimal("38.0"), id="fever-threshold"),
        pytest.param("38", Decimal("38.0"), id="whole-degrees"),
        pytest.param("30.0", Decimal("30.0"), id="lowest"),
        pytest.param("45.0", Decimal("45.0"), id="highest"),
    ],
)
def test_a_temperature_is_read_as_a_decimal(cell, expected):
    value = parse_temperature(cell)
    assert type(value) is Decimal
    assert (value, value.as_tuple().exponent) == (expected, -1)


@pytest.mark.parametrize(
    "cell",
    [
        "38.55",
        "37,9",
        "1e2",
        "3.85e1",
        "NaN",
        "-38.5",
        "38.",
        ".5",
        "29.9",
        "45.1",
        "\u0663\u0668.\u0665",
        "038.5",
        "1" * 30,
    ],
)
def test_a_temperature_other_than_one_decimal_in_range_is_refused(cell):
    with pytest.raises(CellError):
        parse_temperature(cell)
