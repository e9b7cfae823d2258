"""CSV imports (interchange.md): all or nothing, every problem listed, audited, rescored."""

import csv
from datetime import date
from decimal import Decimal
from importlib import import_module
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from responses.models import EndpointResult, VisitScore
from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.sledai import SLEDAI_FIELDS
from tests.factories import TEST_PASSWORD, UserFactory
from trialsite import services
from trialsite.demo import load_demo
from trialsite.imports import (
    IMPORT_PERMISSION,
    PARTICIPANT_COLUMNS,
    VISIT_COLUMNS,
    import_participants,
    import_visits,
)
from trialsite.management.options import InputError
from trialsite.models import (
    BilagAssessment,
    Participant,
    PgaAssessment,
    Site,
    SledaiAssessment,
    Study,
    Visit,
)

DATA = Path(__file__).parents[1] / "data"
PARTICIPANTS_HEADER = ",".join(PARTICIPANT_COLUMNS)
VISITS_HEADER = ",".join(VISIT_COLUMNS)
CLINICAL_MODELS = (Participant, Visit, SledaiAssessment, PgaAssessment, BilagAssessment, Site)
#: Every import names its author, a user whose role may import.
AS_DATA_MANAGER = ("--user", "dm")


@pytest.fixture(autouse=True)
def data_manager(db):
    """The data manager "dm", who runs the imports of these tests."""
    return UserFactory(username="dm", role="Data manager")


def visit_line(
    participant_id: str,
    visit: str,
    visit_date: str,
    pga: str = "1.00",
    **cells: str,
) -> str:
    """Return a visits.csv line: every SLEDAI descriptor absent, every BILAG system E."""
    values = {"participant_id": participant_id, "visit": visit, "visit_date": visit_date}
    values["pga"] = pga
    values.update({f"sledai_{name}": "0" for name in SLEDAI_FIELDS})
    values.update({f"bilag_{system}": "E" for system in BILAG_SYSTEMS})
    values.update(cells)
    return ",".join(values[column] for column in VISIT_COLUMNS)


def write(tmp_path: Path, name: str, *lines: str) -> str:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def run(*args: str) -> tuple[str, str]:
    stdout, stderr = StringIO(), StringIO()
    call_command(*args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def refuse(*args: str) -> str:
    """Run an import that must be refused whole; return its itemised problems (stderr)."""
    stderr = StringIO()
    with pytest.raises(CommandError) as refused:
        call_command(*args, stdout=StringIO(), stderr=stderr)
    assert refused.value.returncode == 1
    assert "nothing was imported" in str(refused.value)
    return stderr.getvalue()


def database_state() -> dict[str, int]:
    """Count the rows and audit history rows of every table an import may write."""
    state = {model.__name__: model.objects.count() for model in CLINICAL_MODELS}
    state.update({f"{m.__name__} history": m.history.count() for m in CLINICAL_MODELS})
    state["VisitScore"] = VisitScore.objects.count()
    state["EndpointResult"] = EndpointResult.objects.count()
    return state


def assert_results_fresh() -> None:
    stdout, _stderr = run("recompute_responses", "--check")
    assert "Every stored result equals a fresh computation." in stdout


@pytest.fixture
def three_participants(db, site_a, tmp_path) -> None:
    path = write(
        tmp_path,
        "participants.csv",
        PARTICIPANTS_HEADER,
        "C-001,S01,F,14,2025-01-06,2025-02-10,100000,,",
        "C-002,S01,F,11,2025-01-06,2025-02-10,1e5,,",
        "C-003,S01,M,16,2025-01-06,2025-02-10,30000,,",
    )
    run("import_participants", *AS_DATA_MANAGER, path)


# --------------------------------------------------------------------------------------------
# The hand-computed cohort: import, then every SRI cell and cohort count of the exports
# --------------------------------------------------------------------------------------------

# Baseline of every participant (tests/data/cohort_visits.csv): arthritis 4 + proteinuria 4 +
# rash 2 + low complement 2 + DNA binding 2 = SLEDAI-2K 14; BILAG mucocutaneous C,
# musculoskeletal B, renal B, others E; PGA 2.00 (C-003 1.20, C-006 missing).
EXPECTED_SRI = {
    # M1: 14 -> 10 (arthritis gone): drop 4 >= 4 but < 5; PGA 2.00 -> 1.50; musculoskeletal
    # B -> C and renal B -> B are not new B.
    ("C-001", "M1"): ("responder", "non-responder", "non-responder"),
    # UNS: PGA only, SLEDAI-2K and BILAG not assessed -> incomplete at the visit.
    ("C-001", "UNS"): ("not evaluable", "not evaluable", "not evaluable"),
    # M3: 14 -> 4 (serology only): drop 10 >= 6; PGA -1.00; no new A or B.
    ("C-001", "M3"): ("responder", "responder", "responder"),
    # M1: 14 -> 14, drop 0 < 4.
    ("C-002", "M1"): ("non-responder", "non-responder", "non-responder"),
    # M3: arthritis 4 + proteinuria 4 + low complement 2 + fever 1 = 11: drop 3 < 4.
    ("C-002", "M3"): ("non-responder", "non-responder", "non-responder"),
    # M1: drop 4; PGA 1.20 -> 1.20 (change 0.00 < 0.30).
    ("C-003", "M1"): ("responder", "non-responder", "non-responder"),
    # M3: drop 10 but PGA 1.20 -> 1.50 = +0.30, and +0.30 is worsening.
    ("C-003", "M3"): ("non-responder", "non-responder", "non-responder"),
    # M1: drop 4, PGA -0.50.
    ("C-004", "M1"): ("responder", "non-responder", "non-responder"),
    # M3: drop 10 but haematological E -> A is a new BILAG A.
    ("C-004", "M3"): ("non-responder", "non-responder", "non-responder"),
    # M1 (2025-03-10, before the treatment failure of 2025-04-20): drop 10, PGA -1.00.
    ("C-005", "M1"): ("responder", "responder", "responder"),
    # M3 (2025-05-12, after the failure): non-responder whatever the scores.
    ("C-005", "M3"): ("non-responder", "non-responder", "non-responder"),
    # No baseline PGA: not evaluable at every visit.
    ("C-006", "M1"): ("not evaluable", "not evaluable", "not evaluable"),
    ("C-006", "M3"): ("not evaluable", "not evaluable", "not evaluable"),
    # M3: proteinuria 4 + rash 2 + low complement 2 + fever 1 = 9: drop 5 >= 5 but < 6;
    # PGA -0.50; musculoskeletal B -> D, renal B -> B: no new B.
    ("C-007", "M3"): ("responder", "responder", "non-responder"),
    # C-008's M1 has no assessment at all: no row.
}

# Per visit: reached, evaluable, responders for SRI-4, SRI-5 and SRI-6.
# M1 reached: C-001..C-006 and C-008 = 7; evaluable: C-001..C-005 = 5 (C-006 and C-008 not).
#   SRI-4 responders C-001, C-003, C-004, C-005 = 4; SRI-5 and SRI-6 only C-005 = 1.
# M3 reached: C-001..C-007 = 7; evaluable: all but C-006 = 6.
#   SRI-4 and SRI-5 responders C-001, C-007 = 2; SRI-6 only C-001 = 1.
# Rates and exact 95% intervals (published Clopper-Pearson tables):
#   4/5 = 0.8000 (0.2836, 0.9949); 1/5 = 0.2000 (0.0051, 0.7164);
#   2/6 = 0.3333 (0.0433, 0.7772); 1/6 = 0.1667 (0.0042, 0.6412).
EXPECTED_COHORT = {
    "sri4": {
        "M1": ["7", "5", "4", "0.8000", "0.2836", "0.9949"],
        "M3": ["7", "6", "2", "0.3333", "0.0433", "0.7772"],
    },
    "sri5": {
        "M1": ["7", "5", "1", "0.2000", "0.0051", "0.7164"],
        "M3": ["7", "6", "2", "0.3333", "0.0433", "0.7772"],
    },
    "sri6": {
        "M1": ["7", "5", "1", "0.2000", "0.0051", "0.7164"],
        "M3": ["7", "6", "1", "0.1667", "0.0042", "0.6412"],
    },
}
NOT_REACHED = ["0", "0", "0", "", "", ""]
#: Every visit is in its window (M1 on study day 28, M3 on day 91; C-006 has no infusion date).
IN_WINDOW = ["0"]


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(StringIO(text)))


@pytest.fixture
def imported_cohort(db) -> None:
    """The hand-computed cohort, imported from tests/data by the commands under test."""
    run(
        "import_participants",
        *AS_DATA_MANAGER,
        str(DATA / "cohort_participants.csv"),
        "--create-sites",
    )
    assert_results_fresh()
    stdout, _stderr = run("import_visits", *AS_DATA_MANAGER, str(DATA / "cohort_visits.csv"))
    assert "23 created, 0 changed, 0 unchanged" in stdout
    assert_results_fresh()


def test_cohort_export_responses_matches_the_hand_computed_outcomes(imported_cohort, tmp_path):
    out = tmp_path / "responses.csv"
    run("export_responses", "--out", str(out))
    rows = parse_csv(out.read_text(encoding="utf-8"))
    assert list(rows[0]) == [
        "participant_id", "site", "visit", "visit_date", "study_day", "sledai2k",
        "sledai2k_change", "pga", "pga_change", "new_bilag_a", "new_bilag_b",
        "treatment_failure", "sri4", "sri5", "sri6", "sri4_reason",
        "bicla", "lldas", "doris", "in_window",
        "sites", "filters", "as_of",
    ]  # fmt: skip
    outcomes = {(r["participant_id"], r["visit"]): (r["sri4"], r["sri5"], r["sri6"]) for r in rows}
    assert outcomes == EXPECTED_SRI
    # Ordered by participant, then visit date (C-001: M1 03-10, UNS 04-01, M3 05-12).
    assert [(r["participant_id"], r["visit"]) for r in rows] == list(EXPECTED_SRI)


def test_cohort_export_responses_cells(imported_cohort):
    stdout, _stderr = run("export_responses")
    rows = {(r["participant_id"], r["visit"]): r for r in parse_csv(stdout)}
    c002_m3 = rows[("C-002", "M3")]
    # Infusion 2025-02-10 -> 2025-05-12: 18 (Feb) + 31 (Mar) + 30 (Apr) + 12 = 91 days.
    assert c002_m3["study_day"] == "91"
    assert (c002_m3["sledai2k"], c002_m3["sledai2k_change"]) == ("11", "-3")
    assert (c002_m3["pga"], c002_m3["pga_change"]) == ("1.50", "-0.50")
    assert c002_m3["sri4_reason"] == "SLEDAI-2K fell by 3"
    c003_m3 = rows[("C-003", "M3")]
    assert (c003_m3["pga"], c003_m3["pga_change"]) == ("1.50", "0.30")
    assert c003_m3["sri4_reason"] == "PGA rose by 0.30"
    c004_m3 = rows[("C-004", "M3")]
    assert (c004_m3["new_bilag_a"], c004_m3["new_bilag_b"]) == ("1", "0")
    assert c004_m3["sri4_reason"] == "1 new BILAG A"
    assert rows[("C-005", "M1")]["treatment_failure"] == "0"
    assert rows[("C-005", "M3")]["treatment_failure"] == "1"
    assert rows[("C-005", "M3")]["sri4_reason"] == "treatment failure"
    # No infusion date: study day unknown; no baseline PGA: no PGA change.
    c006_m1 = rows[("C-006", "M1")]
    assert (c006_m1["study_day"], c006_m1["pga"], c006_m1["pga_change"]) == ("", "1.50", "")
    # A blank PGA leaves the baseline entry in progress (O2).
    assert c006_m1["sri4_reason"] == "data entry in progress at baseline"
    uns = rows[("C-001", "UNS")]
    # 2025-02-10 -> 2025-04-01: 18 + 31 + 1 = 50; PGA 1.30 - 2.00 = -0.70.
    assert (uns["study_day"], uns["sledai2k"], uns["sledai2k_change"]) == ("50", "", "")
    assert (uns["pga"], uns["pga_change"]) == ("1.30", "-0.70")
    assert (uns["new_bilag_a"], uns["new_bilag_b"]) == ("", "")


@pytest.mark.parametrize("endpoint", ["sri4", "sri5", "sri6"])
def test_cohort_export_cohort_matches_the_hand_computed_counts(imported_cohort, endpoint):
    stdout, _stderr = run("export_cohort", "--endpoint", endpoint)
    rows = parse_csv(stdout)
    assert list(rows[0]) == [
        "visit", "reached", "evaluable", "responders", "rate", "ci_low", "ci_high",
        "out_of_window",
        "endpoint", "population", "sites", "filters", "as_of",
    ]  # fmt: skip
    # Every scheduled visit after BL in schedule order; not SCR, BL or UNS.
    assert [r["visit"] for r in rows] == ["D0", "D7", "D14", "M1", "M2", "M3", "M6", "M9", "M12"]
    for row in rows:
        expected = EXPECTED_COHORT[endpoint].get(row["visit"], NOT_REACHED)
        assert list(row.values())[1:8] == expected + IN_WINDOW, row["visit"]


def test_cohort_export_cohort_defaults_to_sri4(imported_cohort):
    stdout, _stderr = run("export_cohort")
    m1 = next(r for r in parse_csv(stdout) if r["visit"] == "M1")
    assert list(m1.values())[1:8] == EXPECTED_COHORT["sri4"]["M1"] + IN_WINDOW


def test_demo_cohort_month_3_is_4_of_5_sri4_responders(db):
    load_demo(today=date(2026, 11, 26))
    stdout, _stderr = run("export_cohort")
    m3 = next(r for r in parse_csv(stdout) if r["visit"] == "M3")
    # Four of five SRI-4 responders (clinical-rules.md section 7); Clopper-Pearson 4/5.
    assert m3 == {
        "visit": "M3",
        "reached": "5",
        "evaluable": "5",
        "responders": "4",
        "rate": "0.8000",
        "ci_low": "0.2836",
        "ci_high": "0.9949",
        "out_of_window": "0",
        # Then the facts of the file: every site, no other filter, as of today.
        "endpoint": "sri4",
        "population": "observed",
        "sites": "all",
        "filters": "",
        "as_of": timezone.localdate().isoformat(),
    }


# --------------------------------------------------------------------------------------------
# Refused files: nothing written, every problem named by row, column and value
# --------------------------------------------------------------------------------------------

#: A valid row before the bad ones proves that nothing at all is written.
VALID_PARTICIPANT = "C-100,S01,F,9,2025-01-06,,,,"

BAD_PARTICIPANT_FILES = [
    pytest.param(
        [PARTICIPANTS_HEADER + ",height", "C-009,S01,F,9,2025-01-06,,,,,140"],
        ["row 1, column height: unknown column."],
        id="unknown-column",
    ),
    pytest.param(
        [PARTICIPANTS_HEADER.replace(",withdrawal_date", ""), "C-009,S01,F,9,2025-01-06,,,"],
        ["row 1, column withdrawal_date: required column missing from the header."],
        id="missing-column",
    ),
    pytest.param(
        [PARTICIPANTS_HEADER, VALID_PARTICIPANT, "C-009,S01,F,9,06/01/2025,,,,"],
        ['row 3, column enrollment_date, value "06/01/2025": a date must be written YYYY-MM-DD.'],
        id="date-not-iso",
    ),
    pytest.param(
        [PARTICIPANTS_HEADER, VALID_PARTICIPANT, "C-009,S01,F,9,2025-02-30,,,,"],
        ['row 3, column enrollment_date, value "2025-02-30": this date does not exist.'],
        id="date-does-not-exist",
    ),
    pytest.param(
        [PARTICIPANTS_HEADER, VALID_PARTICIPANT, "C-009,S01,X,22,2025-01-06,,0,,"],
        [
            'row 3, column sex, value "X": sex is F or M.',
            'row 3, column age_at_enrollment, value "22": the age at enrolment is a whole '
            "number of years from 0 to 21.",
            'row 3, column dose_cells_per_kg, value "0": the dose is a positive whole number',
        ],
        id="sex-age-dose",
    ),
    pytest.param(
        [PARTICIPANTS_HEADER, VALID_PARTICIPANT, "C-009,S01,F,9.5,2025-01-06,,1.5,,"],
        [
            'row 3, column age_at_enrollment, value "9.5"',
            'row 3, column dose_cells_per_kg, value "1.5": the dose is a positive whole number',
        ],
        id="not-whole-numbers",
    ),
    pytest.param(
        [PARTICIPANTS_HEADER, VALID_PARTICIPANT, "C-009,,F,9,,,,,"],
        [
            'row 3, column site, value "": a value is required.',
            'row 3, column enrollment_date, value "": a value is required.',
        ],
        id="required-cells-empty",
    ),
    pytest.param(
        [PARTICIPANTS_HEADER, VALID_PARTICIPANT, "C-009,S09,F,9,2025-01-06,,,,"],
        ['row 3, column site, value "S09": unknown site code (use --create-sites'],
        id="unknown-site",
    ),
    pytest.param(
        [PARTICIPANTS_HEADER, VALID_PARTICIPANT, VALID_PARTICIPANT],
        ['row 3, column participant_id, value "C-100": this participant is already in row 2'],
        id="same-participant-twice",
    ),
    pytest.param(
        [PARTICIPANTS_HEADER, VALID_PARTICIPANT, "C-009,S01,F,9,2025-01-06,2025-01-01,,,"],
        [
            'row 3, column infusion_date, value "2025-01-01": '
            "The infusion date cannot be before enrolment."
        ],
        id="infusion-before-enrolment",
    ),
]


@pytest.mark.parametrize(("lines", "messages"), BAD_PARTICIPANT_FILES)
def test_bad_participants_file_is_refused_whole(db, site_a, tmp_path, lines, messages):
    path = write(tmp_path, "participants.csv", *lines)
    before = database_state()
    problems = refuse("import_participants", *AS_DATA_MANAGER, path)
    assert database_state() == before
    for message in messages:
        assert message in problems, problems


@pytest.fixture
def bl_c001(three_participants, tmp_path) -> str:
    """C-001's baseline (renal B) already imported."""
    path = write(
        tmp_path,
        "baseline.csv",
        VISITS_HEADER,
        visit_line("C-001", "BL", "2025-02-03", bilag_renal="B"),
    )
    run("import_visits", *AS_DATA_MANAGER, path)
    return path


BAD_VISIT_LINES = [
    pytest.param(
        [visit_line("C-002", "M1", "2025-03-10", pga="3.5")],
        ['row 2, column pga, value "3.5": PGA is a number from 0.00 to 3.00 with at most two'],
        id="pga-above-3",
    ),
    pytest.param(
        [visit_line("C-002", "M1", "2025-03-10", pga="abc")],
        ['row 2, column pga, value "abc": PGA is a number'],
        id="pga-not-a-number",
    ),
    pytest.param(
        [visit_line("C-002", "M1", "2025-03-10", pga="1.234")],
        ['row 2, column pga, value "1.234": PGA is a number'],
        id="pga-three-decimals",
    ),
    pytest.param(
        [visit_line("C-002", "M1", "2025-03-10", sledai_rash="2")],
        ['row 2, column sledai_rash, value "2": a SLEDAI-2K answer is 1 (present), 0 (absent)'],
        id="sledai-2",
    ),
    pytest.param(
        [visit_line("C-002", "M1", "2025-03-10", bilag_renal="F")],
        [
            'row 2, column bilag_renal, value "F": a BILAG-2004 grade is A, B, C, D, E, ND (not '
            "done) or empty."
        ],
        id="grade-F",
    ),
    pytest.param(
        [visit_line("C-002", "M1", "2025-03-10", bilag_renal="b")],
        ['row 2, column bilag_renal, value "b"'],
        id="grade-lowercase",
    ),
    pytest.param(
        [visit_line("C-002", "M1", "2025-03-10", sledai_rash="nd")],
        [
            'row 2, column sledai_rash, value "nd": a SLEDAI-2K answer is 1 (present), 0 (absent), '
            "ND (not done) or empty."
        ],
        id="not-done-lowercase",
    ),
    pytest.param(
        [
            VISITS_HEADER + ",sledai_lookback_days",
            visit_line("C-002", "M1", "2025-03-10") + ",20",
        ],
        [
            'row 2, column sledai_lookback_days, value "20": the SLEDAI-2K look-back window is 10 '
            "or 30 (days), or empty."
        ],
        id="lookback-20",
    ),
    pytest.param(
        [visit_line("C-002", "M1", "2025-3-10")],
        ['row 2, column visit_date, value "2025-3-10": a date must be written YYYY-MM-DD.'],
        id="bad-date",
    ),
    pytest.param(
        [visit_line("C-099", "M1", "2025-03-10")],
        ['row 2, column participant_id, value "C-099": there is no participant with this ID'],
        id="unknown-participant",
    ),
    pytest.param(
        [visit_line("C-002", "M4", "2025-03-10")],
        ['row 2, column visit, value "M4": not a visit code of the study\'s schedule'],
        id="unknown-visit-code",
    ),
    pytest.param(
        [visit_line("C-002", "M1", "2024-12-01")],
        ['row 2, column visit_date, value "2024-12-01": The visit date is before the enrolment'],
        id="visit-before-enrolment",
    ),
    pytest.param(
        [visit_line("C-002", "M1", "2025-03-10"), visit_line("C-002", "M1", "2025-03-11")],
        ['row 3, column visit, value "M1": this visit is already in row 2 of the file.'],
        id="same-visit-twice",
    ),
    pytest.param(
        [
            visit_line("C-002", "BL", "2025-02-03", bilag_renal="B"),
            visit_line("C-002", "M3", "2025-05-12", bilag_renal="E"),
        ],
        ['row 3, column bilag_renal, value "E": Renal cannot be E (never involved) at M3'],
        id="E-after-involvement-in-the-file",
    ),
    pytest.param(
        [visit_line("C-001", "M3", "2025-05-12", bilag_renal="E")],
        [
            'row 2, column bilag_renal, value "E": Renal cannot be E (never involved) at M3: it '
            "was graded B at BL on 2025-02-03."
        ],
        id="E-after-involvement-in-the-database",
    ),
    pytest.param(
        [visit_line("C-001", "BL", "2025-02-03", bilag_renal="B")],
        ['row 2, column visit, value "BL": this visit already exists (use --update'],
        id="existing-visit-without-update",
    ),
    pytest.param(
        [VISITS_HEADER.replace("sledai_fever", "sledai_fevers")],
        [
            "row 1, column sledai_fevers: unknown column.",
            "row 1, column sledai_fever: required column missing from the header.",
        ],
        id="renamed-column",
    ),
]


@pytest.mark.parametrize(("lines", "messages"), BAD_VISIT_LINES)
def test_bad_visits_file_is_refused_whole(bl_c001, tmp_path, lines, messages):
    if lines[0].startswith("participant_id"):
        path = write(tmp_path, "visits.csv", *lines)
    else:
        path = write(tmp_path, "visits.csv", VISITS_HEADER, *lines)
    before = database_state()
    problems = refuse("import_visits", *AS_DATA_MANAGER, path)
    assert database_state() == before
    for message in messages:
        assert message in problems, problems


def test_every_problem_of_a_file_is_listed(bl_c001, tmp_path):
    path = write(
        tmp_path,
        "visits.csv",
        VISITS_HEADER,
        visit_line("C-002", "BL", "2025-02-03"),  # row 2: fine
        visit_line("C-002", "M1", "2025-03-10", pga="3.5", sledai_fever="yes"),  # row 3: 2
        visit_line("C-099", "M1", "2025-03-10"),  # row 4
        "",  # row 5: blank lines are skipped but counted
        visit_line("C-003", "M1", "10.03.2025", bilag_renal="F"),  # row 6: 2
        visit_line("C-001", "BL", "2025-02-03"),  # row 7: exists, found while applying
        visit_line("C-001", "M3", "2025-05-12", bilag_renal="E"),  # row 8: service refuses
    )
    before = database_state()
    stderr = StringIO()
    with pytest.raises(CommandError, match=r"7 problems in visits\.csv; nothing was imported"):
        call_command("import_visits", *AS_DATA_MANAGER, path, stdout=StringIO(), stderr=stderr)
    assert database_state() == before
    lines = stderr.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        'row 3, column pga, value "3.5"',
        'row 3, column sledai_fever, value "yes"',
        'row 4, column participant_id, value "C-099"',
        'row 6, column visit_date, value "10.03.2025"',
        'row 6, column bilag_renal, value "F"',
        'row 7, column visit, value "BL"',
        'row 8, column bilag_renal, value "E"',
    ]


def test_an_empty_file_is_refused(db, tmp_path):
    path = write(tmp_path, "participants.csv", "")
    assert "row 1: The file is empty" in refuse("import_participants", *AS_DATA_MANAGER, path)


def test_a_missing_file_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run("import_participants", *AS_DATA_MANAGER, str(tmp_path / "nope.csv"))


def test_a_row_with_too_few_cells_is_refused(db, site_a, tmp_path):
    path = write(tmp_path, "participants.csv", PARTICIPANTS_HEADER, "C-009,S01,F,9")
    assert "row 2: the row has 4 cells; the header has 9." in refuse(
        "import_participants", *AS_DATA_MANAGER, path
    )


# --------------------------------------------------------------------------------------------
# Accepted files: columns in any order, doses, sites, studies, authors
# --------------------------------------------------------------------------------------------


def test_participants_import_accepts_any_column_order_bom_and_dose_forms(db, site_a, tmp_path):
    path = tmp_path / "participants.csv"
    path.write_text(
        "\ufeffsite,participant_id,sex,age_at_enrollment,enrollment_date,infusion_date,"
        "dose_cells_per_kg,treatment_failure_date,withdrawal_date\n"
        "S01,C-010,F,0,2025-01-06,2025-02-10,1e5,,\n"
        "S01,C-011,M,21,2025-01-06,,100000,2025-03-01,2025-04-01\n"
        "S01,C-012,F,12,2025-01-06,,,,\n",
        encoding="utf-8",
    )
    stdout, _stderr = run("import_participants", *AS_DATA_MANAGER, str(path))
    assert "Imported participants.csv: 3 created, 0 changed, 0 unchanged." in stdout
    c010, c011, c012 = Participant.objects.order_by("participant_id")
    assert (c010.age_at_enrollment, c010.dose_cells_per_kg) == (0, 100_000)
    assert c010.infusion_date == date(2025, 2, 10)
    assert (c011.age_at_enrollment, c011.dose_cells_per_kg) == (21, 100_000)
    assert (c011.treatment_failure_date, c011.withdrawal_date) == (
        date(2025, 3, 1),
        date(2025, 4, 1),
    )
    assert (c012.infusion_date, c012.dose_cells_per_kg) == (None, None)
    record = c010.history.get()
    assert record.history_change_reason == "imported from participants.csv"
    assert record.history_user.username == "dm"
    assert_results_fresh()


def test_create_sites_creates_a_site_named_by_its_code_with_the_import_reason(db, tmp_path):
    path = write(tmp_path, "sites.csv", PARTICIPANTS_HEADER, "C-020,S07,F,9,2025-01-06,,,,")
    stdout, _stderr = run("import_participants", *AS_DATA_MANAGER, path, "--create-sites")
    assert "Sites created: S07" in stdout
    site = Site.objects.get(code="S07")
    assert site.name == "S07"
    assert site.history.get().history_change_reason == "imported from sites.csv"
    assert Participant.objects.get(participant_id="C-020").site == site


def test_existing_participant_needs_update(three_participants, tmp_path):
    path = write(tmp_path, "again.csv", PARTICIPANTS_HEADER, "C-001,S01,F,14,2025-01-06,,,,")
    before = database_state()
    problems = refuse("import_participants", *AS_DATA_MANAGER, path)
    assert 'row 2, column participant_id, value "C-001": this participant already exists' in (
        problems
    )
    assert database_state() == before


def test_an_infusion_date_for_a_participant_recorded_as_not_infused_is_refused_on_its_column(
    db, site_a, tmp_path
):
    path = write(tmp_path, "p.csv", PARTICIPANTS_HEADER, "C-001,S01,F,14,2025-01-06,,,,")
    run("import_participants", *AS_DATA_MANAGER, path)
    Participant.objects.update(not_infused_reason="manufacturing_failure")
    path = write(tmp_path, "p.csv", PARTICIPANTS_HEADER, "C-001,S01,F,14,2025-01-06,2025-02-10,,,")
    problems = refuse("import_participants", *AS_DATA_MANAGER, path, "--update")
    assert (
        'row 2, column infusion_date, value "2025-02-10": An infusion date is recorded, so the '
        "participant was infused: clear the reason not infused"
    ) in problems


def test_update_changes_participants_with_the_reason_and_skips_unchanged_rows(
    three_participants, site_b, tmp_path, data_manager
):
    author = data_manager
    path = write(
        tmp_path,
        "participants_v2.csv",
        PARTICIPANTS_HEADER,
        "C-001,S01,F,14,2025-01-06,2025-02-10,100000,,",  # unchanged
        "C-002,S02,F,11,2025-01-06,2025-02-12,3e5,2025-04-01,",  # 4 fields changed
        "C-003,S01,M,16,2025-01-06,2025-02-10,30000,,",  # unchanged
    )
    history_before = Participant.history.count()
    stdout, _stderr = run("import_participants", path, "--update", "--user", "dm")
    assert "Imported participants_v2.csv: 0 created, 1 changed, 2 unchanged." in stdout
    assert (
        "row 3: C-002 changed (site, infusion_date, dose_cells_per_kg, treatment_failure_date)"
        in stdout
    )
    assert Participant.history.count() == history_before + 1
    c002 = Participant.objects.get(participant_id="C-002")
    assert (c002.site, c002.infusion_date, c002.dose_cells_per_kg) == (
        site_b,
        date(2025, 2, 12),
        300_000,
    )
    record = c002.history.latest("history_date")
    assert record.history_change_reason == "imported from participants_v2.csv"
    assert record.history_user == author
    assert_results_fresh()


def test_update_changes_a_visit_with_the_reason_and_unchanged_rows_write_no_history(
    three_participants, tmp_path
):
    first = write(
        tmp_path,
        "visits.csv",
        VISITS_HEADER,
        visit_line("C-001", "BL", "2025-02-03", pga="2.00", sledai_arthritis="1"),
        visit_line("C-001", "M1", "2025-03-10", pga="1.50"),
        visit_line("C-002", "BL", "2025-02-03", pga="2.00"),
    )
    run("import_visits", *AS_DATA_MANAGER, first)
    state = database_state()
    second = write(
        tmp_path,
        "visits_corrected.csv",
        VISITS_HEADER,
        visit_line("C-001", "BL", "2025-02-03", pga="2.00", sledai_arthritis="1"),  # same
        visit_line("C-001", "M1", "2025-03-11", pga="1.20", bilag_renal="D"),  # 3 changes
        visit_line("C-002", "BL", "2025-02-03", pga="2.00"),  # same
    )
    stdout, _stderr = run("import_visits", *AS_DATA_MANAGER, second, "--update")
    assert "0 created, 1 changed, 2 unchanged" in stdout
    assert "row 3: C-001 M1 changed (visit_date, pga, bilag_renal)" in stdout
    m1 = Visit.objects.get(participant__participant_id="C-001", visit_definition__code="M1")
    assert m1.visit_date == date(2025, 3, 11)
    assert m1.pga.score == Decimal("1.20")
    assert m1.bilag.renal == "D"
    for record in (
        m1.history.latest("history_date"),
        m1.pga.history.latest("history_date"),
        m1.bilag.history.latest("history_date"),
    ):
        assert record.history_change_reason == "imported from visits_corrected.csv"
    # Every new audit entry is M1's, with the import's reason; the unchanged rows wrote none,
    # M1's SLEDAI-2K (the same answers) included.
    after = database_state()
    assert after["SledaiAssessment history"] == state["SledaiAssessment history"]
    for model in (Visit, PgaAssessment, BilagAssessment):
        name = f"{model.__name__} history"
        assert after[name] > state[name], name
        new = model.history.order_by("-history_id")[: after[name] - state[name]]
        assert {r.history_change_reason for r in new} == {"imported from visits_corrected.csv"}
        visit_ids = {r.id if model is Visit else r.visit_id for r in new}
        assert visit_ids == {m1.pk}, name
    # M1 is rescored: SRI-4 there compares PGA 1.20 with baseline 2.00.
    result = EndpointResult.objects.get(visit=m1, endpoint="sri4")
    assert result.pga_change == Decimal("-0.80")
    assert_results_fresh()


def test_update_keeps_the_sledai_lookback_window_of_the_visit(three_participants, tmp_path):
    path = write(tmp_path, "v.csv", VISITS_HEADER, visit_line("C-001", "BL", "2025-02-03"))
    run("import_visits", *AS_DATA_MANAGER, path)
    sledai = SledaiAssessment.objects.get()
    sledai.lookback_days = 30
    sledai.save()
    path = write(
        tmp_path, "v.csv", VISITS_HEADER, visit_line("C-001", "BL", "2025-02-03", sledai_rash="1")
    )
    run("import_visits", *AS_DATA_MANAGER, path, "--update")
    sledai.refresh_from_db()
    assert (sledai.rash, sledai.lookback_days) == (True, 30)


def test_unscheduled_visits_are_keyed_by_date(three_participants, tmp_path):
    path = write(
        tmp_path,
        "uns.csv",
        VISITS_HEADER,
        visit_line("C-001", "UNS", "2025-03-01"),
        visit_line("C-001", "UNS", "2025-03-20"),
    )
    run("import_visits", *AS_DATA_MANAGER, path)
    assert list(
        Visit.objects.filter(visit_definition__code="UNS").values_list("occurrence", "visit_date")
    ) == [(1, date(2025, 3, 1)), (2, date(2025, 3, 20))]
    stdout, _stderr = run("import_visits", *AS_DATA_MANAGER, path, "--update")
    assert "0 created, 0 changed, 2 unchanged" in stdout


def test_dry_run_reports_counts_and_writes_nothing(three_participants, site_a, tmp_path):
    path = write(
        tmp_path,
        "participants.csv",
        PARTICIPANTS_HEADER,
        "C-001,S01,F,14,2025-01-06,2025-02-10,100000,,",  # unchanged
        "C-002,S01,F,12,2025-01-06,2025-02-10,1e5,,",  # age changed
        "C-004,S08,F,10,2025-01-06,,,,",  # new, with a new site
    )
    before = database_state()
    stdout, _stderr = run(
        "import_participants", *AS_DATA_MANAGER, path, "--update", "--create-sites", "--dry-run"
    )
    assert database_state() == before
    assert "row 3: C-002 would be changed (age_at_enrollment)" in stdout
    assert "Sites that would be created: S08" in stdout
    assert (
        "Dry run of participants.csv, nothing was written: 1 would be created, "
        "1 would be changed, 1 unchanged." in stdout
    )


def test_dry_run_of_visits_runs_the_database_checks(bl_c001, tmp_path):
    path = write(
        tmp_path,
        "visits.csv",
        VISITS_HEADER,
        visit_line("C-001", "M1", "2025-03-10"),
        visit_line("C-001", "M3", "2025-05-12", bilag_renal="E"),
    )
    before = database_state()
    problems = refuse("import_visits", *AS_DATA_MANAGER, path, "--dry-run")
    assert 'row 3, column bilag_renal, value "E"' in problems
    assert database_state() == before


def test_unknown_user_is_a_clear_error(three_participants, tmp_path):
    path = write(tmp_path, "v.csv", VISITS_HEADER, visit_line("C-001", "BL", "2025-02-03"))
    with pytest.raises(CommandError, match='There is no user "nobody"'):
        run("import_visits", path, "--user", "nobody")
    assert not Visit.objects.exists()


@pytest.mark.parametrize("command", ["import_participants", "import_visits"])
def test_an_import_without_user_is_refused(three_participants, tmp_path, command):
    path = write(tmp_path, "v.csv", VISITS_HEADER, visit_line("C-001", "BL", "2025-02-03"))
    before = database_state()
    with pytest.raises(CommandError, match="Name the user who imports with --user USERNAME"):
        run(command, path)
    assert database_state() == before


#: (user, the refusal; None: the user may import)
IMPORTERS = [
    pytest.param({"role": "Data manager"}, None, id="data-manager-may"),
    pytest.param({"is_superuser": True}, None, id="superuser-may"),
    pytest.param({"role": "Monitor"}, "may not import data", id="monitor-may-not"),
    pytest.param({"role": "Coordinator"}, "may not import data", id="coordinator-may-not"),
    pytest.param({"role": "Investigator"}, "may not import data", id="investigator-may-not"),
    pytest.param(
        {"role": "Data manager", "is_active": False}, "is inactive", id="inactive-data-manager"
    ),
]


@pytest.mark.parametrize(("user", "refusal"), IMPORTERS)
def test_only_an_active_user_whose_role_may_import_can_import(
    three_participants, tmp_path, user, refusal
):
    UserFactory(username="importer", **user)
    path = write(tmp_path, "v.csv", VISITS_HEADER, visit_line("C-001", "BL", "2025-02-03"))
    if refusal is None:
        run("import_visits", path, "--user", "importer")
        authors = Visit.objects.get().history.values_list("history_user__username", flat=True)
        assert set(authors) == {"importer"}
        return
    with pytest.raises(CommandError, match=f'The user "importer" {refusal}'):
        run("import_visits", path, "--user", "importer")
    assert not Visit.objects.exists()


@pytest.mark.parametrize("importer", [import_participants, import_visits])
def test_the_import_functions_refuse_a_user_whose_role_may_not_import(study, importer):
    monitor = UserFactory(username="mon", role="Monitor")
    with pytest.raises(InputError, match='The user "mon" may not import data'):
        importer("", file_name="any.csv", study=study, author=monitor)


def test_the_data_manager_role_may_import_and_the_others_may_not(db):
    roles = {
        group.name: group.permissions.filter(codename="import_data").exists()
        for group in Group.objects.all()
    }
    assert roles == {
        "Coordinator": False,
        "Investigator": False,
        "Monitor": False,
        "Data manager": True,
    }


def test_roles_recreated_as_the_browser_tests_do_keep_the_right_to_import(db):
    # The reference_data fixture (tests/conftest.py, for live-server tests) recreates the roles
    # of 0002, which resets each role's rights, then grants the import right as 0005 does.
    roles = import_module("trialsite.migrations.0002_default_study_and_roles")
    rights = import_module("trialsite.migrations.0005_grant_import_data_to_data_managers")
    roles.create_roles(django_apps, None)
    assert not UserFactory(username="dm2", role="Data manager").has_perm(IMPORT_PERMISSION)
    rights.grant_import_data(django_apps, None)
    assert UserFactory(username="dm3", role="Data manager").has_perm(IMPORT_PERMISSION)


def test_user_is_the_author_of_the_visit_and_assessments(
    three_participants, tmp_path, data_manager
):
    author = data_manager
    path = write(tmp_path, "v.csv", VISITS_HEADER, visit_line("C-001", "BL", "2025-02-03"))
    run("import_visits", path, "--user", "dm")
    visit = Visit.objects.get()
    records = [*visit.history.all(), *visit.sledai.history.all(), *visit.pga.history.all()]
    assert {(r.history_user, r.history_change_reason) for r in records} == {
        (author, "imported from v.csv")
    }


def test_several_studies_need_study_option(three_participants, tmp_path):
    Study.objects.create(protocol_number="PED-SLE-002", name="Second study")
    path = write(tmp_path, "v.csv", VISITS_HEADER, visit_line("C-001", "BL", "2025-02-03"))
    for command in ("import_visits", "import_participants", "export_responses", "export_cohort"):
        with pytest.raises(
            CommandError, match="There are several studies; choose one with --study"
        ):
            run(command, *AS_DATA_MANAGER, path) if command.startswith("import") else run(command)
    with pytest.raises(CommandError, match='no study with protocol number "NOPE"'):
        run("import_visits", *AS_DATA_MANAGER, path, "--study", "NOPE")
    run("import_visits", *AS_DATA_MANAGER, path, "--study", "PED-SLE-CD19-CART")
    assert Visit.objects.count() == 1


# --------------------------------------------------------------------------------------------
# ND cells (answers not done) and the SLEDAI-2K look-back window
# --------------------------------------------------------------------------------------------


def test_nd_cells_are_answers_not_done_and_complete_the_entry(three_participants, tmp_path):
    path = write(
        tmp_path,
        "visits.csv",
        VISITS_HEADER,
        visit_line("C-001", "BL", "2025-02-03", pga="2.00", sledai_arthritis="1"),
        # Every answer cell filled, three with ND: complete.
        visit_line("C-001", "M1", "2025-03-10", pga="ND", sledai_pyuria="ND", bilag_renal="ND"),
        # An ND and an empty cell: in progress.
        visit_line("C-002", "M1", "2025-03-10", pga="ND", sledai_fever=""),
    )
    run("import_visits", *AS_DATA_MANAGER, path)
    m1 = Visit.objects.get(participant__participant_id="C-001", visit_definition__code="M1")
    assert m1.entry_status == "complete"
    assert (m1.pga.score, m1.sledai.pyuria, m1.bilag.renal) == (None, None, "")
    assert dict(m1.not_done_answers.values_list("answer", "reason")) == {
        "pga": "ND in an imported file",
        "sledai_pyuria": "ND in an imported file",
        "bilag_renal": "ND in an imported file",
    }
    # SLEDAI-2K 4 -> 0 at best (pyuria absent): a fall of 4, no failure; the missing answers
    # leave SRI-4 open (O6).
    assert EndpointResult.objects.get(visit=m1, endpoint="sri4").outcome == "not evaluable"
    other = Visit.objects.get(participant__participant_id="C-002", visit_definition__code="M1")
    assert other.entry_status == "in_progress"
    assert_results_fresh()


def test_update_keeps_the_reason_of_an_answer_not_done_and_a_value_replaces_nd(
    three_participants, tmp_path
):
    path = write(
        tmp_path,
        "visits.csv",
        VISITS_HEADER,
        visit_line("C-001", "M1", "2025-03-10", pga="ND", sledai_fever="ND"),
    )
    run("import_visits", *AS_DATA_MANAGER, path)
    m1 = Visit.objects.get()
    m1.not_done_answers.filter(answer="pga").update(reason="Physician unavailable")
    same = write(
        tmp_path,
        "same.csv",
        VISITS_HEADER,
        visit_line("C-001", "M1", "2025-03-10", pga="ND", sledai_fever="ND"),
    )
    stdout, _stderr = run("import_visits", *AS_DATA_MANAGER, same, "--update")
    assert "0 created, 0 changed, 1 unchanged" in stdout
    fever_given = write(
        tmp_path,
        "fever.csv",
        VISITS_HEADER,
        visit_line("C-001", "M1", "2025-03-10", pga="ND", sledai_fever="0"),
    )
    stdout, _stderr = run("import_visits", *AS_DATA_MANAGER, fever_given, "--update")
    assert "row 2: C-001 M1 changed (sledai_fever)" in stdout
    m1.refresh_from_db()
    assert m1.sledai.fever is False
    assert dict(m1.not_done_answers.values_list("answer", "reason")) == {
        "pga": "Physician unavailable"
    }


def test_update_turns_an_empty_answer_into_nd_and_completes_the_entry(three_participants, tmp_path):
    path = write(
        tmp_path, "visits.csv", VISITS_HEADER, visit_line("C-001", "M1", "2025-03-10", pga="")
    )
    run("import_visits", *AS_DATA_MANAGER, path)
    m1 = Visit.objects.get()
    assert m1.entry_status == "in_progress"
    path = write(
        tmp_path, "nd.csv", VISITS_HEADER, visit_line("C-001", "M1", "2025-03-10", pga="ND")
    )
    stdout, _stderr = run("import_visits", *AS_DATA_MANAGER, path, "--update")
    assert "row 2: C-001 M1 changed (pga)" in stdout
    m1.refresh_from_db()
    assert m1.entry_status == "complete"
    assert list(m1.not_done_answers.values_list("answer", flat=True)) == ["pga"]
    # And back: ND to empty is a change too.
    path = write(
        tmp_path, "empty.csv", VISITS_HEADER, visit_line("C-001", "M1", "2025-03-10", pga="")
    )
    stdout, _stderr = run("import_visits", *AS_DATA_MANAGER, path, "--update")
    assert "row 2: C-001 M1 changed (pga)" in stdout
    m1.refresh_from_db()
    assert (m1.entry_status, m1.not_done_answers.count()) == ("in_progress", 0)


def test_the_lookback_column_is_optional_and_sets_the_window(three_participants, tmp_path):
    path = write(
        tmp_path,
        "visits.csv",
        VISITS_HEADER + ",sledai_lookback_days",
        visit_line("C-001", "BL", "2025-02-03") + ",30",
        visit_line("C-002", "BL", "2025-02-03") + ",",
    )
    run("import_visits", *AS_DATA_MANAGER, path)
    windows = dict(
        SledaiAssessment.objects.values_list("visit__participant__participant_id", "lookback_days")
    )
    assert windows == {"C-001": 30, "C-002": 10}  # empty: the study's setting (10)
    path = write(
        tmp_path,
        "visits.csv",
        VISITS_HEADER + ",sledai_lookback_days",
        visit_line("C-001", "BL", "2025-02-03") + ",10",
    )
    stdout, _stderr = run("import_visits", *AS_DATA_MANAGER, path, "--update")
    assert "row 2: C-001 BL changed (sledai_lookback_days)" in stdout
    assert (
        SledaiAssessment.objects.get(visit__participant__participant_id="C-001").lookback_days == 10
    )


def test_an_update_of_a_signed_visit_is_refused_on_its_row(three_participants, site_a, tmp_path):
    first = write(
        tmp_path,
        "visits.csv",
        VISITS_HEADER,
        visit_line("C-001", "BL", "2025-02-03", pga="2.00"),
        visit_line("C-002", "BL", "2025-02-03", pga="2.00"),
    )
    run("import_visits", *AS_DATA_MANAGER, first)
    bl = Visit.objects.get(participant__participant_id="C-001")
    services.visit_verify(visit=bl, author=UserFactory(role="Monitor"))
    investigator = UserFactory(role="Investigator", sites=[site_a])
    services.visit_sign(visit=bl, author=investigator, password=TEST_PASSWORD)
    state = database_state()
    second = write(
        tmp_path,
        "visits_corrected.csv",
        VISITS_HEADER,
        visit_line("C-001", "BL", "2025-02-03", pga="2.50"),
        visit_line("C-002", "BL", "2025-02-03", pga="2.50"),
    )
    problems = refuse("import_visits", *AS_DATA_MANAGER, second, "--update")
    assert "row 2" in problems
    assert "C-001 BL is signed by the investigator: its data cannot change" in problems
    assert "row 3" not in problems
    assert database_state() == state
